"""Time of the stored-prompt reader and the benchmark-file reader on adversarial inputs (issue 12 items 1-2).

* ``rubric reader``: a ``###Score Rubrics:`` body that almost matches (``[`` + repeated ``]\\nScore 1..4:`` lines and
  no ``Score 5:``), read by the regular expression the loader used before (in a subprocess, stopped at
  ``--cap`` seconds) and by the string scanner it uses now (``judge_tasks.loaders._split_rubric``);
* ``JSON reader``: ``judge_tasks.sources.read_rows`` on 1 MB files built to hurt: nested 500,000 deep, a
  UTF-8 error in the last row, a duplicate key in the last row, 1 MB of unterminated escaped string.

    python benchmarks/hostile_inputs.py [--cap 20]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

OLD_RUBRIC = (r"\A\[(?P<criteria>.*)\]\nScore 1: (?P<s1>.*)\nScore 2: (?P<s2>.*)\nScore 3: (?P<s3>.*)\n"
              r"Score 4: (?P<s4>.*)\nScore 5: (?P<s5>.*)\Z")


def rubric_body(size: int) -> str:
    unit = "]\nScore 1: a\nScore 2: b\nScore 3: c\nScore 4: d"
    return "[" + unit * max(1, size // len(unit))


def old_seconds(size: int, cap: float) -> str:
    code = (f"import re, time; p = re.compile({OLD_RUBRIC!r}, re.S); t = time.perf_counter(); "
            f"p.match({rubric_body(size)!r}); print(time.perf_counter() - t)")
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=cap, check=False)
        return f"{float(out.stdout):.4f}"
    except subprocess.TimeoutExpired:
        return f"> {cap:g} (stopped)"


def new_seconds(size: int) -> str:
    from judge_tasks.loaders import _split_rubric

    body = rubric_body(size)
    t = time.perf_counter()
    assert _split_rubric(body) is None
    return f"{time.perf_counter() - t:.4f}"


def json_cases() -> dict[str, bytes]:
    row = {"instruction": "q", "response1": "a", "response2": "b", "annotator1": 1}
    rows = json.dumps([row] * 8000)
    return {
        "nested 500,000 deep": b"[" * 500_000 + b"]" * 500_000,
        "not UTF-8 in the last row": (rows[:-2] + ', "x": "\udcff"}]').encode("utf-8", "surrogateescape"),
        "duplicate key in the last row": (rows[:-2] + ', "annotator1": 2}]').encode(),
        "unterminated escaped string": b'["' + b'\\"' * 500_000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cap", type=float, default=20.0, help="seconds before the old regex is stopped")
    args = parser.parse_args()
    print("| rubric body | old regex (s) | string scanner (s) |\n|---|---|---|")
    for size in (200, 400, 800, 10_000, 1_000_000):
        old = old_seconds(size, args.cap) if size <= 10_000 else "not run"
        print(f"| {size:,} chars | {old} | {new_seconds(size)} |")
    from judge_core.records import RecordError
    from judge_tasks.sources import read_rows

    print("\n| 1 MB benchmark file | read_rows (s) | result |\n|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name, data in json_cases().items():
            path = Path(folder) / "testset-v1.json"
            path.write_bytes(data)
            t = time.perf_counter()
            try:
                read_rows(path)
                result = "read"
            except RecordError as err:
                result = f"RecordError: row {err.row}, field {err.field!r}"
            print(f"| {name} ({len(data):,} bytes) | {time.perf_counter() - t:.3f} | {result} |")


if __name__ == "__main__":
    main()
