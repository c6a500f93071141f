"""Losses of the judge recipes.

Score heads (PHUDGE):
* ``mse`` — regression head, the score on the judge's scale (PHUDGE trains on the raw 1-5 score).
* ``cross_entropy`` — classification head, against a (possibly soft) target distribution.
* ``squared_emd`` — PHUDGE eq. 2: ``sum_i (CDF_i(p) - CDF_i(t))^2`` with p = softmax(logits), t the target
  distribution (one-hot for an integer score), averaged over the batch.
* ``generalised_emd`` — PHUDGE eq. 3: ``(sum_i |CDF_i(p) - CDF_i(t)|^p)^(alpha/p)``; p = alpha = 2 is
  ``squared_emd``.
* ``bradley_terry`` — pairwise data on the same head: ``-log sigma(s_chosen - s_rejected)``; a tie is held
  together by ``max(0, |s_a - s_b| - margin)``. Classification heads use their expected score.

Generative judges (JudgeLM, PandaLM): ``causal_lm`` — token cross-entropy on the judgement only (labels
``-100`` on the prompt), summed and counted so that batches and devices can be averaged by token.

``LOSSES`` is the one table of the objectives a config can name (``loss:``): each entry says which judge it
trains (a regression head, a classification head, a causal LM), its model-card text and how it turns a head's
outputs into per-example losses. ``get(name)`` is how every other module looks a loss up; an unknown name is an
error listing the known ones. Adding a loss = a function here and one row of ``LOSSES``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-example squared error (``pred`` is the head's single output)."""
    return (pred.reshape(-1).float() - target.reshape(-1).float()) ** 2


def soft_targets(scores: torch.Tensor, num_labels: int, low: float, step: float = 1.0) -> torch.Tensor:
    """Target distributions over the classes ``low, low + step, ...``: one-hot for a score on a class, split
    between the two neighbouring classes otherwise (a mean of several gold scores), so that the target's expected
    score is the gold score."""
    pos = ((scores.float() - low) / step).clamp(0, num_labels - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=num_labels - 1)
    w_hi = pos - lo.float()
    out = torch.zeros(scores.shape[0], num_labels, device=scores.device)
    out.scatter_add_(1, lo[:, None], (1 - w_hi)[:, None])
    out.scatter_add_(1, hi[:, None], w_hi[:, None])
    return out


def cross_entropy(logits: torch.Tensor, target_probs: torch.Tensor) -> torch.Tensor:
    """Per-example cross-entropy against a target distribution (equal to the usual CE for one-hot targets)."""
    return -(target_probs * F.log_softmax(logits.float(), dim=-1)).sum(-1)


def _cdf_gap(logits: torch.Tensor, target_probs: torch.Tensor) -> torch.Tensor:
    probs = F.softmax(logits.float(), dim=-1)
    return torch.cumsum(probs, dim=-1) - torch.cumsum(target_probs.float(), dim=-1)


def squared_emd(logits: torch.Tensor, target_probs: torch.Tensor) -> torch.Tensor:
    """PHUDGE eq. 2, per example: ``sum_i (CDF_i(softmax(logits)) - CDF_i(target))^2``."""
    return (_cdf_gap(logits, target_probs) ** 2).sum(-1)


def generalised_emd(logits: torch.Tensor, target_probs: torch.Tensor, p: float = 2.0,
                    alpha: float = 2.0) -> torch.Tensor:
    """PHUDGE eq. 3, per example: ``(sum_i |CDF_i(p) - CDF_i(t)|^p)^(alpha / p)``."""
    s = _cdf_gap(logits, target_probs).abs().pow(p).sum(-1)
    if alpha == p:
        return s
    # d/ds s^(a/p) is infinite at s = 0 when a < p: keep the gradient finite at a perfect prediction
    return s.clamp_min(1e-12).pow(alpha / p)


def expected_score(logits: torch.Tensor, low: float, step: float = 1.0) -> torch.Tensor:
    """Expected score of a classification head whose classes are the scores ``low, low + step, ...``."""
    probs = F.softmax(logits.float(), dim=-1)
    values = low + step * torch.arange(logits.shape[-1], device=logits.device, dtype=probs.dtype)
    return (probs * values).sum(-1)


def bradley_terry(s_a: torch.Tensor, s_b: torch.Tensor, gold: torch.Tensor, margin: float = 0.25,
                  scale: float = 1.0) -> torch.Tensor:
    """Per-pair loss on two scores of the same head. ``gold``: +1 (a better), -1 (b better), 0 (tie).

    Decided pairs: ``-log sigma(scale * (s_chosen - s_rejected))`` (pushes the chosen score up and the rejected
    one down). Ties: ``max(0, |s_a - s_b| - margin)`` (no push while the two scores are within the margin)."""
    s_a, s_b, gold = s_a.float().reshape(-1), s_b.float().reshape(-1), gold.float().reshape(-1)
    diff = s_a - s_b
    decided = -F.logsigmoid(scale * gold * diff)
    tie = F.relu(diff.abs() - margin)
    return torch.where(gold == 0, tie, decided)


def causal_lm(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed next-token cross-entropy over the labelled tokens and their count (labels ``-100`` ignored)."""
    shift_logits = logits[..., :-1, :].contiguous().float()
    shift_labels = labels[..., 1:].contiguous()
    total = F.cross_entropy(shift_logits.view(-1, shift_logits.shape[-1]), shift_labels.view(-1),
                            ignore_index=IGNORE_INDEX, reduction="sum")
    return total, (shift_labels != IGNORE_INDEX).sum()


# --------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Loss:
    """One objective a config can name. ``trains``: ``regression`` / ``classification`` (a score head) or
    ``causal`` (a generative judge); ``describe``: the model card's text (``{p}`` / ``{alpha}`` filled from the
    config); ``point``: ``(logits, gold_scores, cfg) -> per-example loss`` for absolute examples on a score head
    (``None`` for the causal loss, which is computed on the token labels by ``causal_lm``)."""
    name: str
    trains: str
    describe: str
    point: Callable | None = None


class UnknownLoss(ValueError):
    """A loss name that is not in ``LOSSES``."""


def _class_targets(gold: torch.Tensor, cfg) -> torch.Tensor:
    return soft_targets(gold, cfg.n_labels, cfg.scale[0], cfg.class_step)


LOSSES: dict[str, Loss] = {loss.name: loss for loss in [
    Loss("mse", "regression", "mean squared error on the score",
         lambda logits, gold, cfg: mse(logits[:, 0], gold)),
    Loss("ce", "classification", "cross-entropy over the score classes",
         lambda logits, gold, cfg: cross_entropy(logits, _class_targets(gold, cfg))),
    Loss("squared_emd", "classification", "squared EMD (PHUDGE eq. 2)",
         lambda logits, gold, cfg: squared_emd(logits, _class_targets(gold, cfg))),
    Loss("emd", "classification", "generalised EMD (PHUDGE eq. 3, p = {p}, alpha = {alpha})",
         lambda logits, gold, cfg: generalised_emd(logits, _class_targets(gold, cfg), cfg.emd_p, cfg.emd_alpha)),
    Loss("causal_lm", "causal", "next-token cross-entropy on the judgement tokens (prompt masked)"),
]}


def get(name: str) -> Loss:
    """The loss called ``name``; an unknown name is an error that lists the known ones."""
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise UnknownLoss(f"unknown loss {name!r}; known losses: {', '.join(sorted(LOSSES))}") from None


def names_for(trains: str) -> list[str]:
    """The losses that train this kind of judge (``regression`` / ``classification`` / ``causal``)."""
    return sorted(n for n, loss in LOSSES.items() if loss.trains == trains)
