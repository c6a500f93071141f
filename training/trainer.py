"""The training loop (accelerate; DeepSpeed ZeRO-2 / ZeRO-3 through ``accelerate launch``).

One optimizer step = ``gradient_accumulation_steps`` micro-batches of ``batch_size`` examples per process.
Each epoch's order is a seeded permutation (padded by wrapping so that every process gets the same number
of micro-batches, a multiple of the accumulation steps); the augmentation of an example depends only on
(seed, epoch, index). A checkpoint (``output_dir/checkpoints/step-N``: trainable weights, optimizer,
scheduler, RNG states, and ``trainer_state.json`` with the data position) is written every ``save_steps``
steps and at each epoch's end, so an interrupted run resumes where it stopped (``run.resume: auto``).

Validation (the held-out split, no augmentation) runs at each epoch's end (and every ``eval_steps``): the
validation loss, Pearson / Spearman / MAE on absolute records, accuracy on pairwise ones (causal judges:
greedy generation of the verdict line, parsed as the judges parse it). The judge with the lowest validation
loss is written to ``output_dir`` (adapter + ``judge_config.json`` + model card). ``metrics.jsonl`` logs
every step and validation; ``loss_curve.png`` plots them.
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from judge_core import metrics as jm
from judge_core import parsers
from judge_core.scales import verdict_from_scores
from training import card, data, losses
from training.config import TrainConfig, dump
from training.encode import Collator, ExampleSet, Featurizer
from training.modeling import (
    add_neftune,
    build_model,
    head_scores,
    load_tokenizer,
    save_judge,
    trainable_summary,
)

log = logging.getLogger("training")
INTERRUPTED_EXIT = 75  # run.max_steps_this_run reached (EX_TEMPFAIL: resume to finish)


@dataclass
class TrainerState:
    global_step: int = 0
    epoch: int = 0                    # the epoch in progress (0-based)
    batches_done: int = 0             # micro-batches of that epoch already consumed (per process)
    best_val_loss: float | None = None
    best_step: int | None = None
    best_metrics: dict = field(default_factory=dict)
    validations: list = field(default_factory=list)
    finished: bool = False

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> "TrainerState":
        return cls(**json.loads(path.read_text()))


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


# --------------------------------------------------------------------------- set-up helpers
def resolve_precision(name: str) -> str:
    if name == "auto":
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return "bf16"
        return "no"
    return {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}[name]


def _setup_logging(out: Path, main: bool) -> None:
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
    level = logging.INFO if main else logging.WARNING
    for name in ("training",):
        logging.getLogger(name).setLevel(level)


def _latest_checkpoint(out: Path) -> Path | None:
    root = out / "checkpoints"
    if not root.is_dir():
        return None
    found = [p for p in root.iterdir() if re.fullmatch(r"step-\d+", p.name) and (p / "trainer_state.json").is_file()]
    return max(found, key=lambda p: int(p.name.split("-")[1])) if found else None


def _param_groups(model, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "norm" in name.lower() or name.endswith(".bias") else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _schedule(name: str, warmup: int, total: int):
    def fn(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / (warmup + 1)
        if name == "constant":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.5 * (1 + math.cos(math.pi * progress)) if name == "cosine" else 1.0 - progress
    return fn


class MetricsLog:
    """``metrics.jsonl``: one JSON object per line (``type``: train | validation | event)."""

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


# --------------------------------------------------------------------------- losses per batch
def _to(batch: dict, device) -> dict:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def head_losses(cfg: TrainConfig, logits: torch.Tensor, batch: dict) -> dict:
    """Per-example losses of a score-head batch: ``abs`` (point loss of absolute examples) and ``pair``
    (Bradley-Terry of pairwise examples), plus the scores on the judge's scale."""
    scores = head_scores(cfg, logits)
    out = {"scores": scores}
    if len(batch["abs_pos"]):
        sel, target = logits[batch["abs_pos"]], batch["abs_target"]
        if cfg.loss == "mse":
            out["abs"] = losses.mse(sel[:, 0], target)
        else:
            tp = losses.soft_targets(target, cfg.n_labels, cfg.scale[0], cfg.class_step)
            if cfg.loss == "ce":
                out["abs"] = losses.cross_entropy(sel, tp)
            elif cfg.loss == "squared_emd":
                out["abs"] = losses.squared_emd(sel, tp)
            else:
                out["abs"] = losses.generalised_emd(sel, tp, cfg.emd_p, cfg.emd_alpha)
    if len(batch["pair_a"]):
        out["pair"] = losses.bradley_terry(scores[batch["pair_a"]], scores[batch["pair_b"]], batch["pair_gold"],
                                           margin=cfg.tie_margin)
    return out


def batch_loss(cfg: TrainConfig, model, batch: dict) -> tuple[torch.Tensor, int]:
    """The training loss of one micro-batch (mean over its examples, weighted) and its example count."""
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    if cfg.is_causal:
        total, count = losses.causal_lm(out.logits, batch["labels"])
        return total / count.clamp(min=1), len(batch["index"])
    parts = head_losses(cfg, out.logits, batch)
    total, n = out.logits.new_zeros((), dtype=torch.float32), 0
    if "abs" in parts:
        total = total + (parts["abs"] * batch["abs_weight"]).sum()
        n += len(batch["abs_pos"])
    if "pair" in parts:
        total = total + cfg.pairwise_weight * (parts["pair"] * batch["pair_weight"]).sum()
        n += len(batch["pair_a"])
    return total / max(n, 1), n


# --------------------------------------------------------------------------- validation
def _shards(n: int, world: int, rank: int, batch_size: int, order: list[int]) -> list[list[int]]:
    """This process's validation batches; every process gets the same number (ZeRO-3 forwards are collective):
    short shards repeat their last index (deduplicated after gathering)."""
    mine = order[rank::world]
    per = math.ceil(len(order) / world)
    if not mine:
        mine = [order[0]]
    mine = mine + [mine[-1]] * (per - len(mine))
    return [mine[i:i + batch_size] for i in range(0, len(mine), batch_size)]


@torch.no_grad()
def validate(cfg: TrainConfig, accelerator, model, val_set: ExampleSet, collate, tokenizer, zero3: bool) -> dict:
    if not len(val_set):
        return {}
    model.eval()
    feats = [val_set[i] for i in range(len(val_set))]
    lengths = [len(f["input_ids"]) if "input_ids" in f else max(len(s) for s in f["seqs"]) for f in feats]
    order = sorted(range(len(feats)), key=lambda i: -lengths[i])  # batch by length: little padding
    bs = cfg.optim.eval_batch_size or cfg.optim.batch_size
    rows = []
    for idx in _shards(len(feats), accelerator.num_processes, accelerator.process_index, bs, order):
        batch = _to(collate([feats[i] for i in idx]), accelerator.device)
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        if cfg.is_causal:
            for j, i in enumerate(idx):
                total, count = losses.causal_lm(out.logits[j:j + 1], batch["labels"][j:j + 1])
                rows.append({"index": i, "nll": float(total), "tokens": int(count), "gold": feats[i]["gold"]})
            rows_gen = _generate_verdicts(cfg, accelerator, model, tokenizer, [feats[i] for i in idx], zero3)
            for r, g in zip(rows[-len(idx):], rows_gen):
                r.update(g)
        else:
            parts = head_losses(cfg, out.logits, batch)
            scores = parts["scores"].float().cpu().tolist()
            for k, p in enumerate(batch["abs_pos"].tolist()):
                i = batch["abs_index"][k]
                rows.append({"index": i, "kind": "absolute", "loss": float(parts["abs"][k]), "pred": scores[p],
                             "gold": float(feats[i]["target"])})
            for k, (a, b) in enumerate(zip(batch["pair_a"].tolist(), batch["pair_b"].tolist())):
                i = batch["pair_index"][k]
                sa, sb = scores[a], scores[b]
                rows.append({"index": i, "kind": "pairwise", "loss": float(parts["pair"][k]),
                             "pred": verdict_from_scores(sa, sb),
                             "gold": {1: "a", -1: "b", 0: "tie"}[feats[i]["gold"]]})
    if accelerator.num_processes > 1:
        from accelerate.utils import gather_object

        gathered = gather_object(rows)
    else:
        gathered = rows
    by_index = {}
    for r in gathered:
        by_index.setdefault(r["index"], r)
    rows = [by_index[i] for i in sorted(by_index)]
    model.train()
    return _summarise(cfg, rows)


def _generate_verdicts(cfg, accelerator, model, tokenizer, feats, zero3: bool) -> list[dict]:
    """Greedy generation of the first line, parsed as the judges parse it (JudgeLM scores / PandaLM verdict)."""
    if cfg.run.val_max_new_tokens <= 0:
        return [{} for _ in feats]
    prompts_ = [f["prompt_ids"] for f in feats]
    width = max(len(p) for p in prompts_)
    pad = tokenizer.pad_token_id
    ids = torch.full((len(prompts_), width), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, p in enumerate(prompts_):
        ids[i, width - len(p):] = torch.tensor(p)
        mask[i, width - len(p):] = 1
    gen_model = accelerator.unwrap_model(model)
    out = gen_model.generate(input_ids=ids.to(accelerator.device), attention_mask=mask.to(accelerator.device),
                             max_new_tokens=cfg.run.val_max_new_tokens, do_sample=False, pad_token_id=pad,
                             synced_gpus=zero3)
    texts = tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)
    res = []
    for t in texts:
        if cfg.recipe == "judgelm":
            verdict = parsers.judgelm_verdict(parsers.judgelm(t))
        else:
            verdict = parsers.pandalm(t)
        res.append({"pred": verdict, "text": t[:80]})
    return res


def _summarise(cfg: TrainConfig, rows: list[dict]) -> dict:
    out = {"n": len(rows)}
    if cfg.is_causal:
        tokens = sum(r["tokens"] for r in rows)
        out["val_loss"] = sum(r["nll"] for r in rows) / max(tokens, 1)
        if rows and "pred" in rows[0]:
            preds = [r.get("pred") or "tie" for r in rows]  # unparseable -> tie (JudgeLM / PandaLM rule)
            out["accuracy"] = jm.accuracy(preds, [r["gold"] for r in rows])
            out["parse_failures"] = sum(r.get("pred") is None for r in rows)
        return out
    ab = [r for r in rows if r["kind"] == "absolute"]
    pw = [r for r in rows if r["kind"] == "pairwise"]
    total = sum(r["loss"] for r in ab) + cfg.pairwise_weight * sum(r["loss"] for r in pw)
    out["val_loss"] = total / max(len(rows), 1)
    if ab:
        pred, gold = [r["pred"] for r in ab], [r["gold"] for r in ab]
        out.update({"val_loss_absolute": sum(r["loss"] for r in ab) / len(ab), "n_absolute": len(ab),
                    "pearson": jm.pearson(pred, gold), "spearman": jm.spearman(pred, gold), "mae": jm.mae(pred, gold)})
    if pw:
        out.update({"val_loss_pairwise": sum(r["loss"] for r in pw) / len(pw), "n_pairwise": len(pw),
                    "accuracy": jm.accuracy([r["pred"] for r in pw], [r["gold"] for r in pw])})
    return out


# --------------------------------------------------------------------------- the run
def train(cfg: TrainConfig) -> dict:
    """Train one judge as ``cfg`` says; returns the run summary (also in ``output_dir/run_summary.json``)."""
    threads = torch.get_num_threads()
    if cfg.run.torch_threads:
        torch.set_num_threads(cfg.run.torch_threads)
    try:
        return _train(cfg)
    finally:  # an in-process caller (tests, notebooks) keeps its own thread count
        torch.set_num_threads(threads)


def _train(cfg: TrainConfig) -> dict:
    from accelerate import Accelerator
    from accelerate.utils import DistributedType, set_seed

    out = Path(cfg.output_dir)
    handlers, cpu = [], False
    if not torch.cuda.is_available():
        if os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true":
            # DeepSpeed on CPU processes (tests, CPU clusters): accelerate would pick no backend and see one process
            from accelerate.utils import InitProcessGroupKwargs

            handlers.append(InitProcessGroupKwargs(backend="gloo"))
        elif int(os.environ.get("WORLD_SIZE", "1")) > 1:
            cpu = True  # several CPU processes (accelerate launch --multi_gpu on a CPU machine) need cpu=True for DDP
    accelerator = Accelerator(gradient_accumulation_steps=cfg.optim.gradient_accumulation_steps,
                              mixed_precision=resolve_precision(cfg.run.precision), kwargs_handlers=handlers, cpu=cpu)
    main = accelerator.is_main_process
    _setup_logging(out, main)
    is_ds = accelerator.distributed_type == DistributedType.DEEPSPEED
    zero3 = False
    if is_ds:
        ds_cfg = accelerator.state.deepspeed_plugin.deepspeed_config
        ds_cfg["train_micro_batch_size_per_gpu"] = cfg.optim.batch_size
        zero3 = int(ds_cfg.get("zero_optimization", {}).get("stage", 0)) == 3
    set_seed(cfg.seed)
    log.info("recipe %s, base %s, %d process(es), %s, precision %s", cfg.recipe, cfg.base_model,
             accelerator.num_processes, accelerator.distributed_type, accelerator.mixed_precision)

    ds = data.build(cfg.data, cfg.config_path)
    log.info("data: %d train / %d validation records", len(ds.train), len(ds.validation))
    tokenizer = load_tokenizer(cfg)
    load_dtype = torch.bfloat16 if (accelerator.mixed_precision == "bf16" and cfg.lora.enabled) else torch.float32
    model = build_model(cfg, tokenizer, load_dtype)
    trainable, total = trainable_summary(model)
    log.info("parameters: %d trainable of %d (%.3f%%)", trainable, total, 100 * trainable / max(total, 1))
    if cfg.run.neftune_alpha:
        add_neftune(model, cfg.run.neftune_alpha)

    featurizer = Featurizer(cfg, tokenizer)
    train_set = ExampleSet(ds.train, featurizer, cfg.seed, augment=True)
    val_set = ExampleSet(ds.validation, featurizer, cfg.seed, augment=False)
    collate = Collator(tokenizer.pad_token_id)
    ga = cfg.optim.gradient_accumulation_steps
    sampler = EpochBatches(len(train_set), cfg.optim.batch_size, accelerator.num_processes,
                           accelerator.process_index, cfg.seed, ga)
    loader = torch.utils.data.DataLoader(train_set, batch_sampler=sampler, collate_fn=collate,
                                         num_workers=cfg.run.dataloader_workers,
                                         generator=torch.Generator())  # never draws from the global RNG
    steps_per_epoch = sampler.num_batches // ga
    total_steps = cfg.optim.epochs * steps_per_epoch
    if cfg.optim.max_steps:
        total_steps = min(total_steps, cfg.optim.max_steps)
    warmup = math.ceil(cfg.optim.warmup_ratio * total_steps)

    optimizer = torch.optim.AdamW(_param_groups(model, cfg.optim.weight_decay), lr=cfg.optim.learning_rate,
                                  betas=(cfg.optim.adam_beta1, cfg.optim.adam_beta2), eps=cfg.optim.adam_epsilon)
    model, optimizer = accelerator.prepare(model, optimizer)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(cfg.optim.scheduler, warmup, total_steps))
    accelerator.register_for_checkpointing(scheduler)
    if cfg.lora.enabled and not is_ds:
        accelerator.register_save_state_pre_hook(_keep_trainable_weights)

    state = TrainerState()
    mlog = MetricsLog(out / "metrics.jsonl", main)
    resume_from = None
    if cfg.run.resume == "auto":
        resume_from = _latest_checkpoint(out)
    elif cfg.run.resume != "never":
        resume_from = Path(cfg.run.resume)
    if resume_from is not None:
        load_kwargs = {"load_module_strict": False} if is_ds else {"strict": False}
        accelerator.load_state(str(resume_from), **load_kwargs)
        state = TrainerState.load(resume_from / "trainer_state.json")
        mlog.truncate_after(state.global_step)
        log.info("resumed from %s: step %d, epoch %d, %d micro-batches into it", resume_from, state.global_step,
                 state.epoch, state.batches_done)
        mlog.write(type="event", step=state.global_step, event="resumed", checkpoint=str(resume_from))
    elif main:
        out.mkdir(parents=True, exist_ok=True)
        mlog.path.unlink(missing_ok=True)
        if (out / "checkpoints").is_dir():  # resume: never -> a fresh run; its old checkpoints must not be resumed later
            shutil.rmtree(out / "checkpoints")
    if main:
        (out / "training_config.yaml").write_text(dump(cfg))
    log.info("%d optimizer steps (%d per epoch x %d epochs%s), warm-up %d, %d micro-batches of %d per process per step",
             total_steps, steps_per_epoch, cfg.optim.epochs,
             f", capped at max_steps {cfg.optim.max_steps}" if cfg.optim.max_steps else "", warmup, ga,
             cfg.optim.batch_size)

    summary = {"sources": [{"name": s.name, "origin": s.origin, "records": len(s.records), "skipped": dict(s.skipped),
                            "sha256": s.sha256, "by_source": s.by_source} for s in ds.sources],
               "n_train": len(ds.train), "n_validation": len(ds.validation),
               "eval_overlap": [o.as_dict() for o in ds.overlaps], "steps_per_epoch": steps_per_epoch,
               "total_steps": total_steps, "num_processes": accelerator.num_processes,
               "distributed_type": str(accelerator.distributed_type), "precision": accelerator.mixed_precision,
               "trainable_parameters": trainable, "total_parameters": total}
    extra_config = {}
    if ds.overlaps:
        extra_config["not_for_tasks"] = sorted({t for o in ds.overlaps for t in o.tasks})

    def save_best(metrics: dict) -> None:
        save_judge(accelerator, model, tokenizer, cfg, out, extra_config)
        if main:
            card.write(out, cfg, summary, state, mlog.rows())

    def run_validation(baseline: bool = False) -> dict:
        res = validate(cfg, accelerator, model, val_set, collate, tokenizer, zero3)
        if not res:
            return res
        res = {"type": "validation", "step": state.global_step,
               "epoch": state.epoch + state.batches_done / max(1, sampler.num_batches), **res}
        if baseline:
            res["baseline"] = True
        mlog.write(**res)
        state.validations.append(res)
        log.info("validation @ step %d: %s", state.global_step,
                 ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in res.items()
                           if k not in ("type", "step")))
        if not baseline and (state.best_val_loss is None or res["val_loss"] < state.best_val_loss):
            state.best_val_loss, state.best_step = res["val_loss"], state.global_step
            state.best_metrics = {k: v for k, v in res.items() if k != "type"}
            save_best(res)
        return res

    def checkpoint() -> None:
        folder = out / "checkpoints" / f"step-{state.global_step:07d}"
        kwargs = {"exclude_frozen_parameters": True} if (is_ds and cfg.lora.enabled) else {}
        accelerator.save_state(str(folder), **kwargs)
        if main:
            state.save(folder / "trainer_state.json")
            ckpts = sorted((p for p in (out / "checkpoints").iterdir() if re.fullmatch(r"step-\d+", p.name)),
                           key=lambda p: int(p.name.split("-")[1]))
            for old in ckpts[:-max(1, cfg.run.keep_checkpoints)]:
                shutil.rmtree(old, ignore_errors=True)
        accelerator.wait_for_everyone()

    if state.finished:
        log.info("this run had finished already (%s); nothing to do", resume_from)
        return {"state": asdict(state), **summary}

    if cfg.run.eval_at_start and state.global_step == 0 and not state.validations:
        run_validation(baseline=True)
    model.train()
    bar = None
    if cfg.run.progress_bar and main:
        from tqdm.auto import tqdm

        bar = tqdm(total=total_steps, initial=state.global_step, desc="training", unit="step", dynamic_ncols=True)
    steps_this_run, acc_loss, acc_n, acc_trunc, t0 = 0, 0.0, 0, 0, time.time()
    done = state.global_step >= total_steps
    while not done and state.epoch < cfg.optim.epochs:
        train_set.set_epoch(state.epoch)
        sampler.set_epoch(state.epoch, state.batches_done)
        for batch in loader:
            sync = (state.batches_done + 1) % ga == 0
            accelerator.sync_gradients = sync
            batch = _to(batch, accelerator.device)
            ctx = contextlib.nullcontext() if (sync or is_ds) else accelerator.no_sync(model)
            with ctx:
                loss, n = batch_loss(cfg, model, batch)
                accelerator.backward(loss)
            acc_loss += float(loss.detach())
            acc_n += 1
            acc_trunc += int(batch["truncated"])
            state.batches_done += 1
            if not sync:
                continue
            grad_norm = None
            if cfg.optim.max_grad_norm and not is_ds:
                grad_norm = float(accelerator.clip_grad_norm_(model.parameters(), cfg.optim.max_grad_norm))
            elif is_ds:  # DeepSpeed clipped (gradient_clipping in its JSON) inside backward at the boundary
                norm = accelerator.deepspeed_engine_wrapped.get_global_grad_norm()
                grad_norm = float(norm) if norm is not None else None
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            state.global_step += 1
            steps_this_run += 1
            if bar is not None:
                bar.update(1)
            if state.global_step % cfg.run.log_steps == 0 or state.global_step == total_steps:
                mean = torch.tensor(acc_loss / max(acc_n, 1), device=accelerator.device)
                mean = float(accelerator.reduce(mean, reduction="mean")) if accelerator.num_processes > 1 else float(mean)
                row = {"type": "train", "step": state.global_step,
                       "epoch": state.epoch + state.batches_done / sampler.num_batches, "loss": mean,
                       "lr": float(optimizer.param_groups[0]["lr"]), "truncated": acc_trunc,
                       "seconds": round(time.time() - t0, 2)}
                if grad_norm is not None:
                    row["grad_norm"] = grad_norm
                mlog.write(**row)
                if bar is not None:
                    bar.set_postfix(loss=f"{mean:.4f}", lr=f"{row['lr']:.2e}")
                acc_loss, acc_n, acc_trunc, t0 = 0.0, 0, 0, time.time()
            at_epoch_end = state.batches_done >= sampler.num_batches
            if cfg.run.eval_steps and state.global_step % cfg.run.eval_steps == 0 and not at_epoch_end:
                run_validation()
            if state.global_step >= total_steps:
                done = True
                break
            if cfg.run.save_steps and state.global_step % cfg.run.save_steps == 0 and not at_epoch_end:
                checkpoint()
            if cfg.run.max_steps_this_run and steps_this_run >= cfg.run.max_steps_this_run:
                log.warning("run.max_steps_this_run=%d reached at step %d: stopping abruptly (resume to finish)",
                            cfg.run.max_steps_this_run, state.global_step)
                if bar is not None:
                    bar.close()
                accelerator.wait_for_everyone()
                raise SystemExit(INTERRUPTED_EXIT)
        # epoch end (or max_steps): validate, then checkpoint with the validation in the state
        run_validation()
        if state.batches_done >= sampler.num_batches:
            state.epoch += 1
            state.batches_done = 0
        if done or state.epoch >= cfg.optim.epochs:
            state.finished = True
        checkpoint()
    if bar is not None:
        bar.close()
    state.finished = True
    if not len(val_set) or state.best_step is None:  # no validation split: the last weights are the judge
        save_best({})
    if main:
        card.plot(mlog.rows(), out / "loss_curve.png")
        card.write(out, cfg, summary, state, mlog.rows())
        (out / "run_summary.json").write_text(json.dumps({**summary, "state": asdict(state)}, indent=2,
                                                         default=float) + "\n")
    accelerator.wait_for_everyone()
    log.info("done: step %d, best validation loss %s at step %s -> %s", state.global_step, state.best_val_loss,
             state.best_step, out)
    return {"state": asdict(state), **summary}


def _keep_trainable_weights(models, weights, output_dir) -> None:
    """Checkpoints of LoRA runs hold the trainable weights only (the frozen base is reloaded from its source)."""
    for model, w in zip(models, weights):
        keep = {n for n, p in model.named_parameters() if p.requires_grad}
        for k in list(w):
            if k not in keep:
                del w[k]
