"""``pandalm``: PandaLM pairwise judging (1 / 2 / Tie), generative.

``lm_eval --model pandalm --model_args pretrained=BASE[,adapter=DIR][,reasons=true] --tasks pandalm_test ...``

Prompt: ``judge_core.prompts.pandalm`` (the released inference code's layout; the document's ``meta.input`` as the
Input section when there is one). The judge writes ``1`` / ``2`` / ``Tie`` on its first line
(``judge_core.parsers.pandalm``), then ``### Reason: ...`` and ``### Reference: ...``.

* ``reasons=false`` (default): only the first line is generated (stops at its end, ``max_new_tokens`` default 16).
* ``reasons=true``: the reason and the reference answer are generated too (``max_new_tokens`` default 512) and
  returned as ``reason`` and ``reference`` (so they are in ``--log_samples``). PandaLM's own decoding used beam
  search (``num_beams=4``) with ``repetition_penalty=1.2``; both are model_args here (greedy by default).

Output per document: ``verdict``, ``raw``, ``reason`` / ``reference`` (reasons=true), ``truncated``, ``parsed``.
Unparseable first line -> parse failure (tie, PandaLM's rule). Absolute tasks: not served (PandaLM has no
single-answer grading).
"""
from __future__ import annotations

from judge_core import parsers, prompts
from judge_models.generation import GenerativeJudge, first_line_done


class PandaLMJudge(GenerativeJudge):
    native = "pairwise"
    judge_name = "pandalm"

    def compare(self, docs: list[dict]) -> list[dict]:
        fitted = [self.fit(self.encode_prompt(prompts.pandalm_for(d)))
                  for d in docs]
        texts = self.generate([ids for ids, _ in fitted], n=1,
                              stop=None if self.reasons else first_line_done,
                              cut_first_line=not self.reasons, desc="pandalm")
        out = []
        for (_, tr), (text,) in zip(fitted, texts):
            item = {"verdict": parsers.pandalm(text), "raw": text, "truncated": tr}
            if self.reasons:
                item["reason"], item["reference"] = parsers.pandalm_reason_and_reference(text)
            out.append(item)
        return out
