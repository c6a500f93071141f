"""Metric unit tests against values computed by hand (``judge_core.metrics`` and the lm-eval aggregations in
``judge_tasks.harness``, ``judge_tasks.aggregation``)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from judge_core import metrics
from judge_tasks import aggregation, harness

# --------------------------------------------------------------------------- absolute
# p = 1 2 3 4 5, g = 2 1 4 3 5: both means 3, deviations p -2 -1 0 1 2, g -1 -2 1 0 2 -> products 2 2 0 0 4 = 8,
# squares 10 and 10 -> Pearson 0.8; no ties, so Spearman = Pearson of the values = 0.8; g has 2 inversions
# ((2,1), (4,3)) among 10 pairs -> Kendall (8 - 2) / 10 = 0.6; errors 1 1 1 1 0 -> MAE = MSE = 4/5;
# R2 = 1 - 4 / 10 = 0.6.
P5, G5 = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]


def test_absolute_metrics_by_hand():
    assert metrics.pearson(P5, G5) == pytest.approx(0.8)
    assert metrics.spearman(P5, G5) == pytest.approx(0.8)
    assert metrics.kendall(P5, G5) == pytest.approx(0.6)
    assert metrics.r2(P5, G5) == pytest.approx(0.6)
    assert metrics.mae(P5, G5) == pytest.approx(0.8)
    assert metrics.mse(P5, G5) == pytest.approx(0.8)


def test_r2_is_against_gold_not_symmetric():
    # R2 = 1 - SS_res / SS_tot(gold): p = 1 1 1 1 5 against g = 1 2 3 4 5 -> SS_res 0+1+4+9+0 = 14, SS_tot 10
    assert metrics.r2([1, 1, 1, 1, 5], [1, 2, 3, 4, 5]) == pytest.approx(1 - 14 / 10)
    # and against p = 1..5, g = 1 1 1 1 5: SS_res 14, SS_tot(g) = 4 * 0.8^2 + 3.2^2 = 12.8
    assert metrics.r2([1, 2, 3, 4, 5], [1, 1, 1, 1, 5]) == pytest.approx(1 - 14 / 12.8)


def test_ties_in_ranks():
    # p = 1 2 2 3, g = 1 2 3 4: average ranks p = 1 2.5 2.5 4 -> deviations -1.5 0 0 1.5, g -1.5 -.5 .5 1.5;
    # products 2.25 0 0 2.25 = 4.5; squares 4.5 and 5 -> Spearman 4.5 / sqrt(22.5) = sqrt(0.9)
    assert metrics.spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(math.sqrt(0.9))
    # Kendall tau-b: 6 pairs, 5 concordant, 0 discordant, 1 tied in p only -> 5 / sqrt((6 - 1) * 6)
    assert metrics.kendall([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(5 / math.sqrt(30))
    # ties in both: p = 1 1 2 2, g = 1 2 2 3 -> concordant pairs (0,2) (0,3) (1,3), (1,2) tied in g, (0,1) tied
    # in p, (2,3) tied in p -> tau-b = 3 / sqrt((6 - 2) * (6 - 1)) = 3 / sqrt(20)
    assert metrics.kendall([1, 1, 2, 2], [1, 2, 2, 3]) == pytest.approx(3 / math.sqrt(20))


@pytest.mark.parametrize("fn", [metrics.pearson, metrics.spearman, metrics.kendall])
def test_constant_predictions_or_gold_give_nan(fn):
    assert math.isnan(fn([3, 3, 3, 3], [1, 2, 3, 4]))
    assert math.isnan(fn([1, 2, 3, 4], [2, 2, 2, 2]))
    assert math.isnan(fn([1], [2]))
    assert math.isnan(fn([], []))


def test_constant_predictions_still_have_errors():
    assert math.isnan(metrics.r2([1, 2, 3], [4, 4, 4]))  # gold without variance: R2 undefined
    assert metrics.r2([3, 3, 3, 3], [1, 2, 3, 4]) == pytest.approx(1 - 6 / 5)  # 4+1+0+1 over 5
    assert metrics.mae([3, 3, 3, 3], [1, 2, 3, 4]) == pytest.approx(1.0)
    assert metrics.mse([3, 3, 3, 3], [1, 2, 3, 4]) == pytest.approx(1.5)
    assert math.isnan(metrics.mae([], [])) and math.isnan(metrics.mse([], []))


def _abs_items(preds, golds):
    return [harness.process_results(
        {"kind": "absolute", "benchmark": "t", "prompt_family": "prometheus_absolute", "scale": [1.0, 5.0],
         "gold_score": float(g), "meta": {}}, [p])["pearson"] for p, g in zip(preds, golds)]


def test_absolute_aggregations_leave_out_parse_failures():
    items = _abs_items([f"Good. [RESULT] {p}" for p in P5] + ["no result here", "[RESULT] 9"], G5 + [1, 5])
    assert aggregation.parse_failures(items) == 2
    assert aggregation.pearson(items) == pytest.approx(0.8)
    assert aggregation.kendall(items) == pytest.approx(0.6)
    assert aggregation.mae(items) == pytest.approx(0.8)


def test_all_absolute_outputs_unparseable():
    items = _abs_items(["I refuse.", "", "[RESULT]", "[RESULT] six"], [1, 2, 3, 4])  # "Score: 4" is read by the authors' parser
    assert aggregation.parse_failures(items) == 4
    for agg in (aggregation.pearson, aggregation.spearman, aggregation.kendall, aggregation.r2, aggregation.mae, aggregation.mse):
        assert math.isnan(agg(items)), agg.__name__
        assert math.isnan(agg.bootstrap(items, iters=20)), agg.__name__


def test_absolute_outputs_are_clipped_to_the_scale():
    # a judge's structured score outside the scale is clipped (JUDGE_OUTPUT line of this package's models)
    from judge_core.parsers import encode_judge_output

    items = _abs_items([encode_judge_output({"score": 9.5}), encode_judge_output({"score": -2})], [5, 1])
    assert [it["pred"] for it in items] == [5.0, 1.0]


# --------------------------------------------------------------------------- pairwise
# gold a a a b b b tie tie, pred a a b b b tie tie a:
#   a: predicted at 0 1 7, correct 0 1 -> P 2/3; gold a 0 1 2 -> R 2/3
#   b: predicted at 2 3 4, correct 3 4 -> P 2/3; gold b 3 4 5 -> R 2/3
#   tie: predicted at 5 6, correct 6 -> P 1/2; gold tie 6 7 -> R 1/2
GOLD8 = ["a", "a", "a", "b", "b", "b", "tie", "tie"]
PRED8 = ["a", "a", "b", "b", "b", "tie", "tie", "a"]


def test_macro_precision_recall_f1_three_classes_by_hand():
    assert metrics.accuracy(PRED8, GOLD8) == pytest.approx(5 / 8)
    assert metrics.precision_macro(PRED8, GOLD8) == pytest.approx((2 / 3 + 2 / 3 + 1 / 2) / 3)
    assert metrics.recall_macro(PRED8, GOLD8) == pytest.approx((2 / 3 + 2 / 3 + 1 / 2) / 3)
    assert metrics.f1_macro(PRED8, GOLD8) == pytest.approx((2 / 3 + 2 / 3 + 1 / 2) / 3)


def test_macro_with_unequal_precision_and_recall():
    # gold a a b b tie, pred a b b b b: a P 1/1 R 1/2; b P 2/4 R 2/2; tie P 0 (never predicted) R 0/1
    gold, pred = ["a", "a", "b", "b", "tie"], ["a", "b", "b", "b", "b"]
    assert metrics.precision_macro(pred, gold) == pytest.approx((1 + 1 / 2 + 0) / 3)
    assert metrics.recall_macro(pred, gold) == pytest.approx((1 / 2 + 1 + 0) / 3)
    f1_a, f1_b = 2 * 1 * 0.5 / 1.5, 2 * 0.5 * 1 / 1.5
    assert metrics.f1_macro(pred, gold) == pytest.approx((f1_a + f1_b + 0) / 3)


def test_accuracy_no_tie_drops_gold_ties_only():
    # gold ties (6, 7) dropped; remaining 0..5: correct 0 1 3 4 -> 4/6. A predicted tie on a non-tie gold counts wrong.
    assert metrics.accuracy_no_tie(PRED8, GOLD8) == pytest.approx(4 / 6)
    assert math.isnan(metrics.accuracy_no_tie(["a", "b"], ["tie", "tie"]))
    assert math.isnan(metrics.accuracy([], []))


def _pair_items(verdict_texts, golds, family="pandalm", orders=None):
    items = []
    for i, (text, gold) in enumerate(zip(verdict_texts, golds)):
        order = (orders or ["ab"] * len(golds))[i]
        doc = {"kind": "pairwise", "benchmark": "t", "prompt_family": family, "gold": gold, "order": order,
               "pair": f"t:{i if orders is None else i // 2}", "meta": {"source": "s"}, "swap": orders is not None}
        items.append(harness.process_results(doc, [text])["accuracy"])
    return items


def test_all_pairwise_outputs_unparseable_are_ties():
    items = _pair_items(["I cannot decide.", "", "Response 3", "maybe"], ["a", "b", "tie", "tie"])
    assert aggregation.parse_failures(items) == 4
    assert [it["pred"] for it in items] == ["tie"] * 4
    assert aggregation.accuracy(items) == pytest.approx(2 / 4)
    assert aggregation.accuracy_no_tie(items) == 0.0


def test_pairwise_aggregations_by_hand():
    texts = {"a": "1", "b": "2", "tie": "Tie"}
    items = _pair_items([texts[p] for p in PRED8], GOLD8)
    assert aggregation.parse_failures(items) == 0
    assert aggregation.accuracy(items) == pytest.approx(5 / 8)
    assert aggregation.accuracy_no_tie(items) == pytest.approx(4 / 6)
    assert aggregation.f1_macro(items) == pytest.approx((2 / 3 + 2 / 3 + 1 / 2) / 3)


# --------------------------------------------------------------------------- swap (position bias)
def test_position_lean():
    assert metrics.position_lean("a", "ab") == 1 and metrics.position_lean("b", "ab") == -1
    assert metrics.position_lean("b", "ba") == 1 and metrics.position_lean("a", "ba") == -1
    assert metrics.position_lean("tie", "ab") == 0 == metrics.position_lean("tie", "ba")


def test_swap_stats_by_hand():
    # verdicts in published positions (v_ab from order ab, v_ba from order ba, mapped back):
    #   consistent:     a / a
    #   first-biased:   a / b   (ab picks a = first; ba picks b = first there)      lean +2
    #   second-biased:  b / a   (ab picks b = second; ba picks a = second there)    lean -2
    #   tie vs win:     tie / b (ba's b is its first position)                      lean +1 -> first
    #   tie vs win:     b / tie (ab's b is its second position)                     lean -1 -> second
    #   consistent tie: tie / tie
    v_ab = ["a", "a", "b", "tie", "b", "tie"]
    v_ba = ["a", "b", "a", "b", "tie", "tie"]
    s = metrics.swap_stats(v_ab, v_ba)
    assert s["consistency"] == pytest.approx(2 / 6)
    assert s["bias_first"] == pytest.approx(2 / 6)
    assert s["bias_second"] == pytest.approx(2 / 6)
    assert s["delta_bias"] == pytest.approx(0.0)
    assert s["consistency"] + s["bias_first"] + s["bias_second"] == pytest.approx(1.0)

    s = metrics.swap_stats(["a", "a", "b", "a"], ["b", "b", "b", "a"])  # 2 first-biased, 2 consistent
    assert (s["consistency"], s["bias_first"], s["bias_second"], s["delta_bias"]) == (0.5, 0.5, 0.0, 0.5)
    assert all(math.isnan(v) for v in metrics.swap_stats([], []).values())


def test_swap_resolved_verdict():
    assert metrics.swap_resolved("a", "a") == "a"
    assert metrics.swap_resolved("tie", "tie") == "tie"
    assert metrics.swap_resolved("a", "b") == "tie"
    assert metrics.swap_resolved("a", "tie") == "tie"


def test_swap_aggregations_through_process_results():
    # pair 0 consistent (a, a), pair 1 first-biased, pair 2 second-biased; all golds "a" (published order)
    # judged outputs in each document's own order; ba documents have gold "b" in their own order
    texts = ["1", "2",      # pair 0: ab says 1 (a); ba says 2 (b in ba = a published) -> consistent a
             "1", "1",      # pair 1: ab says a; ba says 1 (its first = b published) -> first-biased
             "2", "2"]      # pair 2: ab says b; ba says 2 (its second = a published) -> second-biased
    golds = ["a", "b"] * 3
    items = _pair_items(texts, golds, orders=["ab", "ba"] * 3)
    assert [it["pred"] for it in items] == ["a", "a", "a", "b", "b", "a"]
    assert all(it["gold"] == "a" for it in items)
    assert aggregation.consistency(items) == pytest.approx(1 / 3)
    assert aggregation.bias_first(items) == pytest.approx(1 / 3)
    assert aggregation.bias_second(items) == pytest.approx(1 / 3)
    assert aggregation.delta_bias(items) == pytest.approx(0.0)
    assert aggregation.accuracy(items) == pytest.approx(1 / 3)  # swap-resolved: a, tie, tie
    assert aggregation.accuracy_first_order(items) == pytest.approx(2 / 3)  # ab verdicts: a, a, b


# --------------------------------------------------------------------------- uncertainty
def test_bootstrap_stderr_is_seeded_and_zero_for_a_constant_statistic():
    items = list(range(20))
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    a = metrics.bootstrap_stderr(mean, items, iters=200)
    assert a == metrics.bootstrap_stderr(mean, items, iters=200)
    assert a != metrics.bootstrap_stderr(mean, items, iters=200, seed=7)
    # the standard error of a mean of 20 draws from 0..19: sd / sqrt(n) = 5.77 / 4.47 = 1.29 (roughly)
    assert 1.0 < a < 1.6
    assert metrics.bootstrap_stderr(lambda xs: 0.5, items, iters=50) == 0.0
    assert math.isnan(metrics.bootstrap_stderr(mean, [1], iters=50))
    assert math.isnan(metrics.bootstrap_stderr(lambda xs: float("nan"), items, iters=50))


def test_harness_bootstrap_is_deterministic_and_pair_aware():
    texts = {"a": "1", "b": "2", "tie": "Tie"}
    items = _pair_items([texts[p] for p in PRED8], GOLD8)
    s1 = aggregation.accuracy.bootstrap(items, iters=100)
    assert s1 == aggregation.accuracy.bootstrap(items, iters=100) and 0 < s1 < 0.5
    perfect = _pair_items([texts[g] for g in GOLD8], GOLD8)
    assert aggregation.accuracy.bootstrap(perfect, iters=50) == 0.0
    # the two orders of a pair are resampled together: a consistent judge has consistency 1 in every draw
    swap = _pair_items(["1", "2"] * 4, ["a", "b"] * 4, orders=["ab", "ba"] * 4)
    assert aggregation.consistency(swap) == 1.0 and aggregation.consistency.bootstrap(swap, iters=30) == 0.0


def test_bootstrap_interval():
    lo, hi = metrics.bootstrap_interval(lambda xs: sum(xs) / len(xs), list(range(20)), iters=200)
    assert lo < 9.5 < hi
    assert metrics.bootstrap_interval(lambda xs: 1.0, [1, 2, 3], iters=20) == (1.0, 1.0)


# --------------------------------------------------------------------------- per source
def test_per_source_accuracy():
    docs = [("helpful", "a", "1"), ("helpful", "b", "1"), ("harmless", "a", "1"), ("honest", "b", "2"),
            ("honest", "b", "nonsense")]
    items = []
    for i, (source, gold, text) in enumerate(docs):
        doc = {"kind": "pairwise", "benchmark": "hhh_alignment", "prompt_family": "pandalm", "gold": gold,
               "order": "ab", "pair": f"p{i}", "meta": {"source": source}}
        items.append(harness.process_results(doc, [text])["accuracy"])
    assert aggregation.accuracy_helpful(items) == pytest.approx(0.5)
    assert aggregation.accuracy_harmless(items) == pytest.approx(1.0)
    assert aggregation.accuracy_honest(items) == pytest.approx(0.5)  # the unparseable one is a tie: wrong
    assert math.isnan(aggregation.accuracy_other(items))  # no documents of that source
    assert aggregation.accuracy(items) == pytest.approx(3 / 5)


def test_mm_vet_classes():
    from judge_tasks.loaders import mmvet_class

    assert [mmvet_class(s) for s in (1.0, 0.96, 0.95, 0.5, 0.04, 0.0)] == \
        ["correct", "correct", "partial", "partial", "wrong", "wrong"]


def test_filtered_rows_is_a_count():
    assert aggregation.filtered_rows([{"filtered_rows": 3}, {"filtered_rows": 3}]) == 3
    assert aggregation.filtered_rows([]) == 0


# --------------------------------------------------------------------------- both orders: Auto-J's agreement
def test_accuracy_both_orders_follows_autoj():
    # Auto-J pairwise_eval.py: correct_both when pred == pred_exchange (mapped back) == gold, over all pairs
    v_ab, v_ba, gold = ["a", "a", "b", "tie", "a"], ["a", "b", "b", "tie", "a"], ["a", "a", "a", "tie", "b"]
    assert metrics.accuracy_both_orders(v_ab, v_ba, gold) == pytest.approx(2 / 5)  # pairs 0 and 3
    assert math.isnan(metrics.accuracy_both_orders([], [], []))
    texts = ["1", "2", "1", "1", "2", "2"]  # published verdicts: (a, a), (a, b), (b, a); gold a
    items = _pair_items(texts, ["a", "b"] * 3, orders=["ab", "ba"] * 3)
    assert aggregation.accuracy_both_orders(items) == pytest.approx(1 / 3)


# --------------------------------------------------------------------------- vectorised bootstrap
def _expand(values, counts):
    return [v for v, c in zip(values, counts) for _ in range(int(c))]


def _random_counts(n, rows=12, seed=5):
    rng = np.random.default_rng(seed)
    w = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(rows)]).astype(float)
    w[0] = 1.0  # the identity resample: the point estimate itself
    w[1] = 0.0
    w[1, :3] = [4, 0, 1]  # a tiny resample (few distinct values)
    return w


@pytest.mark.parametrize("fn, fn_w", [
    (metrics.pearson, metrics.pearson_weighted), (metrics.spearman, metrics.spearman_weighted),
    (metrics.kendall, metrics.kendall_weighted), (metrics.r2, metrics.r2_weighted),
    (metrics.mae, metrics.mae_weighted), (metrics.mse, metrics.mse_weighted)])
@pytest.mark.parametrize("discrete", [True, False])
def test_weighted_absolute_metrics_equal_scipy_on_the_expanded_resample(fn, fn_w, discrete):
    rng = np.random.default_rng(0)
    n = 40
    gold = rng.integers(1, 6, n).astype(float)
    pred = np.clip(gold + rng.integers(-2, 3, n), 1, 5) if discrete else gold + rng.normal(0, 1.5, n)
    w = _random_counts(n)
    got = fn_w(w, pred, gold)
    want = [fn(_expand(pred, r), _expand(gold, r)) for r in w]
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True)


def test_weighted_kendall_falls_back_to_scipy_for_many_distinct_values(monkeypatch):
    monkeypatch.setattr(metrics, "CHUNK_CELLS", 10)
    rng = np.random.default_rng(1)
    pred, gold = rng.normal(size=30), rng.normal(size=30)
    w = _random_counts(30, rows=4)
    want = [metrics.kendall(_expand(pred, r), _expand(gold, r)) for r in w]
    np.testing.assert_allclose(metrics.kendall_weighted(w, pred, gold), want, rtol=1e-9, equal_nan=True)


def test_weighted_constant_resample_gives_nan():
    w = np.array([[2.0, 0, 0, 1], [1, 1, 1, 1]])
    got = metrics.pearson_weighted(w, [3, 1, 2, 3], [1, 2, 3, 4])
    assert math.isnan(got[0]) and got[1] == pytest.approx(metrics.pearson([3, 1, 2, 3], [1, 2, 3, 4]))


@pytest.mark.parametrize("fn, from_confusion", [
    (metrics.accuracy, metrics.accuracy_from_confusion),
    (metrics.accuracy_no_tie, lambda c: metrics.accuracy_from_confusion(c, drop_gold=2)),
    (metrics.precision_macro, lambda c: metrics.macro_from_confusion(c, "precision")),
    (metrics.recall_macro, lambda c: metrics.macro_from_confusion(c, "recall")),
    (metrics.f1_macro, lambda c: metrics.macro_from_confusion(c, "f1"))])
def test_weighted_classification_equals_sklearn_on_the_expanded_resample(fn, from_confusion):
    rng = np.random.default_rng(2)
    n, labels = 30, ["a", "b", "tie"]
    gold, pred = rng.integers(0, 3, n), rng.integers(0, 3, n)
    pred[:10] = gold[:10]
    w = _random_counts(n)
    got = from_confusion(metrics.confusion_weighted(w, gold, pred, 3))
    want = [fn(_expand([labels[p] for p in pred], r), _expand([labels[g] for g in gold], r)) for r in w]
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)


def test_resample_counts_are_the_draws_of_a_plain_loop(monkeypatch):
    monkeypatch.setattr(metrics, "CHUNK_CELLS", 35)  # chunks of 3 resamples of 11 units
    chunks = list(metrics.resample_counts(11, iters=8, seed=3))
    assert [len(c) for c in chunks] == [3, 3, 2]
    rng = np.random.default_rng(3)
    plain = [np.bincount(rng.integers(0, 11, 11), minlength=11) for _ in range(8)]
    np.testing.assert_array_equal(np.vstack(chunks), plain)


def _plain_bootstrap(units, statistic, iters=200, seed=1234):
    """The stderr by the book: resample the units with replacement (duplicates kept), recompute, sd."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(iters):
        drawn = [units[i] for i in rng.integers(0, len(units), len(units))]
        v = statistic(drawn)
        if math.isfinite(v):
            values.append(v)
    return float(np.std(values, ddof=1))


def _resolved(unit):
    p = {o: v for o, v, _ in unit}
    return p["ab"] if p["ab"] == p["ba"] else "tie"


def test_swap_stderr_equals_a_plain_numpy_bootstrap_over_pairs():
    rng = np.random.default_rng(4)
    n = 60
    gold = rng.choice(["a", "b", "tie"], n)
    texts, golds, units = [], [], []
    code = {"a": "1", "b": "2", "tie": "Tie"}
    for g in gold:
        v_ab, v_ba = (g, g) if rng.random() < 0.6 else tuple(rng.choice(["a", "b", "tie"], 2))
        ba_own = {"a": "b", "b": "a", "tie": "tie"}
        texts += [code[v_ab], code[ba_own[v_ba]]]
        golds += [g, ba_own[g]]
        units.append([("ab", v_ab, g), ("ba", v_ba, g)])
    items = _pair_items(texts, golds, orders=["ab", "ba"] * n)
    # units in key order ("t:0", "t:1", "t:10", ...), as the harness sorts them
    units = [units[int(k.split(":")[1])] for k in sorted(f"t:{i}" for i in range(n))]
    plain = {
        "accuracy": lambda us: metrics.accuracy([_resolved(u) for u in us], [u[0][2] for u in us]),
        "f1_macro": lambda us: metrics.f1_macro([_resolved(u) for u in us], [u[0][2] for u in us]),
        "accuracy_first_order": lambda us: metrics.accuracy([u[0][1] for u in us], [u[0][2] for u in us]),
        "accuracy_both_orders": lambda us: metrics.accuracy_both_orders(
            [u[0][1] for u in us], [u[1][1] for u in us], [u[0][2] for u in us]),
        "consistency": lambda us: metrics.swap_stats([u[0][1] for u in us], [u[1][1] for u in us])["consistency"],
        "delta_bias": lambda us: metrics.swap_stats([u[0][1] for u in us], [u[1][1] for u in us])["delta_bias"],
    }
    for name, statistic in plain.items():
        agg = getattr(aggregation, name)
        assert agg(items) == pytest.approx(statistic(units)), name
        assert agg.bootstrap(items) == pytest.approx(_plain_bootstrap(units, statistic), rel=1e-9), name
    # with replacement, duplicates kept: not the old "group by pair, drop duplicates" draw, which shrank it
    assert aggregation.accuracy.bootstrap(list(reversed(items))) == aggregation.accuracy.bootstrap(items)


def test_absolute_stderr_equals_a_plain_numpy_bootstrap():
    rng = np.random.default_rng(6)
    gold = rng.integers(1, 6, 50)
    pred = [str(int(np.clip(g + rng.integers(-1, 2), 1, 5))) for g in gold]
    pred[3] = "no score"
    items = _abs_items([f"[RESULT] {p}" if p != "no score" else p for p in pred], gold)
    for i, it in enumerate(items):
        it["pair"] = f"d{i:03d}"
    units = [(it["pred"], it["gold"]) for it in items]
    for name in ("pearson", "spearman", "kendall", "r2", "mae"):
        fn = getattr(metrics, name)

        def statistic(us, fn=fn):
            kept = [u for u in us if u[0] is not None]
            return fn([u[0] for u in kept], [u[1] for u in kept])

        assert getattr(aggregation, name).bootstrap(items) == pytest.approx(_plain_bootstrap(units, statistic),
                                                                        rel=1e-9), name


# --------------------------------------------------------------------------- the fast paths give the same values
def _absolute_fixture(kind):
    rng = np.random.default_rng(11)
    n = 3000 if kind in ("continuous", "ties") else 400
    gold = rng.integers(1, 6, n).astype(float)
    if kind == "continuous":  # ~2,500 distinct predictions, some unparsed
        pred = list(np.clip(gold + rng.normal(0, 1, n), 1, 5).round(3))
        for i in rng.choice(n, 30, replace=False):
            pred[i] = None
    elif kind == "ties":  # integer predictions: a few values, many ties
        pred = list(np.clip(gold + rng.integers(-1, 2, n), 1, 5))
    elif kind == "both_continuous":  # gold means of several grades, continuous predictions
        gold = rng.integers(1, 6, (n, 3)).mean(1).round(3) + rng.normal(0, 0.01, n).round(4)
        pred = list(gold + rng.normal(0, 0.5, n))
    else:  # constant predictions: NaN correlations, the errors still defined
        pred = [3.0] * n
    return [{"pred": None if p is None else float(p), "gold": float(g), "parsed": p is not None, "pair": f"d{i:05d}"}
            for i, (p, g) in enumerate(zip(pred, gold))]


NAN_ = float("nan")
#: the stderr of these fixtures as the code before the contingency-table Spearman / Kendall computed it (3bf80b1:
#: per-unit ranks, Kendall tables from a sparse one-hot product); "small_chunks": CHUNK_CELLS = 50,000, so that
#: both_continuous takes the per-unit ranks and scipy's Kendall
BEFORE = {
    "continuous": {"pearson": 0.00579624011968223, "spearman": 0.005474389930353684, "kendall": 0.006091488942202147,
                   "r2": 0.011823368516065812, "mae": 0.009970606927583246, "mse": 0.019843414072707132},
    "ties": {"pearson": 0.0032332114945672675, "spearman": 0.002874344417712451, "kendall": 0.0038097682825139582,
             "r2": 0.006671521259234936, "mae": 0.008674916187161201, "mse": 0.008674916187161201},
    "both_continuous": {"pearson": 0.014673231815182052, "spearman": 0.019503884779399124,
                        "kendall": 0.02039060388000506, "r2": 0.03839953821559955, "mae": 0.013478416146246973,
                        "mse": 0.015938796989796642},
    "constant": {"pearson": NAN_, "spearman": NAN_, "kendall": NAN_, "r2": 0.0038300393463186746,
                 "mae": 0.03844835993783802, "mse": 0.08794374558167667},
    "small_chunks": {"pearson": 0.014673231815182052, "spearman": 0.019503884779399124,
                     "kendall": 0.02039060388000506, "r2": 0.03839953821559955, "mae": 0.013478416146246971,
                     "mse": 0.015938796989796642},
}


@pytest.mark.parametrize("kind", list(BEFORE))
def test_absolute_stderr_is_the_same_bit_for_bit_as_before(kind, monkeypatch):
    if kind == "small_chunks":
        monkeypatch.setattr(metrics, "CHUNK_CELLS", 50_000)
    items = _absolute_fixture("both_continuous" if kind == "small_chunks" else kind)
    got = {m: getattr(aggregation, m).bootstrap(items) for m in BEFORE[kind]}
    assert got == pytest.approx(BEFORE[kind], rel=0, abs=0, nan_ok=True)


@pytest.mark.parametrize("k", [3, 9, 65, 500])
def test_count_by_code_is_the_one_hot_product(k):
    rng = np.random.default_rng(7)
    codes = rng.integers(0, k, 300)
    w = _random_counts(300, rows=5)
    onehot = np.zeros((300, k))
    onehot[np.arange(300), codes] = 1
    got = metrics.count_by_code(w, codes, k)
    np.testing.assert_array_equal(got, w @ onehot)
    assert got.flags.c_contiguous and got.shape == (5, k)


@pytest.mark.parametrize("case", ["many_values", "ties", "constant_pred", "constant_gold"])
@pytest.mark.parametrize("block_cells", [1, 1 << 16])
def test_rank_correlations_from_tables_equal_scipy_and_the_per_unit_ranks(case, block_cells, monkeypatch):
    """The contingency-table Spearman / Kendall (blocks of one resample, or many) against scipy on the expanded
    resamples, and bit for bit against the per-unit ranks of the path for too many distinct values."""
    rng = np.random.default_rng(8)
    n = 60
    pred, gold = rng.normal(size=n), rng.normal(size=n)  # every value distinct on both sides
    if case == "ties":
        pred, gold = rng.integers(0, 4, n).astype(float), rng.integers(0, 3, n).astype(float)
    elif case == "constant_pred":
        pred = np.full(n, 2.0)
    elif case == "constant_gold":
        gold = np.full(n, 4.0)
    w = _random_counts(n, rows=9)
    w[2] = 0.0
    w[2, 5] = 7  # one unit drawn n times: a constant resample
    monkeypatch.setattr(metrics, "TABLE_CELLS", block_cells)
    rho, tau = metrics.spearman_weighted(w, pred, gold), metrics.kendall_weighted(w, pred, gold)
    want_rho = [metrics.spearman(_expand(pred, r), _expand(gold, r)) for r in w]
    want_tau = [metrics.kendall(_expand(pred, r), _expand(gold, r)) for r in w]
    np.testing.assert_allclose(rho, want_rho, rtol=1e-9, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(tau, want_tau, rtol=1e-9, atol=1e-12, equal_nan=True)
    assert np.isnan(rho[2]) and np.isnan(tau[2])
    monkeypatch.setattr(metrics, "CHUNK_CELLS", 4)  # too many distinct values for a table: per-unit ranks, scipy
    np.testing.assert_array_equal(metrics.spearman_weighted(w, pred, gold), rho)
    np.testing.assert_allclose(metrics.kendall_weighted(w, pred, gold), tau, rtol=1e-12, equal_nan=True)


def test_mm_vet_class_stderr_equals_a_plain_bootstrap():
    """Absolute items of a class benchmark: the classes found once per distinct score (boundaries included)."""
    from judge_tasks.loaders import mmvet_class

    rng = np.random.default_rng(9)
    scores = [0.0, 0.04, 0.05, 0.5, 0.94, 0.95, 0.96, 1.0]
    gold = rng.choice(scores, 80)
    pred = [float(rng.choice(scores)) if i % 13 else None for i in range(80)]
    items = [{"pred": p, "gold": float(g), "parsed": p is not None, "pair": f"m{i:02d}"}
             for i, (p, g) in enumerate(zip(pred, gold))]
    units = [(it["pred"], it["gold"]) for it in items]

    def statistic(us):
        kept = [u for u in us if u[0] is not None]
        return metrics.accuracy([mmvet_class(u[0]) for u in kept], [mmvet_class(u[1]) for u in kept])

    assert aggregation.accuracy(items) == pytest.approx(statistic(units))
    assert aggregation.accuracy.bootstrap(items) == pytest.approx(_plain_bootstrap(units, statistic), rel=1e-9)
