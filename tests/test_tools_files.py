"""Interrupted and corrupt files (issue 12 item 4) and ``--limit`` runs (issue 13 item 5) in the console tools.

* ``judge-score`` appends and fsyncs per batch: a file cut at any byte (what a kill leaves) resumes to exactly the
  lines of an uninterrupted run, the torn tail dropped and counted; a real SIGKILL of a running ``judge-score``
  resumes the same way; a corrupt line before the last one is an error naming the file and the line.
* ``judge-leaderboard`` and ``judge-report`` refuse a file that is not an lm-eval results file, naming it.
* ``judge-leaderboard`` refuses a ``--limit`` run (and says how ``--limit`` counts on ``_swap`` tasks), or, with
  ``--allow_limited``, marks it in every table, the CSV / JSON and the submission file.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import jsonschema
import pytest

from judge_tools import leaderboard, report, results
from tests.conftest import OFFLINE_ENV, REPO
from tests.test_leaderboard import results_file
from tests.test_score_run import GENS, graded_lines, run, write_samples

# the class the harness registered as toy_judge (pytest may import test_score_run under two module names)
ToyJudge = __import__("lm_eval.api.registry", fromlist=["get_model"]).get_model("toy_judge")

DOCS_N = len(GENS)


def _judged(folder):
    (path,) = folder.glob("samples_tiny_qa_judged_*.jsonl")
    return path


# --------------------------------------------------------------------------- judge-score: kill and resume
def test_a_cut_at_any_byte_resumes_to_the_uninterrupted_file(tmp_path):
    samples = write_samples(tmp_path / "full", "tiny_qa", GENS)
    run(samples, "--model", "toy_judge", "--batch_size", 2)
    full_path = _judged(tmp_path / "full")
    full = full_path.read_bytes()
    expected = graded_lines(tmp_path / "full", "tiny_qa")
    newlines = [i + 1 for i, b in enumerate(full) if b == ord("\n")]
    cuts = sorted({0, 1, len(full) - 1} | {n + d for n in newlines[:-1] for d in (-1, 0, 1, 7)})
    for cut in cuts:
        folder = tmp_path / f"cut{cut}"
        s = write_samples(folder, "tiny_qa", GENS)
        (folder / full_path.name).write_bytes(full[:cut])
        torn = int(cut not in newlines and cut != 0)
        done_before = sum(1 for n in newlines if n <= cut)
        ToyJudge.seen.clear()
        run(s, "--model", "toy_judge", "--batch_size", 2)
        assert len(ToyJudge.seen) == DOCS_N - done_before, cut  # only what was not complete is graded again
        assert graded_lines(folder, "tiny_qa") == expected, cut
        res = json.loads(sorted(folder.glob("results_judge_toy_judge_*.json"))[-1].read_text())
        assert res["configs"]["tiny_qa_judged"]["torn_lines"] == torn, cut
        assert res["results"]["tiny_qa_judged"]["judge_score,none"] == pytest.approx(
            json.loads(sorted((tmp_path / "full").glob("results_judge_*.json"))[-1].read_text())
            ["results"]["tiny_qa_judged"]["judge_score,none"])


SLOW_JUDGE = """
import sys, time
sys.path.insert(0, {repo!r})
from lm_eval.api.registry import model_registry
from tests.test_score_run import ToyJudge
from judge_tools import score

class SlowToyJudge(ToyJudge):
    def grade(self, docs):
        time.sleep(0.4)
        return super().grade(docs)

if "toy_judge_slow" not in model_registry:
    model_registry.register("toy_judge_slow")(SlowToyJudge)
sys.exit(score.main(sys.argv[1:]))
"""


def test_sigkill_of_a_running_judge_score_resumes_exactly(tmp_path):
    script = tmp_path / "slow_judge_score.py"
    script.write_text(SLOW_JUDGE.format(repo=str(REPO)))
    gens = [g * (i + 1) for i in range(6) for g in GENS][:40]
    docs = [{"question": f"q{i}", "answer": "a", "meta": {"topic": "t"}} for i in range(len(gens))]
    args = ["--model", "toy_judge_slow", "--batch_size", "1", "--quiet", "--bootstrap_iters", "20"]
    full = write_samples(tmp_path / "full", "tiny_qa", gens, docs=docs)
    cut = write_samples(tmp_path / "cut", "tiny_qa", gens, docs=docs)
    env = {**os.environ, **OFFLINE_ENV, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, str(script), str(full), *args], env=env, check=True, capture_output=True,
                   timeout=300)
    proc = subprocess.Popen([sys.executable, str(script), str(cut), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        files = list((tmp_path / "cut").glob("samples_tiny_qa_judged_*.jsonl"))
        if files and files[0].read_text().count("\n") >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    partial = graded_lines(tmp_path / "cut", "tiny_qa")
    assert 3 <= len(partial) < len(gens), "the kill came too late to test a resume"
    subprocess.run([sys.executable, str(script), str(cut), *args], env=env, check=True, capture_output=True,
                   timeout=300)
    assert graded_lines(tmp_path / "cut", "tiny_qa") == graded_lines(tmp_path / "full", "tiny_qa")


@pytest.mark.parametrize("corrupt, message", [
    (lambda lines: lines[:1] + ['{"doc_id": 1, "doc": {"tru'] + lines[2:], "line 2: corrupt graded line"),
    (lambda lines: lines[:2] + [json.dumps([1, 2])] + lines[3:], "line 3: not a graded line"),
    (lambda lines: lines + [lines[0]], "line 6: doc_id 0 graded twice"),
    (lambda lines: [json.dumps(dict(json.loads(lines[0]), grading="other"))] + lines[1:],
     "line 1: graded with another configuration"),
])
def test_a_corrupt_graded_line_is_an_error_naming_file_and_line(tmp_path, corrupt, message):
    samples = write_samples(tmp_path / "run", "tiny_qa", GENS)
    run(samples, "--model", "toy_judge")
    path = _judged(tmp_path / "run")
    lines = path.read_text().splitlines()
    path.write_text("\n".join(corrupt(lines)) + "\n")
    with pytest.raises(results.ResultsFileError, match=rf"{path.name}: {message}"):
        run(samples, "--model", "toy_judge")


def test_bad_bytes_in_a_samples_log_name_file_and_line(tmp_path):
    samples = write_samples(tmp_path / "run", "tiny_qa", GENS)
    data = samples.read_bytes().split(b"\n")
    data[3] = data[3].replace(b"Paris", b"Par\xff\xfes") if b"Paris" in data[3] else data[3][:20] + b"\xff" + \
        data[3][20:]
    samples.write_bytes(b"\n".join(data))
    with pytest.raises(results.ResultsFileError, match=rf"{samples.name}: line 4: not UTF-8"):
        run(samples, "--model", "toy_judge")


# --------------------------------------------------------------------------- results files that are not
NOT_RESULTS = {
    "cut_short": (b'{"results": {"pandalm_test": {"accuracy,none": 0.5', "not JSON"),
    "a_list": (b"[1, 2, 3]", "the top level is a list"),
    "no_results": (b'{"config": {"model": "replay"}}', "no 'results' object"),
    "task_not_an_object": (b'{"results": {"pandalm_test": [0.5]}}', "results['pandalm_test'] is a list"),
    "not_utf8": (b'{"results": {"\xff": {}}}', "not UTF-8"),
    "config_a_string": (b'{"results": {}, "config": "replay"}', "'config' is a str"),
}


@pytest.mark.parametrize("case", sorted(NOT_RESULTS))
def test_leaderboard_and_report_refuse_a_file_that_is_not_results(tmp_path, case):
    content, message = NOT_RESULTS[case]
    folder = tmp_path / "run"
    folder.mkdir()
    bad = folder / "results_2026-01-01T00-00-00.json"
    bad.write_bytes(content)
    for tool in (leaderboard.main, report.main):
        with pytest.raises(results.ResultsFileError, match=f"{re.escape(bad.name)}: not an lm-eval results file: .*{re.escape(message)}"):
            tool([str(folder)])
        with pytest.raises(results.ResultsFileError, match=bad.name):
            tool([str(bad)])


# --------------------------------------------------------------------------- --limit runs
def _limited(folder, task, limit, original, effective):
    path = results_file(folder, "2026-01-02T00-00-00", "replay", {"path": "/d/p.json"},
                        {task: {"accuracy": (0.5, 0.05), "precision_macro": (0.4, 0.05)}})
    data = json.loads(path.read_text())
    data["config"]["limit"] = limit
    data["n-samples"][task] = {"original": original, "effective": effective}
    path.write_text(json.dumps(data))
    return path


def test_leaderboard_refuses_a_limit_run_and_says_how_swap_counts(tmp_path):
    results_file(tmp_path / "full", "2026-01-01T00-00-00", "replay", {"path": "/d/q.json"},
                 {"pandalm_test": {"accuracy": (0.6, 0.01)}})
    _limited(tmp_path / "lim", "pandalm_test_swap", 10, 1998, 10)
    with pytest.raises(SystemExit, match=r"pandalm_test_swap was run with --limit 10 \(10 documents scored\).*"
                                         r"two per pair .*10 documents = 5 pairs") as err:
        leaderboard.main([str(tmp_path / "full"), str(tmp_path / "lim")])
    assert "--allow_limited" in str(err.value)
    # a run that scored fewer documents than the task has is limited even without config.limit
    _limited(tmp_path / "sub", "pandalm_test", None, 999, 100)
    with pytest.raises(SystemExit, match=r"pandalm_test was run with --limit 100"):
        leaderboard.main([str(tmp_path / "sub")])


def test_allow_limited_marks_the_run_everywhere(tmp_path, capsys):
    results_file(tmp_path / "full", "2026-01-01T00-00-00", "replay", {"path": "/d/q.json"},
                 {"pandalm_test": {"accuracy": (0.6, 0.01)}})
    _limited(tmp_path / "lim", "pandalm_test", 50, 999, 50)
    out = tmp_path / "board"
    assert leaderboard.main([str(tmp_path / "full"), f"Small={tmp_path / 'lim'}", "--allow_limited",
                             "--out", str(out)]) == 0
    md = capsys.readouterr().out
    assert "**Limited runs** (Small [limited])" in md
    assert "| Small [limited] | 0.5000 ± 0.0500 |" in md  # Table 4
    assert "| pandalm_test | Small [limited] | 0.5000 ± 0.0500 |" in md  # JudgeLM Table 1
    assert "| replay:q | 0.6000 ± 0.0100 |" in md  # the full run is not marked
    data = json.loads((out / "leaderboard.json").read_text())
    assert data["judges"]["Small [limited]"]["limited"] == {"pandalm_test": 50}
    assert all(r.get("limit") == 50 for r in data["rows"] if r["judge"] == "Small [limited]")
    csv_lines = (out / "leaderboard.csv").read_text().splitlines()
    assert csv_lines[0].endswith(",limit") and any(line.startswith("Small [limited],") and line.endswith(",50")
                                                   for line in csv_lines)
    sub = json.loads((out / "Small_limited" / "submission.json").read_text())
    jsonschema.validate(sub, json.loads(leaderboard.SCHEMA_FILE.read_text()),
                        format_checker=jsonschema.FormatChecker())
    assert sub["judge"]["name"] == "Small [limited]" and sub["tasks"]["pandalm_test"]["limit"] == 50
    assert sub["tasks"]["pandalm_test"]["n_samples"] == 50
    full = json.loads((out / "replay_q" / "submission.json").read_text())
    assert full["tasks"]["pandalm_test"]["limit"] is None


# --------------------------------------------------------------------------- one place per fact
def test_no_benchmark_is_named_in_the_tools():
    """Benchmark facts come from judge_tasks.registry; the tools' Python files name no task of the catalog."""
    from judge_tasks import registry

    names = set()
    for name, entry in registry.benchmarks().items():
        names |= {name} | ({entry["swap"]["name"]} if entry.get("swap") else set())
    found = []
    for path in sorted((REPO / "judge_tools").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        found += [f"{path.name}: {n}" for n in sorted(names)
                  if re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", text)]
    assert not found, found
