"""One parser per judge output format. Every parser returns ``None`` for output it cannot read and never
raises (fuzz-tested with hypothesis); callers count the ``None``s as parse failures.

* Prometheus: end-anchored ``[RESULT]`` -> ``1``..``5`` (absolute) or ``A`` / ``B`` (relative).
* JudgeLM: the first line holds the two scores (``"s1 s2"``, 1-10).
* PandaLM: the first line is ``1`` / ``2`` / ``Tie`` (then ``### Reason:`` and ``### Reference:`` sections).
* Judge models of this package: one line ``JUDGE_OUTPUT {json}`` (score, verdict, distribution, raw text).
"""
from __future__ import annotations

import json
import math
import re

from judge_core.scales import verdict_from_scores

_RESULT_ABS = re.compile(r"\[RESULT\]\s*[\(\[]?\s*([1-5])(?:\.0+)?\s*[\)\]]?[\s.]*\Z")
_RESULT_REL = re.compile(r"\[RESULT\]\s*[\(\[]?\s*[\"']?([AB])[\"']?\s*[\)\]]?[\s.]*\Z")
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_JUDGELM_LINE = re.compile(rf"\A\s*({_NUMBER})\s*[, ]\s*({_NUMBER})\s*\Z")
_PANDALM_FIRST = {"1": "a", "2": "b", "tie": "tie"}
JUDGE_OUTPUT_TAG = "JUDGE_OUTPUT "


def prometheus_absolute(text) -> int | None:
    """``... [RESULT] 4`` -> 4: the last ``[RESULT]`` must be followed by the score and nothing else."""
    if not isinstance(text, str):
        return None
    m = _RESULT_ABS.search(text.strip())
    return int(m.group(1)) if m else None


def prometheus_relative(text) -> str | None:
    """``... [RESULT] B`` -> ``"b"``."""
    if not isinstance(text, str):
        return None
    m = _RESULT_REL.search(text.strip())
    return m.group(1).lower() if m else None


def judgelm(text, prefix: str = "") -> tuple[float, float] | None:
    """JudgeLM's rule: the first line is two numbers. ``prefix`` is what the prompt already wrote of it
    (``"10 "`` in single-answer grading)."""
    if not isinstance(text, str):
        return None
    first = (prefix + text).strip().split("\n", 1)[0]
    m = _JUDGELM_LINE.match(first)
    if not m:
        return None
    try:
        s1, s2 = float(m.group(1)), float(m.group(2))
    except ValueError:
        return None
    if not (math.isfinite(s1) and math.isfinite(s2)):
        return None
    return s1, s2


def judgelm_verdict(scores: tuple[float, float] | None) -> str | None:
    """JudgeLM ``translate_score_to_win_list`` with T = 0: higher score wins, equal scores tie."""
    if scores is None:
        return None
    return verdict_from_scores(*scores)


def pandalm(text) -> str | None:
    """PandaLM's first line: ``1`` / ``2`` / ``Tie``."""
    if not isinstance(text, str):
        return None
    first = text.strip().split("\n", 1)[0].strip().rstrip(".").strip().lower()
    return _PANDALM_FIRST.get(first)


_PANDALM_REASON = re.compile(r"###\s*Reason:\s*(.*?)(?=\n\s*###\s*Reference:|\Z)", re.S)
_PANDALM_REFERENCE = re.compile(r"###\s*Reference:\s*(.*)\Z", re.S)


def pandalm_reason_and_reference(text) -> tuple[str | None, str | None]:
    """The ``### Reason:`` and ``### Reference:`` sections of a PandaLM output (None where absent)."""
    if not isinstance(text, str):
        return None, None
    reason, reference = _PANDALM_REASON.search(text), _PANDALM_REFERENCE.search(text)
    return (reason.group(1).strip() if reason else None, reference.group(1).strip() if reference else None)


def encode_judge_output(output: dict) -> str:
    return JUDGE_OUTPUT_TAG + json.dumps(output, sort_keys=True)


def judge_output(text) -> dict | None:
    """The structured output of this package's judge models, or ``None`` for any other text."""
    if not isinstance(text, str) or not text.startswith(JUDGE_OUTPUT_TAG):
        return None
    try:
        out = json.loads(text[len(JUDGE_OUTPUT_TAG):])
    except (ValueError, RecursionError):
        return None
    return out if isinstance(out, dict) else None
