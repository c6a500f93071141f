"""How each benchmark family writes a pairwise verdict, and the conversions to and from ``a`` / ``b`` / ``tie``.

``pandalm``: 0 = tie, 1 = response 1, 2 = response 2 (PandaLM's test set and released predictions);
``autoj``: 0 = response 1, 1 = response 2, 2 = tie (Auto-J's pairwise test set); ``ab``: the letters
themselves (Prometheus files); ``judgelm``: a pair of scores, the higher wins (see ``scales``).
"""
from __future__ import annotations

#: integer code -> verdict, per label encoding
INTEGER_CODES: dict[str, dict[int, str]] = {
    "pandalm": {0: "tie", 1: "a", 2: "b"},
    "autoj": {0: "a", 1: "b", 2: "tie"},
}


def decode(encoding: str, code) -> str | None:
    """The verdict an integer ``code`` stands for in ``encoding`` (None when it is not one of its codes;
    a boolean is never a code)."""
    if isinstance(code, bool) or encoding not in INTEGER_CODES:
        return None
    return INTEGER_CODES[encoding].get(code)


def encode(encoding: str, verdict: str) -> int:
    """The integer code of ``verdict`` in ``encoding``."""
    return {v: k for k, v in INTEGER_CODES[encoding].items()}[verdict]


def describe(encoding: str) -> str:
    """The codes of ``encoding`` in words, for error messages."""
    return ", ".join(f"{k} ({v})" for k, v in INTEGER_CODES[encoding].items())
