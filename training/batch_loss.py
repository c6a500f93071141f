"""The loss of one micro-batch, for training and validation alike.

Score heads: each absolute example's point loss (the config's ``loss``, looked up in ``training.losses.LOSSES``)
and each pairwise example's Bradley-Terry loss on the two responses' scores, weighted per source and averaged
over the micro-batch's examples. Causal judges: token cross-entropy on the judgement, averaged per token.
"""
from __future__ import annotations

import torch

from training import losses
from training.config import TrainConfig
from training.modeling import head_scores


def to_device(batch: dict, device) -> dict:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def head_losses(cfg: TrainConfig, logits: torch.Tensor, batch: dict) -> dict:
    """Per-example losses of a score-head batch: ``abs`` (point loss of absolute examples) and ``pair``
    (Bradley-Terry of pairwise examples), plus the scores on the judge's scale."""
    scores = head_scores(cfg, logits)
    out = {"scores": scores}
    if len(batch["abs_pos"]):
        out["abs"] = losses.get(cfg.loss).point(logits[batch["abs_pos"]], batch["abs_target"], cfg)
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
