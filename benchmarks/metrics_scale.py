"""Cost of scoring and of the stderr at 1K / 10K / 100K documents: time and peak memory per stage.

Stages, each on synthetic documents of a realistic shape (PandaLM-like pairs with 0 / 1 / 2 predictions; absolute
documents with continuous scores on 1-5):

* ``load``      the normalised records and the ``datasets.Dataset`` the task builds from them;
* ``judge``     the ``replay`` judge reads the predictions file(s) and answers every document (``generate_until``);
* ``process``   ``process_results`` on every document (the per-document items);
* ``metrics``   every corpus-level metric of the task (the point estimates);
* ``bootstrap`` the stderr of every metric that has one (200 resamples, what the results file gets).

"Scoring the documents" is judge + process. Variants: ``pairwise`` (the pairwise task layout: 6 metrics), ``swap``
(its ``_swap`` layout: the documents are both orders of N/2 pairs, replayed with ``swap_path``; a code without
``swap_path`` gets the ``ba`` answers encoded directly and its judge time is marked n/a) and ``absolute``
(an absolute task: Pearson, Spearman, Kendall, R2, MAE, MSE on continuous scores).

Every (code, variant, size) runs in its own process with ``--code`` first on ``sys.path``, so the same script
measures this tree and another checkout (``--before /work/main``). Peak memory is the process's peak resident set
during the stage (``VmHWM``, reset before each stage through ``/proc/self/clear_refs``). For a code that
bootstraps each metric separately, a bootstrap stage that passes ``--budget`` seconds stops after the metric that
crossed it; the table then gives the estimate for all metrics from the mean per metric measured, marked ``~``
with the number measured (a code that computes all metrics in one pass is always measured in full). Timings are
wall-clock on whatever else the machine is running: compare rows of one run.

    python benchmarks/metrics_scale.py [--sizes 1000 10000 100000] [--variants pairwise swap absolute]
        [--before /work/main] [--budget 300] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ITERS = 200


def _hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_hwm() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


class _Stages:
    def __init__(self):
        self.rows = {}

    def run(self, name, fn):
        _reset_hwm()
        t = time.perf_counter()
        out = fn()
        self.rows[name] = {"s": time.perf_counter() - t, "peak_mib": _hwm_mib()}
        return out


def _documents(variant: str, n: int, seed: int = 0):
    import numpy as np

    from judge_core import records

    rng = np.random.default_rng(seed)
    if variant == "absolute":
        gold = rng.integers(1, 6, n)
        docs = [records.absolute(benchmark="synthetic_absolute", id=i, row=i, instruction=f"q{i}", response=f"r{i}",
                                 gold_score=float(g), rubric=records.rubric("c", list("12345"))) for i, g in enumerate(gold)]
        preds = np.clip(gold + rng.normal(0, 1, n), 1, 5).round(3)
        return docs, [{"idx": i, "p": float(p)} for i, p in enumerate(preds)], None
    pairs = n // 2 if variant == "swap" else n
    gold = rng.choice(["a", "b", "tie"], pairs, p=[0.42, 0.47, 0.11])
    docs = [records.pairwise(benchmark="synthetic_pairwise", id=i, row=i, instruction=f"q{i}", response_a=f"x{i}",
                             response_b=f"y{i}", gold=str(g), prompt_family="pandalm", label_encoding="pandalm")
            for i, g in enumerate(gold)]
    code = {"tie": 0, "a": 1, "b": 2}
    right = rng.random(pairs) < 0.67
    pred = np.where(right, gold, rng.choice(["a", "b", "tie"], pairs))
    ab = [{"idx": i, "p": code[str(v)]} for i, v in enumerate(pred)]
    if variant != "swap":
        return docs, ab, None
    flip = {"a": "b", "b": "a", "tie": "tie"}
    again = np.where(rng.random(pairs) < 0.8, pred, rng.choice(["a", "b", "tie"], pairs))
    ba = [{"idx": i, "p": code[flip[str(v)]]} for i, v in enumerate(again)]  # in the exchanged positions
    docs = [d for r in docs for d in (dict(r, swap=True), dict(records.swapped(r), swap=True))]
    return docs, ab, ba


def child(variant: str, n: int) -> dict:
    """One measurement, in this process (the parent puts the code under test first on sys.path)."""
    import datasets

    from judge_core import parsers
    from judge_models.replay import ReplayJudge
    from judge_tasks import harness
    try:
        from judge_tasks import aggregation
    except ImportError:  # a checkout from before the split: the aggregations were in harness
        aggregation = harness

    stages = _Stages()
    tmp = Path(tempfile.mkdtemp())

    def load():
        docs, ab, ba = _documents(variant, n)
        datasets.Dataset.from_list(docs)
        return docs, ab, ba

    docs, ab, ba = stages.run("load", load)
    (tmp / "ab.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ab))
    if ba is not None:
        (tmp / "ba.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ba))
    requests = [type("Req", (), {"doc": d})() for d in docs]
    judge_na = False

    def judge():
        nonlocal judge_na
        args = {"path": str(tmp / "ab.jsonl"), "field": "p", "id_field": "idx"}
        if ba is None:
            return ReplayJudge(**args).generate_until(requests)
        try:
            return ReplayJudge(**args, swap_path=str(tmp / "ba.jsonl")).generate_until(requests)
        except TypeError:  # a code without swap_path: the ba answers encoded directly
            judge_na = True
            from judge_core import labels

            out = ReplayJudge(**args).generate_until(requests[0::2])
            by_id = {r["idx"]: r["p"] for r in ba}
            swapped = [parsers.encode_judge_output({"verdict": labels.decode("pandalm", by_id[int(d["id"])])})
                       for d in docs[1::2]]
            return [t for pair in zip(out, swapped) for t in pair]

    texts = stages.run("judge", judge)
    results = stages.run("process", lambda: [harness.process_results(d, [t]) for d, t in zip(docs, texts)])
    names = [m for m in harness.metric_names(docs[0]) if hasattr(getattr(aggregation, m), "bootstrap")]
    counted = [m for m in harness.metric_names(docs[0]) if m not in names]
    per_metric = {m: [r[m] for r in results] for m in names + counted}
    values = stages.run("metrics", lambda: {m: getattr(aggregation, m)(per_metric[m]) for m in names + counted})

    measured = {}
    one_pass = hasattr(aggregation, "_resampled_values")  # every metric's resamples in one pass: nothing to extrapolate

    def bootstrap():
        for m in names:
            measured[m] = getattr(aggregation, m).bootstrap(per_metric[m], iters=ITERS)
            if time.perf_counter() - start > BUDGET and not one_pass:
                break

    start = time.perf_counter()
    stages.run("bootstrap", bootstrap)
    rows = stages.rows
    rows["bootstrap"]["metrics_measured"] = len(measured)
    rows["bootstrap"]["metrics_total"] = len(names)
    if judge_na:
        rows["judge"]["na"] = True
    return {"variant": variant, "n": n, "stages": rows, "values": {k: float(v) for k, v in values.items()},
            "stderr": {k: float(v) for k, v in measured.items()}}


BUDGET = 300.0


def _measure(code: Path, variant: str, n: int, budget: float) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", variant, str(n), "--budget", str(budget)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(code))
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} (PYTHONPATH={code}) failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _cell(stage: dict) -> str:
    if stage.get("na"):
        return "n/a"
    s = stage["s"]
    if stage.get("metrics_measured", 0) < stage.get("metrics_total", 0):
        per = s / stage["metrics_measured"]
        return f"~{per * stage['metrics_total']:.1f} ({stage['metrics_measured']}/{stage['metrics_total']})"
    return f"{s:.2f}"


def main(argv=None) -> int:
    global BUDGET
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--variants", nargs="+", default=["pairwise", "swap", "absolute"])
    ap.add_argument("--before", type=Path, help="another checkout to measure the same way (e.g. /work/main)")
    ap.add_argument("--budget", type=float, default=BUDGET, help="seconds after which a bootstrap stage stops")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    BUDGET = args.budget
    if args.child:
        sys.path.insert(0, os.getcwd())
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return 0
    codes = [("after", REPO)] + ([("before", args.before.resolve())] if args.before else [])
    out = []
    print("| code | variant | docs | load s | judge s | process s | metrics s | bootstrap s | "
          "peak MiB load / judge / process / metrics / bootstrap | bootstrap / scoring |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|---:|")
    for variant in args.variants:
        for n in args.sizes:
            for label, code in codes:
                r = _measure(code, variant, n, args.budget)
                st = r["stages"]
                scoring = st["process"]["s"] + (0 if st["judge"].get("na") else st["judge"]["s"])
                boot = st["bootstrap"]["s"] * st["bootstrap"]["metrics_total"] / max(1, st["bootstrap"]["metrics_measured"])
                peaks = " / ".join(f"{st[k]['peak_mib']:.0f}" for k in ("load", "judge", "process", "metrics", "bootstrap"))
                print(f"| {label} | {variant} | {n} | {_cell(st['load'])} | {_cell(st['judge'])} | "
                      f"{_cell(st['process'])} | {_cell(st['metrics'])} | {_cell(st['bootstrap'])} | {peaks} | "
                      f"{boot / scoring:.2f} |", flush=True)
                out.append({"code": label, "path": str(code), **r})
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
