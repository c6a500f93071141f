"""The corpus-level metrics the task YAMLs name (``aggregation: !function judge_tasks.aggregation.<metric>``): each
turns the per-document items of ``judge_tasks.harness.process_results`` into one metric of ``judge_core.metrics``
and carries a ``bootstrap`` attribute that the start-up hook uses for the stderr in the results.

Pairwise items judged in both orders are taken together (one bootstrap unit per pair): the swap-resolved verdict
(PandaLM), the published order only (JudgeLM), right in both orders (Auto-J), the two orders averaged (LLMBar),
consistency and position bias (JudgeLM). The stderr: the resample indices are drawn once per set of items
(``metrics.resample_counts``), and every metric's weighted twin computes it for all resamples at once.
"""
from __future__ import annotations

import functools
import math
import operator

import numpy as np

from judge_core import metrics, records
from judge_tasks import loaders


def _units(items: list) -> list[list]:
    """Bootstrap units: one per document, or one per pair when a pair was judged in both orders; in the order
    of their keys, so that the stderr does not depend on the order the items came in (one or many processes)."""
    groups: dict = {}
    for i, it in enumerate(items):
        groups.setdefault(it.get("pair", i), []).append(it)
    return [groups[k] for k in sorted(groups, key=str)]


def _both_orders(unit: list) -> tuple[str, str] | None:
    """The two verdicts (published positions) of a pair judged in both orders, else None."""
    by_order = {it["order"]: it["pred"] for it in unit}
    return (by_order["ab"], by_order["ba"]) if "ab" in by_order and "ba" in by_order else None


def _verdicts(items: list) -> tuple[list, list]:
    """Predicted and gold verdicts, one per pair: swap-resolved (disagreement -> tie) when judged twice."""
    pred, gold = [], []
    for unit in _units(items):
        both = _both_orders(unit)
        pred.append(metrics.swap_resolved(*both) if both else unit[0]["pred"])
        gold.append(unit[0]["gold"])
    return pred, gold


# --------------------------------------------------------------------------- the bootstrap's unit table
_VERDICT_CODE = {v: i for i, v in enumerate(records.VERDICTS)}
_CLASS_CODE = {"correct": 0, "partial": 1, "wrong": 2}


def _class_codes(scores: np.ndarray) -> np.ndarray:
    """The MM-Vet correctness class code of every score (``loaders.mmvet_class``, run once per distinct score)."""
    distinct, inverse = np.unique(scores, return_inverse=True)
    return np.array([_CLASS_CODE[loaders.mmvet_class(s)] for s in distinct], int)[inverse]


def _unit_table(items: list) -> dict:
    """One row per bootstrap unit (documents; pairs when judged in both orders), as numpy columns that the
    weighted metrics read: the same units in the same (key) order as ``_units``."""
    units = _units(items)
    if items and "order" not in items[0]:  # absolute
        pred = [u[0]["pred"] for u in units]
        valid = np.array([p is not None for p in pred])
        gold = np.array([float(u[0]["gold"]) for u in units])
        pred = np.array([float(p) if p is not None else 0.0 for p in pred])
        return {"kind": "absolute", "n": len(units), "valid": valid, "pred": pred, "gold": gold,
                "pred_code": np.where(valid, _class_codes(pred), 0), "gold_code": _class_codes(gold)}
    table = {"kind": "pairwise", "n": len(units), "valid": np.ones(len(units), bool)}
    resolved, first, gold, both, agree, lean_first, lean_second, source = [], [], [], [], [], [], [], []
    order_correct = []
    for u in units:
        pair = _both_orders(u)
        g = u[0]["gold"]
        gold.append(_VERDICT_CODE[g])
        resolved.append(_VERDICT_CODE[metrics.swap_resolved(*pair) if pair else u[0]["pred"]])
        ab = [it["pred"] for it in u if it["order"] == "ab"]
        first.append(_VERDICT_CODE[ab[0]] if ab else -1)
        both.append(pair is not None)
        stats = metrics.swap_stats([pair[0]], [pair[1]]) if pair else {}
        agree.append(stats.get("consistency", 0.0))
        lean_first.append(stats.get("bias_first", 0.0))
        lean_second.append(stats.get("bias_second", 0.0))
        source.append(u[0].get("source", ""))
        order_correct.append(sum(it["pred"] == it["gold"] for it in u) / len(u))  # LLMBar: mean over the orders
    table.update(gold_code=np.array(gold), pred_code=np.array(resolved), first_code=np.array(first),
                 has_first=np.array(first) >= 0, both=np.array(both), agree=np.array(agree),
                 lean_first=np.array(lean_first), lean_second=np.array(lean_second), source=np.array(source),
                 both_correct=np.array([b and a == 1.0 and r == g for b, a, r, g in zip(both, agree, resolved, gold)]),
                 order_correct=np.array(order_correct, float))
    return table


#: every weighted metric by name, with the table kinds it applies to (filled by ``_aggregation``)
_WEIGHTED: dict = {}
#: the resampled values of the last items bootstrapped: lm-eval asks for one metric's stderr at a time, on the
#: same item dicts, so the indices are drawn once and every metric is computed in the same pass over them
_LAST: dict = {"items": None, "iters": None, "values": None}


def _same_items(a, b) -> bool:
    return a is not None and len(a) == len(b) and all(map(operator.is_, a, b))


def _resampled_values(items: list, iters: int) -> dict:
    """``{metric: value per resample}`` of every weighted metric that applies to the items, in one pass over
    the resample count matrix (chunks of it), cached for the next metric of the same items."""
    if _LAST["iters"] == iters and _same_items(_LAST["items"], items):
        return _LAST["values"]
    table = _unit_table(items)
    fns = {name: fn for name, (fn, kinds) in _WEIGHTED.items() if table["kind"] in kinds}
    parts: dict = {name: [] for name in fns}
    if table["n"] >= 2:
        for w in metrics.resample_counts(table["n"], iters):
            table["memo"] = {}  # what the metrics of this chunk share (masked weights, confusion matrices)
            for name, fn in fns.items():
                parts[name].append(np.asarray(fn(w, table), float))
        table.pop("memo", None)
    values = {name: np.concatenate(p) if p else np.array([]) for name, p in parts.items()}
    _LAST.update(items=items, iters=iters, values=values)
    return values


def _aggregation(statistic, weighted, kinds=("pairwise",)):
    """An lm-eval aggregation over items (``statistic``: the scipy / sklearn reference) with a seeded bootstrap
    stderr: ``weighted(W, table)`` gives the metric for every row of a resample count matrix ``W`` at once."""
    name = statistic.__name__

    @functools.wraps(statistic)
    def aggregate(items):
        return statistic(list(items))

    def bootstrap(items, iters=200):
        values = _resampled_values(list(items), int(iters))[name]
        values = values[np.isfinite(values)]
        return float(np.std(values, ddof=1)) if len(values) > 1 else math.nan

    _WEIGHTED[name] = (weighted, kinds)
    aggregate.bootstrap = bootstrap
    aggregate.weighted = weighted
    return aggregate


def _absolute(fn, fn_weighted):
    def statistic(items):
        kept = [it for it in items if it["pred"] is not None]
        return fn([it["pred"] for it in kept], [it["gold"] for it in kept])

    statistic.__name__ = fn.__name__
    return _aggregation(statistic, lambda w, t: fn_weighted(_masked(w, t, "valid"), t["pred"], t["gold"]),
                        ("absolute",))


pearson = _absolute(metrics.pearson, metrics.pearson_weighted)
spearman = _absolute(metrics.spearman, metrics.spearman_weighted)
kendall = _absolute(metrics.kendall, metrics.kendall_weighted)
r2, mae, mse = (_absolute(metrics.r2, metrics.r2_weighted), _absolute(metrics.mae, metrics.mae_weighted),
                _absolute(metrics.mse, metrics.mse_weighted))


def _classes(items):
    """Verdicts for pairwise items; correctness classes for absolute items of a class benchmark."""
    if items and "order" not in items[0]:
        kept = [it for it in items if it["pred"] is not None]
        to_class = loaders.mmvet_class
        return [to_class(it["pred"]) for it in kept], [to_class(it["gold"]) for it in kept]
    return _verdicts(items)


def _memo(t, key, make):
    memo = t.setdefault("memo", {})
    if key not in memo:
        memo[key] = make()
    return memo[key]


def _masked(w, t, mask):
    """The chunk's weights with the units outside ``mask`` set to 0 (shared by the metrics of the chunk; the
    weights themselves when no unit is outside)."""
    return _memo(t, ("w", mask), lambda: w if t[mask].all() else w * t[mask])


def _confusion(w, t, pred="pred_code", mask="valid"):
    return _memo(t, ("confusion", pred, mask),
                 lambda: metrics.confusion_weighted(w, t["gold_code"], t[pred], 3, t[mask]))


def _classification(fn, from_confusion):
    def statistic(items):
        return fn(*_classes(items))

    statistic.__name__ = fn.__name__
    return _aggregation(statistic, lambda w, t: from_confusion(_confusion(w, t)), ("absolute", "pairwise"))


accuracy = _classification(metrics.accuracy, metrics.accuracy_from_confusion)
accuracy_no_tie = _classification(
    metrics.accuracy_no_tie, lambda c: metrics.accuracy_from_confusion(c, drop_gold=_VERDICT_CODE["tie"]))
precision_macro = _classification(metrics.precision_macro, lambda c: metrics.macro_from_confusion(c, "precision"))
recall_macro = _classification(metrics.recall_macro, lambda c: metrics.macro_from_confusion(c, "recall"))
f1_macro = _classification(metrics.f1_macro, lambda c: metrics.macro_from_confusion(c, "f1"))


def _by_source(source):
    def statistic(items):
        return metrics.accuracy(*_verdicts([it for it in items if it["source"] == source]))

    def weighted(w, t):
        return metrics.accuracy_from_confusion(
            metrics.confusion_weighted(w, t["gold_code"], t["pred_code"], 3, t["source"] == source))

    statistic.__name__ = f"accuracy_{source}"
    return _aggregation(statistic, weighted)


accuracy_helpful, accuracy_harmless = _by_source("helpful"), _by_source("harmless")
accuracy_honest, accuracy_other = _by_source("honest"), _by_source("other")
accuracy_neighbor, accuracy_gptinst = _by_source("neighbor"), _by_source("gptinst")
accuracy_gptout, accuracy_manual = _by_source("gptout"), _by_source("manual")


def _order_average(source=None):
    """LLMBar's convention (``correct_average``): the accuracy in the published order and the accuracy in the
    swapped order, averaged (each verdict mapped back to the published positions; a tie is wrong)."""
    def statistic(items):
        items = [it for it in items if source is None or it["source"] == source]
        accs = []
        for order in ("ab", "ba"):
            these = [it for it in items if it["order"] == order]
            if these:
                accs.append(metrics.accuracy([it["pred"] for it in these], [it["gold"] for it in these]))
        return sum(accs) / len(accs) if accs else math.nan

    def weighted(w, t):
        return metrics.weighted_mean(w, t["order_correct"], None if source is None else t["source"] == source)

    statistic.__name__ = "accuracy_order_average" + (f"_{source}" if source else "")
    return _aggregation(statistic, weighted)


accuracy_order_average = _order_average()
accuracy_order_average_neighbor, accuracy_order_average_gptinst = _order_average("neighbor"), _order_average("gptinst")
accuracy_order_average_gptout, accuracy_order_average_manual = _order_average("gptout"), _order_average("manual")


def accuracy_first_order(items):
    """JudgeLM's convention: the verdict of the published order only."""
    return metrics.accuracy(*_verdicts([it for it in items if it["order"] == "ab"]))


accuracy_first_order = _aggregation(
    accuracy_first_order, lambda w, t: metrics.accuracy_from_confusion(_confusion(w, t, "first_code", "has_first")))


def _pairs_in_both_orders(items) -> tuple[list, list, list]:
    ab, ba, gold = [], [], []
    for unit in _units(items):
        pair = _both_orders(unit)
        if pair:
            ab.append(pair[0])
            ba.append(pair[1])
            gold.append(unit[0]["gold"])
    return ab, ba, gold


def accuracy_both_orders(items):
    """Auto-J's "agreement": right in both orders (pairs judged in both orders only)."""
    return metrics.accuracy_both_orders(*_pairs_in_both_orders(items))


accuracy_both_orders = _aggregation(
    accuracy_both_orders, lambda w, t: metrics.weighted_mean(w, t["both_correct"], t["both"]))

_SWAP_WEIGHTED = {
    "consistency": lambda w, t: metrics.weighted_mean(w, t["agree"], t["both"]),
    "bias_first": lambda w, t: metrics.weighted_mean(w, t["lean_first"], t["both"]),
    "bias_second": lambda w, t: metrics.weighted_mean(w, t["lean_second"], t["both"]),
    "delta_bias": lambda w, t: np.abs(metrics.weighted_mean(w, t["lean_first"] - t["lean_second"], t["both"])),
}


def _swap(key):
    def statistic(items):
        ab, ba, _ = _pairs_in_both_orders(items)
        return metrics.swap_stats(ab, ba)[key]

    statistic.__name__ = key
    return _aggregation(statistic, _SWAP_WEIGHTED[key])


consistency, bias_first = _swap("consistency"), _swap("bias_first")
bias_second, delta_bias = _swap("bias_second"), _swap("delta_bias")


def parse_failures(items) -> int:
    """How many judge outputs could not be parsed (a count; no stderr)."""
    return int(sum(not it["parsed"] for it in items))


def filtered_rows(items) -> int:
    """Rows the benchmark's own rule removed before judging (JudgeLM: GPT-4 score [-1, -1])."""
    return int(max((it["filtered_rows"] for it in items), default=0))
