"""Shared test helpers: where the real data is, and a runner for the stock ``lm_eval`` CLI in a subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
FIXTURES = REPO / "tests" / "fixtures"
LM_EVAL = str(Path(sys.executable).with_name("lm_eval"))

needs_shared_data = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"real benchmark files not found at {SHARED_DATA} (../shared/data)")

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}


def run_lm_eval(*args: str, data_dir: Path | str | None = None, output_path: Path, extra_env: dict | None = None,
                timeout: int = 900, launcher: list[str] | None = None) -> dict:
    """Run ``lm_eval <args> --output_path <output_path>`` and return the results JSON it wrote."""
    env = {**os.environ, **OFFLINE_ENV, **(extra_env or {})}
    if data_dir is not None:
        env["JUDGE_DATA_DIR"] = str(data_dir)
    cmd = [*(launcher or [LM_EVAL]), *args, "--output_path", str(output_path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"lm_eval failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-4000:]}\n"
                             f"{proc.stderr[-8000:]}")
    found = sorted(Path(output_path).rglob("results_*.json"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise AssertionError(f"lm_eval wrote no results under {output_path}\n{proc.stderr[-4000:]}")
    return json.loads(found[-1].read_text())


def metric(results: dict, task: str, name: str, filter_key: str = "none"):
    return results["results"][task][f"{name},{filter_key}"]
