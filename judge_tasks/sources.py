"""Where each benchmark's upstream files come from: pinned URLs and hub revisions, or ``JUDGE_DATA_DIR``.

With ``JUDGE_DATA_DIR`` set, a file is found by its upstream file name at any depth under that folder (so the
folder may be flat or keep the upstream layout); nothing is fetched. Otherwise files are downloaded once (and
cached) from the pinned source with the ``datasets`` / ``huggingface_hub`` download machinery.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from judge_core.jsonio import read_json

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

    Under ``JUDGE_DATA_DIR`` the name must be found exactly once (at any depth; a name with a ``/`` such as
    ``Natural/dataset.json`` tells same-named files apart). Every failure is one line naming the file, the
    folder searched and where the file would have been downloaded from. A ``Path`` is a file the caller already
    has (training's ``path:`` sources): returned as it is, nothing searched."""
    if isinstance(name, Path):
        if not name.is_file():
            raise DataNotFound(f"{name} is not a file")
        return name
    where = FILES.get(name, "its upstream repository (no pinned source)")
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
    if name not in FILES:
        raise DataNotFound(f"{name}: no pinned source and JUDGE_DATA_DIR is not set; set JUDGE_DATA_DIR to a "
                           "folder holding it")
    offline = [v for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
               if os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")]
    if offline:
        raise DataNotFound(f"{name} is not available offline: JUDGE_DATA_DIR is not set (no local folder searched) "
                           f"and {offline[0]}=1 forbids downloading it from {where}; set JUDGE_DATA_DIR to a folder "
                           "holding it")
    try:
        return _download(FILES[name])
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
    """A JSON array (or object), or JSON Lines (``autoj_pairwise.json`` is JSON Lines despite its name).

    ``expect`` (``"array"`` or ``"object"``) refuses any other top level. Every malformed file (not UTF-8,
    duplicate keys, too deep, not JSON, empty) is a ``RecordError`` naming file, row and field: see
    ``judge_core.jsonio``."""
    return read_json(path, expect)
