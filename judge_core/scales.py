"""Score scales: linear rescaling between scales, clipping, and the verdict that two scores give.

Every place that maps a judge's score onto a task's scale (Prometheus 1-5, JudgeLM 1-10, MM-Vet 0-1, a
regression head's output) or turns two scores into a/b/tie uses these functions.
"""
from __future__ import annotations

from collections.abc import Sequence


def rescale(value: float, source: Sequence[float], target: Sequence[float]) -> float:
    """``value`` on the ``source`` scale (lo, hi) mapped linearly onto the ``target`` scale (lo, hi)."""
    lo, hi = float(source[0]), float(source[1])
    a, b = float(target[0]), float(target[1])
    return a + (float(value) - lo) / (hi - lo) * (b - a)


def clip(value: float, scale: Sequence[float]) -> float:
    """``value`` limited to the closed interval ``scale``."""
    return min(max(float(value), float(scale[0])), float(scale[1]))


def verdict_from_scores(score_a: float, score_b: float, margin: float = 0.0) -> str:
    """``a`` when the first score is higher by more than ``margin``, ``b`` when the second is, else ``tie``
    (the higher score wins; ``margin=0`` is the strict rule)."""
    if score_a - score_b > margin:
        return "a"
    if score_b - score_a > margin:
        return "b"
    return "tie"
