"""Every judge metric, computed with scipy.stats and sklearn.metrics, plus a seeded bootstrap stderr.

Conventions (stated again in each task's README and YAML metadata):
* absolute: Pearson, Spearman, Kendall tau-b against the gold score (the mean when a row has several), R2,
  MAE, MSE; computed over the parsed predictions. A constant prediction or gold gives NaN correlations
  (reported, never raised).
* pairwise: verdicts in {a, b, tie}; accuracy counts tie as a class; ``accuracy_no_tie`` drops gold ties;
  macro precision / recall / F1 over the labels present in gold or predictions (sklearn ``average="macro"``,
  ``zero_division=0``).
* swap (both orders): every verdict expressed in the published positions. Consistency = share of pairs whose
  two verdicts agree; a disagreeing pair leans to the first or second position by the sum of its position
  preferences (first = +1, tie = 0, second = -1): bias_first / bias_second are those shares, delta_bias their
  absolute difference, so consistency + bias_first + bias_second = 1 (JudgeLM Tables 4-6). The swap-resolved
  verdict (disagreement -> tie) is PandaLM's convention.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats
from sklearn import metrics as skm

NAN = float("nan")


def _finite(x: float) -> float:
    return float(x) if x is not None and math.isfinite(x) else NAN


def _corr(fn, pred, gold) -> float:
    pred, gold = np.asarray(pred, float), np.asarray(gold, float)
    if len(pred) < 2 or np.ptp(pred) == 0 or np.ptp(gold) == 0:
        return NAN
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _finite(fn(pred, gold)[0])


def pearson(pred, gold) -> float:
    return _corr(stats.pearsonr, pred, gold)


def spearman(pred, gold) -> float:
    return _corr(stats.spearmanr, pred, gold)


def kendall(pred, gold) -> float:
    return _corr(lambda p, g: stats.kendalltau(p, g, variant="b"), pred, gold)


def r2(pred, gold) -> float:
    if len(pred) < 2 or np.ptp(np.asarray(gold, float)) == 0:
        return NAN
    return float(skm.r2_score(gold, pred))


def mae(pred, gold) -> float:
    return float(skm.mean_absolute_error(gold, pred)) if len(pred) else NAN


def mse(pred, gold) -> float:
    return float(skm.mean_squared_error(gold, pred)) if len(pred) else NAN


def accuracy(pred, gold) -> float:
    return float(skm.accuracy_score(gold, pred)) if len(pred) else NAN


def accuracy_no_tie(pred, gold) -> float:
    keep = [i for i, g in enumerate(gold) if g != "tie"]
    return accuracy([pred[i] for i in keep], [gold[i] for i in keep])


def _macro(fn, pred, gold) -> float:
    if not len(pred):
        return NAN
    return float(fn(gold, pred, average="macro", zero_division=0))


def precision_macro(pred, gold) -> float:
    return _macro(skm.precision_score, pred, gold)


def recall_macro(pred, gold) -> float:
    return _macro(skm.recall_score, pred, gold)


def f1_macro(pred, gold) -> float:
    return _macro(skm.f1_score, pred, gold)


# --------------------------------------------------------------------------- both orders
def position_lean(verdict_published: str, order: str) -> int:
    """+1 if the verdict picks the response shown first, -1 if the one shown second, 0 for a tie."""
    if verdict_published == "tie":
        return 0
    first = "a" if order == "ab" else "b"
    return 1 if verdict_published == first else -1


def swap_resolved(v_ab: str, v_ba: str) -> str:
    """PandaLM: judge in both orders; conflicting verdicts become a tie (verdicts in published positions)."""
    return v_ab if v_ab == v_ba else "tie"


def swap_stats(v_ab: Sequence[str], v_ba: Sequence[str]) -> dict:
    """Consistency and position bias of paired verdicts, both given in the published positions."""
    n = len(v_ab)
    if n == 0:
        return {"consistency": NAN, "bias_first": NAN, "bias_second": NAN, "delta_bias": NAN}
    consistent = first = second = 0
    for a, b in zip(v_ab, v_ba):
        if a == b:
            consistent += 1
            continue
        lean = position_lean(a, "ab") + position_lean(b, "ba")
        first += lean > 0
        second += lean < 0
    bf, bs = first / n, second / n
    return {"consistency": consistent / n, "bias_first": bf, "bias_second": bs, "delta_bias": abs(bf - bs)}


# --------------------------------------------------------------------------- uncertainty
def bootstrap_stderr(statistic: Callable[[Sequence], float], items: Sequence, iters: int = 1000,
                     seed: int = 1234) -> float:
    """Standard deviation of ``statistic`` over ``iters`` resamples of the items (seeded; NaN draws skipped)."""
    items = list(items)
    if len(items) < 2:
        return NAN
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(iters):
        idx = rng.integers(0, len(items), len(items))
        v = statistic([items[i] for i in idx])
        if v is not None and math.isfinite(v):
            values.append(v)
    return float(np.std(values, ddof=1)) if len(values) > 1 else NAN


def bootstrap_interval(statistic, items, iters: int = 1000, seed: int = 1234, level: float = 0.95):
    """Percentile interval of ``statistic`` (used by reports and the leaderboard)."""
    items = list(items)
    rng = np.random.default_rng(seed)
    values = [statistic([items[i] for i in rng.integers(0, len(items), len(items))]) for _ in range(iters)]
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return NAN, NAN
    lo, hi = np.percentile(values, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
    return float(lo), float(hi)
