"""The benchmark registry: one declarative entry per benchmark in ``tasks.yaml`` (the catalog), read here.

``tasks.yaml`` sits at the repository root and is shipped inside the wheel as ``judge_tasks/tasks.yaml``; this
module is the only reader of it. Everything that needs a fact about a benchmark asks the registry instead of
keeping its own table: the loaders (``loader:`` -> one function per file *format* in ``loaders.FORMATS``), the
pinned sources (``source.files``), the metric names of a task (``kind``, ``source_metrics``, ``classes``,
``filtered_rows``), the training guard (``evaluation_files``), the leaderboard (``published``).

Benchmarks outside the package: a catalog file of the same shape (a ``tasks:`` list) named in
``JUDGE_CATALOGS`` (several separated by ``os.pathsep``) is read after the built-in one, and ``register(spec)``
adds one entry in-process. Each entry is checked when it is read; a bad one fails naming file, entry and field.
This module names no benchmark itself.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

from judge_core.records import RecordError

_HERE = Path(__file__).resolve().parent
#: where the catalog is looked for: inside the installed package first, then the checkout's root
CATALOG_CANDIDATES = (_HERE / "tasks.yaml", _HERE.parent / "tasks.yaml")
#: extra catalog files (``os.pathsep``-separated), read after the built-in catalog
CATALOGS_ENV = "JUDGE_CATALOGS"
KINDS = ("absolute", "pairwise")
REQUIRED = ("name", "kind", "loader", "metrics", "label_encoding")
#: loader arguments that name upstream files (the guard refuses them as training data)
FILE_ARGUMENTS = ("file", "gold_file", "reference_file", "answers_file", "grades_file")

_registered: dict[str, dict] = {}


@functools.lru_cache(maxsize=1)
def catalog_path() -> Path:
    """The ``tasks.yaml`` this installation uses (found once per process: per-document lookups read it)."""
    for path in CATALOG_CANDIDATES:
        if path.is_file():
            return path
    raise FileNotFoundError("tasks.yaml (the task catalog) is neither in the installed package "
                            f"({CATALOG_CANDIDATES[0]}) nor at the checkout's root ({CATALOG_CANDIDATES[1]})")


@functools.lru_cache(maxsize=16)
def _read(path: str) -> dict:
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not isinstance(data.get("tasks"), list):
        raise ValueError(f"{path}: expected a mapping with a 'tasks:' list")
    for i, entry in enumerate(data["tasks"]):
        validate(entry, path, i)
    return data


def validate(entry, where="<spec>", index=0) -> dict:
    """``entry`` if it is a well-formed benchmark spec; else a ``RecordError`` naming file, entry and field."""
    from judge_tasks.loaders import CLASSIFIERS, FORMATS

    if not isinstance(entry, dict):
        raise RecordError(where, index, "<entry>", f"expected a mapping, got {type(entry).__name__}")
    row = f"{index} ({entry.get('name', '?')})"
    for key in REQUIRED:
        if key not in entry:
            raise RecordError(where, row, key, "missing")
    if entry["kind"] not in KINDS:
        raise RecordError(where, row, "kind", f"expected one of {KINDS}, got {entry['kind']!r}")
    loader = entry["loader"]
    if not isinstance(loader, dict) or loader.get("format") not in FORMATS:
        raise RecordError(where, row, "loader.format",
                          f"expected one of {sorted(FORMATS)}, got {loader!r}")
    if entry.get("classes") is not None and entry["classes"] not in CLASSIFIERS:
        raise RecordError(where, row, "classes", f"expected one of {sorted(CLASSIFIERS)}, got {entry['classes']!r}")
    if not isinstance(entry["metrics"], list) or not all(isinstance(m, str) for m in entry["metrics"]):
        raise RecordError(where, row, "metrics", "expected a list of metric names")
    for f in (entry.get("source") or {}).get("files") or []:
        if not isinstance(f, dict) or not {"name", "url"} <= set(f):
            raise RecordError(where, row, "source.files", f"expected {{name, url[, sha256]}}, got {f!r}")
    return entry


def load_catalog(path: Path | str | None = None) -> dict:
    """The whole built-in catalog (``version``, ``groups``, ``tasks``) as written, or the catalog at ``path``."""
    return _read(str(Path(path) if path else catalog_path()))


def extra_catalogs() -> list[Path]:
    """The catalog files named in ``JUDGE_CATALOGS``."""
    return [Path(p).expanduser() for p in os.environ.get(CATALOGS_ENV, "").split(os.pathsep) if p]


def register(spec: dict) -> dict:
    """Add (or replace) one benchmark spec in this process; it is checked like a catalog entry."""
    validate(spec, "<register()>", "-")
    _registered[spec["name"]] = spec
    return spec


def unregister(name: str) -> None:
    _registered.pop(name, None)


_checked_files: set[Path] = set()  # catalogs already seen to exist (no stat per document)


def benchmarks(path: Path | str | None = None) -> dict[str, dict]:
    """``{task name: catalog entry}`` for every plain (non-swap) task, in catalog order: the built-in catalog,
    then ``JUDGE_CATALOGS``, then ``register()``-ed specs (``path``: that one catalog file only)."""
    if path:
        return {entry["name"]: entry for entry in load_catalog(path)["tasks"]}
    out: dict[str, dict] = {}
    for catalog in [catalog_path(), *extra_catalogs()]:
        if catalog not in _checked_files and not catalog.is_file():
            raise FileNotFoundError(f"{CATALOGS_ENV} names {catalog}, which is not a file")
        _checked_files.add(catalog)
        out.update({entry["name"]: entry for entry in load_catalog(catalog)["tasks"]})
    out.update(_registered)
    return out


def benchmark(name: str) -> dict:
    """The catalog entry of ``name`` (a plain task name); a clear error lists the known ones."""
    known = benchmarks()
    if name not in known:
        raise KeyError(f"unknown benchmark {name!r}; known: {', '.join(known)}")
    return known[name]


def task_names() -> dict[str, str]:
    """``{harness task name: benchmark}`` over every plain task and its ``_swap`` variant."""
    out = {}
    for name, entry in benchmarks().items():
        out[name] = name
        if entry.get("swap"):
            out[entry["swap"]["name"]] = name
    return out


def files(name: str | None = None) -> dict[str, str]:
    """``{upstream file name: pinned URL}`` over every benchmark (or over benchmark ``name``)."""
    entries = [benchmark(name)] if name else benchmarks().values()
    out: dict[str, str] = {}
    for entry in entries:
        for f in (entry.get("source") or {}).get("files") or []:
            out[f["name"]] = f["url"]
    return out


def revision_of(repo: str) -> str:
    """The pinned revision of an upstream repository or hub dataset (``source.repo`` / ``source.hub``)."""
    for entry in benchmarks().values():
        source = entry.get("source") or {}
        if repo in (source.get("repo"), source.get("hub")):
            return str(source["revision"])
    raise KeyError(f"no benchmark's source is {repo!r}")


def evaluation_file_benchmarks() -> dict[str, list[str]]:
    """``{upstream file name: [benchmarks reading it]}``: every pinned file and every file a loader reads."""
    out: dict[str, list[str]] = {}
    for name, entry in benchmarks().items():
        names = [f["name"] for f in (entry.get("source") or {}).get("files") or []]
        names += [entry["loader"][k] for k in FILE_ARGUMENTS if entry["loader"].get(k)]
        for file_name in dict.fromkeys(names):
            out.setdefault(file_name, []).append(name)
    return out


def evaluation_files() -> set[str]:
    """Upstream file names of every evaluation benchmark (the training guard refuses them as training data)."""
    return set(evaluation_file_benchmarks())


def evaluation_hub_datasets() -> dict[str, list[str]]:
    """``{hub dataset: [benchmarks]}`` for hub datasets that are an evaluation set as a whole
    (``source.hub_copies``)."""
    out: dict[str, list[str]] = {}
    for name, entry in benchmarks().items():
        for repo in (entry.get("source") or {}).get("hub_copies") or []:
            out.setdefault(repo, []).append(name)
    return out


def file_sha256() -> dict[str, str]:
    """``{SHA-256: upstream file name}`` of the published files whose hash the catalog records."""
    return {f["sha256"]: f["name"] for entry in benchmarks().values()
            for f in (entry.get("source") or {}).get("files") or [] if f.get("sha256")}


def source_metrics() -> dict[str, list[str]]:
    """``{benchmark: [source, ...]}``: benchmarks reporting accuracy per ``meta.source`` (``accuracy_<source>``)."""
    return {n: list(e["source_metrics"]) for n, e in benchmarks().items() if e.get("source_metrics")}


def class_benchmarks() -> dict[str, str]:
    """``{benchmark: classifier name}``: absolute benchmarks also scored as classes (``loaders.CLASSIFIERS``)."""
    return {n: e["classes"] for n, e in benchmarks().items() if e.get("classes")}


def rubric_benchmarks() -> list[str]:
    """Benchmarks whose documents carry a score rubric (``rubric: true``), in catalog order."""
    return [n for n, e in benchmarks().items() if e.get("rubric")]


def filtering_benchmarks() -> set[str]:
    """Benchmarks whose own rule drops rows before judging (reported as ``filtered_rows``)."""
    return {n for n, e in benchmarks().items() if e.get("filtered_rows")}


def groups(path: Path | str | None = None) -> dict[str, list[str]]:
    """``{group: [member tasks]}`` of the built-in catalog."""
    return {g["name"]: list(g["tasks"]) for g in load_catalog(path).get("groups") or []}


def published_rows(path: Path | str | None = None) -> list[dict]:
    """Every published number of the catalog: ``{judge, task, metric, value, source, note?}``."""
    return [row for entry in benchmarks(path).values() for row in entry.get("published") or []]
