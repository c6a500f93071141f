"""What the start-up hook (``lm_eval_judges.pth`` -> ``lm_eval_judges_hook``) adds to every interpreter start.

Runs ``python -X importtime -c pass`` repeatedly and reads the hook module's cumulative import time from it,
beside the wall time of a whole ``python -c pass`` for scale. Prints a table; the target is < 20 ms.

    python benchmarks/startup_hook.py [--runs 30]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def hook_import_us(runs: int) -> list[int]:
    out = []
    for _ in range(runs):
        err = subprocess.run([sys.executable, "-X", "importtime", "-c", "pass"], capture_output=True,
                             text=True).stderr
        for line in err.splitlines():
            if line.rstrip().endswith("lm_eval_judges_hook"):
                out.append(int(line.split("|")[1].strip()))  # cumulative microseconds
    return out


def bare_start_ms(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append((time.perf_counter() - t) * 1000)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    hook = hook_import_us(args.runs)
    if not hook:
        sys.exit("lm_eval_judges_hook was not imported at start-up: is lm-eval-judges installed in this Python?")
    start = bare_start_ms(args.runs)
    hook_ms = statistics.median(hook) / 1000
    start_ms = statistics.median(start)
    print(f"{'measure':<44}{'median':>10}{'max':>10}")
    print(f"{'hook import at start-up (ms, -X importtime)':<44}{hook_ms:>10.3f}{max(hook) / 1000:>10.3f}")
    print(f"{'python -c pass, whole start (ms)':<44}{start_ms:>10.1f}{max(start):>10.1f}")
    print(f"hook share of a bare start: {hook_ms / start_ms:.1%}   target < 20 ms: {'met' if hook_ms < 20 else 'MISSED'}")


if __name__ == "__main__":
    main()
