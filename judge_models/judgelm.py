"""``judgelm``: JudgeLM-style pairwise judging (paper Fig. 3-5), generative.

``lm_eval --model judgelm --model_args pretrained=BASE[,adapter=DIR][,reasons=true] --tasks ...``

* Pairwise documents: ``judge_core.prompts.judgelm_pair`` (the reference-answer variant, Fig. 4, when the document
  has a reference). The judge writes "s1 s2" (1-10) on its first line; the higher score wins, equal scores tie.
* Absolute documents with a reference answer: single-answer grading (Fig. 5, ``prompts.judgelm_single``): the
  reference is Assistant 1 with a score of 10 already written, the judge completes Assistant 2's score, which is
  mapped linearly from 1-10 onto the task's scale. Absolute documents without a reference: an error (base class).
* ``reasons=false`` (default): score-first, generation stops at the end of the first line (at most
  ``max_new_tokens``, default 16): JudgeLM's fast mode. ``reasons=true``: the explanation is generated too
  (``max_new_tokens`` default 512) and returned as ``reason``.
* With a chat template the prompt is the user turn and Fig. 5's "10 " starts the assistant turn.

Output per document: ``verdict`` (pairwise) or ``score`` (absolute), ``scores`` (the two 1-10 numbers), ``raw``
(the generated text), ``reason`` (reasons=true), ``truncated``, ``parsed``. Parsing: ``judge_core.parsers.judgelm``;
unparseable -> parse failure (tie on pairwise tasks).
"""
from __future__ import annotations

from judge_core import parsers, prompts
from judge_core.scales import clip, rescale
from judge_models.generation import GenerativeJudge, first_line_done

_SINGLE_TAIL = "\n\n[Response]\n" + prompts.JUDGELM_SINGLE_PREFIX


def _rest(text: str) -> str:
    parts = text.strip().split("\n", 1)
    return parts[1].strip() if len(parts) > 1 else ""


class JudgeLMJudge(GenerativeJudge):
    native = "pairwise"
    judge_name = "judgelm"

    def _run(self, encoded: list[list[int]], desc: str) -> tuple[list[str], list[bool]]:
        fitted = [self.fit(ids) for ids in encoded]
        texts = self.generate([ids for ids, _ in fitted], n=1, stop=None if self.reasons else first_line_done,
                              cut_first_line=not self.reasons, desc=desc)
        return [t[0] for t in texts], [tr for _, tr in fitted]

    def compare(self, docs: list[dict]) -> list[dict]:
        encoded = [self.encode_prompt(prompts.judgelm_pair(d["instruction"], d["response_a"], d["response_b"],
                                                           d.get("reference"))) for d in docs]
        texts, truncated = self._run(encoded, "judgelm")
        out = []
        for text, tr in zip(texts, truncated):
            scores = parsers.judgelm(text)
            item = {"verdict": parsers.judgelm_verdict(scores), "scores": None if scores is None else list(scores),
                    "raw": text, "truncated": tr}
            if self.reasons:
                item["reason"] = _rest(text)
            out.append(item)
        return out

    def _single_prompt(self, d: dict) -> list[int]:
        text = prompts.judgelm_single(d["instruction"], d["response"], d["reference"])
        if self.use_chat_template and text.endswith(_SINGLE_TAIL):
            return self.encode_prompt(text[:-len(_SINGLE_TAIL)], assistant_prefix=prompts.JUDGELM_SINGLE_PREFIX)
        return self.encode_prompt(text)

    def grade_single(self, docs: list[dict]) -> list[dict]:
        texts, truncated = self._run([self._single_prompt(d) for d in docs], "judgelm single")
        lo, hi = prompts.JUDGELM_SCALE
        out = []
        for d, text, tr in zip(docs, texts, truncated):
            scores = parsers.judgelm(text, prefix=prompts.JUDGELM_SINGLE_PREFIX)
            score = None
            if scores is not None:
                score = rescale(clip(scores[1], (lo, hi)), (lo, hi), d["scale"])
            item = {"score": score, "scores": None if scores is None else list(scores), "raw": text,
                    "prefix": prompts.JUDGELM_SINGLE_PREFIX, "truncated": tr}
            if self.reasons:
                item["reason"] = _rest(prompts.JUDGELM_SINGLE_PREFIX + text)
            out.append(item)
        return out

