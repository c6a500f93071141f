"""``judge-leaderboard``: tables across judges, the published rows, CSV / JSON, and schema-valid submissions.

The fast tests read results files written here in lm-eval's results layout; the end-to-end test builds the
leaderboard of two real ``lm_eval --model replay`` runs on ``pandalm_test``: PandaLM-7B's released predictions
and a constant judge (always response 1) made here.
"""
from __future__ import annotations

import copy
import csv
import json
import re
from concurrent.futures import ThreadPoolExecutor

import jsonschema
import pytest

from judge_tasks.sources import PANDALM_COMMIT
from judge_tools import leaderboard
from tests.conftest import SHARED_DATA, needs_shared_data, run_lm_eval

CONVENTIONS = "Verdicts in {a, b, tie}; ... (test)"


def results_file(folder, name, model, model_args, tasks: dict, date=1.0e9):
    """An lm-eval results file: ``tasks`` maps task -> {metric: (value, stderr)}."""
    folder.mkdir(parents=True, exist_ok=True)
    results, configs = {}, {}
    for task, metrics in tasks.items():
        res = {"name": task, "alias": task, "sample_len": 10}
        for metric, (value, stderr) in metrics.items():
            res[f"{metric},none"] = value
            res[f"{metric}_stderr,none"] = "N/A" if stderr is None else stderr
        results[task] = res
        configs[task] = {"task": task, "dataset_kwargs": {"benchmark": task.removesuffix("_swap")},
                         "metadata": {"version": 1.0, "conventions": CONVENTIONS}}
    data = {"results": results, "configs": configs, "versions": {t: 1.0 for t in tasks},
            "n-samples": {t: {"original": 10, "effective": 10} for t in tasks},
            "config": {"model": model, "model_args": model_args}, "date": date, "lm_eval_version": "0.4.13",
            "git_hash": "abc1234"}
    path = folder / f"results_{name}.json"
    path.write_text(json.dumps(data))
    return path


CATALOG = """
version: 1
tasks:
  - name: pandalm_test
    kind: pairwise
    loader: {format: pandalm_annotated, file: testset-v1.json}
    label_encoding: pandalm
    metrics: [accuracy]
    published:
      - {judge: "PandaLM-7B (released predictions)", task: pandalm_test, metric: accuracy, value: 0.6677, source: "PandaLM README"}
      - {judge: "GPT-4", task: pandalm_test_swap, metric: agreement, value: 0.6647, source: "PandaLM Table 2"}
  - name: mt_bench_absolute
    kind: absolute
    loader: {format: prometheus_absolute, file: mt_bench_eval.json}
    label_encoding: score
    metrics: [pearson]
    published:
      - {judge: "PHUDGE (Phi-3)", task: mt_bench_absolute, metric: pearson, value: 0.5, source: "made up", note: "test"}
  - name: vicuna_bench
    kind: absolute
    loader: {format: prometheus_absolute, file: vicuna_eval.json}
    label_encoding: score
    metrics: [pearson]
    published:
      - {judge: "Prometheus (13B)", task: vicuna_bench, metric: pearson, value: 0.49, source: "PHUDGE Table 2"}
"""


@pytest.fixture
def two_fake_judges(tmp_path):
    nan = float("nan")
    results_file(tmp_path / "a", "2026-01-01T00-00-00", "phudge", {"adapter": "/x/adapters/phudge-tiny"}, {
        "mt_bench_absolute": {"pearson": (0.41, 0.05), "kendall": (0.3, 0.04), "spearman": (0.4, 0.05),
                              "r2": (0.1, 0.02), "mae": (0.9, 0.1), "mse": (1.3, 0.2), "parse_failures": (2, None)},
        "pandalm_test_swap": {"accuracy": (0.61, 0.02), "precision_macro": (0.5, 0.02),
                              "recall_macro": (0.52, 0.02), "f1_macro": (0.51, 0.02), "consistency": (0.8, 0.01),
                              "bias_first": (0.15, 0.01), "bias_second": (0.05, 0.01), "parse_failures": (0, None)},
        "tiny_qa_judged": {"judge_score": (3.0, 0.1)},  # not a task of this package: skipped
    })
    results_file(tmp_path / "b", "2026-01-01T00-00-00", "replay", {"path": "/d/constant.json", "field": "p"}, {
        "pandalm_test": {"accuracy": (0.42, 0.015), "precision_macro": (0.14, 0.01), "recall_macro": (0.33, 0.0),
                         "f1_macro": (0.2, 0.01), "parse_failures": (0, None)},
        "mt_bench_absolute": {"pearson": (nan, nan), "mae": (1.5, 0.1), "parse_failures": (0, None)},
    })
    (tmp_path / "b" / "results_judge_phudge_2026.json").write_text("{}")  # judge-score output: ignored
    catalog = tmp_path / "tasks.yaml"
    catalog.write_text(CATALOG)
    return tmp_path, catalog


def test_tables_published_rows_and_files(two_fake_judges, capsys):
    root, catalog = two_fake_judges
    out = root / "board"
    assert leaderboard.main([str(root / "a"), f"Constant={root / 'b'}", "--catalog", str(catalog),
                             "--out", str(out)]) == 0
    md = capsys.readouterr().out
    assert md == (out / "leaderboard.md").read_text() + "\n"
    # PHUDGE Tables 2-3: one table per absolute task, measured rows with stderr, then the published ones
    assert "| phudge:phudge-tiny | 0.4100 ± 0.0500 | 0.3000 ± 0.0400 | 0.4000 ± 0.0500 | 0.1000 ± 0.0200 | " \
           "0.9000 ± 0.1000 | 1.3000 ± 0.2000 | 10 | 2 |" in md
    assert "| Constant | nan | — | — | — | 1.5000 ± 0.1000 | — | 10 | 0 |" in md
    assert "| PHUDGE (Phi-3) (published) | 0.5000 |" in md  # published: no stderr
    assert "vicuna_bench" not in md  # no given judge ran it (--all_tasks shows it)
    # Table 4 accuracy: the swap-only judge's value is marked swap-resolved
    assert "| phudge:phudge-tiny | 0.6100 ± 0.0200 † |" in md and "| Constant | 0.4200 ± 0.0150 |" in md
    assert "| GPT-4 (published) | 0.6647 † |" in md  # 'agreement' read as accuracy, of the _swap task
    # JudgeLM Table 1: consistency and bias come from the _swap variant
    assert "| pandalm_test | phudge:phudge-tiny | 0.6100 ± 0.0200 | 0.5000 ± 0.0200 | 0.5200 ± 0.0200 | " \
           "0.5100 ± 0.0200 | 0.8000 ± 0.0100 | 0.1500 ± 0.0100 | 0.0500 ± 0.0100 | swap-resolved |" in md
    assert "| pandalm_test | Constant | 0.4200 ± 0.0150 | 0.1400 ± 0.0100 | 0.3300 ± 0.0000 | 0.2000 ± 0.0100 | " \
           "— | — | — | published order |" in md
    assert "made up (test)" in md  # sources and notes of the published rows
    rows = list(csv.DictReader((out / "leaderboard.csv").open()))
    assert {r["origin"] for r in rows} == {"measured", "published"}
    acc = [r for r in rows if r["judge"] == "Constant" and r["metric"] == "accuracy"]
    assert float(acc[0]["value"]) == 0.42 and float(acc[0]["stderr"]) == 0.015
    assert not any(r["task"] == "tiny_qa_judged" for r in rows)
    data = json.loads((out / "leaderboard.json").read_text())
    assert set(data["judges"]) == {"phudge:phudge-tiny", "Constant"}
    # --all_tasks also shows published rows of tasks nobody here ran
    leaderboard.main([str(root / "a"), "--catalog", str(catalog), "--all_tasks"])
    assert "### vicuna_bench" in capsys.readouterr().out


def test_submissions_follow_the_schema(two_fake_judges):
    root, catalog = two_fake_judges
    out = root / "board"
    leaderboard.main([str(root / "a"), f"Constant={root / 'b'}", "--catalog", str(catalog), "--out", str(out)])
    schema = json.loads(leaderboard.SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    sub = json.loads((out / "Constant" / "submission.json").read_text())
    jsonschema.validate(sub, schema, format_checker=jsonschema.FormatChecker())
    assert sub["judge"] == {"name": "Constant", "model": "replay",
                            "model_args": {"path": "/d/constant.json", "field": "p"}}
    assert sub["package"]["name"] == "lm-eval-judges" and sub["harness"] == {"name": "lm_eval", "version": "0.4.13"}
    task = sub["tasks"]["pandalm_test"]
    assert task["version"] == 1.0 and task["kind"] == "pairwise" and task["conventions"] == CONVENTIONS
    assert task["data"] == [{"file": "testset-v1.json", "revision": PANDALM_COMMIT,
                             "source": f"https://raw.githubusercontent.com/WeOpenML/PandaLM/{PANDALM_COMMIT}/data/"
                                       "testset-v1.json"}]
    assert task["metrics"]["accuracy"] == {"value": 0.42, "stderr": 0.015}
    assert task["metrics"]["parse_failures"] == {"value": 0, "stderr": None}
    assert sub["tasks"]["mt_bench_absolute"]["metrics"]["pearson"] == {"value": None, "stderr": None}  # NaN
    assert sub["tasks"]["mt_bench_absolute"]["data"][0]["file"] == "mt_bench_eval.json"
    other = json.loads((out / "phudge_phudge-tiny" / "submission.json").read_text())
    jsonschema.validate(other, schema, format_checker=jsonschema.FormatChecker())
    assert set(other["tasks"]) == {"mt_bench_absolute", "pandalm_test_swap"}
    # the schema rejects what a submission must not be
    for broken in (lambda s: s.pop("harness"), lambda s: s["tasks"]["pandalm_test"].update(kind="listwise"),
                   lambda s: s["tasks"]["pandalm_test"]["metrics"]["accuracy"].update(value="high"),
                   lambda s: s.update(tasks={}), lambda s: s.update(date="yesterday")):
        bad = copy.deepcopy(sub)
        broken(bad)
        with pytest.raises(jsonschema.ValidationError):
            leaderboard.validate_submission(bad)


def test_without_catalog_and_merging(tmp_path, capsys):
    results_file(tmp_path / "r", "2026-01-01", "replay", {"path": "/d/p.json"},
                 {"pandalm_test": {"accuracy": (0.5, 0.01)}}, date=1.0e9)
    results_file(tmp_path / "r", "2026-01-02", "replay", {"path": "/d/p.json"},
                 {"pandalm_test": {"accuracy": (0.6, 0.01)}, "judge_demo": {"accuracy": (0.9, 0.05)}}, date=2.0e9)
    results_file(tmp_path / "s", "2026-01-01", "replay", {"path": "/e/p.json"},  # same label, other judge
                 {"pandalm_test": {"accuracy": (0.3, 0.01)}})
    assert leaderboard.main([str(tmp_path / "r"), str(tmp_path / "s"), "--catalog", str(tmp_path / "none.yaml"),
                             "--out", str(tmp_path / "o")]) == 0
    captured = capsys.readouterr()
    md = captured.out
    assert "no catalog found: measured rows only" in md and "(published)" not in md
    assert "| Judge | judge_demo | pandalm_test |" in md
    assert "| replay:p | 0.9000 ± 0.0500 | 0.6000 ± 0.0100 |" in md  # the later run of the judge wins
    assert "| replay:p#2 | — | 0.3000 ± 0.0100 |" in md
    sub = json.loads((tmp_path / "o" / "replay_p" / "submission.json").read_text())
    assert sub["tasks"]["judge_demo"]["data"][0]["file"].endswith("demo_documents.jsonl")
    leaderboard.validate_submission(sub)
    results_file(tmp_path / "other", "2026", "hf", {"pretrained": "m"}, {"gsm8k": {"exact_match": (0.1, 0.01)}})
    with pytest.raises(SystemExit, match="no results of lm-eval-judges tasks"):
        leaderboard.main([str(tmp_path / "other")])
    with pytest.raises(FileNotFoundError):
        leaderboard.main([str(tmp_path / "missing")])


def test_repo_catalog_is_read_when_present(two_fake_judges, capsys):
    if not leaderboard.REPO_CATALOG.is_file():
        pytest.skip("tasks.yaml not written yet")
    root, _ = two_fake_judges
    leaderboard.main([str(root / "b")])
    md = capsys.readouterr().out
    assert "PandaLM-7B (released predictions) (published)" in md


@pytest.mark.slow  # two full pandalm_test runs (999 pairs, 200 bootstrap resamples per metric): ~1-2 min on 2 cores
@needs_shared_data
def test_two_real_judges_on_pandalm_test(tmp_path):
    """PandaLM-7B's released predictions and a constant judge, both replayed by the stock lm_eval CLI."""
    released = SHARED_DATA / "pandalm" / "pandalm-7b-testset-v1.json"
    constant = tmp_path / "always_first.json"
    constant.write_text(json.dumps([{"idx": r["idx"], "verdict": 1} for r in json.loads(released.read_text())]))
    runs = {"PandaLM-7B": f"path={released},field=pandalm_result,id_field=idx",
            "Always-1": f"path={constant},field=verdict,id_field=idx"}
    with ThreadPoolExecutor(2) as pool:
        done = {name: pool.submit(run_lm_eval, "--model", "replay", "--model_args", args, "--tasks", "pandalm_test",
                                  data_dir=SHARED_DATA, output_path=tmp_path / name)
                for name, args in runs.items()}
        for f in done.values():
            f.result()
    out = tmp_path / "board"
    assert leaderboard.main([f"{n}={tmp_path / n}" for n in runs] + ["--out", str(out)]) == 0
    md = (out / "leaderboard.md").read_text()
    # PandaLM's README numbers, reproduced, beside the catalog's published row when the catalog exists
    # stderr: a seeded bootstrap, about 0.01 for 999 pairs (its exact digits depend on the resample count)
    assert re.search(r"\| pandalm_test \| PandaLM-7B \| 0\.6677 ± 0\.0(09|1\d)\d* \| 0\.5738 ± 0\.01", md)
    assert re.search(r"\| 0\.5750 ± 0\.01\d* \| 0\.5743 ± 0\.01", md)
    assert re.search(r"\| pandalm_test \| Always-1 \| 0\.4224 ± 0\.0(09|1\d)", md)  # 422 of 999 gold: response 1
    if leaderboard.REPO_CATALOG.is_file():
        assert "PandaLM-7B (released predictions) (published)" in md
    schema = json.loads(leaderboard.SCHEMA_FILE.read_text())
    for name in runs:
        sub = json.loads((out / name / "submission.json").read_text())
        jsonschema.validate(sub, schema, format_checker=jsonschema.FormatChecker())
        assert sub["harness"]["version"] == "0.4.13" and sub["tasks"]["pandalm_test"]["n_samples"] == 999
        assert sub["tasks"]["pandalm_test"]["data"][0]["revision"] == PANDALM_COMMIT
        assert "swap" not in sub["tasks"]["pandalm_test"]["conventions"].lower() or \
            "Published order only" in sub["tasks"]["pandalm_test"]["conventions"]
    sub = json.loads((out / "PandaLM-7B" / "submission.json").read_text())
    assert round(sub["tasks"]["pandalm_test"]["metrics"]["f1_macro"]["value"], 4) == 0.5743
