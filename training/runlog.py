"""What a training run writes about itself while it runs: the ``training`` logger (stderr, and
``output_dir/train.log`` on the main process), ``metrics.jsonl`` (one JSON object per train step, validation or
event) and the progress bar. The model card and the loss-curve plot made from them are ``training.card``."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

log = logging.getLogger("training")


def setup_logging(out: Path, main: bool) -> None:
    """Log to stderr, and (main process) to ``output_dir/train.log``; a later run in the same process moves the
    file handler to its own folder."""
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, "_training", None) == "file"]:
        root.removeHandler(h)
        h.close()
    if not any(getattr(h, "_training", None) == "stream" for h in root.handlers):
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(fmt)
        h._training = "stream"
        root.addHandler(h)
    if main:
        out.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(out / "train.log")
        fh.setFormatter(fmt)
        fh._training = "file"
        root.addHandler(fh)
    log.setLevel(logging.INFO if main else logging.WARNING)


class MetricsLog:
    """``metrics.jsonl``: one JSON object per line (``type``: train | validation | event); written by the main
    process only."""

    def __init__(self, path: Path, enabled: bool):
        self.path, self.enabled = path, enabled

    def truncate_after(self, step: int) -> None:
        """On resume: drop what the interrupted run logged after its checkpoint (it will be redone)."""
        if not self.enabled or not self.path.is_file():
            return
        keep = [line for line in self.path.read_text().splitlines()
                if line.strip() and json.loads(line).get("step", 0) <= step]
        self.path.write_text("".join(k + "\n" for k in keep))

    def write(self, **row) -> None:
        if self.enabled:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(row, default=float) + "\n")

    def rows(self) -> list[dict]:
        if not self.path.is_file():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]


def log_validation(result: dict) -> None:
    log.info("validation @ step %d: %s", result["step"],
             ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()
                       if k not in ("type", "step")))


class ProgressBar:
    """A tqdm bar of optimizer steps on the main process (a no-op elsewhere or when disabled)."""

    def __init__(self, enabled: bool, total: int, initial: int):
        self.bar = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=initial, desc="training", unit="step", dynamic_ncols=True)

    def step(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def show(self, **postfix) -> None:
        if self.bar is not None:
            self.bar.set_postfix(**postfix)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
