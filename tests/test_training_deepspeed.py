"""Distributed training through ``accelerate launch`` with 2 CPU processes (gloo): DeepSpeed ZeRO-2 interrupted and
resumed, ZeRO-3 uninterrupted (both write the same judge), and plain DDP interrupted and resumed (the same
validation losses). Slow (five launches, ~2-3 minutes on a shared 2-core machine)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import OFFLINE_ENV, REPO, needs_shared_data
from tiny_models import tiny_phi3_folder

pytest.importorskip("deepspeed")
pytestmark = [pytest.mark.slow, needs_shared_data]
ACCELERATE = str(Path(sys.executable).with_name("accelerate"))


def _launch(zero: int | None, base: Path, out: Path, *overrides: str) -> subprocess.CompletedProcess:
    """ZeRO stage ``zero`` through the DeepSpeed configs; ``None``: plain DDP (torchrun-style launcher on CPUs)."""
    env = {**os.environ, **OFFLINE_ENV, "OMP_NUM_THREADS": "1"}
    how = (["--config_file", f"training/configs/deepspeed_zero{zero}.yaml"] if zero is not None else
           ["--multi_gpu", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"])
    cmd = [ACCELERATE, "launch", *how, "--num_processes", "2", "-m", "training", "training/configs/tiny_cpu.yaml", f"base_model={base}", f"output_dir={out}",
           "run.progress_bar=false", *overrides]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


def _val_losses(out: Path) -> list[float]:
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [r["val_loss"] for r in rows if r["type"] == "validation"]


def test_zero2_resumed_zero3_and_ddp_resumed_agree(tmp_path):
    from safetensors.torch import load_file

    base = tiny_phi3_folder(tmp_path)
    z2 = tmp_path / "zero2"
    stopped = _launch(2, base, z2, "run.max_steps_this_run=5")
    assert stopped.returncode != 0 and "stopping abruptly" in stopped.stderr, stopped.stderr[-3000:]
    ckpt = z2 / "checkpoints" / "step-0000004"
    files = {p.name for p in ckpt.iterdir()}
    assert files >= {"pytorch_model", "rng_state_0.safetensors", "rng_state_1.safetensors", "rng_state_0.json",
                     "rng_state_1.json", "scheduler.json", "trainer_state.json"}
    assert not [f for f in files if f.endswith(".pkl")]                   # the trainer's own state: no pickle
    shards = sorted(p.name for p in (ckpt / "pytorch_model").iterdir() if "optim_states" in p.name)
    assert len(shards) == 2, shards                                     # ZeRO-2: optimizer state split over 2 ranks
    resumed = _launch(2, base, z2)
    assert resumed.returncode == 0, resumed.stderr[-5000:]
    assert "resumed from" in resumed.stderr
    summary = json.loads((z2 / "run_summary.json").read_text())
    assert summary["num_processes"] == 2 and summary["distributed_type"] == "DistributedType.DEEPSPEED"
    assert summary["state"]["global_step"] == summary["total_steps"] == 16   # 57 examples / (4 x 2) per step, 2 epochs

    z3 = tmp_path / "zero3"
    full = _launch(3, base, z3)
    assert full.returncode == 0, full.stderr[-5000:]
    assert _val_losses(z2) == pytest.approx(_val_losses(z3), rel=0.01)
    a, b = load_file(z2 / "adapter_model.safetensors"), load_file(z3 / "adapter_model.safetensors")
    assert set(a) == set(b) and any("score" in k for k in a)
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-4
    for name in ("adapter_config.json", "judge_config.json", "README.md", "loss_curve.png"):
        assert (z3 / name).is_file()

    ddp = tmp_path / "ddp"    # plain data parallel (torchrun-style launcher, cpu=True, gloo), interrupted and resumed
    stopped = _launch(None, base, ddp, "run.max_steps_this_run=6")
    assert stopped.returncode != 0 and "stopping abruptly" in stopped.stderr, stopped.stderr[-3000:]
    resumed = _launch(None, base, ddp)
    assert resumed.returncode == 0, resumed.stderr[-5000:]
    summary = json.loads((ddp / "run_summary.json").read_text())
    assert summary["num_processes"] == 2 and summary["distributed_type"] == "DistributedType.MULTI_CPU"
    assert summary["state"]["global_step"] == 16
    assert _val_losses(ddp) == pytest.approx(_val_losses(z3), rel=0.01)

