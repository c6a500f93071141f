"""Where each benchmark's upstream files come from: pinned URLs and hub revisions, or ``JUDGE_DATA_DIR``.

With ``JUDGE_DATA_DIR`` set, a file is found by its upstream file name at any depth under that folder (so the
folder may be flat or keep the upstream layout); nothing is fetched. Otherwise files are downloaded once (and
cached) from the pinned source with the ``datasets`` / ``huggingface_hub`` download machinery. The pinned sources
are the registry's (``source.files`` in ``tasks.yaml``).
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

from judge_core.records import RecordError
from judge_tasks import registry

#: module attributes other modules import, each derived from the registry: the pinned revision of a repository
_REVISIONS = {"PANDALM_COMMIT": "WeOpenML/PandaLM", "JUDGELM_REVISION": "BAAI/JudgeLM-100K"}
JUDGELM_REPO = "BAAI/JudgeLM-100K"


def __getattr__(name: str):
    """``FILES`` (upstream file name -> pinned location: ``https://`` raw URL or
    ``hf://datasets/<repo>@<rev>/<file>``) and the revisions of ``_REVISIONS``, read from the registry."""
    if name == "FILES":
        return registry.files()
    if name in _REVISIONS:
        return registry.revision_of(_REVISIONS[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class DataNotFound(FileNotFoundError):
    pass


def data_dir() -> Path | None:
    value = os.environ.get("JUDGE_DATA_DIR")
    return Path(value).expanduser() if value else None


@contextmanager
def using_data_dir(folder):
    """Within the block, ``JUDGE_DATA_DIR`` is ``folder`` (loaders find their files there by upstream name)."""
    old = os.environ.get("JUDGE_DATA_DIR")
    os.environ["JUDGE_DATA_DIR"] = str(folder)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("JUDGE_DATA_DIR", None)
        else:
            os.environ["JUDGE_DATA_DIR"] = old


def locate(name: str) -> Path:
    """The local path of upstream file ``name`` (from ``JUDGE_DATA_DIR``, or downloaded from its pinned source)."""
    root, pinned = data_dir(), registry.files()
    if root is not None:
        if not root.is_dir():
            raise DataNotFound(f"JUDGE_DATA_DIR={root} is not a folder")
        hits = sorted(root.rglob(name), key=lambda p: (len(p.parts), str(p)))
        if not hits:
            raise DataNotFound(f"{name} is not under JUDGE_DATA_DIR={root} (searched at any depth); "
                               f"download it from {pinned.get(name, 'its upstream repository')}")
        return hits[0]
    if name not in pinned:
        raise DataNotFound(f"no pinned source for {name}; set JUDGE_DATA_DIR to a folder holding it")
    return _download(pinned[name])


def _download(url: str) -> Path:
    if url.startswith("hf://datasets/"):
        from huggingface_hub import hf_hub_download

        owner, name_rev, filename = url[len("hf://datasets/"):].split("/", 2)
        name, revision = name_rev.split("@")
        repo = f"{owner}/{name}"
        return Path(hf_hub_download(repo, filename, repo_type="dataset", revision=revision))
    from datasets import DownloadManager

    return Path(DownloadManager().download(url))


def read_rows(path: Path) -> list:
    """A JSON array (or object), or JSON Lines (Auto-J's pairwise file is JSON Lines despite its ``.json`` name)."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as err:
            # like every malformed row: names file, row and field
            raise RecordError(path, len(rows), "<JSON line>",
                              f"line {lineno} is not JSON ({err.msg}); the file is neither JSON nor JSON Lines") from None
    return rows
