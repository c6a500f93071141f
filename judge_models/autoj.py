"""``autoj``: Auto-J (GAIR-NLP/auto-j), generative: pairwise comparison with tie, and single-response rating.

``lm_eval --model autoj --model_args pretrained=GAIR/autoj-13b[,adapter=DIR][,lenient=true] --tasks <tasks>``

* Prompts: ``judge_core.prompts.autoj`` = ``build_autoj_input`` of ``codes/usage/constants_prompt.py``: the
  ``pairwise_tie`` protocol for pairwise documents, ``single`` for absolute documents, in Llama-2's
  ``[INST] ... [/INST]`` without a system message, as plain text after the tokenizer's BOS (``chat_template=false``
  by default; the authors use no chat template).
* Decoding: greedy, at most ``max_new_tokens`` (default 1024, the authors' ``example.py``); generation stops once
  the verdict (``final decision is ...``) or the rating (``Rating: [[x]]``) is written.
* Reading (``codes/usage/example.py``): pairwise, the text after the last ``final decision is`` starts with
  ``Response 1`` / ``Response 2`` / ``Tie`` (``judge_core.parsers.autoj_comparison``; anything else is their -1, a
  parse failure: tie on the task, counted); single, the number in the last ``Rating: [[x]]``, 1-10, mapped
  linearly onto the task's scale (``parsers.autoj_rating``; where the authors return 0.0 for a missing rating, a
  parse failure here). ``lenient=true``: ``final decision`` in any case with ``is`` / ``:`` optional, any
  ``[[x]]``; recoveries are counted.

Output per document: ``verdict`` / ``score``, ``raw``, ``truncated``, ``parsed``, ``judge_input`` (the text the
model was fed), ``lenient_recovered`` (lenient=true).
"""
from __future__ import annotations

from judge_core import parsers, prompts
from judge_core.scales import rescale
from judge_models.generation import GenerativeJudge

AUTOJ_TOKENS = 1024


def verdict_written(text: str) -> bool:
    return parsers.autoj_comparison(text) is not None


def rating_written(text: str) -> bool:
    return parsers.autoj_rating(text) is not None


class AutoJJudge(GenerativeJudge):
    native = "pairwise"
    judge_name = "autoj"

    def __init__(self, chat_template=False, max_new_tokens=None, **kwargs):
        super().__init__(chat_template=chat_template, max_new_tokens=max_new_tokens or AUTOJ_TOKENS, **kwargs)

    def _run(self, texts: list[str], stop, desc: str):
        ids, truncated, fed = self.fit_texts([self.prompt_text(t) for t in texts])
        return [o[0] for o in self.generate(ids, n=1, stop=stop, desc=desc)], truncated, fed

    def _item(self, text, truncated, fed, recovered) -> dict:
        item = {"raw": text, "truncated": truncated, "judge_input": [fed]}
        if self.lenient:
            item["lenient_recovered"] = recovered
        return item

    def compare(self, docs: list[dict]) -> list[dict]:
        texts = [prompts.autoj(d["instruction"], d["response_a"], d["response_b"]) for d in docs]
        out = []
        for text, tr, fed in zip(*self._run(texts, verdict_written, "autoj pairwise")):
            verdict, recovered = self.read(parsers.autoj_comparison, text)
            out.append({"verdict": verdict, **self._item(text, tr, fed, recovered)})
        return out

    def grade_by_comparing(self, docs: list[dict]) -> list[dict]:
        """Absolute documents: Auto-J's own single-response protocol (no reference needed)."""
        texts = [prompts.autoj(d["instruction"], d["response"]) for d in docs]
        out = []
        for d, text, tr, fed in zip(docs, *self._run(texts, rating_written, "autoj single")):
            rating, recovered = self.read(parsers.autoj_rating, text)
            score = None if rating is None else rescale(rating, prompts.AUTOJ_SCALE, d["scale"])
            out.append({"score": score, "rating": rating, **self._item(text, tr, fed, recovered)})
        return out
