"""``replay``: scores predictions saved in a file (a JSON array or JSON Lines) instead of running a judge.

``lm_eval --model replay --model_args path=FILE,field=NAME[,id_field=NAME][,swap_path=FILE] --tasks T``. With
``id_field`` a prediction is matched to the document whose upstream id equals it; without, to the document at
the same position in the benchmark's file. Values are read in the benchmark's own encoding (PandaLM 0 / 1 / 2 =
tie / 1 / 2, Auto-J 0 / 1 / 2 = 1 / 2 / tie, the strings "1" / "2" / "Tie" / "A" / "B", a JudgeLM pair of
scores; a number for absolute tasks); anything else (a boolean too) is a parse failure (tie for pairwise tasks).

``swap_path``: the predictions on the exchanged pairs (response 2 shown first), in the benchmark's encoding and
the exchanged positions, as judges write them (Auto-J's ``pairwise_exchange_example_output.jsonl``); with it a
``_swap`` task gets both orders and every both-order metric. Predictions that match no document of the run are
counted and reported (a warning, and ``unmatched_predictions`` in every judge output of the samples log);
duplicate ids and bytes that are not UTF-8 stop with an error naming the file and the row.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

from judge_core import labels, parsers
from judge_models.base import JudgeModel, JudgeTaskError
from judge_tasks.sources import read_rows

log = logging.getLogger(__name__)

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
        if any(isinstance(v, bool) for v in value):
            return None
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


def read_predictions(path: Path, field: str, id_field: str | None) -> dict:
    """``{key: value}`` of a predictions file: key = the row's ``id_field`` (as a string), else its position."""
    rows = read_rows(path)  # bad bytes, duplicate keys, deep nesting: a RecordError naming file and row
    if isinstance(rows, dict) and field in rows:  # a one-line JSON Lines file reads as one JSON object
        rows = [rows]
    if not isinstance(rows, list):
        raise ValueError(f"{path}: expected a JSON array or JSON Lines of predictions")
    by_key: dict = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or field not in row:
            raise ValueError(f"{path}: row {i}: field {field!r}: missing")
        if id_field is None:
            by_key[i] = row[field]
            continue
        if id_field not in row:
            raise ValueError(f"{path}: row {i}: field {id_field!r}: missing")
        key = row[id_field]
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            raise ValueError(f"{path}: row {i}: field {id_field!r}: an id must be a string or an integer, "
                             f"got {type(key).__name__} {key!r}")
        if str(key) in by_key:
            raise ValueError(f"{path}: row {i}: field {id_field!r}: duplicate id {str(key)!r}")
        by_key[str(key)] = row[field]
    return by_key


class ReplayJudge(JudgeModel):
    def __init__(self, path: str, field: str, id_field: str | None = None, swap_path: str | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.path, self.field, self.id_field = Path(path), field, id_field
        self.swap_path = None if swap_path is None else Path(swap_path)
        self.by_order = {"ab": read_predictions(self.path, field, id_field)}
        if self.swap_path is not None:
            self.by_order["ba"] = read_predictions(self.swap_path, field, id_field)
        self.used: dict[str, set] = {order: set() for order in self.by_order}

    def weight_paths(self) -> list:
        """The predictions files: replayed outputs changed in place are another judge's."""
        return [p for p in (self.path, self.swap_path) if p is not None]

    def _value(self, doc):
        order = doc.get("order", "ab")
        if order not in self.by_order:
            raise JudgeTaskError("replay without swap_path holds one verdict per pair: give the predictions on the "
                                 "exchanged pairs as swap_path=FILE, or run the task without _swap")
        key = doc["id"] if self.id_field is not None else doc["row"]
        path = self.path if order == "ab" else self.swap_path
        if key not in self.by_order[order]:
            how = f"{self.id_field}={key}" if self.id_field else f"row {key}"
            raise JudgeTaskError(f"{path}: no prediction for document {how} of {doc['benchmark']}")
        self.used[order].add(key)
        return self.by_order[order][key]

    def unmatched(self) -> dict:
        """Per file: predictions that matched no document judged so far."""
        files = {"ab": self.path, "ba": self.swap_path}
        return {str(files[o]): len(p) - len(self.used[o]) for o, p in self.by_order.items()}

    def judge(self, docs):
        out = []
        for d in docs:
            value = self._value(d)
            if d["kind"] == "absolute":
                out.append({"score": decode_score(value), "raw": value})
            else:
                out.append({"verdict": decode_verdict(value, d["label_encoding"]), "raw": value})
        unmatched = self.unmatched()
        for path, count in unmatched.items():
            if count:
                log.warning("replay: %d of the predictions in %s match no document of this run (%d documents "
                            "judged; --limit, or predictions for documents the task does not have)",
                            count, path, len(docs))
        total = sum(unmatched.values())
        for o in out:
            o["unmatched_predictions"] = total
        return out
