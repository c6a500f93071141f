"""The benchmark registry: one declarative entry per benchmark in ``tasks.yaml`` (the catalog), read here.

``tasks.yaml`` sits at the repository root and is shipped inside the wheel as ``judge_tasks/tasks.yaml``; this
module is the only reader of it. Everything that needs a fact about a benchmark (its upstream files and pinned
URLs, kind, scale, label encoding, published rows) asks the registry instead of keeping its own table.
"""
from __future__ import annotations

import functools
from pathlib import Path

_HERE = Path(__file__).resolve().parent
#: where the catalog is looked for: inside the installed package first, then the checkout's root
CATALOG_CANDIDATES = (_HERE / "tasks.yaml", _HERE.parent / "tasks.yaml")


def catalog_path() -> Path:
    """The ``tasks.yaml`` this installation uses."""
    for path in CATALOG_CANDIDATES:
        if path.is_file():
            return path
    raise FileNotFoundError("tasks.yaml (the task catalog) is neither in the installed package "
                            f"({CATALOG_CANDIDATES[0]}) nor at the checkout's root ({CATALOG_CANDIDATES[1]})")


@functools.lru_cache(maxsize=4)
def _read(path: str) -> dict:
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not isinstance(data.get("tasks"), list):
        raise ValueError(f"{path}: expected a mapping with a 'tasks:' list")
    return data


def load_catalog(path: Path | str | None = None) -> dict:
    """The whole catalog (``version``, ``groups``, ``tasks``) as written."""
    return _read(str(Path(path) if path else catalog_path()))


def benchmarks(path: Path | str | None = None) -> dict[str, dict]:
    """``{task name: catalog entry}`` for every plain (non-swap) task, in catalog order."""
    return {entry["name"]: entry for entry in load_catalog(path)["tasks"]}


def benchmark(name: str) -> dict:
    """The catalog entry of ``name`` (a plain task name); a clear error lists the known ones."""
    known = benchmarks()
    if name not in known:
        raise KeyError(f"unknown benchmark {name!r}; known: {', '.join(known)}")
    return known[name]


def files() -> dict[str, str]:
    """``{upstream file name: pinned URL}`` over every benchmark."""
    out: dict[str, str] = {}
    for entry in benchmarks().values():
        for f in (entry.get("source") or {}).get("files") or []:
            out[f["name"]] = f["url"]
    return out


def evaluation_files() -> set[str]:
    """Upstream file names of every evaluation benchmark (the training guard refuses them as training data)."""
    return set(files())


def published_rows(path: Path | str | None = None) -> list[dict]:
    """Every published number of the catalog: ``{judge, task, metric, value, source, note?}``."""
    return [row for entry in benchmarks(path).values() for row in entry.get("published") or []]
