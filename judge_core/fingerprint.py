"""A fingerprint of the files a judge reads its weights (or replayed predictions) from.

``judge-score`` records it on every graded line (``judge_weights``) and refuses to resume a file graded with other
weights, so that a judge retrained in place (same folder, same model args, same grading key) never adds its
grades to its predecessor's.

The fingerprint is a SHA-256 over each file's name, size and content. A file of up to ``FULL_HASH_BYTES`` is read
whole (a LoRA adapter, a small merged judge, a predictions file); a larger one (a merged 7B judge) is sampled:
``SAMPLED_BLOCKS`` blocks of ``BLOCK_BYTES`` spread evenly from its first byte to its last. Retraining changes
every tensor, so the sample sees it; an edit of a few bytes inside a large file between two samples is what the
sampling gives up, for a fingerprint of a 14 GB file that costs a read of 256 MiB.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

FULL_HASH_BYTES = 256 * 2**20
BLOCK_BYTES = 2**20
SAMPLED_BLOCKS = 256
#: the files of a judge folder that fix its weights and how they are read
WEIGHT_PATTERNS = ("*.safetensors", "*.json")


def file_digest(path: Path, full_hash_bytes: int = FULL_HASH_BYTES, block_bytes: int = BLOCK_BYTES,
                sampled_blocks: int = SAMPLED_BLOCKS) -> str:
    """SHA-256 of one file's content: all of it up to ``full_hash_bytes``, else evenly spaced blocks."""
    h = hashlib.sha256()
    size = path.stat().st_size
    with open(path, "rb") as f:
        if size <= full_hash_bytes:
            for chunk in iter(lambda: f.read(2**20), b""):
                h.update(chunk)
        else:
            last = size - block_bytes
            for i in range(sampled_blocks):
                f.seek(last * i // (sampled_blocks - 1))
                h.update(f.read(block_bytes))
    return h.hexdigest()


def weight_files(folder: Path) -> list[Path]:
    """The files of a folder that fix a judge's weights (``WEIGHT_PATTERNS``, top level), sorted by name."""
    return sorted({p for pattern in WEIGHT_PATTERNS for p in Path(folder).glob(pattern) if p.is_file()})


def fingerprint(paths: Iterable[Path], **sampling) -> str:
    """One short fingerprint of several files: name, size and ``file_digest`` of each, in the order given."""
    h = hashlib.sha256()
    for path in paths:
        path = Path(path)
        h.update(f"{path.name}\0{path.stat().st_size}\0{file_digest(path, **sampling)}\n".encode())
    return "sha256:" + h.hexdigest()[:16]
