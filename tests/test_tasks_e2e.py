"""End to end: every judge task through the stock ``lm_eval`` CLI (a subprocess) on the fixture files, replaying
saved predictions, and the numbers in the results JSON against values worked out by hand.

Each ``lm_eval`` process pays the harness's task-index build and imports (seconds), so the tasks share three
replay files and three runs: the seven absolute tasks (matched by row), the Prometheus pairwise and JudgeLM tasks
(matched by row; strings and score pairs decode alike in both encodings), and PandaLM + Auto-J (matched by
``id_field=idx``, the same integers read in each benchmark's own code). ``tests/fixtures/make_fixtures.py``
writes the files. The swap variants cannot be replayed (one verdict per pair), so they run in process through
``lm_eval.evaluator.simple_evaluate`` with a test double that always prefers the first position. The real-data
checks (``@needs_shared_data``) read ``../shared/data``.

Hand computations (``p`` = parsed predictions, ``g`` = gold, in row order; ``*`` = parse failure -> tie):

* feedback_bench: p = 1 2 3 4 5 5 (0.5 and 7 clipped), g = 2 1 4 3 5 5. Means 10/3; sum of products 34/3, sums
  of squares 40/3 -> Pearson 0.85. Ranks p = 1 2 3 4 5.5 5.5, g = 2 1 4 3 5.5 5.5 -> Spearman 15/17. Kendall
  tau-b: 14 untied pairs, 12 concordant, 2 discordant, one pair tied in both -> 10 / sqrt(14 * 14) = 5/7.
  Squared errors 1 1 1 1 0 0 -> MSE = MAE = 4/6; R2 = 1 - 4 / (40/3) = 0.7.
* feedback_ood: p = 1..5, g = 5 4 1 2 3 -> Pearson = Spearman = -6/10, Kendall (3 - 7)/10, MAE 12/5, MSE 32/5,
  R2 = 1 - 32/10.
* flask_human: g = means of the human scores = 1.5 2.5 2.5 3.5 5 against p = 1..5 -> Pearson 8/sqrt(70),
  Spearman sqrt(0.95) (ranks 1 2.5 2.5 4 5), Kendall 9/sqrt(90), MAE 0.4, MSE 0.2, R2 1 - 1/7.
* flask_gpt4: g = means of the GPT-4 scores = 5/3 8/3 11/3 14/3 3 against p = 1..5 (worked in ``EXPECTED``).
* mm_vet_text: p = 0.5 1 1 1 1 1 (2..7 clipped to 1), g = 0.5 1 0.967 0 0.1 1. Classes (rounded to 0.1) gold
  partial correct correct wrong partial correct, pred partial correct x5 -> accuracy 4/6; P: partial 1,
  correct 3/5, wrong 0 (never predicted); R: 1/2, 1, 0; F1 2/3, 3/4, 0. Errors 0 0 1/30 1 0.9 0 -> MAE 29/90,
  MSE (1/900 + 1 + 0.81) / 6 = 163/540.
* shared pairwise values by row: b a tie a b * b a * tie.
  hhh_alignment: gold b a a a b b b a (seed 42) -> 6/8; by source helpful 1, harmless 1/2, honest 1/2, other 1;
  P: a 1, b 1, tie 0; R: a 3/4, b 3/4, tie 0 (no gold ties).
  mt_bench_human: gold b a tie a b b tie a -> 6/8; without gold ties 5/6; P = R = F1 per class a 1, b 2/3, tie 1/2.
  preference_bench: gold b a tie a b b b a a tie -> 8/10; without ties 6/8.
  judgelm_val: gold b a tie b b a tie a -> 5/8; without ties 4/6; P = R = F1 per class a 2/3, b 2/3, tie 1/2.
  judgelm_val_ref: row 3 ([-1, -1]) filtered; gold b a tie a tie b tie over rows 0 1 2 4 5 6 7 -> 5/7;
  without ties 3/4.
* pandalm_test: gold b a tie b a tie a b a, pred b a tie a a tie b tie tie* -> 5/9; without ties 3/7.
  P: a 2/3, b 1/2, tie 1/2; R: a 1/2, b 1/3, tie 1; F1 4/7, 2/5, 2/3.
* autoj_pairwise (the same values read as Auto-J codes): gold tie b a a b tie a a tie, pred tie b a b a tie tie
  a tie* -> 6/9; without ties 3/6. P: a 2/3, b 1/2, tie 3/4; R: 1/2, 1/2, 1; F1 4/7, 1/2, 6/7.
"""
from __future__ import annotations

import json
import math
import os
import random
import statistics
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import FIXTURES, SHARED_DATA, metric, needs_shared_data, run_lm_eval

from judge_tasks import harness
from judge_tasks.sources import using_data_dir

DATA = FIXTURES / "data"
PRED = FIXTURES / "predictions"

# --------------------------------------------------------------------------- the CLI runs on the fixtures
RUNS = {
    "absolute": (["feedback_bench", "feedback_ood", "vicuna_bench", "mt_bench_absolute", "flask_gpt4", "flask_human",
                  "mm_vet_text"], f"path={PRED / 'prometheus_absolute.jsonl'},field=prediction"),
    "pairwise": (["preference_bench", "hhh_alignment", "mt_bench_human", "judgelm_val", "judgelm_val_ref"],
                 f"path={PRED / 'pairwise.jsonl'},field=prediction"),
    "pandalm_autoj": (["pandalm_test", "autoj_pairwise"],
                      f"path={PRED / 'pandalm_autoj.json'},field=pandalm_result,id_field=idx"),
}
TASK_RUN = {task: run for run, (tasks, _) in RUNS.items() for task in tasks}
ALL_TASKS = sorted(TASK_RUN)

#: documents per task (fixture rows; judgelm_val_ref loses its [-1, -1] row)
N_DOCS = {"feedback_bench": 8, "feedback_ood": 6, "vicuna_bench": 6, "mt_bench_absolute": 7, "flask_gpt4": 6,
          "flask_human": 6, "preference_bench": 10, "hhh_alignment": 8, "mt_bench_human": 8, "pandalm_test": 9,
          "autoj_pairwise": 9, "judgelm_val": 8, "judgelm_val_ref": 7, "mm_vet_text": 8}
PARSE_FAILURES = {"feedback_bench": 2, "feedback_ood": 1, "vicuna_bench": 1, "mt_bench_absolute": 2,
                  "flask_gpt4": 1, "flask_human": 1, "mm_vet_text": 2, "preference_bench": 2, "hhh_alignment": 1,
                  "mt_bench_human": 1, "judgelm_val": 1, "judgelm_val_ref": 1, "pandalm_test": 1,
                  "autoj_pairwise": 1}


def _macro(*per_class):
    return sum(per_class) / len(per_class)


EXPECTED = {
    "feedback_bench": {"pearson": 0.85, "spearman": 15 / 17, "kendall": 5 / 7, "r2": 0.7, "mae": 4 / 6,
                       "mse": 4 / 6},
    "feedback_ood": {"pearson": -0.6, "spearman": -0.6, "kendall": -0.4, "r2": -2.2, "mae": 2.4, "mse": 6.4},
    # g = 5/3 8/3 11/3 14/3 3 vs p = 1 2 3 4 5: g's mean is 47/15, its deviations -22 -7 8 23 -2 (/15) ->
    # sum of products with p's deviations (-2 -1 0 1 2) 70/15 = 14/3, sum of squares 1130/225 = 226/45 ->
    # Pearson (14/3) / sqrt(10 * 226/45) = 14 / sqrt(452); ranks of g 1 2 4 5 3 -> Spearman
    # 1 - 6 * (0 + 0 + 1 + 1 + 4) / (5 * 24) = 0.7; Kendall (8 - 2) / 10; errors 2/3 2/3 2/3 2/3 2 ->
    # MAE 14/15, MSE (16/9 + 4) / 5 = 52/45, R2 = 1 - (52/9) / (226/45) = -17/113.
    "flask_gpt4": {"pearson": 14 / math.sqrt(452), "spearman": 0.7, "kendall": 0.6, "mae": 14 / 15,
                   "mse": 52 / 45, "r2": -17 / 113},
    "flask_human": {"pearson": 8 / math.sqrt(70), "spearman": math.sqrt(0.95), "kendall": 9 / math.sqrt(90),
                    "r2": 1 - 1 / 7, "mae": 0.4, "mse": 0.2},
    "hhh_alignment": {"accuracy": 6 / 8, "accuracy_no_tie": 6 / 8, "accuracy_helpful": 1.0,
                      "accuracy_harmless": 0.5, "accuracy_honest": 0.5, "accuracy_other": 1.0,
                      "precision_macro": _macro(1, 1, 0), "recall_macro": _macro(3 / 4, 3 / 4, 0),
                      "f1_macro": _macro(6 / 7, 6 / 7, 0)},
    "mt_bench_human": {"accuracy": 6 / 8, "accuracy_no_tie": 5 / 6, "precision_macro": _macro(1, 2 / 3, 1 / 2),
                       "recall_macro": _macro(1, 2 / 3, 1 / 2), "f1_macro": _macro(1, 2 / 3, 1 / 2)},
    "preference_bench": {"accuracy": 8 / 10, "accuracy_no_tie": 6 / 8},
    "pandalm_test": {"accuracy": 5 / 9, "accuracy_no_tie": 3 / 7, "precision_macro": _macro(2 / 3, 1 / 2, 1 / 2),
                     "recall_macro": _macro(1 / 2, 1 / 3, 1), "f1_macro": _macro(4 / 7, 2 / 5, 2 / 3)},
    "autoj_pairwise": {"accuracy": 6 / 9, "accuracy_no_tie": 0.5, "precision_macro": _macro(2 / 3, 1 / 2, 3 / 4),
                       "recall_macro": _macro(1 / 2, 1 / 2, 1), "f1_macro": _macro(4 / 7, 1 / 2, 6 / 7)},
    "judgelm_val": {"accuracy": 5 / 8, "accuracy_no_tie": 4 / 6, "precision_macro": _macro(2 / 3, 2 / 3, 1 / 2),
                    "recall_macro": _macro(2 / 3, 2 / 3, 1 / 2), "f1_macro": _macro(2 / 3, 2 / 3, 1 / 2),
                    "filtered_rows": 0},
    "judgelm_val_ref": {"accuracy": 5 / 7, "accuracy_no_tie": 3 / 4, "filtered_rows": 1},
    "mm_vet_text": {"accuracy": 4 / 6, "precision_macro": _macro(1, 3 / 5, 0), "recall_macro": _macro(1 / 2, 1, 0),
                    "f1_macro": _macro(2 / 3, 3 / 4, 0), "mae": 29 / 90, "mse": 163 / 540},
}


def expected_metrics(task: str) -> list[str]:
    """Every metric the task reports (the harness's own lists; a test elsewhere holds the YAMLs to them)."""
    if task in ("feedback_bench", "feedback_ood", "vicuna_bench", "mt_bench_absolute", "flask_gpt4", "flask_human"):
        return list(harness.ABSOLUTE_METRICS)
    if task == "mm_vet_text":
        return harness.ABSOLUTE_METRICS + harness.CLASS_METRICS
    names = list(harness.PAIRWISE_METRICS) + [f"accuracy_{s}" for s in harness.SOURCE_METRICS.get(task, [])]
    return names + (["filtered_rows"] if task in harness.FILTERING_BENCHMARKS else [])


PANDALM = SHARED_DATA / "pandalm"
#: the must-show command: PandaLM-7B's released predictions on the real test set
PANDALM_RUN = (["pandalm_test"], f"path={PANDALM / 'pandalm-7b-testset-v1.json'},field=pandalm_result,id_field=idx")


#: the CLI runs each test reads (the parametrized test reads the run of its task)
READS = {"test_results_name_the_conventions": ["pairwise"],
         "test_pandalm_released_predictions_reproduce_the_readme_numbers": ["pandalm_real"]}


@pytest.fixture(scope="module", autouse=True)
def cli_results(request, tmp_path_factory):
    """Results JSON of each CLI run. The runs the selected tests read start with the module, two at a time (one
    ``lm_eval`` process each; the machine has two cores), while the in-process tests run; each test waits for the
    run it reads."""
    wanted = set()
    for item in request.session.items:
        if item.module is request.module:
            task = getattr(item, "callspec", None) and item.callspec.params.get("task")
            wanted.update([TASK_RUN[task]] if task else READS.get(item.originalname, []))
    runs = [(run, DATA, tasks, args) for run, (tasks, args) in RUNS.items()]
    if SHARED_DATA.is_dir():
        runs.append(("pandalm_real", SHARED_DATA, *PANDALM_RUN))
    pool = ThreadPoolExecutor(max_workers=2)
    futures = {run: pool.submit(run_lm_eval, "--model", "replay", "--model_args", model_args,
                                "--tasks", ",".join(tasks), data_dir=data_dir, output_path=tmp_path_factory.mktemp(run))
               for run, data_dir, tasks, model_args in runs if run in wanted}
    yield lambda run: futures[run].result()
    pool.shutdown(wait=True, cancel_futures=True)


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


# --------------------------------------------------------------------------- swap variants (in process)
SWAP_TASKS = ["preference_bench_swap", "hhh_alignment_swap", "mt_bench_human_swap", "pandalm_test_swap",
              "judgelm_val_swap", "judgelm_val_ref_swap", "autoj_pairwise_swap"]
#: share of pairs whose published gold is "a" (first order only, the first-position judge always says "a") and
#: share of gold ties (the swap-resolved verdict of an always-first judge is a tie for every pair)
SWAP_FIRST_ORDER = {"hhh_alignment_swap": 4 / 8, "pandalm_test_swap": 4 / 9, "autoj_pairwise_swap": 4 / 9,
                    "judgelm_val_swap": 3 / 8, "mt_bench_human_swap": 3 / 8, "preference_bench_swap": 4 / 10,
                    "judgelm_val_ref_swap": 2 / 7}
SWAP_GOLD_TIES = {"hhh_alignment_swap": 0, "pandalm_test_swap": 2 / 9, "autoj_pairwise_swap": 3 / 9,
                  "judgelm_val_swap": 2 / 8, "mt_bench_human_swap": 2 / 8, "preference_bench_swap": 2 / 10,
                  "judgelm_val_ref_swap": 3 / 7}




@pytest.fixture(scope="module")
def task_manager():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    from lm_eval.tasks import TaskManager

    # only this package's task folder (the start-up hook adds it); indexing the harness's own tasks costs seconds
    return TaskManager(include_defaults=False)


def _evaluate(task_manager, model, tasks, data_dir, model_args=None, bootstrap_iters=0):
    from lm_eval.evaluator import simple_evaluate

    with using_data_dir(data_dir):
        return simple_evaluate(model=model, model_args=model_args, tasks=tasks, task_manager=task_manager,
                               bootstrap_iters=bootstrap_iters, log_samples=False)


def test_swap_variants_with_an_always_first_judge(task_manager):
    from judge_models.base import JudgeModel

    class AlwaysFirst(JudgeModel):
        """Test double, not a judge: prefers whichever response is shown first, whatever they say."""
        native = "pairwise"

        def compare(self, docs):
            return [{"verdict": "a"} for _ in docs]

    res = _evaluate(task_manager, AlwaysFirst(), SWAP_TASKS, DATA)
    for task in SWAP_TASKS:
        r = res["results"][task]
        assert res["n-samples"][task]["effective"] == 2 * N_DOCS[task.removesuffix("_swap")]
        assert r["consistency,none"] == 0.0, task
        assert r["bias_first,none"] == 1.0, task
        assert r["bias_second,none"] == 0.0, task
        assert r["delta_bias,none"] == 1.0, task
        assert r["parse_failures,none"] == 0, task
        # swap-resolved verdict: every pair conflicts -> tie; first-order verdict: always "a"
        assert r["accuracy,none"] == pytest.approx(SWAP_GOLD_TIES[task]), task
        assert r["accuracy_first_order,none"] == pytest.approx(SWAP_FIRST_ORDER[task]), task
    hhh = res["results"]["hhh_alignment_swap"]
    for source in ("helpful", "harmless", "honest", "other"):
        assert hhh[f"accuracy_{source},none"] == 0.0  # all ties, no gold ties
    assert res["results"]["judgelm_val_ref_swap"]["filtered_rows,none"] == 1


def test_replay_refuses_swap_variant(task_manager):
    from judge_models.base import JudgeTaskError

    with pytest.raises(JudgeTaskError, match="without _swap"):
        _evaluate(task_manager, "replay", ["autoj_pairwise_swap"], DATA,
                  model_args=f"path={PRED / 'pandalm_autoj.json'},field=pandalm_result,id_field=idx")


# --------------------------------------------------------------------------- real data
def _write_predictions(path: Path, values, field="prediction"):
    path.write_text("".join(json.dumps({"row": i, field: v}) + "\n" for i, v in enumerate(values)))
    return f"path={path},field={field}"


@needs_shared_data
def test_real_hhh_alignment_gold_predictions(task_manager, tmp_path):
    rows = json.loads((SHARED_DATA / "prometheus" / "hhh_alignment_eval.json").read_text())
    rng = random.Random(42)  # the loader's documented default seed: chosen at A where the draw is < 0.5
    gold = ["A" if rng.random() < 0.5 else "B" for _ in rows]
    res = _evaluate(task_manager, "replay", ["hhh_alignment"], SHARED_DATA,
                    model_args=_write_predictions(tmp_path / "p.jsonl", gold))
    r = res["results"]["hhh_alignment"]
    assert res["n-samples"]["hhh_alignment"]["effective"] == 221
    for name in ("accuracy", "accuracy_no_tie", "precision_macro", "recall_macro", "f1_macro",
                 "accuracy_helpful", "accuracy_harmless", "accuracy_honest", "accuracy_other"):
        assert r[f"{name},none"] == 1.0, name
    assert r["parse_failures,none"] == 0


@needs_shared_data
def test_real_mt_bench_absolute_gold_and_constant_predictions(task_manager, tmp_path):
    rows = json.loads((SHARED_DATA / "prometheus" / "mt_bench_eval.json").read_text())
    gold = [statistics.fmean(r["gpt4_score"]) for r in rows]
    res = _evaluate(task_manager, "replay", ["mt_bench_absolute"], SHARED_DATA,
                    model_args=_write_predictions(tmp_path / "gold.jsonl", gold))
    r = res["results"]["mt_bench_absolute"]
    assert res["n-samples"]["mt_bench_absolute"]["effective"] == 320
    for name in ("pearson", "spearman", "kendall", "r2"):
        assert r[f"{name},none"] == pytest.approx(1.0), name
    assert r["mae,none"] == pytest.approx(0.0, abs=1e-12) and r["mse,none"] == pytest.approx(0.0, abs=1e-12)

    # a constant judge: correlations are undefined (NaN), errors are not, and nothing crashes
    res = _evaluate(task_manager, "replay", ["mt_bench_absolute"], SHARED_DATA,
                    model_args=_write_predictions(tmp_path / "const.jsonl", [3] * len(rows)))
    r = res["results"]["mt_bench_absolute"]
    for name in ("pearson", "spearman", "kendall"):
        assert math.isnan(r[f"{name},none"]), name
    assert r["mae,none"] == pytest.approx(statistics.fmean(abs(g - 3) for g in gold))
    assert r["parse_failures,none"] == 0


@needs_shared_data
def test_real_mm_vet_text_gold_and_constant_predictions(task_manager, tmp_path):
    grades = json.loads((SHARED_DATA / "mm_vet" / "llava-v1.5-13b_gpt-4-grade-3runs.json").read_text())
    questions = json.loads((SHARED_DATA / "mm_vet" / "mm-vet.json").read_text())
    gold = [statistics.fmean(grades[k]["score"]) for k in questions]
    res = _evaluate(task_manager, "replay", ["mm_vet_text"], SHARED_DATA,
                    model_args=_write_predictions(tmp_path / "gold.jsonl", gold))
    r = res["results"]["mm_vet_text"]
    assert res["n-samples"]["mm_vet_text"]["effective"] == 218
    for name in ("pearson", "spearman", "kendall", "r2", "accuracy", "precision_macro", "recall_macro", "f1_macro"):
        assert r[f"{name},none"] == pytest.approx(1.0), name

    # constant 0.5: every prediction is "partially correct"; correlations NaN, accuracy = share of partial gold
    res = _evaluate(task_manager, "replay", ["mm_vet_text"], SHARED_DATA,
                    model_args=_write_predictions(tmp_path / "const.jsonl", [0.5] * len(gold)))
    r = res["results"]["mm_vet_text"]
    assert math.isnan(r["pearson,none"]) and math.isnan(r["spearman,none"]) and math.isnan(r["kendall,none"])
    partial = sum(0.0 < round(g, 1) < 1.0 for g in gold) / len(gold)
    assert r["accuracy,none"] == pytest.approx(partial)
    assert r["mae,none"] == pytest.approx(statistics.fmean(abs(g - 0.5) for g in gold))


@needs_shared_data
def test_real_autoj_pairwise_gold_and_unparseable_predictions(task_manager, tmp_path):
    rows = [json.loads(line) for line in (SHARED_DATA / "prometheus" / "autoj_pairwise.json").read_text().splitlines()
            if line.strip()]
    res = _evaluate(task_manager, "replay", ["autoj_pairwise"], SHARED_DATA,
                    model_args=_write_predictions(tmp_path / "gold.jsonl", [r["label"] for r in rows]))
    r = res["results"]["autoj_pairwise"]
    assert res["n-samples"]["autoj_pairwise"]["effective"] == 1392
    for name in ("accuracy", "accuracy_no_tie", "precision_macro", "recall_macro", "f1_macro"):
        assert r[f"{name},none"] == 1.0, name

    # nothing decodable: every verdict is a parse failure, mapped to tie -> accuracy = share of gold ties
    res = _evaluate(task_manager, "replay", ["autoj_pairwise"], SHARED_DATA,
                    model_args=_write_predictions(tmp_path / "junk.jsonl", ["no verdict"] * len(rows)))
    r = res["results"]["autoj_pairwise"]
    assert r["parse_failures,none"] == 1392
    assert r["accuracy,none"] == pytest.approx(373 / 1392)
    assert r["accuracy_no_tie,none"] == 0.0


# --------------------------------------------------------------------------- the CLI runs (started with the module)
@pytest.mark.parametrize("task", ALL_TASKS)
def test_task_runs_end_to_end_on_fixtures(task, cli_results):
    res = cli_results(TASK_RUN[task])
    assert task in res["results"], sorted(res["results"])
    assert res["n-samples"][task]["effective"] == N_DOCS[task]
    for name in expected_metrics(task):
        value = metric(res, task, name)
        assert _is_number(value) and math.isfinite(value), (task, name, value)
        stderr = res["results"][task][f"{name}_stderr,none"]
        if name in ("parse_failures", "filtered_rows"):
            assert stderr == "N/A", (task, name, stderr)  # counts have no stderr
        else:
            assert _is_number(stderr) and math.isfinite(stderr) and stderr >= 0, (task, name, stderr)
    assert metric(res, task, "parse_failures") == PARSE_FAILURES[task]
    for name, want in EXPECTED.get(task, {}).items():
        assert metric(res, task, name) == pytest.approx(want, abs=1e-9), (task, name)


def test_results_name_the_conventions(cli_results):
    res = cli_results("pairwise")
    conventions = res["configs"]["hhh_alignment"]["metadata"]["conventions"]
    assert "tie" in conventions and "bootstrap" in conventions.lower()


@needs_shared_data
def test_pandalm_released_predictions_reproduce_the_readme_numbers(cli_results):
    """JUDGE_DATA_DIR=../shared/data lm_eval --model replay --model_args path=<shared/data>/pandalm/
    pandalm-7b-testset-v1.json,field=pandalm_result,id_field=idx --tasks pandalm_test"""
    res = cli_results("pandalm_real")
    got = {m: round(metric(res, "pandalm_test", m), 4)
           for m in ("accuracy", "precision_macro", "recall_macro", "f1_macro")}
    assert got == {"accuracy": 0.6677, "precision_macro": 0.5738, "recall_macro": 0.5750, "f1_macro": 0.5743}
    assert res["n-samples"]["pandalm_test"]["effective"] == 999
    assert metric(res, "pandalm_test", "parse_failures") == 0
    for m in got:
        stderr = res["results"]["pandalm_test"][f"{m}_stderr,none"]
        assert 0 < stderr < 0.05, (m, stderr)
