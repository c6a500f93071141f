"""``replay``: scores predictions saved in a file (a JSON array or JSON Lines) instead of running a judge.

``lm_eval --model replay --model_args path=FILE,field=NAME[,id_field=NAME] --tasks T``. With ``id_field`` a
prediction is matched to the document whose upstream id equals it; without, to the document at the same
position in the benchmark's file. Values are read in the benchmark's own encoding (PandaLM 0 / 1 / 2 = tie /
1 / 2, Auto-J 0 / 1 / 2 = 1 / 2 / tie, the strings "1" / "2" / "Tie" / "A" / "B", a JudgeLM pair of scores;
a number for absolute tasks); anything else is a parse failure (tie for pairwise tasks).
"""
from __future__ import annotations

import math
from pathlib import Path

from judge_core import labels, parsers
from judge_models.base import JudgeModel, JudgeTaskError
from judge_tasks.sources import read_rows

_STRINGS = {"1": "a", "2": "b", "tie": "tie", "a": "a", "b": "b"}


def decode_verdict(value, encoding: str):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return labels.decode(encoding, value)
    if isinstance(value, float) and value.is_integer():
        return labels.decode(encoding, int(value))
    if isinstance(value, str):
        return _STRINGS.get(value.strip().lower())
    if isinstance(value, (list, tuple)) and len(value) == 2:
        try:
            return parsers.judgelm_verdict((float(value[0]), float(value[1])))
        except (TypeError, ValueError, OverflowError):
            return None
    return None


def decode_score(value):
    if isinstance(value, bool):
        return None
    try:
        score = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return score if math.isfinite(score) else None


class ReplayJudge(JudgeModel):
    def __init__(self, path: str, field: str, id_field: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.path, self.field, self.id_field = Path(path), field, id_field
        rows = read_rows(self.path)
        if isinstance(rows, dict) and field in rows:  # a one-line JSON Lines file reads as one JSON object
            rows = [rows]
        if not isinstance(rows, list):
            raise ValueError(f"{self.path}: expected a JSON array or JSON Lines of predictions")
        for i, row in enumerate(rows):
            if not isinstance(row, dict) or field not in row:
                raise ValueError(f"{self.path}: row {i}: field {field!r}: missing")
            if id_field is not None and id_field not in row:
                raise ValueError(f"{self.path}: row {i}: field {id_field!r}: missing")
        if id_field is None:
            self.by_key = {i: row[field] for i, row in enumerate(rows)}
        else:
            self.by_key = {}
            for i, row in enumerate(rows):
                key = str(row[id_field])
                if key in self.by_key:
                    raise ValueError(f"{self.path}: row {i}: field {id_field!r}: duplicate id {key!r}")
                self.by_key[key] = row[field]

    def _value(self, doc):
        if doc.get("order", "ab") != "ab":
            raise JudgeTaskError("replay holds one verdict per pair: run the task without _swap")
        key = doc["id"] if self.id_field is not None else doc["row"]
        if key not in self.by_key:
            how = f"{self.id_field}={key}" if self.id_field else f"row {key}"
            raise JudgeTaskError(f"{self.path}: no prediction for document {how} of {doc['benchmark']}")
        return self.by_key[key]

    def judge(self, docs):
        out = []
        for d in docs:
            value = self._value(d)
            if d["kind"] == "absolute":
                out.append({"score": decode_score(value), "raw": value})
            else:
                out.append({"verdict": decode_verdict(value, d["label_encoding"]), "raw": value})
        return out
