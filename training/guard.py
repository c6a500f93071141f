"""The evaluation-file guard: a training source must not be an evaluation task's file.

A file is an evaluation file when its name is one of the registry's evaluation files
(``judge_tasks.registry.evaluation_files()``) or its SHA-256 is the hash of one (the published hashes in the
registry, and any file of that name under ``JUDGE_DATA_DIR``); a hub source is one when its dataset is an
evaluation dataset (the registry's ``source.hub_copies``) or its data files are evaluation files.

Two of the files of the local training pool are also the files of evaluation tasks (an absolute and a pairwise
one; ``registry.evaluation_file_benchmarks()`` says which). Training on them is refused unless
the config names them in ``data.allow_eval_files``; then a warning is logged, and the model card and
``judge_config.json`` record the tasks this judge must not be evaluated on.
"""
from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from judge_tasks import registry

log = logging.getLogger(__name__)

#: upstream evaluation file -> the benchmarks that read it (the registry: ``source.files`` and loader files)
EVAL_FILE_BENCHMARKS = registry.evaluation_file_benchmarks()
FILES = registry.evaluation_files()  # every evaluation file name (pinned or read by a loader)

#: SHA-256 of the published evaluation files (the registry's ``source.files[].sha256``; the copies in
#: ../shared/data, byte-for-byte upstream)
KNOWN_SHA256 = registry.file_sha256()

#: hub datasets that are evaluation sets as a whole (the registry's ``source.hub_copies``)
EVAL_HUB_DATASETS = registry.evaluation_hub_datasets()

class EvalFileError(ValueError):
    """A training source is an evaluation task's file and the config does not allow it."""


@dataclass
class Overlap:
    """A training source that is an evaluation file, allowed by the config."""
    source: str
    file: str
    how: str                          # "name" | "sha256" | "hub dataset" | "hub file"
    benchmarks: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"source": self.source, "file": self.file, "matched_by": self.how, "benchmarks": self.benchmarks,
                "tasks": self.tasks}


def tasks_of(benchmarks) -> list[str]:
    """The evaluation tasks (the registry's benchmark tasks and their ``_swap`` variants) whose documents and gold
    labels come from these benchmarks. Question-only tasks (``question_tasks:``) are not among them: they carry
    no gold and are not evaluated on the file's judgements."""
    wanted = set(benchmarks)
    return sorted(task for task, bench in registry.task_names().items() if bench in wanted) or sorted(wanted)


def sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _known_hashes() -> dict[str, str]:
    known = dict(KNOWN_SHA256)
    root = os.environ.get("JUDGE_DATA_DIR")
    if root and Path(root).is_dir():
        for name in sorted(FILES):
            for p in Path(root).rglob(name):
                if p.is_file():
                    known.setdefault(sha256(p), name)
    return known


def _allowed(name: str, benchmarks: list[str], tasks: list[str], allow: list[str]) -> bool:
    allow = set(allow or [])
    return bool(allow & ({name} | set(benchmarks) | set(tasks)))


def _decide(source: str, name: str, how: str, allow: list[str], hint: str) -> Overlap:
    benchmarks = EVAL_FILE_BENCHMARKS.get(name) or EVAL_HUB_DATASETS.get(name) or []
    tasks = tasks_of(benchmarks)
    if not _allowed(name, benchmarks, tasks, allow):
        raise EvalFileError(
            f"training source {source!r}: {hint} is the evaluation file {name} (matched by {how}) of the task(s) "
            f"{', '.join(tasks) or '-'}. A judge trained on it cannot be evaluated on those tasks. If that is what "
            f"you want, say so in the config: data.allow_eval_files: [{name}]")
    log.warning("TRAINING ON AN EVALUATION FILE: source %r is %s (matched by %s), the data of task(s) %s. "
                "Allowed by data.allow_eval_files; the model card and judge_config.json say that this judge must "
                "not be evaluated on those tasks.", source, name, how, ", ".join(tasks))
    return Overlap(source=source, file=name, how=how, benchmarks=benchmarks, tasks=tasks)


def check_files(source: str, paths: list[Path], allow: list[str]) -> list[Overlap]:
    """Refuse (or, when allowed, report) local training files that are evaluation files."""
    out, known = [], None
    for path in paths:
        path = Path(path)
        if path.name in EVAL_FILE_BENCHMARKS or path.name in FILES:
            out.append(_decide(source, path.name, "name", allow, str(path)))
            continue
        known = _known_hashes() if known is None else known
        digest = sha256(path)
        if digest in known:
            out.append(_decide(source, known[digest], "sha256", allow, str(path)))
    return out


def check_hub(source: str, repo: str, data_files, allow: list[str]) -> list[Overlap]:
    if repo in EVAL_HUB_DATASETS:
        return [_decide(source, repo, "hub dataset", allow, f"hub dataset {repo}")]
    files = [data_files] if isinstance(data_files, str) else list(data_files or [])
    return [_decide(source, Path(f).name, "hub file", allow, f"{repo}/{f}")
            for f in files if Path(f).name in EVAL_FILE_BENCHMARKS]
