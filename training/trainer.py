"""``train(cfg)``: one training run from a config to a judge folder (accelerate; DeepSpeed ZeRO-2 / ZeRO-3 through
``accelerate launch``).

The pieces: ``Run`` (here) sets a run up — accelerator, data, model, optimizer, schedule, resume — and owns what
happens between steps: validation with the best judge written to ``output_dir`` (``training.evaluate``),
checkpoints (``training.checkpoint``: JSON + safetensors, never a pickle), logs (``training.runlog``) and the
model card (``training.card``). ``training.loop`` drives the epochs and optimizer steps.

An interrupted run resumes where it stopped (``run.resume: auto``): the same data order, augmentations, random
states, optimizer and schedule, hence the same validation losses and step count as an uninterrupted run.
"""
from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import torch

from training import card, checkpoint, data
from training.config import TrainConfig, dump
from training.encode import Collator, ExampleSet, Featurizer
from training.evaluate import validate
from training.loop import INTERRUPTED_EXIT, EpochBatches, train_epochs
from training.modeling import (
    add_neftune,
    build_model,
    load_tokenizer,
    save_judge,
    trainable_summary,
)
from training.runlog import MetricsLog, log, log_validation, setup_logging

__all__ = ["INTERRUPTED_EXIT", "Run", "train"]


def train(cfg: TrainConfig) -> dict:
    """Train one judge as ``cfg`` says; returns the run summary (also in ``output_dir/run_summary.json``)."""
    threads = torch.get_num_threads()
    if cfg.run.torch_threads:
        torch.set_num_threads(cfg.run.torch_threads)
    try:
        run = Run(cfg)
        if run.state.finished:
            log.info("this run had finished already (%s); nothing to do", run.resumed_from)
            return {"state": asdict(run.state), **run.summary}
        train_epochs(run)
        return run.finish()
    finally:  # an in-process caller (tests, notebooks) keeps its own thread count
        torch.set_num_threads(threads)


# --------------------------------------------------------------------------- set-up helpers
def resolve_precision(name: str) -> str:
    if name == "auto":
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return "bf16"
        return "no"
    return {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}[name]


def make_accelerator(cfg: TrainConfig):
    from accelerate import Accelerator

    handlers, cpu = [], False
    if not torch.cuda.is_available():
        if os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true":
            # DeepSpeed on CPU processes (tests, CPU clusters): accelerate would pick no backend and see one process
            from accelerate.utils import InitProcessGroupKwargs

            handlers.append(InitProcessGroupKwargs(backend="gloo"))
        elif int(os.environ.get("WORLD_SIZE", "1")) > 1:
            cpu = True  # several CPU processes (accelerate launch --multi_gpu on a CPU machine) need cpu=True for DDP
    return Accelerator(gradient_accumulation_steps=cfg.optim.gradient_accumulation_steps,
                       mixed_precision=resolve_precision(cfg.run.precision), kwargs_handlers=handlers, cpu=cpu)


def param_groups(model, weight_decay: float) -> list[dict]:
    """AdamW groups: weight decay on the trainable matrices, none on biases and norms."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "norm" in name.lower() or name.endswith(".bias") else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def lr_schedule(name: str, warmup: int, total: int):
    """The learning-rate factor of a step: linear warm-up, then cosine / linear decay or constant."""
    def fn(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / (warmup + 1)
        if name == "constant":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.5 * (1 + math.cos(math.pi * progress)) if name == "cosine" else 1.0 - progress
    return fn


# --------------------------------------------------------------------------- the run
class Run:
    """Everything one training run holds, set up from its config (resumed from a checkpoint when there is one)."""

    def __init__(self, cfg: TrainConfig):
        from accelerate.utils import DistributedType, set_seed

        self.cfg, self.out = cfg, Path(cfg.output_dir)
        self.accelerator = accelerator = make_accelerator(cfg)
        self.main = accelerator.is_main_process
        setup_logging(self.out, self.main)
        self.deepspeed = accelerator.distributed_type == DistributedType.DEEPSPEED
        self.zero3 = False
        if self.deepspeed:
            ds_cfg = accelerator.state.deepspeed_plugin.deepspeed_config
            ds_cfg["train_micro_batch_size_per_gpu"] = cfg.optim.batch_size
            self.zero3 = int(ds_cfg.get("zero_optimization", {}).get("stage", 0)) == 3
        set_seed(cfg.seed)
        log.info("recipe %s, base %s, %d process(es), %s, precision %s", cfg.recipe, cfg.base_model,
                 accelerator.num_processes, accelerator.distributed_type, accelerator.mixed_precision)
        self.dataset = data.build(cfg.data, cfg.config_path)
        log.info("data: %d train / %d validation records", len(self.dataset.train), len(self.dataset.validation))
        self._build_model()
        self._build_data()
        self._build_optimizer()
        self.mlog = MetricsLog(self.out / "metrics.jsonl", self.main)
        self.state, self.resumed_from = checkpoint.TrainerState(), None
        self._resume_or_start()
        self.summary = self._summary()
        self.extra_config = {}
        if self.dataset.overlaps:
            self.extra_config["not_for_tasks"] = sorted({t for o in self.dataset.overlaps for t in o.tasks})

    # ------------------------------------------------------------------ set-up
    def _build_model(self) -> None:
        cfg = self.cfg
        self.tokenizer = load_tokenizer(cfg)
        load_dtype = torch.bfloat16 if (self.accelerator.mixed_precision == "bf16" and cfg.lora.enabled) else torch.float32
        self.model = build_model(cfg, self.tokenizer, load_dtype)
        self.trainable, self.total = trainable_summary(self.model)
        log.info("parameters: %d trainable of %d (%.3f%%)", self.trainable, self.total,
                 100 * self.trainable / max(self.total, 1))
        if cfg.run.neftune_alpha:
            add_neftune(self.model, cfg.run.neftune_alpha)

    def _build_data(self) -> None:
        cfg, accelerator = self.cfg, self.accelerator
        featurizer = Featurizer(cfg, self.tokenizer)
        self.train_set = ExampleSet(self.dataset.train, featurizer, cfg.seed, augment=True)
        self.val_set = ExampleSet(self.dataset.validation, featurizer, cfg.seed, augment=False)
        self.collate = Collator(self.tokenizer.pad_token_id)
        ga = cfg.optim.gradient_accumulation_steps
        self.sampler = EpochBatches(len(self.train_set), cfg.optim.batch_size, accelerator.num_processes,
                                    accelerator.process_index, cfg.seed, ga)
        self.loader = torch.utils.data.DataLoader(self.train_set, batch_sampler=self.sampler, collate_fn=self.collate,
                                                  num_workers=cfg.run.dataloader_workers,
                                                  generator=torch.Generator())  # never draws from the global RNG
        self.steps_per_epoch = self.sampler.num_batches // ga
        self.total_steps = cfg.optim.epochs * self.steps_per_epoch
        if cfg.optim.max_steps:
            self.total_steps = min(self.total_steps, cfg.optim.max_steps)
        self.warmup = math.ceil(cfg.optim.warmup_ratio * self.total_steps)

    def _build_optimizer(self) -> None:
        o = self.cfg.optim
        optimizer = torch.optim.AdamW(param_groups(self.model, o.weight_decay), lr=o.learning_rate,
                                      betas=(o.adam_beta1, o.adam_beta2), eps=o.adam_epsilon)
        self.model, self.optimizer = self.accelerator.prepare(self.model, optimizer)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer,
                                                           lr_schedule(o.scheduler, self.warmup, self.total_steps))

    def _resume_or_start(self) -> None:
        cfg, out = self.cfg, self.out
        if cfg.run.resume == "auto":
            self.resumed_from = checkpoint.latest(out)
        elif cfg.run.resume != "never":
            self.resumed_from = Path(cfg.run.resume)
        if self.resumed_from is not None:
            self.state = checkpoint.load(self.resumed_from, self.accelerator, self.model, self.optimizer,
                                         self.scheduler, deepspeed=self.deepspeed)
            self.mlog.truncate_after(self.state.global_step)
            log.info("resumed from %s: step %d, epoch %d, %d micro-batches into it", self.resumed_from,
                     self.state.global_step, self.state.epoch, self.state.batches_done)
            self.mlog.write(type="event", step=self.state.global_step, event="resumed",
                            checkpoint=str(self.resumed_from))
        elif self.main:
            out.mkdir(parents=True, exist_ok=True)
            self.mlog.path.unlink(missing_ok=True)
            if (out / "checkpoints").is_dir():  # resume: never -> a fresh run; its old checkpoints must not be resumed later
                shutil.rmtree(out / "checkpoints")
        if self.main:
            (out / "training_config.yaml").write_text(dump(cfg))
        log.info("%d optimizer steps (%d per epoch x %d epochs%s), warm-up %d, %d micro-batches of %d per process "
                 "per step", self.total_steps, self.steps_per_epoch, cfg.optim.epochs,
                 f", capped at max_steps {cfg.optim.max_steps}" if cfg.optim.max_steps else "", self.warmup,
                 cfg.optim.gradient_accumulation_steps, cfg.optim.batch_size)

    def _summary(self) -> dict:
        ds, accelerator = self.dataset, self.accelerator
        return {"sources": [{"name": s.name, "origin": s.origin, "records": len(s.records), "skipped": dict(s.skipped),
                             "sha256": s.sha256} for s in ds.sources],
                "n_train": len(ds.train), "n_validation": len(ds.validation),
                "eval_overlap": [o.as_dict() for o in ds.overlaps], "steps_per_epoch": self.steps_per_epoch,
                "total_steps": self.total_steps, "num_processes": accelerator.num_processes,
                "distributed_type": str(accelerator.distributed_type), "precision": accelerator.mixed_precision,
                "trainable_parameters": self.trainable, "total_parameters": self.total}

    # ------------------------------------------------------------------ between steps
    def validate(self, baseline: bool = False) -> dict:
        """Validate now; log it, keep it in the state, and write the judge when it is the best so far."""
        res = validate(self.cfg, self.accelerator, self.model, self.val_set, self.collate, self.tokenizer, self.zero3)
        if not res:
            return res
        state = self.state
        res = {"type": "validation", "step": state.global_step,
               "epoch": state.epoch + state.batches_done / max(1, self.sampler.num_batches), **res}
        if baseline:
            res["baseline"] = True
        self.mlog.write(**res)
        state.validations.append(res)
        log_validation(res)
        if not baseline and (state.best_val_loss is None or res["val_loss"] < state.best_val_loss):
            state.best_val_loss, state.best_step = res["val_loss"], state.global_step
            state.best_metrics = {k: v for k, v in res.items() if k != "type"}
            self.save_judge()
        return res

    def save_judge(self) -> None:
        """The judge as it is now -> ``output_dir`` (adapter or full model, ``judge_config.json``, model card)."""
        save_judge(self.accelerator, self.model, self.tokenizer, self.cfg, self.out, self.extra_config)
        if self.main:
            card.write(self.out, self.cfg, self.summary, self.state, self.mlog.rows())

    def checkpoint(self) -> None:
        """Write ``checkpoints/step-N`` and drop the oldest beyond ``run.keep_checkpoints``. Collective."""
        checkpoint.save(checkpoint.step_dir(self.out, self.state.global_step), self.accelerator, self.model,
                        self.optimizer, self.scheduler, self.state, deepspeed=self.deepspeed,
                        exclude_frozen=self.cfg.lora.enabled)
        if self.main:
            checkpoint.prune(self.out, self.cfg.run.keep_checkpoints)
        self.accelerator.wait_for_everyone()

    def finish(self) -> dict:
        """The end of the run: the judge (the last weights when there was no validation), the plot, the card and
        ``run_summary.json``."""
        state = self.state
        state.finished = True
        if not len(self.val_set) or state.best_step is None:  # no validation split: the last weights are the judge
            self.save_judge()
        if self.main:
            card.plot(self.mlog.rows(), self.out / "loss_curve.png")
            card.write(self.out, self.cfg, self.summary, state, self.mlog.rows())
            (self.out / "run_summary.json").write_text(json.dumps({**self.summary, "state": asdict(state)}, indent=2,
                                                                  default=float) + "\n")
        self.accelerator.wait_for_everyone()
        log.info("done: step %d, best validation loss %s at step %s -> %s", state.global_step, state.best_val_loss,
                 state.best_step, self.out)
        return {"state": asdict(state), **self.summary}
