"""The one generation layer of the generative judges (``judgelm``, ``pandalm``, ``prometheus``).

* Prompts: the judge's prompt from ``judge_core.prompts`` as the user turn of the tokenizer's chat template when it
  has one (``chat_template=auto``, the default; ``true`` / ``false`` force it), with an optional system turn and an
  optional start of the answer (``assistant_prefix``); without a template the text itself.
* What the judge was fed: every judgement's output carries ``judge_input``, a list with the exact text given to
  the model (after the chat template; one per call), so it is in the samples log of ``--log_samples``
  (``resps`` / ``filtered_resps``: ``JUDGE_OUTPUT {..., "judge_input": [...]}``).
* Parsing: the authors' rule by default; ``lenient=true`` adds the looser reading of ``judge_core.parsers`` where
  the authors' fails, and the output says ``lenient_recovered`` (a count is logged).
* Batches: sorted by length, left padding to the longest of the batch, greedy by default; stopping criteria end a
  row early (score-first: at the end of the first line; Prometheus: once ``[RESULT] x`` is written).
* Backends: ``backend=hf`` (transformers ``generate``, the default) or ``backend=vllm`` (vLLM, when installed:
  ``pip install 'lm-eval-judges[vllm]'``; an adapter is served as a vLLM LoRA). ``backend=vllm`` runs in one
  process (``tensor_parallel_size`` for several GPUs), not under ``accelerate launch``.
* Prompts longer than ``max_length - max_new_tokens`` keep their first and last tokens and lose the middle; they
  are marked ``truncated`` and counted in the log.

Generation model arguments: ``backend``, ``chat_template``, ``reasons`` (``false`` = score-first: only the first
line is generated, the fast mode of JudgeLM / PandaLM; ``true`` = the explanation too), ``max_new_tokens``
(default 16 score-first, 512 with reasons), ``do_sample``, ``temperature``, ``top_p``, ``repetition_penalty``,
``num_beams``, ``seed``; vLLM: ``gpu_memory_utilization``, ``tensor_parallel_size``.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import re
from typing import Callable

from judge_core import parsers
from judge_core.chat import judge_prompt_text, keep_ends, prompt_text_ids
from judge_core.padding import ensure_pad_token, pad_batch
from judge_models.torch_judge import TorchJudge, read_json

log = logging.getLogger(__name__)
BACKENDS = ("hf", "vllm")
SCORE_FIRST_TOKENS = 16
REASONS_TOKENS = 512


def first_line(text: str) -> str:
    """The text up to the end of its first non-empty line (what score-first judging keeps)."""
    stripped = text.lstrip()
    lead = len(text) - len(stripped)
    cut = stripped.find("\n")
    return text if cut < 0 else text[:lead + cut]


def first_line_done(text: str) -> bool:
    return "\n" in text.lstrip()


def vllm_available() -> bool:
    return importlib.util.find_spec("vllm") is not None


def _stopping_criteria(tokenizer, prompt_width: int, predicate: Callable[[str], bool]):
    import torch
    from transformers import StoppingCriteria

    class TextStop(StoppingCriteria):
        """Per row: stop once ``predicate(text generated so far)`` holds (tokens decoded one by one)."""

        def __init__(self):
            self.texts: list[str] | None = None
            self.done = None

        def __call__(self, input_ids, scores, **kwargs):
            if self.texts is None:
                self.texts = [""] * input_ids.shape[0]
                self.done = torch.zeros(input_ids.shape[0], dtype=torch.bool)
            if input_ids.shape[1] > prompt_width:
                last = input_ids[:, -1].tolist()
                for r, tok in enumerate(last):
                    if not self.done[r]:
                        self.texts[r] += tokenizer.decode([tok], skip_special_tokens=True)
                        if predicate(self.texts[r]):
                            self.done[r] = True
            return self.done.to(input_ids.device)

    return TextStop()


class GenerativeJudge(TorchJudge):
    def __init__(self, backend: str = "hf", chat_template="auto", reasons: bool = False,
                 max_new_tokens: int | None = None, do_sample: bool = False, temperature: float = 1.0,
                 top_p: float = 1.0, repetition_penalty: float = 1.0, num_beams: int = 1,
                 gpu_memory_utilization: float = 0.9, tensor_parallel_size: int = 1, lenient: bool = False,
                 **kwargs):
        backend = str(backend).lower()
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if backend == "vllm":
            if not vllm_available():
                raise ImportError("backend=vllm needs vLLM, which is not installed: pip install 'lm-eval-judges[vllm]' "
                                  "(or pip install vllm) on a CUDA machine, or use backend=hf")
            if int(os.environ.get("WORLD_SIZE", "1")) > 1:
                raise ValueError("backend=vllm runs in one process: run lm_eval without accelerate launch and use "
                                 "tensor_parallel_size=N for several GPUs (or backend=hf under accelerate launch)")
        super().__init__(**kwargs)
        self.backend = backend
        self.reasons = bool(reasons)
        self.lenient = bool(lenient)
        self.lenient_recovered = 0
        self.max_new_tokens = int(max_new_tokens) if max_new_tokens else (
            REASONS_TOKENS if self.reasons else SCORE_FIRST_TOKENS)
        self.do_sample = bool(do_sample)
        self.temperature, self.top_p = float(temperature), float(top_p)
        self.repetition_penalty, self.num_beams = float(repetition_penalty), int(num_beams)
        if chat_template in (None, "auto"):
            self.use_chat_template = bool(getattr(self.tokenizer, "chat_template", None))
        else:
            self.use_chat_template = bool(chat_template)
            if self.use_chat_template and not getattr(self.tokenizer, "chat_template", None):
                raise ValueError(f"chat_template=true but the tokenizer of {self.pretrained} has no chat template")
        ensure_pad_token(self.tokenizer)
        self.tokenizer.padding_side = "left"
        if backend == "hf":
            from transformers import AutoModelForCausalLM

            self.model = self.load_model(AutoModelForCausalLM)
            self.max_length = self.model_max_length(self.model)
            gen_eos = self.model.generation_config.eos_token_id
        else:
            self._init_vllm(float(gpu_memory_utilization), int(tensor_parallel_size))
            gen_eos = None
        eos = [] if gen_eos is None else ([gen_eos] if isinstance(gen_eos, int) else list(gen_eos))
        if self.tokenizer.eos_token_id is not None and self.tokenizer.eos_token_id not in eos:
            eos.append(self.tokenizer.eos_token_id)
        self.eos_token_ids = eos

    # ------------------------------------------------------------------ vLLM
    def _init_vllm(self, gpu_memory_utilization: float, tensor_parallel_size: int):
        from vllm import LLM

        dtype = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}[str(self.torch_dtype)[6:]]
        kwargs = dict(model=self.base_path, tokenizer=self.base_path, dtype=dtype, seed=self.seed,
                      trust_remote_code=self.trust_remote_code, revision=self.revision,
                      gpu_memory_utilization=gpu_memory_utilization, tensor_parallel_size=tensor_parallel_size)
        if self.user_max_length or self.judge_config.get("max_length"):
            kwargs["max_model_len"] = int(self.user_max_length or self.judge_config["max_length"])
        self.lora_request = None
        if self.adapter_dir is not None:
            from vllm.lora.request import LoRARequest

            rank = int(read_json(self.adapter_dir / "adapter_config.json").get("r", 16))
            kwargs.update(enable_lora=True, max_lora_rank=max(rank, 8))
            self.lora_request = LoRARequest("judge", 1, str(self.adapter_dir))
        self.llm = LLM(**kwargs)
        model_config = getattr(getattr(self.llm, "llm_engine", None), "model_config", None)
        self.max_length = int(getattr(model_config, "max_model_len", None) or kwargs.get("max_model_len") or 4096)

    # ------------------------------------------------------------------ prompts
    def prompt_text(self, user: str, system: str | None = None, assistant_prefix: str = "") -> str:
        """The text of one judge prompt as the model reads it (``judge_core.chat.judge_prompt_text``)."""
        return judge_prompt_text(self.tokenizer, user, system, assistant_prefix, self.use_chat_template)

    def encode_prompt(self, user: str, system: str | None = None, assistant_prefix: str = "") -> list[int]:
        """Token ids of one judge prompt (chat template or plain text), ending where the judge writes."""
        return self.encode_text(self.prompt_text(user, system, assistant_prefix))

    def encode_text(self, text: str) -> list[int]:
        """Token ids of a finished prompt text: a chat template writes BOS itself, plain text gets the tokenizer's."""
        return prompt_text_ids(self.tokenizer, text, self.use_chat_template)

    def fit(self, ids: list[int]) -> tuple[list[int], bool]:
        """Keep a prompt within ``max_length - max_new_tokens``: first and last tokens kept, the middle cut."""
        room = max(self.max_length - self.max_new_tokens, 16)
        if len(ids) <= room:
            self.truncation.add()
            return ids, False
        self.truncation.add(truncated=True)
        return keep_ends(ids, room), True

    def fit_texts(self, texts: list[str]) -> tuple[list[list[int]], list[bool], list[str]]:
        """Token ids (fitted), truncation flags and the text each judgement is fed (``judge_input``: the prompt
        text, or the decoded ids when the middle was cut)."""
        ids, truncated, fed = [], [], []
        for text in texts:
            fitted, cut = self.fit(self.encode_text(text))
            ids.append(fitted)
            truncated.append(cut)
            fed.append(self.tokenizer.decode(fitted) if cut else text)
        return ids, truncated, fed

    def read(self, parser, text, **kwargs):
        """``parser``'s reading of ``text``: the authors' rule, or with ``lenient=true`` the lenient one where it
        fails (counted: ``lenient_recovered`` in the log and the output)."""
        value, recovered = parsers.read(parser, text, lenient=self.lenient, **kwargs)
        if recovered:
            self.lenient_recovered += 1
            log.info("%s: the lenient reading recovered %d output(s) so far", self.judge_name,
                     self.lenient_recovered)
        return value, recovered

    # ------------------------------------------------------------------ generation
    def _probe(self, batch_size: int, length: int):
        import torch

        ids = torch.ones((batch_size, length), dtype=torch.long, device=self.device)
        with torch.inference_mode():
            try:
                self.model(input_ids=ids, logits_to_keep=1, use_cache=True)
            except TypeError:
                self.model(input_ids=ids, use_cache=True)

    def generate(self, prompts: list[list[int]], n: int = 1, stop: Callable[[str], bool] | None = None,
                 cut_first_line: bool = False, sample: bool | None = None, desc: str = "generate") -> list[list[str]]:
        """``n`` generated texts per prompt (token ids). ``stop``: per-row early stop on the text so far;
        ``cut_first_line``: keep only the first line (score-first)."""
        sample = self.do_sample if sample is None else sample
        if self.backend == "vllm":
            texts = self._generate_vllm(prompts, n, sample)
        else:
            texts = self._generate_hf(prompts, n, stop, sample, desc)
        if cut_first_line:
            texts = [[first_line(t) for t in group] for group in texts]
        return texts

    def _generate_hf(self, prompts, n, stop, sample, desc) -> list[list[str]]:
        import torch
        from transformers import StoppingCriteriaList

        results: list = [None] * len(prompts)
        batches = self.batches([len(p) for p in prompts], probe=self._probe, extra_tokens=self.max_new_tokens * n)
        bar = self.progress(len(prompts), desc, getattr(self, "_disable_tqdm", False))
        pad_id = self.tokenizer.pad_token_id
        kwargs = dict(max_new_tokens=self.max_new_tokens, num_return_sequences=n, pad_token_id=pad_id,
                      eos_token_id=self.eos_token_ids, num_beams=max(self.num_beams, 1), do_sample=sample,
                      repetition_penalty=self.repetition_penalty)
        if sample:
            kwargs.update(temperature=self.temperature, top_p=self.top_p, top_k=0)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if self.num_beams > 1 and n > 1:
            kwargs["num_beams"] = max(self.num_beams, n)
        with torch.inference_mode():
            for batch in batches:
                ids, mask = pad_batch([prompts[i] for i in batch], pad_id, side="left")
                criteria = StoppingCriteriaList(
                    [_stopping_criteria(self.tokenizer, ids.shape[1], stop)] if stop is not None else [])
                out = self.model.generate(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                                          stopping_criteria=criteria, **kwargs)
                texts = self.tokenizer.batch_decode(out[:, ids.shape[1]:], skip_special_tokens=True)
                for k, i in enumerate(batch):
                    results[i] = texts[k * n:(k + 1) * n]
                bar.update(len(batch))
        bar.close()
        return results

    def _generate_vllm(self, prompts, n, sample) -> list[list[str]]:
        from vllm import SamplingParams

        params = SamplingParams(n=n, max_tokens=self.max_new_tokens, seed=self.seed,
                                temperature=self.temperature if sample else 0.0,
                                top_p=self.top_p if sample else 1.0, repetition_penalty=self.repetition_penalty,
                                stop_token_ids=self.eos_token_ids or None)
        outs = self.llm.generate([{"prompt_token_ids": p} for p in prompts], params,
                                 lora_request=self.lora_request,
                                 use_tqdm=not getattr(self, "_disable_tqdm", False))
        return [[o.text for o in out.outputs] for out in outs]


_RESULT_WRITTEN = re.compile(r"\[RESULT\]\s*[\(\[]?\s*[\"']?[1-5AB]")


def result_written(text: str) -> bool:
    """Prometheus: the ``[RESULT] x`` has been written (stop generating)."""
    return _RESULT_WRITTEN.search(text) is not None
