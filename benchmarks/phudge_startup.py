"""Where the time of a ``phudge`` run goes: before the first document (imports, loading, task building), scoring
(the judge's ``generate_until``) and after (metrics, bootstrap, writing), through the stock ``lm_eval`` CLI, per
batch-size setting, each in a fresh process. Prints a markdown table; asserts nothing.

    JUDGE_DATA_DIR=../shared/data python benchmarks/phudge_startup.py --task TASK --batch default 1 32

``--code DIR`` runs another checkout's code (``PYTHONPATH=DIR``), e.g. ``--code /work/main`` for "before";
``--label`` names that code in the table. ``default`` runs without ``--batch_size`` (what a user types first).
``--load-only N``: instead, the time to construct the default judge (``PhudgeJudge()``: resolve, load, adapter)
in N fresh processes per code, alternating between the codes (the median is printed).
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

ROOT = Path(__file__).resolve().parents[1]

#: runs inside the measured process: time the judge's generate_until, then the CLI as a user runs it
DRIVER = r"""
import json, os, sys, time
t0 = float(os.environ["PHUDGE_BENCH_T0"])
import judge_models.phudge as phudge
marks = {}
inner = phudge.PhudgeJudge.generate_until
def timed(self, requests, disable_tqdm=False):
    marks.setdefault("first_doc", time.time())
    out = inner(self, requests, disable_tqdm=disable_tqdm)
    marks["scored"] = time.time()
    marks["docs"] = marks.get("docs", 0) + len(requests)
    marks["batch_size"] = str(self.batch_size)
    return out
phudge.PhudgeJudge.generate_until = timed
from lm_eval.__main__ import cli_evaluate
sys.argv = ["lm_eval"] + sys.argv[1:]
try:
    cli_evaluate()
finally:
    marks["end"] = time.time()
    marks["t0"] = t0
    with open(os.environ["PHUDGE_BENCH_OUT"], "w") as f:
        json.dump(marks, f)
"""


def run_one(code: Path, task: str, batch: str, limit: int | None, threads: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        marks_file = Path(tmp) / "marks.json"
        args = ["--model", "phudge", "--tasks", task, "--device", "cpu", "--output_path", str(Path(tmp) / "out")]
        if batch != "default":
            args += ["--batch_size", batch]
        if limit:
            args += ["--limit", str(limit)]
        env = {**os.environ, "PYTHONPATH": str(code), "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1",
               "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
               "PHUDGE_BENCH_OUT": str(marks_file)}
        env["PHUDGE_BENCH_T0"] = repr(time.time())
        proc = subprocess.run([sys.executable, "-c", DRIVER, *args], cwd=code, env=env, capture_output=True,
                              text=True)
        if proc.returncode != 0 or not marks_file.is_file():
            raise SystemExit(f"lm_eval failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        marks = json.loads(marks_file.read_text())
        results = next(Path(tmp, "out").rglob("results_*.json"))
        metrics = json.loads(results.read_text())["results"][task]
    return {"before": marks["first_doc"] - marks["t0"], "scoring": marks["scored"] - marks["first_doc"],
            "after": marks["end"] - marks["scored"], "total": marks["end"] - marks["t0"], "docs": marks["docs"],
            "batch_size": marks["batch_size"], "accuracy": metrics.get("accuracy,none"),
            "f1": metrics.get("f1_macro,none"), "stderr": proc.stderr}


LOAD_DRIVER = r"""
import time
t = time.perf_counter()
from judge_models.phudge import PhudgeJudge
t_import = time.perf_counter()
PhudgeJudge(device="cpu")
print(t_import - t, time.perf_counter() - t_import)
"""


def load_only(codes, labels, repeats: int, threads: int) -> None:
    import statistics

    times = {label: [] for label in labels}
    for _ in range(repeats):
        for label, code in zip(labels, codes):
            env = {**os.environ, "PYTHONPATH": str(code), "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1",
                   "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
            proc = subprocess.run([sys.executable, "-c", LOAD_DRIVER], cwd=code, env=env, capture_output=True,
                                  text=True, check=True)
            times[label].append([float(x) for x in proc.stdout.split()[-2:]])
    print(f"\n`PhudgeJudge()` (phudge-mini) in a fresh process, median of {repeats}, alternating\n")
    print("| code | import (s) | construct: resolve + load + adapter (s) |")
    print("|---|---:|---:|")
    for label in labels:
        imp = statistics.median(t[0] for t in times[label])
        load = statistics.median(t[1] for t in times[label])
        print(f"| {label} | {imp:.2f} | {load:.2f} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True, help="a judge task (the issue-13 figures: the PandaLM test set)")
    p.add_argument("--batch", nargs="+", default=["default", "1", "32"], help="default | N | auto")
    p.add_argument("--limit", type=int, default=None, help="documents per run (all when not given)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--code", action="append", default=None, help="checkout(s) whose code runs (default: this one)")
    p.add_argument("--label", action="append", default=None, help="a name per --code")
    p.add_argument("--load-only", type=int, default=0, metavar="N", help="time only the judge's construction")
    opts = p.parse_args(argv)
    codes = [Path(c).resolve() for c in (opts.code or [ROOT])]
    labels = opts.label or [c.name for c in codes]
    if opts.load_only:
        load_only(codes, labels, opts.load_only, opts.threads)
        return 0
    if "JUDGE_DATA_DIR" not in os.environ:
        print("note: JUDGE_DATA_DIR is not set: the task downloads its file (offline this fails)", file=sys.stderr)
    rows = []
    for batch in opts.batch:  # the codes alternate, so that a change in the machine's load hits both
        for label, code in zip(labels, codes):
            r = run_one(code, opts.task, batch, opts.limit, opts.threads)
            rows.append((label, batch, r))
            print(f"{label} batch={batch}: {r['before']:.1f} s / {r['scoring']:.1f} s / {r['after']:.1f} s",
                  file=sys.stderr, flush=True)
    print(f"\n`phudge` (default adapter) on `{opts.task}`{f' --limit {opts.limit}' if opts.limit else ''}, "
          f"CPU, {opts.threads} thread(s), one fresh process per row\n")
    print("| code | --batch_size | batch used | requests | before first doc (s) | scoring (s) | after (s) | "
          "total (s) | accuracy | F1 |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, batch, r in rows:
        print(f"| {label} | {'(not given)' if batch == 'default' else batch} | {r['batch_size']} | {r['docs']} | "
              f"{r['before']:.1f} | {r['scoring']:.1f} | {r['after']:.1f} | {r['total']:.1f} | "
              f"{r['accuracy']:.4f} | {r['f1']:.4f} |")
    base = rows[0][2]
    print("\nRatios to the first row: " + ", ".join(
        f"{label} {batch}: before x{r['before'] / base['before']:.2f}, scoring x{r['scoring'] / base['scoring']:.2f}"
        for label, batch, r in rows[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
