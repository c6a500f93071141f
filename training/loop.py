"""The training loop: epochs of seeded micro-batches, gradient accumulation, optimizer steps, and the points
where a run logs, validates, checkpoints or stops.

One optimizer step = ``gradient_accumulation_steps`` micro-batches of ``batch_size`` examples per process. Each
epoch's order is a seeded permutation (``EpochBatches``: wrapped so that every process gets the same number of
micro-batches, a multiple of the accumulation steps); an example's augmentation depends only on (seed, epoch,
index), so a resumed run sees the same data. The set-up, validation and checkpoints are ``training.trainer``'s
``Run``; this module only drives it.
"""
from __future__ import annotations

import contextlib
import math
import time

import numpy as np
import torch

from training.batch_loss import batch_loss, to_device
from training.runlog import ProgressBar, log

INTERRUPTED_EXIT = 75  # run.max_steps_this_run reached (EX_TEMPFAIL: resume to finish)


class EpochBatches:
    """This process's micro-batches of one epoch: a seeded permutation of all examples, wrapped to a whole number
    of global batches (``batch_size * world``) and of accumulation steps, rank ``r`` taking its slice of each."""

    def __init__(self, n: int, batch_size: int, world: int, rank: int, seed: int, multiple: int):
        self.n, self.bs, self.world, self.rank, self.seed = n, batch_size, world, rank, seed
        per_rank = math.ceil(n / (batch_size * world))
        self.num_batches = math.ceil(per_rank / multiple) * multiple
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def __iter__(self):
        perm = np.random.default_rng([self.seed, self.epoch]).permutation(self.n)
        need = self.num_batches * self.bs * self.world
        order = np.resize(perm, need)  # wraps around
        for j in range(self.start, self.num_batches):
            g = order[j * self.bs * self.world:(j + 1) * self.bs * self.world]
            yield g[self.rank * self.bs:(self.rank + 1) * self.bs].tolist()

    def __len__(self) -> int:
        return self.num_batches - self.start


class _TrainWindow:
    """The train loss, truncations and time accumulated since the last ``metrics.jsonl`` train row."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.loss, self.batches, self.truncated, self.t0 = 0.0, 0, 0, time.time()

    def add(self, loss: float, truncated: int) -> None:
        self.loss += loss
        self.batches += 1
        self.truncated += truncated


def train_epochs(run) -> None:
    """Train from ``run.state`` to the end (``optim.epochs`` or ``optim.max_steps``), validating and
    checkpointing as the config says. Raises ``SystemExit(INTERRUPTED_EXIT)`` at ``run.max_steps_this_run``."""
    cfg, state, sampler = run.cfg, run.state, run.sampler
    if cfg.run.eval_at_start and state.global_step == 0 and not state.validations:
        run.validate(baseline=True)
    run.model.train()
    bar = ProgressBar(cfg.run.progress_bar and run.main, run.total_steps, state.global_step)
    window, steps_this_run = _TrainWindow(), 0
    done = state.global_step >= run.total_steps
    while not done and state.epoch < cfg.optim.epochs:
        run.train_set.set_epoch(state.epoch)
        sampler.set_epoch(state.epoch, state.batches_done)
        for batch in run.loader:
            if not _micro_step(run, batch, window):
                continue
            grad_norm = _optimizer_step(run)
            steps_this_run += 1
            bar.step()
            if state.global_step % cfg.run.log_steps == 0 or state.global_step == run.total_steps:
                _log_train(run, window, grad_norm, bar)
            if state.global_step >= run.total_steps:  # validated (and saved) once, after the loop
                done = True
                break
            at_epoch_end = state.batches_done >= sampler.num_batches
            if cfg.run.eval_steps and state.global_step % cfg.run.eval_steps == 0 and not at_epoch_end:
                run.validate()
            if cfg.run.save_steps and state.global_step % cfg.run.save_steps == 0 and not at_epoch_end:
                run.checkpoint()
            if cfg.run.max_steps_this_run and steps_this_run >= cfg.run.max_steps_this_run:
                log.warning("run.max_steps_this_run=%d reached at step %d: stopping abruptly (resume to finish)",
                            cfg.run.max_steps_this_run, state.global_step)
                bar.close()
                run.accelerator.wait_for_everyone()
                raise SystemExit(INTERRUPTED_EXIT)
        # epoch end (or max_steps): validate, then checkpoint with the validation in the state
        run.validate()
        if state.batches_done >= sampler.num_batches:
            state.epoch += 1
            state.batches_done = 0
        if done or state.epoch >= cfg.optim.epochs:
            state.finished = True
        run.checkpoint()
    bar.close()


def _micro_step(run, batch: dict, window: _TrainWindow) -> bool:
    """Forward and backward of one micro-batch; True when it completes an accumulation (an optimizer step is due)."""
    accelerator, state = run.accelerator, run.state
    sync = (state.batches_done + 1) % run.cfg.optim.gradient_accumulation_steps == 0
    accelerator.sync_gradients = sync
    batch = to_device(batch, accelerator.device)
    ctx = contextlib.nullcontext() if (sync or run.deepspeed) else accelerator.no_sync(run.model)
    with ctx:
        loss, _ = batch_loss(run.cfg, run.model, batch)
        accelerator.backward(loss)
    window.add(float(loss.detach()), int(batch["truncated"]))
    state.batches_done += 1
    return sync


def _optimizer_step(run) -> float | None:
    """Clip, step the optimizer and the schedule; returns the gradient norm (before clipping) when known."""
    cfg, accelerator = run.cfg, run.accelerator
    grad_norm = None
    if cfg.optim.max_grad_norm and not run.deepspeed:
        grad_norm = float(accelerator.clip_grad_norm_(run.model.parameters(), cfg.optim.max_grad_norm))
    elif run.deepspeed:  # DeepSpeed clipped (gradient_clipping in its JSON) inside backward at the boundary
        norm = accelerator.deepspeed_engine_wrapped.get_global_grad_norm()
        grad_norm = float(norm) if norm is not None else None
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    run.state.global_step += 1
    return grad_norm


def _log_train(run, window: _TrainWindow, grad_norm: float | None, bar: ProgressBar) -> None:
    """A ``train`` row of ``metrics.jsonl``: the mean micro-batch loss over processes since the last row."""
    accelerator, state = run.accelerator, run.state
    mean = torch.tensor(window.loss / max(window.batches, 1), device=accelerator.device)
    mean = float(accelerator.reduce(mean, reduction="mean")) if accelerator.num_processes > 1 else float(mean)
    row = {"type": "train", "step": state.global_step,
           "epoch": state.epoch + state.batches_done / run.sampler.num_batches, "loss": mean,
           "lr": float(run.optimizer.param_groups[0]["lr"]), "truncated": window.truncated,
           "seconds": round(time.time() - window.t0, 2)}
    if grad_norm is not None:
        row["grad_norm"] = grad_norm
    run.mlog.write(**row)
    bar.show(loss=f"{mean:.4f}", lr=f"{row['lr']:.2e}")
    window.reset()
