"""Where each benchmark's upstream files come from: pinned URLs and hub revisions, or ``JUDGE_DATA_DIR``.

With ``JUDGE_DATA_DIR`` set, a file is found by its upstream file name at any depth under that folder (so the
folder may be flat or keep the upstream layout); nothing is fetched. Otherwise files are downloaded once (and
cached) from the pinned source with the ``datasets`` / ``huggingface_hub`` download machinery. The pinned sources
are the registry's (``source.files`` in ``tasks.yaml``).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from judge_core.jsonio import read_json
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


def locate(name: str | Path) -> Path:
    """The local path of upstream file ``name`` (from ``JUDGE_DATA_DIR``, or downloaded from its pinned source).

    Under ``JUDGE_DATA_DIR`` the name must be found exactly once (at any depth; a name with a ``/`` such as
    ``Natural/dataset.json`` tells same-named files apart). Every failure is one line naming the file, the
    folder searched and where the file would have been downloaded from. A ``Path`` is a file the caller already
    has (training's ``path:`` sources): returned as it is, nothing searched."""
    if isinstance(name, Path):
        if not name.is_file():
            raise DataNotFound(f"{name} is not a file")
        return name
    pinned = registry.files()
    where = pinned.get(name, "its upstream repository (no pinned source)")
    root = data_dir()
    if root is not None:
        if not root.is_dir():
            raise DataNotFound(f"{name}: JUDGE_DATA_DIR={root} is not a folder; point it at the folder holding "
                               f"{name} (upstream: {where})")
        hits = sorted(root.rglob(name), key=lambda p: (len(p.parts), str(p)))
        hits = [p for p in hits if p.is_file()]
        if not hits:
            raise DataNotFound(f"{name} is not under JUDGE_DATA_DIR={root} (searched at any depth); "
                               f"download it from {where}")
        if len(hits) > 1:
            raise DataNotFound(f"{name} is found {len(hits)} times under JUDGE_DATA_DIR={root}: "
                               f"{', '.join(str(p) for p in hits)}; keep one of them (which one is meant "
                               "is not guessed)")
        return hits[0]
    if name not in pinned:
        raise DataNotFound(f"{name}: no pinned source and JUDGE_DATA_DIR is not set; set JUDGE_DATA_DIR to a "
                           "folder holding it")
    offline = [v for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
               if os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")]
    if offline:
        raise DataNotFound(f"{name} is not available offline: JUDGE_DATA_DIR is not set (no local folder searched) "
                           f"and {offline[0]}=1 forbids downloading it from {where}; set JUDGE_DATA_DIR to a folder "
                           "holding it")
    try:
        return _download(pinned[name])
    except (OSError, ValueError) as err:  # network, hub (HTTP errors are OSErrors), disk: one line
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataNotFound(f"{name} could not be downloaded from {where} ({type(err).__name__}: {first}); "
                           "JUDGE_DATA_DIR is not set; set it to a folder holding the file") from None


def _download(url: str) -> Path:
    if url.startswith("hf://datasets/"):
        from huggingface_hub import hf_hub_download

        owner, name_rev, filename = url[len("hf://datasets/"):].split("/", 2)
        name, revision = name_rev.split("@")
        repo = f"{owner}/{name}"
        return Path(hf_hub_download(repo, filename, repo_type="dataset", revision=revision))
    from datasets import DownloadManager

    return Path(DownloadManager().download(url))


def read_rows(path: Path, expect: str | None = None):
    """A JSON array (or object), or JSON Lines (Auto-J's pairwise file is JSON Lines despite its ``.json`` name).

    ``expect`` (``"array"`` or ``"object"``) refuses any other top level. Every malformed file (not UTF-8,
    duplicate keys, too deep, not JSON, empty) is a ``RecordError`` naming file, row and field: see
    ``judge_core.jsonio``."""
    return read_json(path, expect)
