"""The normalised judge documents every loader produces and every judge reads from ``Instance.doc``.

Absolute record: ``instruction, response, rubric | None, reference | None, gold_score, scale``.
Pairwise record: ``instruction, response_a, response_b, rubric | None, reference | None, gold`` (``a`` / ``b`` /
``tie``), ``gold_scores | None``, ``order`` (``ab`` as published, ``ba`` swapped) and ``pair`` (the pair's key).
Every record also has ``kind``, ``benchmark``, ``id`` (upstream id), ``row`` (0-based position in the upstream
file), ``prompt_family`` (which generative prompt a plain harness model gets), ``label_encoding`` (how the
benchmark writes verdicts, for replayed predictions) and ``meta`` (a dict with the same keys on every row of a
benchmark). A rubric is ``{"criteria": str, "score_descriptions": [5 strings]}``.
"""
from __future__ import annotations

import math

VERDICTS = ("a", "b", "tie")
PROMPT_FAMILIES = ("prometheus_absolute", "prometheus_relative", "judgelm", "pandalm", "autoj")


class RecordError(ValueError):
    """A malformed upstream row: the message names the file, the row and the field."""

    def __init__(self, file, row, field, problem):
        super().__init__(f"{file}: row {row}: field {field!r}: {problem}")
        self.file, self.row, self.field = str(file), row, field


def rubric(criteria: str, descriptions) -> dict:
    descriptions = [str(d) for d in descriptions]
    if len(descriptions) != 5:
        raise ValueError(f"a rubric needs 5 score descriptions, got {len(descriptions)}")
    return {"criteria": str(criteria), "score_descriptions": descriptions}


def _check(source_file, benchmark, row, fields: dict, optional=()) -> None:
    """Every text field is a string (``optional`` ones may be None), so a document never carries a number in one
    row and text in the next (the Arrow conversion of ``datasets`` would refuse the column)."""
    for name, value in fields.items():
        if value is None and name in optional:
            continue
        if not isinstance(value, str):
            raise RecordError(source_file or f"<{benchmark} records>", row, name,
                              f"expected text{' or null' if name in optional else ''}, got {type(value).__name__}")


def _check_common(source_file, benchmark, id, row, rubric, meta) -> None:
    where = source_file or f"<{benchmark} records>"
    if isinstance(row, bool) or not isinstance(row, int):
        raise RecordError(where, row, "row", f"expected a row number, got {type(row).__name__}")
    if isinstance(id, bool) or not isinstance(id, (str, int)):
        raise RecordError(where, row, "id", f"expected an id (text or integer), got {type(id).__name__}")
    if rubric is not None and not (isinstance(rubric, dict) and isinstance(rubric.get("criteria"), str)
                                   and isinstance(rubric.get("score_descriptions"), list)
                                   and len(rubric["score_descriptions"]) == 5
                                   and all(isinstance(d, str) for d in rubric["score_descriptions"])):
        raise RecordError(where, row, "rubric", "expected {criteria: text, score_descriptions: [5 texts]} or null")
    if meta is not None and not isinstance(meta, dict):
        raise RecordError(where, row, "meta", f"expected an object, got {type(meta).__name__}")


def _real(value, where, row, name) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RecordError(where, row, name, f"expected a finite number, got {value!r}")
    return float(value)


def absolute(*, benchmark, id, row, instruction, response, gold_score, scale=(1.0, 5.0), rubric=None,
             reference=None, prompt_family="prometheus_absolute", label_encoding="score", meta=None,
             source_file=None) -> dict:
    """An absolute document; ``source_file`` (the upstream file) only names where a bad field came from."""
    _check_common(source_file, benchmark, id, row, rubric, meta)
    _check(source_file, benchmark, row, {"instruction": instruction, "response": response, "reference": reference},
           optional=("reference",))
    where = source_file or f"<{benchmark} records>"
    return {
        "kind": "absolute", "benchmark": benchmark, "id": str(id), "row": int(row),
        "instruction": instruction, "response": response, "rubric": rubric, "reference": reference,
        "gold_score": _real(gold_score, where, row, "gold_score"),
        "scale": [_real(scale[0], where, row, "scale"), _real(scale[1], where, row, "scale")],
        "prompt_family": prompt_family, "label_encoding": label_encoding, "meta": dict(meta or {}),
    }


def pairwise(*, benchmark, id, row, instruction, response_a, response_b, gold, rubric=None, reference=None,
             gold_scores=None, prompt_family="prometheus_relative", label_encoding="ab", meta=None,
             source_file=None) -> dict:
    """A pairwise document; ``source_file`` (the upstream file) only names where a bad field came from."""
    if gold not in VERDICTS:
        raise ValueError(f"gold must be one of {VERDICTS}, got {gold!r}")
    _check_common(source_file, benchmark, id, row, rubric, meta)
    _check(source_file, benchmark, row, {"instruction": instruction, "response_a": response_a,
                                         "response_b": response_b, "reference": reference}, optional=("reference",))
    where = source_file or f"<{benchmark} records>"
    return {
        "kind": "pairwise", "benchmark": benchmark, "id": str(id), "row": int(row),
        "instruction": instruction, "response_a": response_a, "response_b": response_b,
        "rubric": rubric, "reference": reference, "gold": gold,
        "gold_scores": None if gold_scores is None else [_real(s, where, row, "gold_scores") for s in gold_scores],
        "order": "ab", "swap": False, "pair": f"{benchmark}:{id}:{row}",
        "prompt_family": prompt_family, "label_encoding": label_encoding, "meta": dict(meta or {}),
    }


def flip(verdict: str) -> str:
    return {"a": "b", "b": "a", "tie": "tie"}[verdict]


def swapped(record: dict) -> dict:
    """The same pair with the responses (and gold) in the other order."""
    out = dict(record)
    out["response_a"], out["response_b"] = record["response_b"], record["response_a"]
    out["gold"] = flip(record["gold"])
    if record.get("gold_scores") is not None:
        out["gold_scores"] = list(reversed(record["gold_scores"]))
    out["order"] = "ba" if record["order"] == "ab" else "ab"
    return out


def to_published_order(verdict: str, record: dict) -> str:
    """A verdict given on ``record`` (maybe swapped) expressed in the positions of the published pair."""
    return verdict if record.get("order", "ab") == "ab" else flip(verdict)
