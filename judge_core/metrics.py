"""Every judge metric, computed with scipy.stats and sklearn.metrics, plus a seeded, vectorised bootstrap stderr.

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
  verdict (disagreement -> tie) is PandaLM's convention; right in both orders (``accuracy_both_orders``) is
  Auto-J's "agreement".
* stderr: the standard deviation over 200 seeded resamples of the units (documents; pairs when both orders were
  judged), drawn with replacement and duplicates kept. The resampled indices are drawn once and turned into a
  count matrix (resample x unit, ``np.bincount``); each metric has a weighted twin (``*_weighted``) that computes
  it for every resample at once from that matrix. Spearman and Kendall share per-resample contingency tables of
  the distinct predicted and gold values (cache-sized blocks of them): the same integer and half-integer sums as
  per-unit ranks, so the same values bit for bit. The scipy / sklearn functions above are the reference: a test
  holds every weighted twin to them on the expanded resamples.

Length: about 430 lines: each metric's reference (scipy / sklearn) and its weighted twin for the bootstrap are
kept side by side, so that a change to one is seen beside the other and the tests hold one to the other.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np

NAN = float("nan")

# scipy and sklearn are imported when a metric runs, not when this module is imported (start-up cost of the judges)
def _scipy_stats():
    from scipy import stats

    return stats


def _sklearn_metrics():
    from sklearn import metrics

    return metrics



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
    return _corr(_scipy_stats().pearsonr, pred, gold)


def spearman(pred, gold) -> float:
    return _corr(_scipy_stats().spearmanr, pred, gold)


def kendall(pred, gold) -> float:
    return _corr(lambda p, g: _scipy_stats().kendalltau(p, g, variant="b"), pred, gold)


def r2(pred, gold) -> float:
    if len(pred) < 2 or np.ptp(np.asarray(gold, float)) == 0:
        return NAN
    return float(_sklearn_metrics().r2_score(gold, pred))


def mae(pred, gold) -> float:
    return float(_sklearn_metrics().mean_absolute_error(gold, pred)) if len(pred) else NAN


def mse(pred, gold) -> float:
    return float(_sklearn_metrics().mean_squared_error(gold, pred)) if len(pred) else NAN


def accuracy(pred, gold) -> float:
    return float(_sklearn_metrics().accuracy_score(gold, pred)) if len(pred) else NAN


def accuracy_no_tie(pred, gold) -> float:
    keep = [i for i, g in enumerate(gold) if g != "tie"]
    return accuracy([pred[i] for i in keep], [gold[i] for i in keep])


def _macro(fn, pred, gold) -> float:
    if not len(pred):
        return NAN
    return float(fn(gold, pred, average="macro", zero_division=0))


def precision_macro(pred, gold) -> float:
    return _macro(_sklearn_metrics().precision_score, pred, gold)


def recall_macro(pred, gold) -> float:
    return _macro(_sklearn_metrics().recall_score, pred, gold)


def f1_macro(pred, gold) -> float:
    return _macro(_sklearn_metrics().f1_score, pred, gold)


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


def accuracy_both_orders(v_ab: Sequence[str], v_ba: Sequence[str], gold: Sequence[str]) -> float:
    """Auto-J's pairwise "agreement" (``codes/leaderboard/pairwise_eval.py``): share of pairs whose verdicts in
    both orders (published positions) equal the gold label."""
    if not len(gold):
        return NAN
    return sum(a == b == g for a, b, g in zip(v_ab, v_ba, gold)) / len(gold)


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


# --------------------------------------------------------------------------- vectorised bootstrap
#: cells of one chunk of the count matrix (resamples x units): bounds the memory of the bootstrap
CHUNK_CELLS = 2_000_000


def resample_counts(n: int, iters: int = 200, seed: int = 1234):
    """The bootstrap draws as count matrices: ``W[r, u]`` = how often unit ``u`` was drawn in resample ``r``.

    The indices are those of ``iters`` sequential ``rng.integers(0, n, n)`` draws of one seeded generator (so a
    plain loop with the same seed draws the same resamples); they come in chunks of rows to bound memory, each
    row counted as it is drawn (no resample x unit index matrix)."""
    rng = np.random.default_rng(seed)
    rows = max(1, min(iters, CHUNK_CELLS // max(n, 1)))
    done = 0
    while done < iters:
        w = np.empty((min(rows, iters - done), n))
        for r in w:
            r[:] = np.bincount(rng.integers(0, n, n), minlength=n)
        yield w
        done += len(w)


def bootstrap_stderr_weighted(statistic_w: Callable[[np.ndarray], np.ndarray], n: int, iters: int = 200,
                              seed: int = 1234) -> float:
    """Standard deviation (ddof 1) of a weighted statistic over ``iters`` resamples of ``n`` units (NaN draws
    skipped). ``statistic_w(W)`` returns one value per row of the count matrix ``W``."""
    if n < 2:
        return NAN
    values = np.concatenate([np.asarray(statistic_w(w), float) for w in resample_counts(n, iters, seed)])
    values = values[np.isfinite(values)]
    return float(np.std(values, ddof=1)) if len(values) > 1 else NAN


def _divide(num, den):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), NAN)


def weighted_mean(w, values, mask=None) -> np.ndarray:
    """Per resample: the mean of ``values`` over the units in ``mask`` (NaN where none was drawn)."""
    values = np.asarray(values, float)
    mask = np.ones(len(values)) if mask is None else np.asarray(mask, float)
    return _divide(w @ (values * mask), w @ mask)


def count_by_code(w, codes, k: int) -> np.ndarray:
    """Per resample the total weight of the units of each code ``0..k-1``: ``W @ onehot(codes)``, shape
    (resamples, k), C-contiguous (a BLAS product for few codes, one ``np.bincount`` per resample otherwise).
    The weights are counts, so every sum is an exact integer whichever way it is added."""
    codes = np.asarray(codes, np.intp)
    if k <= 64:
        onehot = np.zeros((len(codes), k))
        onehot[np.arange(len(codes)), codes] = 1.0
        return w @ onehot
    out = np.empty((len(w), k))
    for row, weights in zip(out, w):
        row[:] = np.bincount(codes, weights=weights, minlength=k)
    return out


#: the last few results keyed by the identity of their arrays (which the memo keeps alive): the distinct values
#: of an array, and per chunk of resamples its value counts and the rank correlations, shared by the weighted
#: metrics of that chunk
_MEMO: list = []


def _memo(key: tuple, make):
    for i, (keys, out) in enumerate(_MEMO):
        if len(keys) == len(key) and all(a is b for a, b in zip(keys, key)):
            _MEMO.append(_MEMO.pop(i))  # least recently used first
            return out
    out = make()
    _MEMO.append((key, out))
    del _MEMO[:-6]
    return out


def _value_counts(w, x):
    """Distinct values of ``x``, each unit's code, and how often each value was drawn in each resample."""
    values, inverse = _memo((x,), lambda: np.unique(x, return_inverse=True))
    return _memo((w, x), lambda: (values, inverse, count_by_code(w, inverse, len(values))))


def confusion_weighted(w, gold_codes, pred_codes, k: int, mask=None) -> np.ndarray:
    """Per resample the confusion matrix ``[gold, pred]`` of class codes ``0..k-1`` (units outside ``mask`` left
    out): shape (resamples, k, k)."""
    gold_codes, pred_codes = np.asarray(gold_codes, int), np.asarray(pred_codes, int)
    if mask is not None:
        w = w * np.asarray(mask, float)
    return count_by_code(w, gold_codes * k + pred_codes, k * k).reshape(len(w), k, k)


def accuracy_from_confusion(c, drop_gold: int | None = None) -> np.ndarray:
    """Accuracy per confusion matrix; ``drop_gold``: a gold class left out (``accuracy_no_tie``)."""
    diag = np.diagonal(c, axis1=1, axis2=2).copy()
    rows = c.sum(axis=2)
    if drop_gold is not None:
        diag[:, drop_gold] = rows[:, drop_gold] = 0
    return _divide(diag.sum(1), rows.sum(1))


def macro_from_confusion(c, which: str) -> np.ndarray:
    """Macro precision / recall / f1 per confusion matrix, over the labels present in gold or predictions
    (sklearn ``average="macro"``, ``zero_division=0``)."""
    tp = np.diagonal(c, axis1=1, axis2=2)
    gold, pred = c.sum(axis=2), c.sum(axis=1)
    den = {"precision": pred, "recall": gold, "f1": gold + pred}[which]
    per_label = np.where(den > 0, (2 if which == "f1" else 1) * tp / np.where(den > 0, den, 1), 0.0)
    present = (gold + pred) > 0
    return _divide((per_label * present).sum(1), present.sum(1).astype(float))


def _constant(w, x) -> np.ndarray:
    """Per resample: True where the drawn values of ``x`` have no spread (or fewer than 2 draws)."""
    counts = _value_counts(w, x)[2]
    return ((counts > 0).sum(1) < 2) | (counts.sum(1) < 2)


def _wsum(w, *arrays) -> np.ndarray:
    """Per resample: sum over units of the weight times the product of ``arrays`` (each (units,) or
    (resamples, units)), in one pass."""
    if all(a.ndim == 1 for a in arrays):
        return w @ np.prod(arrays, axis=0)
    return np.einsum("ij" + "".join(",ij" if a.ndim == 2 else ",j" for a in arrays) + "->i", w, *arrays)


def _r_from_moments(s, sx, sy, sxx, syy, sxy) -> np.ndarray:
    """Pearson's r per resample from the total weight and the weighted sums of x, y, x^2, y^2, xy."""
    cov = sxy - _divide(sx * sy, s)
    vx, vy = sxx - _divide(sx * sx, s), syy - _divide(sy * sy, s)
    return np.clip(_divide(cov, np.sqrt(np.maximum(vx * vy, 0))), -1.0, 1.0)


def _pearson_of(w, x, y) -> np.ndarray:
    """Weighted Pearson from moments; x and y are (units,) or (resamples, units), centred first (on the global
    mean, or on the per-resample mean rank (n + 1) / 2 for ranks) so that the moments stay well conditioned."""
    s = w.sum(1)
    x = x - (x.mean() if x.ndim == 1 else ((s + 1) / 2)[:, None])
    y = y - (y.mean() if y.ndim == 1 else ((s + 1) / 2)[:, None])
    return _r_from_moments(s, _wsum(w, x), _wsum(w, y), _wsum(w, x, x), _wsum(w, y, y), _wsum(w, x, y))


def pearson_weighted(w, pred, gold) -> np.ndarray:
    pred, gold = np.asarray(pred, float), np.asarray(gold, float)
    return np.where(_constant(w, pred) | _constant(w, gold), NAN, _pearson_of(w, pred, gold))


def _value_ranks(counts) -> np.ndarray:
    """Average rank (1-based, ties averaged) of each distinct value within each resample, from how often each
    value was drawn (resamples, values; values in increasing order)."""
    return np.cumsum(counts, axis=1) - counts + (counts + 1) / 2


def _ranks(w, x) -> np.ndarray:
    """Average ranks of every unit's value within each resample: (resamples, units)."""
    _, inverse, counts = _value_counts(w, x)
    return _value_ranks(counts)[:, inverse]


#: cells of one block of contingency tables (resamples x gold values x predicted values) in the rank
#: correlations: a block and its temporaries stay in the CPU cache
TABLE_CELLS = 1 << 16


def _spearman_table(t) -> np.ndarray:
    """Spearman's rho from contingency tables (resamples, ky, kx) of the value codes: Pearson's r of the average
    ranks, its moments summed over the cells of the table instead of the units (the same sums: counts times
    half-integer ranks centred on (n + 1) / 2 are exact in float64 up to about 200,000 units)."""
    cy, cx = t.sum(2), t.sum(1)
    s = cx.sum(1)
    centre = ((s + 1) / 2)[:, None]
    rx, ry = _value_ranks(cx) - centre, _value_ranks(cy) - centre
    sxy = (np.matmul(t, rx[:, :, None])[:, :, 0] * ry).sum(1)
    return _r_from_moments(s, (cx * rx).sum(1), (cy * ry).sum(1), (cx * rx * rx).sum(1), (cy * ry * ry).sum(1),
                           sxy)


def _kendall_table(t) -> np.ndarray:
    """Kendall tau-b from contingency tables (resamples, kx, ky) of the value codes."""
    # later[i, j]: draws with a larger x code and y code j; then each cell pairs with the later draws above it
    # (concordant) and below it (discordant) in y
    cumulative = np.cumsum(t, axis=1)
    later = cumulative[:, -1:, :] - cumulative
    up_to = np.cumsum(later, axis=2)
    above, below = up_to[:, :, -1:] - up_to, up_to - later
    concordant_minus_discordant = (t * (above - below)).sum((1, 2))
    n = t.sum((1, 2))
    rows, cols = t.sum(2), t.sum(1)
    n0 = n * (n - 1) / 2
    n1, n2 = (rows * (rows - 1) / 2).sum(1), (cols * (cols - 1) / 2).sum(1)
    return np.clip(_divide(concordant_minus_discordant, np.sqrt((n0 - n1) * (n0 - n2))), -1.0, 1.0)


def _rank_correlations(w, x, y):
    """Spearman's rho and Kendall's tau-b per resample, both from the contingency tables of the distinct values
    of ``x`` and ``y`` (``y`` on the first axis: gold, usually few values, keeps the cumulative sums contiguous),
    built ``TABLE_CELLS`` at a time; None when one resample's table alone would pass ``CHUNK_CELLS``. Shared by
    ``spearman_weighted`` and ``kendall_weighted`` (memo)."""
    def make():
        (px, ix, _), (gy, iy, _) = _value_counts(w, x), _value_counts(w, y)
        kx, ky = len(px), len(gy)
        if kx * ky > CHUNK_CELLS:
            return None
        step = max(1, TABLE_CELLS // (kx * ky))
        rho, tau = [], []
        for i in range(0, len(w), step):
            t = count_by_code(w[i:i + step], iy * kx + ix, kx * ky).reshape(-1, ky, kx)
            rho.append(_spearman_table(t))
            tau.append(_kendall_table(t))
        return np.concatenate(rho), np.concatenate(tau)

    return _memo((w, x, y), make)


def spearman_weighted(w, pred, gold) -> np.ndarray:
    """Spearman's rho per resample: from the contingency tables (``_rank_correlations``), or from every unit's
    rank when both sides have too many distinct values for those."""
    pred, gold = np.asarray(pred, float), np.asarray(gold, float)
    tables = _rank_correlations(w, pred, gold)
    rho = tables[0] if tables is not None else _pearson_of(w, _ranks(w, pred), _ranks(w, gold))
    return np.where(_constant(w, pred) | _constant(w, gold), NAN, rho)


def kendall_weighted(w, pred, gold) -> np.ndarray:
    """Kendall tau-b per resample from the contingency tables (``_rank_correlations``, O(kx * ky) per resample);
    scipy on the expanded resample when both sides have too many distinct values for those."""
    pred, gold = np.asarray(pred, float), np.asarray(gold, float)
    tables = _rank_correlations(w, pred, gold)
    if tables is not None:
        tau = tables[1]
    else:
        tau = np.array([kendall(np.repeat(pred, r), np.repeat(gold, r)) for r in w.astype(int)])
    return np.where(_constant(w, pred) | _constant(w, gold), NAN, tau)


def r2_weighted(w, pred, gold) -> np.ndarray:
    pred, gold = np.asarray(pred, float), np.asarray(gold, float)
    s = w.sum(1)
    mg = _divide(w @ gold, s)
    ss_res, ss_tot = w @ (gold - pred) ** 2, (w * (gold - mg[:, None]) ** 2).sum(1)
    return np.where(_constant(w, gold), NAN, 1 - _divide(ss_res, ss_tot))


def mae_weighted(w, pred, gold) -> np.ndarray:
    return weighted_mean(w, np.abs(np.asarray(gold, float) - np.asarray(pred, float)))


def mse_weighted(w, pred, gold) -> np.ndarray:
    return weighted_mean(w, (np.asarray(gold, float) - np.asarray(pred, float)) ** 2)
