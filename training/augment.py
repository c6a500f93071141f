"""Augmentations, seeded per (run seed, epoch, example) so that a resumed run sees exactly the same data.

* PHUDGE: rubric drop and reference drop, independent (both may be dropped at once), probability each.
* JudgeLM: reference support (a record with a reference answer is judged with the reference template and the
  reference-guided GPT-4 judgement), reference drop (with ``reference_drop`` the same record is shown without
  its reference, with the judgement made without it), swap augmentation (answers, their scores and the
  "Assistant 1/2" mentions in the reason exchanged).
* PandaLM: swap augmentation (responses, the verdict and the "Response 1/2" mentions exchanged).
"""
from __future__ import annotations

import hashlib
import random
import re

from judge_core import records
from training.config import AugmentConfig


def example_rng(seed: int, epoch: int, index: int, salt: str = "") -> random.Random:
    """An RNG that depends only on (seed, epoch, example index): independent of process, worker or resume."""
    digest = hashlib.blake2b(f"{seed}:{epoch}:{index}:{salt}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "little"))


def drop_sections(record: dict, aug: AugmentConfig, rng: random.Random) -> dict:
    """PHUDGE: drop the rubric with ``aug.rubric_drop`` and, independently, the reference with
    ``aug.reference_drop``. Pairwise records drop them for both responses alike."""
    out = dict(record)
    drop_rubric = rng.random() < aug.rubric_drop
    drop_reference = rng.random() < aug.reference_drop
    if drop_rubric:
        out["rubric"] = None
    if drop_reference:
        out["reference"] = None
    return out


def _swap_words(text: str, one: str, two: str) -> str:
    """Exchange ``<one>`` and ``<two>`` (e.g. "Assistant 1" / "Assistant 2") everywhere in ``text``."""
    token = "\x00SWAP\x00"
    return text.replace(one, token).replace(two, one).replace(token, two)


_FIRST_LINE = re.compile(r"\A(\s*)(\S+)(\s+)(\S+)(.*)\Z", re.S)


def swap_judgelm_text(text: str) -> str:
    """JudgeLM's swap: exchange the two scores of the first line and the Assistant 1 / 2 mentions."""
    first, sep, rest = text.partition("\n")
    m = _FIRST_LINE.match(first)
    if m:
        first = f"{m.group(1)}{m.group(4)}{m.group(3)}{m.group(2)}{m.group(5)}"
    return first + sep + _swap_words(rest, "Assistant 1", "Assistant 2")


def _fmt_score(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def judgelm_view(record: dict, aug: AugmentConfig, rng: random.Random | None) -> tuple[dict, str]:
    """The record to render (reference kept or dropped, maybe swapped) and its JudgeLM target ``"s1 s2\\nreason"``.

    ``rng=None`` is the validation view: reference kept where there is one, no swap."""
    jl = record["meta"].get("judgelm")
    has_ref = record.get("reference") is not None
    use_ref = has_ref and (rng is None or rng.random() >= aug.reference_drop)
    out = dict(record, reference=record["reference"] if use_ref else None)
    if jl is not None:
        text = jl["text_w_reference"] if use_ref else jl["text"]
        scores = jl["score_w_reference"] if use_ref else jl["score"]
    elif record.get("gold_scores") is not None:
        scores = record["gold_scores"]
        text = f"{_fmt_score(scores[0])} {_fmt_score(scores[1])}"
    else:
        raise ValueError(f"{record['benchmark']} row {record['row']}: the judgelm recipe needs scores for both answers "
                         "(JudgeLM-100K rows, or records with gold_scores)")
    out["gold_scores"] = list(scores)
    out["gold"] = "a" if scores[0] > scores[1] else "b" if scores[1] > scores[0] else "tie"
    if rng is not None and rng.random() < aug.swap:
        out = records.swapped(out)
        text = swap_judgelm_text(text)
    return out, text


PANDALM_RESULT = {"a": "1", "b": "2", "tie": "Tie"}


def pandalm_view(record: dict, aug: AugmentConfig, rng: random.Random | None) -> tuple[dict, str]:
    """The record to render (maybe swapped) and its PandaLM target
    ``"{1|2|Tie}\\n\\n### Reason: ...\\n\\n### Reference: ...\\n"`` (PandaLM's released prompt builder)."""
    pl = record["meta"].get("pandalm") or {}
    reason, reference = pl.get("reason", ""), pl.get("reference", "")
    out = dict(record)
    if rng is not None and rng.random() < aug.swap:
        out = records.swapped(out)
        reason = _swap_words(reason, "Response 1", "Response 2")
    result = PANDALM_RESULT[out["gold"]]
    if not pl:
        return out, f"{result}\n"
    return out, f"{result}\n\n### Reason: {reason}\n\n### Reference: {reference}\n"
