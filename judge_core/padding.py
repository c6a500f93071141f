"""Padding, written once for the judges (inference batches) and the trainer (training batches): the pad-token rule
(pad with EOS, else UNK; no new token, so no resized embeddings) and padding token-id lists to the longest of a
batch (never to ``max_length``). ``torch`` is imported when a batch is padded, not at import.
"""
from __future__ import annotations

from collections.abc import Sequence


def ensure_pad_token(tokenizer, model=None) -> int:
    """A pad token must exist: set from eos (or unk) when missing; also set ``model.config.pad_token_id``."""
    if tokenizer.pad_token_id is None:
        for candidate in (tokenizer.eos_token, tokenizer.unk_token):
            if candidate is not None:
                tokenizer.pad_token = candidate
                break
        else:
            raise ValueError("the tokenizer has no pad, eos or unk token: cannot pad batches")
    if model is not None:
        for cfg in {id(c): c for c in (model.config, model.config.get_text_config())}.values():
            cfg.pad_token_id = tokenizer.pad_token_id
    return tokenizer.pad_token_id


def pad_sequences(seqs: Sequence[Sequence[int]], value: int, side: str = "right"):
    """Lists of ints padded with ``value`` to the longest of them: a long tensor (rows x longest)."""
    import torch

    if side not in ("right", "left"):
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    width = max(len(s) for s in seqs)
    out = torch.full((len(seqs), width), value, dtype=torch.long)
    for r, s in enumerate(seqs):
        if not len(s):
            continue
        if side == "right":
            out[r, :len(s)] = torch.as_tensor(s, dtype=torch.long)
        else:
            out[r, width - len(s):] = torch.as_tensor(s, dtype=torch.long)
    return out


def pad_batch(seqs: Sequence[Sequence[int]], pad_id: int, side: str = "right"):
    """Pad to the longest sequence of this batch: (input_ids, attention_mask) as long tensors."""
    return pad_sequences(seqs, pad_id, side), pad_sequences([[1] * len(s) for s in seqs], 0, side)
