"""``judge-report``: figures and an HTML page from results folders with samples logs.

The fast tests write a results folder in lm-eval's layout whose samples logs hold records built with
``judge_core.records`` and judge outputs encoded with ``parsers.encode_judge_output`` (what this package's judges
log), with known properties: a calibrated and an over-confident classification head, a known confusion matrix and
known position biases. The end-to-end test draws a real ``lm_eval --model phudge`` run (tiny classification
adapter) on MM-Vet and HHH (both orders).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from judge_core import metrics, parsers, records
from judge_tools import report
from tests.conftest import OFFLINE_ENV, SHARED_DATA, needs_shared_data, run_lm_eval

DATE = "2026-01-01T00-00-00.000001"


def _line(i, doc, output):
    text = parsers.encode_judge_output(output)
    return {"doc_id": i, "doc": doc, "target": "", "arguments": {"gen_args_0": {"arg_0": "", "arg_1": {}}},
            "resps": [[text]], "filtered_resps": [text], "filter": "none", "metrics": []}


def absolute_lines(n, rng, confidences, hit_rate=None, benchmark="mt_bench_absolute", scale=(1, 5)):
    """Documents with gold on the 5 class values; the top class has probability c (from ``confidences``) and is the
    gold class with probability c (calibrated) or ``hit_rate`` (miscalibrated)."""
    values = np.linspace(scale[0], scale[1], 5)
    out = []
    for i in range(n):
        g = int(rng.integers(0, 5))
        c = float(rng.choice(confidences))
        hit = rng.random() < (c if hit_rate is None else hit_rate)
        top = g if hit else int((g + rng.integers(1, 5)) % 5)
        dist = [(1 - c) / 4] * 5
        dist[top] = c
        doc = records.absolute(benchmark=benchmark, id=i, row=i, instruction="q", response="r",
                               gold_score=values[g], scale=scale, prompt_family="prometheus_absolute",
                               rubric=records.rubric("c", list("12345")))
        out.append(_line(i, doc, {"score": float(values[top]), "distribution": dist, "parsed": True}))
    return out


def swap_lines(n_consistent=5, n_first=3, n_second=2):
    """hhh_alignment pairs judged in both orders: consistent pairs, pairs leaning to the first / second slot."""
    out, i = [], 0
    for k in range(n_consistent + n_first + n_second):
        base = dict(records.pairwise(benchmark="hhh_alignment", id=k, row=k, instruction="q", response_a="x",
                                     response_b="y", gold="a" if k % 2 else "b", meta={"source": "helpful"}),
                    swap=True)
        swapped = records.swapped(base)
        if k < n_consistent:
            v_ab, v_ba = "a", "b"  # the same response (a) both times
        elif k < n_consistent + n_first:
            v_ab, v_ba = "a", "a"  # always the first slot
        else:
            v_ab, v_ba = "b", "b"  # always the second slot
        out += [_line(i, base, {"verdict": v_ab}), _line(i + 1, swapped, {"verdict": v_ba})]
        i += 2
    return out


def write_run(folder: Path, model_args: dict, tasks: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    results = {}
    for task, lines in tasks.items():
        with open(folder / f"samples_{task}_{DATE}.jsonl", "w") as f:
            for line in lines:
                f.write(json.dumps(line) + "\n")
        results[task] = {"name": task, "alias": task, "sample_len": len(lines), "accuracy,none": 0.5,
                         "accuracy_stderr,none": 0.05, "parse_failures,none": 0, "parse_failures_stderr,none": "N/A",
                         "consistency,none": 0.5, "consistency_stderr,none": 0.1, "bias_first,none": 0.3,
                         "bias_first_stderr,none": 0.1, "bias_second,none": 0.2, "bias_second_stderr,none": 0.1}
    (folder / f"results_{DATE}.json").write_text(json.dumps({
        "results": results, "config": {"model": "phudge", "model_args": model_args},
        "configs": {t: {"metadata": {"conventions": "test conventions"}} for t in tasks}, "date": 1.0e9}))
    return folder


def test_calibration_numbers():
    rng = np.random.default_rng(0)
    good = report.calibration_data(report.read_items_from_lines(
        absolute_lines(2000, rng, [0.3, 0.5, 0.7, 0.9])))
    bad = report.calibration_data(report.read_items_from_lines(
        absolute_lines(2000, rng, [0.99], hit_rate=0.5)))
    assert good is not None and bad is not None
    conf, correct = good
    for c in (0.3, 0.5, 0.7, 0.9):  # calibrated: each confidence level is right that often
        assert correct[np.isclose(conf, c)].mean() == pytest.approx(c, abs=0.06)
    assert bad[0].mean() == pytest.approx(0.99) and bad[1].mean() == pytest.approx(0.5, abs=0.05)


def test_report_figures_and_html(tmp_path):
    rng = np.random.default_rng(1)
    run = write_run(tmp_path / "run", {"adapter": "/a/tiny-cls"}, {
        "mt_bench_absolute": absolute_lines(300, rng, [0.3, 0.5, 0.7, 0.9]),
        "mm_vet_text": absolute_lines(60, rng, [0.6], benchmark="mm_vet_text", scale=(0, 1)),
        "hhh_alignment_swap": swap_lines(),
        "gsm8k": [],  # another package's task: skipped
    })
    write_run(tmp_path / "run2", {"path": "/p/const.json"}, {"hhh_alignment": swap_lines()[::2]})
    (tmp_path / "run2" / f"samples_hhh_alignment_{DATE}.jsonl").unlink()  # results without a samples log
    out = tmp_path / "report"
    assert report.main([str(tmp_path / "run"), str(tmp_path / "run2"), "--out", str(out)]) == 0
    names = sorted(p.name for p in out.glob("*.png"))
    stem = "phudge_tiny-cls__"
    assert names == sorted([
        f"{stem}hhh_alignment_swap__confusion.png", f"{stem}hhh_alignment_swap__position_bias.png",
        f"{stem}mm_vet_text__calibration.png", f"{stem}mm_vet_text__confusion.png", f"{stem}mm_vet_text__scatter.png",
        f"{stem}mt_bench_absolute__calibration.png", f"{stem}mt_bench_absolute__scatter.png"])
    import matplotlib.image

    for name in names:
        img = matplotlib.image.imread(out / name)
        assert img.shape[0] > 300 and img.shape[1] > 300 and img[..., :3].std() > 0.05  # drawn, not blank
    page = (out / "index.html").read_text()
    for name in names:
        assert f"src='{name}'" in page
    assert "test conventions" in page and "<td>consistency</td><td>0.5000</td><td>0.1000</td>" in page
    assert "rerun lm_eval with --log_samples" in page  # run2 has no samples log
    assert "gsm8k" not in page


def test_figure_contents(tmp_path):
    """What the figures show is computed like the metrics: one verdict per pair, swap-resolved."""
    items = report.read_items_from_lines(swap_lines(5, 3, 2))
    from judge_tasks import aggregation

    pred, gold = aggregation._verdicts([it["item"] for it in items])
    mat = report.confusion(gold, pred, report.VERDICT_LABELS, "t", tmp_path / "c.png")
    assert mat.sum() == 10  # pairs, not judgements
    # consistent pairs picked response a: right when gold is a; conflicting pairs resolve to tie
    assert mat[:, 2].sum() == 5 and np.trace(mat) == sum(1 for k in range(5) if k % 2)
    ab = [it["item"]["pred"] for it in items if it["item"]["order"] == "ab"]
    ba = [it["item"]["pred"] for it in items if it["item"]["order"] == "ba"]
    assert metrics.swap_stats(ab, ba) == pytest.approx(
        {"consistency": 0.5, "bias_first": 0.3, "bias_second": 0.2, "delta_bias": 0.1})
    conf = np.array([0.95] * 10 + [0.55] * 10)
    correct = np.array([1.0] * 9 + [0.0] + [1.0] * 5 + [0.0] * 5)
    info = report.calibration(conf, correct, "t", tmp_path / "cal.png")
    assert info["ece"] == pytest.approx(0.5 * 0.05 + 0.5 * 0.05)
    assert [b["n"] for b in info["bins"]] == [10, 10]


@pytest.mark.slow
@needs_shared_data
def test_report_of_a_real_phudge_run(tmp_path):
    """lm_eval --model phudge (tiny random classification adapter) --log_samples, then the judge-report CLI."""
    tiny_models = pytest.importorskip("tests.tiny_models")
    adapter = tiny_models.tiny_phudge_adapter(tmp_path / "tiny", head="classification")
    out = tmp_path / "out"
    res = run_lm_eval("--model", "phudge", "--model_args", f"adapter={adapter},max_length=512", "--tasks",
                      "hhh_alignment_swap,mm_vet_text", "--limit", "12", "--batch_size", "8", "--device", "cpu",
                      "--log_samples", data_dir=SHARED_DATA, output_path=out)
    assert res["results"]["hhh_alignment_swap"]["sample_len"] == 12
    proc = subprocess.run([str(Path(sys.executable).with_name("judge-report")), str(out)],
                          env={**os.environ, **OFFLINE_ENV}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder = out / "report"
    kinds = sorted(p.name.rsplit("__", 1)[1] for p in folder.glob("*.png"))
    assert kinds == ["calibration.png", "confusion.png", "confusion.png", "position_bias.png", "scatter.png"]
    page = (folder / "index.html").read_text()
    assert page.count("<img ") == 5 and "mm_vet_text" in page and "hhh_alignment_swap" in page
