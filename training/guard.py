"""The evaluation-file guard: a training source must not be an evaluation task's file.

A file is an evaluation file when its name is one of the upstream files of ``judge_tasks.sources.FILES`` or
its SHA-256 is the hash of one (the published copies hashed here, and any file of that name under
``JUDGE_DATA_DIR``); a hub source is one when its dataset is an evaluation dataset (Feedback-Bench,
Preference-Bench, MT-Bench human judgements) or its data files are evaluation files (JudgeLM's val 5K).

Two of the files of the local training pool (``mt_bench_eval.json``, ``autoj_pairwise.json``) are also the
files of evaluation tasks (``mt_bench_absolute``, ``autoj_pairwise``). Training on them is refused unless
the config names them in ``data.allow_eval_files``; then a warning is logged, and the model card and
``judge_config.json`` record the tasks this judge must not be evaluated on.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from judge_tasks.sources import FILES

log = logging.getLogger(__name__)

#: upstream evaluation file -> the benchmarks (``judge_tasks.loaders.BENCHMARKS``) that read it
EVAL_FILE_BENCHMARKS = {
    "feedback_collection_test.json": ["feedback_bench"],
    "feedback_collection_ood_test.json": ["feedback_ood"],
    "vicuna_eval.json": ["vicuna_bench"],
    "mt_bench_eval.json": ["mt_bench_absolute"],
    "flask_eval.json": ["flask_gpt4", "flask_human"],
    "preference_collection_ood_test.json": ["preference_bench"],
    "hhh_alignment_eval.json": ["hhh_alignment"],
    "mt_bench_human_judgement_eval.json": ["mt_bench_human"],
    "autoj_pairwise.json": ["autoj_pairwise"],
    "testset-v1.json": ["pandalm_test"],
    "pandalm-7b-testset-v1.json": ["pandalm_test"],
    "mm-vet.json": ["mm_vet_text"],
    "llava-v1.5-13b.json": ["mm_vet_text"],
    "llava-v1.5-13b_gpt-4-grade-1runs.json": ["mm_vet_text"],
    "llava-v1.5-13b_gpt-4-grade-3runs.json": ["mm_vet_text"],
    "judgelm_val_5k.jsonl": ["judgelm_val", "judgelm_val_ref"],
    "judgelm_val_5k_gpt4.jsonl": ["judgelm_val"],
    "judgelm_val_5k_gpt4_with_reference.jsonl": ["judgelm_val_ref"],
    "judgelm_val_5k_references.jsonl": ["judgelm_val_ref"],
    # LLMBar: every file is dataset.json, so these are recognised by hash (below, and under JUDGE_DATA_DIR)
    "Natural/dataset.json": ["llmbar_natural"],
    "Adversarial/Neighbor/dataset.json": ["llmbar_adversarial"],
    "Adversarial/GPTInst/dataset.json": ["llmbar_adversarial"],
    "Adversarial/GPTOut/dataset.json": ["llmbar_adversarial"],
    "Adversarial/Manual/dataset.json": ["llmbar_adversarial"],
}

#: SHA-256 of the published evaluation files (the copies in ../shared/data, byte-for-byte upstream)
KNOWN_SHA256 = {
    "5bf33413c34173c3b94f008499fd9098fb6338d5d1cf64f341e8e0c9b9f105cf": "mt_bench_eval.json",
    "fe6655dfeec99d04d582692767c736f2385b5e067f0b894d1b73a32af7be9c9e": "hhh_alignment_eval.json",
    "56f32fad71d9b6b33bc4d51794c324981e26355bcbf3ce4908d7f8ddcc61f80e": "autoj_pairwise.json",
    "cc154f9067c7382d7ea86f8f246511a5e1ac87e1fddd845c5938d789505b07a4": "testset-v1.json",
    "9a40b62a7bb2aa87ca77eb8bfcb51539b5a62f974ce91678d30e834d65ed0a7e": "pandalm-7b-testset-v1.json",
    "6eced3121b9865098ea72aca233ca5ff7fd7b81374494d878815b9f856442d8e": "mm-vet.json",
    "0e36bdbc09f792cceae47567ea2f25d9d1366cdb2063748f6076d383ce9a7886": "llava-v1.5-13b.json",
    "f6cf024f900bf66c41cf20281fcce110756795df70e660e77f2924ff904ad7e5": "llava-v1.5-13b_gpt-4-grade-1runs.json",
    "437a80db3349d87aa4424830710dd3755059a3831b47d783df4f69f3e0720b54": "llava-v1.5-13b_gpt-4-grade-3runs.json",
    "f7127b7aa78104cb8e03a2b1b3ac0077e95b125714dd441a8ee63666145a3375": "Natural/dataset.json",
    "6712c7eda6342602e0bc7c06c282fa95e2110d4e741a284026a62d937f9780a0": "Adversarial/Neighbor/dataset.json",
    "1002425f73c2cf54b6e6de99bce3f6c60fa2a17d13194772e37d7481c1351d42": "Adversarial/GPTInst/dataset.json",
    "1ff56e520d7607750a9866a3be0f5b850392ca4477a1f69d80f32bd3e310f561": "Adversarial/GPTOut/dataset.json",
    "0d9598769a39cdbbd265778c37e49939d41d5f76dcfb17bd75dcfa07516d3837": "Adversarial/Manual/dataset.json",
}

#: hub datasets that are evaluation sets as a whole
EVAL_HUB_DATASETS = {
    "prometheus-eval/Feedback-Bench": ["feedback_bench"],
    "prometheus-eval/Preference-Bench": ["preference_bench"],
    "lmsys/mt_bench_human_judgments": ["mt_bench_human"],
}

TASKS_DIR = Path(__file__).resolve().parents[1] / "judge_tasks"


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
    """The harness tasks (from the task YAMLs) whose documents come from these benchmarks."""
    wanted, out = set(benchmarks), set()
    pattern = re.compile(r"^task:\s*(\S+)\s*$", re.M)
    bench = re.compile(r"benchmark:\s*([A-Za-z0-9_]+)")
    for path in sorted(TASKS_DIR.glob("*/*.yaml")):
        text = path.read_text(encoding="utf-8")
        t, b = pattern.search(text), bench.search(text)
        if t and b and b.group(1) in wanted:
            out.add(t.group(1))
    return sorted(out) or sorted(wanted)


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
        for name in FILES:
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
