"""Where each benchmark's upstream files come from: pinned URLs and hub revisions, or ``JUDGE_DATA_DIR``.

With ``JUDGE_DATA_DIR`` set, a file is found by its upstream file name at any depth under that folder (so the
folder may be flat or keep the upstream layout); nothing is fetched. Otherwise files are downloaded once (and
cached) from the pinned source with the ``datasets`` / ``huggingface_hub`` download machinery.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

from judge_core.records import RecordError

PROMETHEUS_COMMIT = "dcfb44272d5d0414832f5dbb8c2a05ebc2614234"
PANDALM_COMMIT = "3871806e72b4832f815ecafd24d3503c73403f48"
MMVET_COMMIT = "2df56155"
LLAVA_COMMIT = "32cebc38"
JUDGELM_REPO, JUDGELM_REVISION = "BAAI/JudgeLM-100K", "16f7d72e24cad8b9a64e48d424d410bdd357168c"


def _prometheus(name):
    return f"https://raw.githubusercontent.com/prometheus-eval/prometheus-eval/{PROMETHEUS_COMMIT}/eval/benchmark/data/{name}"


def _pandalm(name):
    return f"https://raw.githubusercontent.com/WeOpenML/PandaLM/{PANDALM_COMMIT}/data/{name}"


def _mmvet(name):
    return f"https://raw.githubusercontent.com/yuweihao/MM-Vet_data/{MMVET_COMMIT}/{name}"


def _llava(name):
    return f"https://raw.githubusercontent.com/haotian-liu/LLaVA/{LLAVA_COMMIT}/playground/data/eval/mm-vet/results/{name}"


def _judgelm(name):
    return f"hf://datasets/{JUDGELM_REPO}@{JUDGELM_REVISION}/{name}"


#: upstream file name -> pinned location (``https://`` raw URL or ``hf://datasets/<repo>@<rev>/<file>``)
FILES = {
    **{n: _prometheus(n) for n in (
        "feedback_collection_test.json", "feedback_collection_ood_test.json", "vicuna_eval.json",
        "mt_bench_eval.json", "flask_eval.json", "preference_collection_ood_test.json",
        "hhh_alignment_eval.json", "mt_bench_human_judgement_eval.json", "autoj_pairwise.json")},
    "testset-v1.json": _pandalm("testset-v1.json"),
    "pandalm-7b-testset-v1.json": _pandalm("pandalm-7b-testset-v1.json"),
    "mm-vet.json": _mmvet("mm-vet.json"),
    **{n: _llava(n) for n in ("llava-v1.5-13b.json", "llava-v1.5-13b_gpt-4-grade-1runs.json",
                              "llava-v1.5-13b_gpt-4-grade-3runs.json")},
    **{n: _judgelm(n) for n in ("judgelm_val_5k.jsonl", "judgelm_val_5k_gpt4.jsonl",
                                "judgelm_val_5k_gpt4_with_reference.jsonl", "judgelm_val_5k_references.jsonl")},
}


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
    A ``Path`` is a file the caller already has (training's ``path:`` sources): returned as it is, nothing searched."""
    if isinstance(name, Path):
        if not name.is_file():
            raise DataNotFound(f"{name} is not a file")
        return name
    root = data_dir()
    if root is not None:
        if not root.is_dir():
            raise DataNotFound(f"JUDGE_DATA_DIR={root} is not a folder")
        hits = sorted(root.rglob(name), key=lambda p: (len(p.parts), str(p)))
        if not hits:
            raise DataNotFound(f"{name} is not under JUDGE_DATA_DIR={root} (searched at any depth); "
                               f"download it from {FILES.get(name, 'its upstream repository')}")
        return hits[0]
    if name not in FILES:
        raise DataNotFound(f"no pinned source for {name}; set JUDGE_DATA_DIR to a folder holding it")
    return _download(FILES[name])


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
    """A JSON array (or object), or JSON Lines (``autoj_pairwise.json`` is JSON Lines despite its name)."""
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
