"""One parser per judge output format, each following its authors' own reading rule by default. Every parser
returns ``None`` for output it cannot read and never raises; callers count the ``None``s as parse failures.

Each reading runs in linear time (no regular expression that can backtrack over a judge's output): a 1 MB
adversarial output takes milliseconds (fuzz-tested with hypothesis in ``tests/test_parsers.py``).

* Prometheus (``prometheus-eval/prometheus-eval``, ``libs/prometheus-eval/prometheus_eval/parser.py``):
  absolute: the last thing in the output is a keyword (``[RESULT]``, ``[SCORE]``, ``Score:``, ``Result:``,
  ``[Result]:``, ``score of``; any case), then brackets / spaces, the score 1-5 and at most one closer (``)``,
  ``]``, ``/5``, ``out of 5``). Relative: the first keyword (``[RESULT]``, ``[RESULT:``, ``[Response``,
  ``[Result] Response``, a line starting ``Result:``; any case) followed by ``A`` / ``B`` at the end of a line
  (text may follow on later lines).
* JudgeLM (``baaivision/JudgeLM``, ``judgelm/llm_judge/common.py``, ``parse_score``): the first line, commas
  read as spaces, split on single spaces into exactly two numbers; anything else is ``[-1, -1]`` (here: ``None``).
* PandaLM (``WeOpenML/PandaLM``, ``pandalm/utils/pandalm_inference.py``, ``parse_pandalm_response``): the first
  line of the stripped output is ``1`` / ``2`` / ``tie`` in any case (then ``### Reason:`` and ``### Reference:``).
* Auto-J (``GAIR-NLP/auto-j``, ``codes/usage/example.py``): pairwise: the text after the last ``final decision is``
  starts with ``response 1`` / ``response 2`` / ``tie`` (any case); single: the number in the last
  ``Rating: [[x]]`` (1-10).
* Judge models of this package: one line ``JUDGE_OUTPUT {json}`` (score, verdict, distribution, raw text).

``lenient=True`` adds a second, looser reading used only where the authors' reading fails (``read`` says whether
it was needed, so a judge counts what the lenient reading recovered).
"""
from __future__ import annotations

import json
import math
import re

from judge_core.scales import verdict_from_scores

JUDGE_OUTPUT_TAG = "JUDGE_OUTPUT "
_PANDALM_FIRST = {"1": "a", "2": "b", "tie": "tie"}


def read(parser, text, lenient: bool = False, **kwargs):
    """``(value, recovered)``: the authors' reading, else (``lenient``) the lenient one; ``recovered`` is True when
    only the lenient reading gave a value."""
    value = parser(text, **kwargs)
    if value is not None or not lenient:
        return value, False
    value = parser(text, lenient=True, **kwargs)
    return value, value is not None


# --------------------------------------------------------------------------- small linear-time helpers
_WS_BACK = re.compile(r"\s*")
_WS_BRACKETS_BACK = re.compile(r"[\s(\[]*")
_DIGITS_BACK = re.compile(r"\d*")


def _run_back(pattern: re.Pattern, text: str, end: int) -> int:
    """The start of the run of ``pattern``'s characters that ends at ``end`` (matched on the reversed text, so one
    pass, no backtracking)."""
    return end - pattern.match(text[end - 1::-1] if end > 0 else "").end()


def _skip_back(text: str, end: int, brackets: bool = False) -> int:
    """The start of the run of whitespace (and, with ``brackets``, ``(`` / ``[``) that ends at ``end``."""
    return _run_back(_WS_BRACKETS_BACK if brackets else _WS_BACK, text, end)


def _ends_with(text: str, end: int, word: str) -> bool:
    """``text[:end]`` ends with ``word``, case-insensitively."""
    start = end - len(word)
    return start >= 0 and text[start:end].lower() == word


def _digits_back(text: str, end: int) -> int:
    return _run_back(_DIGITS_BACK, text, end)


# --------------------------------------------------------------------------- Prometheus
_ABS_KEYWORDS = ("[result]", "[score]", "score:", "score", "result:", "result", "[result]:")


def _abs_keyword_before(text: str, end: int) -> bool:
    """A Prometheus absolute keyword ends at ``end``: ``[RESULT]`` ... or ``score\\s+of``."""
    if any(_ends_with(text, end, k) for k in _ABS_KEYWORDS):
        return True
    if _ends_with(text, end, "of"):
        ws = _skip_back(text, end - 2)
        return ws < end - 2 and _ends_with(text, ws, "score")
    return False


def _abs_score_at(text: str, end: int) -> int | None:
    """The digits ending at ``end``, preceded by brackets / spaces and a keyword: their value, else None."""
    start = _digits_back(text, end)
    if start == end or not _abs_keyword_before(text, _skip_back(text, start, brackets=True)):
        return None
    return int(text[start:end])


def _prometheus_absolute_authors(text: str) -> int | None:
    s = text.rstrip()
    candidates = [len(s)]  # no closer
    if s.endswith((")", "]")):
        candidates.append(len(s) - 1)
    if s.endswith("5"):
        i = _skip_back(s, len(s) - 1)
        if i > 0 and s[i - 1] == "/":
            candidates.append(i - 1)  # "/\s*5"
        if _ends_with(s, i, "of"):
            j = _skip_back(s, i - 2)
            if _ends_with(s, j, "out"):
                candidates.append(_skip_back(s, j - 3))  # "\s*out\s*of\s*5"
    # every candidate that reads is the same match of the authors' pattern (they exclude each other)
    for end in candidates:
        score = _abs_score_at(s, end)
        if score is not None:
            return score if 1 <= score <= 5 else None
    return None


def _after_last_result(text) -> str | None:
    """The lenient readers' view: what follows the last ``[RESULT]`` (any case), leading blanks, brackets, quotes,
    asterisks and colons skipped; None for a non-string or when there is no ``[RESULT]``."""
    if not isinstance(text, str):
        return None
    pos = text.lower().rfind("[result]")
    return None if pos < 0 else text[pos + len("[result]"):].lstrip(" \t\n([\"'*:")


def prometheus_absolute(text, lenient: bool = False) -> int | None:
    """``... [RESULT] 4`` -> 4 (the authors' ``_parse_output_absolute``: any case, at the end of the output).
    ``lenient``: the first digit 1-5 after the last ``[RESULT]``, whatever follows it."""
    if not lenient:
        return _prometheus_absolute_authors(text) if isinstance(text, str) else None
    rest = _after_last_result(text)
    return int(rest[0]) if rest and rest[0] in "12345" and not rest[1:2].isdecimal() else None


# the authors' relative pattern with possessive quantifiers (the same matches, no backtracking over spaces), split
# in two so that each starts with a literal the regex engine can scan for: "[..." and "result" at a line start
_VERDICT_AT_LINE_END = r"\s*+([ab])\]?+[^\S\n]*+(?:\n|\Z)"
_RELATIVE_BRACKET = re.compile(r"\[(?:result(?:\]|:)|response(?=\s)|result\]\s++response)" + _VERDICT_AT_LINE_END,
                               re.I)
_RELATIVE_LINE = re.compile(r"\nresult:?" + _VERDICT_AT_LINE_END, re.I)
_RELATIVE_FIRST_LINE = re.compile(r"result:?" + _VERDICT_AT_LINE_END, re.I)


def _prometheus_relative_authors(text: str) -> str | None:
    # keywords hold no a / b, so the authors' leftmost match is the one whose verdict letter comes first
    found = [m for m in (_RELATIVE_BRACKET.search(text), _RELATIVE_LINE.search(text),
                         _RELATIVE_FIRST_LINE.match(text)) if m is not None]
    return min(found, key=lambda m: m.start(1)).group(1).lower() if found else None


def prometheus_relative(text, lenient: bool = False) -> str | None:
    """``... [RESULT] B`` -> ``"b"`` (the authors' ``_parse_output_relative``: any case, the first verdict at the
    end of a line). ``lenient``: the first ``A`` / ``B`` after the last ``[RESULT]``, whatever follows it."""
    if not lenient:
        return _prometheus_relative_authors(text) if isinstance(text, str) else None
    rest = _after_last_result(text) or ""
    if rest[:9].lower() == "response ":
        rest = rest[9:]
    return rest[0].lower() if rest[:1] in ("A", "B") and not rest[1:2].isalpha() else None


# --------------------------------------------------------------------------- JudgeLM
def judgelm_parse_score(review) -> list[float]:
    """JudgeLM's ``parse_score`` as written: first line, ``,`` -> `` ``, split on ``" "``, exactly two floats,
    else ``[-1, -1]``."""
    try:
        sp = review.partition("\n")[0].replace(",", " ").split(" ")
        if len(sp) == 2:
            return [float(sp[0]), float(sp[1])]
    except Exception:  # noqa: BLE001 - the authors catch everything
        pass
    return [-1, -1]


def _judgelm_lenient(first: str) -> list[float] | None:
    parts = first.replace(",", " ").split()
    if len(parts) != 2:
        return None
    try:
        return [float(parts[0]), float(parts[1])]
    except ValueError:
        return None


def judgelm(text, prefix: str = "", lenient: bool = False) -> tuple[float, float] | None:
    """The two 1-10 scores of a JudgeLM output (``parse_score``); ``None`` where the authors get ``[-1, -1]``
    from a failure, or a score is not finite. ``prefix`` is what the prompt already wrote of the first line
    (``"10"`` in single-answer grading). ``lenient``: the first non-empty line, split on any whitespace."""
    if not isinstance(text, str) or not isinstance(prefix, str):
        return None
    full = prefix + text
    if lenient:
        scores = _judgelm_lenient(full.lstrip().partition("\n")[0])
    else:
        sp = full.partition("\n")[0].replace(",", " ").split(" ")
        scores = None
        if len(sp) == 2:
            try:
                scores = [float(sp[0]), float(sp[1])]
            except ValueError:
                pass
    if scores is None or not all(math.isfinite(s) for s in scores):
        return None
    return scores[0], scores[1]


def judgelm_verdict(scores: tuple[float, float] | None) -> str | None:
    """JudgeLM ``translate_score_to_win_list`` with T = 0: higher score wins, equal scores tie."""
    if scores is None:
        return None
    return verdict_from_scores(*scores)


# --------------------------------------------------------------------------- PandaLM
def pandalm(text, lenient: bool = False) -> str | None:
    """PandaLM's ``parse_pandalm_response``: the first line of the stripped output is ``1`` / ``2`` or, in any case,
    ``tie`` (anything else is their 0, a tie: here a parse failure, scored as a tie and counted). ``lenient``: the
    first line stripped, a full stop dropped, or its first word (``"2 is better"``)."""
    if not isinstance(text, str):
        return None
    first = text.strip().partition("\n")[0]
    if not lenient:
        return _PANDALM_FIRST.get(first if first in ("1", "2") else first.lower() if first.lower() == "tie" else "")
    first = first.strip().rstrip(".").strip().lower()
    return _PANDALM_FIRST.get(first) or _PANDALM_FIRST.get(first.split(" ", 1)[0].rstrip(".,:;"))


_REASON = re.compile(r"###\s*+Reason:\s*+")
_REFERENCE = re.compile(r"###\s*+Reference:")


def pandalm_reason_and_reference(text) -> tuple[str | None, str | None]:
    """The ``### Reason:`` and ``### Reference:`` sections of a PandaLM output (None where absent); the reason
    ends where a line (after blank space) starts ``### Reference:``."""
    if not isinstance(text, str):
        return None, None
    reason = None
    r = _REASON.search(text)
    if r is not None:
        end = len(text)
        for m in _REFERENCE.finditer(text, r.end()):
            if "\n" in text[max(_skip_back(text, m.start()), r.end()):m.start()]:
                end = m.start()
                break
        reason = text[r.end():end].strip()
    ref = _REFERENCE.search(text)
    return reason, (None if ref is None else text[ref.end():].strip())


# --------------------------------------------------------------------------- Auto-J
_AUTOJ_DECISIONS = (("response 1", "a"), ("response 2", "b"), ("tie", "tie"))


def autoj_comparison(text, lenient: bool = False) -> str | None:
    """Auto-J's ``extract_pariwise_result``: after the last ``final decision is`` (case-sensitive, as theirs),
    ``response 1`` -> a, ``response 2`` -> b, ``tie`` (any case). ``lenient``: the same after the last
    ``final decision`` in any case, with ``:`` / ``is`` optional."""
    if not isinstance(text, str):
        return None
    raw = text.strip()
    if lenient:
        pos = raw.lower().rfind("final decision")
        if pos < 0:
            return None
        rest = raw[pos + len("final decision"):].lstrip(" :*\"'\t").lower()
        rest = rest[3:].lstrip(" :*\"'") if rest.startswith("is ") or rest.startswith("is:") else rest
    else:
        pos = raw.rfind("final decision is ")
        if pos < 0:
            return None
        rest = raw[pos + len("final decision is "):].strip().lower()
    for prefix, verdict in _AUTOJ_DECISIONS:
        if rest.startswith(prefix):
            return verdict
    return None


def autoj_rating(text, lenient: bool = False) -> float | None:
    """Auto-J's ``extract_single_rating``: the number in the last ``Rating: [[x]]``; ``None`` where the authors
    return 0.0 (no rating) or their ``float()`` would raise, or outside 1-10. ``lenient``: the last ``[[x]]``."""
    if not isinstance(text, str):
        return None
    marker = "[[" if lenient else "Rating: [["
    pos = text.rfind(marker)
    if pos < 0:
        return None
    end = text.find("]]", pos)
    if end < 0:
        return None
    try:
        value = float(text[pos + len(marker):end].strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and 1.0 <= value <= 10.0 else None


# --------------------------------------------------------------------------- this package's judges
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
