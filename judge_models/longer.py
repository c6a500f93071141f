"""``longer``: the length baseline. On a pairwise task it prefers the longer response; equal lengths tie.

``lm_eval --model longer --tasks <pairwise tasks, plain or _swap>``

It reads nothing but the two responses, so any judge that does not beat it on a task has learned no more than
"the longer answer wins" there: every table can show this floor beside the judges.

Length unit: **characters** of the response text as the task hands it over (Python ``len`` of the string: Unicode
code points, whitespace included, nothing stripped). Characters need no tokenizer (a judge-independent floor),
count text without spaces (Chinese, Japanese, code) where whitespace tokens would undercount it, and are the unit
in which the data cards of the evaluation and training files report their "longer response wins" rates.

On an absolute task (one response, nothing to compare) it stops with the base class's error.
"""
from __future__ import annotations

from judge_models.base import JudgeModel

UNIT = "characters"


def length(text: str) -> int:
    """The length the baseline compares: characters (Unicode code points) of the response."""
    return len(text)


def longer_verdict(response_a: str, response_b: str) -> str:
    """``"a"`` when A is longer, ``"b"`` when B is, ``"tie"`` when both have the same length."""
    la, lb = length(response_a), length(response_b)
    return "a" if la > lb else "b" if lb > la else "tie"


class LongerJudge(JudgeModel):
    native = "pairwise"

    def compare(self, docs: list[dict]) -> list[dict]:
        out = []
        for d in docs:
            la, lb = length(d["response_a"]), length(d["response_b"])
            out.append({"verdict": longer_verdict(d["response_a"], d["response_b"]),
                        "raw": f"A {la} {UNIT}, B {lb} {UNIT}", "lengths": [la, lb], "unit": UNIT})
        return out
