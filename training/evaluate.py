"""Validation of the judge being trained: the held-out split, no augmentation, sharded over the processes.

Score heads: the validation loss (the training objective), Pearson / Spearman / MAE of the scores on the absolute
records, accuracy on the pairwise ones (the two scores compared, strict ties). Causal judges (JudgeLM, PandaLM):
the per-token validation loss, and the verdict line generated greedily and parsed as the judges parse it
(``judge_core.parsers``; unparseable = tie, counted). Metrics are ``judge_core.metrics``.
"""
from __future__ import annotations

import math

import torch

from judge_core import metrics as jm
from judge_core import parsers
from judge_core.scales import verdict_from_scores
from training import losses
from training.batch_loss import head_losses, to_device
from training.config import TrainConfig
from training.encode import ExampleSet

PAIR_GOLD = {1: "a", -1: "b", 0: "tie"}   # the featurizer's pairwise gold -> verdict


def shards(n: int, world: int, rank: int, batch_size: int, order: list[int]) -> list[list[int]]:
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
    """The validation metrics of the model as it is now (``{}`` without a validation split). Collective."""
    if not len(val_set):
        return {}
    model.eval()
    feats = [val_set[i] for i in range(len(val_set))]
    lengths = [len(f["input_ids"]) if "input_ids" in f else max(len(s) for s in f["seqs"]) for f in feats]
    order = sorted(range(len(feats)), key=lambda i: -lengths[i])  # batch by length: little padding
    bs = cfg.optim.eval_batch_size or cfg.optim.batch_size
    rows = []
    for idx in shards(len(feats), accelerator.num_processes, accelerator.process_index, bs, order):
        batch = to_device(collate([feats[i] for i in idx]), accelerator.device)
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        if cfg.is_causal:
            rows += _causal_rows(cfg, accelerator, model, tokenizer, feats, idx, out.logits, batch, zero3)
        else:
            rows += _head_rows(cfg, feats, out.logits, batch)
    if accelerator.num_processes > 1:
        from accelerate.utils import gather_object

        rows = gather_object(rows)
    by_index = {}
    for r in rows:
        by_index.setdefault(r["index"], r)
    model.train()
    return summarise(cfg, [by_index[i] for i in sorted(by_index)])


def _head_rows(cfg: TrainConfig, feats: list[dict], logits, batch: dict) -> list[dict]:
    parts = head_losses(cfg, logits, batch)
    scores = parts["scores"].float().cpu().tolist()
    rows = []
    for k, p in enumerate(batch["abs_pos"].tolist()):
        i = batch["abs_index"][k]
        rows.append({"index": i, "kind": "absolute", "loss": float(parts["abs"][k]), "pred": scores[p],
                     "gold": float(feats[i]["target"])})
    for k, (a, b) in enumerate(zip(batch["pair_a"].tolist(), batch["pair_b"].tolist())):
        i = batch["pair_index"][k]
        rows.append({"index": i, "kind": "pairwise", "loss": float(parts["pair"][k]),
                     "pred": verdict_from_scores(scores[a], scores[b]), "gold": PAIR_GOLD[feats[i]["gold"]]})
    return rows


def _causal_rows(cfg, accelerator, model, tokenizer, feats, idx, logits, batch, zero3: bool) -> list[dict]:
    rows = []
    for j, i in enumerate(idx):
        total, count = losses.causal_lm(logits[j:j + 1], batch["labels"][j:j + 1])
        rows.append({"index": i, "nll": float(total), "tokens": int(count), "gold": feats[i]["gold"]})
    for r, g in zip(rows, generate_verdicts(cfg, accelerator, model, tokenizer, [feats[i] for i in idx], zero3)):
        r.update(g)
    return rows


def generate_verdicts(cfg, accelerator, model, tokenizer, feats, zero3: bool) -> list[dict]:
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


def summarise(cfg: TrainConfig, rows: list[dict]) -> dict:
    """The validation metrics of the gathered per-example rows."""
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
