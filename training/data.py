"""Training sources -> normalised judge records (``judge_core.records``) -> a seeded train / validation split.

Sources (``source:`` in a config's ``data.train``):

=========================  ========  =============================================================  ==========
source                     kind      upstream                                                       DATASETS.md
=========================  ========  =============================================================  ==========
``feedback_collection``    absolute  HF ``prometheus-eval/Feedback-Collection``,                    §7a
                                     ``new_feedback_collection.json`` (``orig_*`` fields)
``preference_collection``  pairwise  HF ``prometheus-eval/Preference-Collection`` (parquet, train)  §7b
``judgelm_train``          pairwise  HF ``BAAI/JudgeLM-100K`` ``judgelm_train_100k.jsonl``          §7c
                                     (with and without reference: ``score`` / ``score_w_reference``)
``pandalm_train``          pairwise  PandaLM's released train file (``inputs`` / ``outputs``; a     §7d
                                     local ``path`` only: it is not on the hub)
``prometheus_absolute``    absolute  a Prometheus absolute benchmark file (``mt_bench_eval.json``)  §8
``prometheus_pairwise``    pairwise  a Prometheus chosen / rejected file                            §3b
``autoj_pairs``            pairwise  Auto-J's pairwise file (its ``autoj_pairs`` format)            -
``preference_pool``        pairwise  the project's pool ``shared/data/train/pairs.jsonl``            -
                                     (hh-rlhf harmless, QA-Feedback, arena-bench; ``a / b / tie``)
=========================  ========  =============================================================  ==========

The three before it are the formats of the first local pool; they are read by ``judge_tasks.loaders`` (one parser
for the whole project). Every source is read from ``path`` (a file or a folder of files), from ``file`` (an
upstream file name under ``JUDGE_DATA_DIR``), or from the hub at a pinned revision with ``datasets``. Rows a
source's own rules exclude (a non-numeric ``orig_score``, JudgeLM's ``text == "error"`` rows) are counted and
reported, never dropped silently.

Length: about 410 lines: the table of training sources, the converter of each source's rows beside it (each
checks its own fields) and the split they feed are one path from a config's ``data:`` to records; the shared
parts (file reading, the benchmark-format loaders) are in ``judge_core.jsonio`` and ``judge_tasks.loaders``.
"""
from __future__ import annotations

import hashlib
import logging
import math
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from judge_core import records
from judge_core.records import RecordError
from judge_core.scales import verdict_from_scores
from judge_tasks import loaders
from judge_tasks.loaders import parse_prometheus_prompt
from judge_tasks.sources import (
    JUDGELM_REPO,
    JUDGELM_REVISION,
    locate,
    read_rows,
)
from training import guard
from training.config import DataConfig, SourceConfig

log = logging.getLogger(__name__)

FEEDBACK_COLLECTION = ("prometheus-eval/Feedback-Collection", "22a339f961c40b07261bea44ec10849c7440b75f",
                       "new_feedback_collection.json")
PREFERENCE_COLLECTION = ("prometheus-eval/Preference-Collection", "b408d139e6a22b5a2fc8cc9be8fd85436c292b2d", None)
JUDGELM_TRAIN = (JUDGELM_REPO, JUDGELM_REVISION, "judgelm_train_100k.jsonl")


@dataclass
class Loaded:
    """The records of one source and what its reading found."""
    name: str
    records: list[dict]
    origin: str                                   # where the rows came from (path or hub id@revision/file)
    kind: str
    skipped: Counter = field(default_factory=Counter)
    overlaps: list = field(default_factory=list)  # guard.Overlap
    sha256: list[str] = field(default_factory=list)

    @property
    def by_source(self) -> dict[str, int]:
        """Records per upstream source (``meta.source``), for the model card's record of what a judge saw."""
        return pool_sources(self.records)


# --------------------------------------------------------------------------- reading rows
def _rows_from_path(path: Path) -> list[dict]:
    files = sorted(p for p in path.rglob("*") if p.suffix in (".json", ".jsonl", ".parquet")) if path.is_dir() else [path]
    if not files:
        raise FileNotFoundError(f"{path}: no .json / .jsonl / .parquet files")
    rows = []
    for f in files:
        if f.suffix == ".parquet":
            import pyarrow.parquet as pq

            rows += pq.read_table(f).to_pylist()
        else:
            got = read_rows(f)
            rows += got if isinstance(got, list) else [got]
    return rows


def _files_of(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in (".json", ".jsonl", ".parquet"))
    return [path]


def _rows_from_hub(repo: str, revision: str | None, data_files) -> list[dict]:
    import datasets

    kwargs = {"revision": revision, "split": "train"}
    if data_files:
        kwargs["data_files"] = data_files
    ds = datasets.load_dataset(repo, **kwargs)
    return [dict(r) for r in ds]


def resolve_path(raw: str, base: Path | None) -> Path:
    """A config path: ``~`` and ``$VARS`` expanded; relative to the working directory, else to the config."""
    p = Path(os.path.expandvars(os.path.expanduser(raw)))
    if p.is_absolute() or p.exists() or base is None:
        return p
    alt = base / p
    return alt if alt.exists() else p




# --------------------------------------------------------------------------- row -> record converters
def _score_1_5(value) -> int | None:
    try:
        v = float(str(value).strip())
    except ValueError:
        return None
    return int(v) if v.is_integer() and 1 <= v <= 5 else None


def feedback_collection_records(rows: list[dict], name: str, skipped: Counter) -> list[dict]:
    """Feedback Collection rows (``orig_*`` fields) -> absolute records with rubric, reference and GPT-4's
    feedback (``meta.feedback``). A row without ``orig_*`` fields is read from its stored prompt."""
    out = []
    for i, row in enumerate(rows):
        score = _score_1_5(row.get("orig_score"))
        if score is None:
            skipped["orig_score not 1-5"] += 1
            continue
        if "orig_instruction" in row:
            descriptions = [row.get(f"orig_score{k}_description") for k in range(1, 6)]
            if row.get("orig_criteria") is None or any(d is None for d in descriptions):
                skipped["incomplete rubric"] += 1
                continue
            fields = {"instruction": row["orig_instruction"], "response": row["orig_response"],
                      "reference": row.get("orig_reference_answer") or None,
                      "rubric": records.rubric(row["orig_criteria"], descriptions)}
        else:
            try:
                fields = parse_prometheus_prompt(row.get("instruction"), name, i)
            except RecordError:
                skipped["unparseable instruction"] += 1
                continue
        out.append(records.absolute(benchmark=name, id=row.get("id", i), row=i, gold_score=score, scale=(1, 5),
                                    meta={"feedback": row.get("orig_feedback") or ""}, **fields))
    return out


def preference_collection_records(rows: list[dict], name: str, skipped: Counter) -> list[dict]:
    """Preference Collection rows -> pairwise records (gold ``orig_preference``; ``gold_scores`` from
    ``orig_score_A/B`` when numeric). Its rubric is the criterion line only (no level descriptions), kept in
    ``meta.criteria``; the PHUDGE prompt has no criterion-only form, so these records carry no rubric."""
    out = []
    for i, row in enumerate(rows):
        pref = str(row.get("orig_preference", "")).strip().upper()
        if pref not in ("A", "B"):
            skipped["orig_preference not A/B"] += 1
            continue
        sa, sb = _score_1_5(row.get("orig_score_A")), _score_1_5(row.get("orig_score_B"))
        out.append(records.pairwise(
            benchmark=name, id=i, row=i, instruction=row["orig_instruction"], response_a=row["orig_response_A"],
            response_b=row["orig_response_B"], gold=pref.lower(), reference=row.get("orig_reference_answer") or None,
            gold_scores=[sa, sb] if sa is not None and sb is not None else None,
            meta={"criteria": row.get("orig_criteria") or "", "feedback": row.get("orig_feedback") or ""}))
    return out


_verdict = verdict_from_scores


def judgelm_train_records(rows: list[dict], name: str, skipped: Counter) -> list[dict]:
    """JudgeLM-100K train rows -> pairwise records. The judgement without reference (``text`` / ``score``) is
    the record's gold; the reference-guided one (``text_w_reference`` / ``score_w_reference``) travels in
    ``meta.judgelm`` with the reference answer (``record.reference``), for reference support."""
    out = []
    for i, row in enumerate(rows):
        text, score = row.get("text"), row.get("score")
        if text == "error" or not isinstance(text, str):
            skipped["text == 'error'"] += 1
            continue
        if not (isinstance(score, (list, tuple)) and len(score) == 2) or list(map(float, score)) == [-1.0, -1.0]:
            skipped["score invalid ([-1, -1])"] += 1
            continue
        ref = row.get("reference") or {}
        ref_text = ref.get("text") if isinstance(ref, dict) else None
        text_ref, score_ref = row.get("text_w_reference"), row.get("score_w_reference")
        ref_ok = (isinstance(ref_text, str) and isinstance(text_ref, str) and text_ref != "error"
                  and isinstance(score_ref, (list, tuple)) and len(score_ref) == 2
                  and list(map(float, score_ref)) != [-1.0, -1.0])
        if ref_text is not None and not ref_ok:
            skipped["reference judgement unusable (kept without reference)"] += 1
        s1, s2 = float(score[0]), float(score[1])
        out.append(records.pairwise(
            benchmark=name, id=row.get("question_id", i), row=i, instruction=row["question_body"],
            response_a=row["answer1_body"], response_b=row["answer2_body"], gold=_verdict(s1, s2),
            gold_scores=[s1, s2], reference=ref_text if ref_ok else None, prompt_family="judgelm",
            label_encoding="judgelm",
            meta={"judgelm": {"text": text, "score": [s1, s2],
                              "text_w_reference": text_ref if ref_ok else None,
                              "score_w_reference": [float(x) for x in score_ref] if ref_ok else None}}))
    return out


PANDALM_RESULTS = {"1": "a", "2": "b", "tie": "tie"}


def pandalm_train_records(rows: list[dict], name: str, skipped: Counter) -> list[dict]:
    """PandaLM train rows ``{"inputs": {instruction, input, response1, response2}, "outputs":
    {evaluation_result, evaluation_reason, reference_response}}`` -> pairwise records."""
    out = []
    for i, row in enumerate(rows):
        inputs, outputs = row.get("inputs"), row.get("outputs")
        if not isinstance(inputs, dict) or not isinstance(outputs, dict):
            skipped["no inputs / outputs object"] += 1
            continue
        result = str(outputs.get("evaluation_result", "")).strip().lower()
        if result not in PANDALM_RESULTS:
            skipped["evaluation_result not 1 / 2 / Tie"] += 1
            continue
        instruction, input_text = str(inputs.get("instruction", "")), str(inputs.get("input") or "")
        out.append(records.pairwise(
            benchmark=name, id=i, row=i,
            instruction=f"{instruction}\n\n{input_text}" if input_text else instruction,
            response_a=str(inputs.get("response1", "")), response_b=str(inputs.get("response2", "")),
            gold=PANDALM_RESULTS[result], prompt_family="pandalm", label_encoding="pandalm",
            meta={"task_instruction": instruction, "input": input_text,
                  "pandalm": {"reason": str(outputs.get("evaluation_reason") or ""),
                              "reference": str(outputs.get("reference_response") or "")}}))
    return out


POOL_LABELS = ("a", "b", "tie")
POOL_FIELDS = ("id", "source", "prompt", "response_a", "response_b", "label")


def preference_pool(benchmark: str = "preference_pool", file_name: str = "pairs.jsonl", **_) -> list[dict]:
    """The project's pairwise training pool (``shared/data/train/pairs.jsonl``, its README gives the schema):
    one JSON object per line ``{id, source, prompt, response_a, response_b, label: a | b | tie, label_origin,
    license}`` -> pairwise records (no rubric, no reference). The pool's own ``source`` (hh-rlhf-harmless-base,
    fgrlhf-qa-feedback, arena-bench-v1-gpt4-rating) is kept in ``meta.source`` (so a judge's card can say which
    it saw), with ``label_origin`` and ``license``. A malformed row stops with an error naming file, row, field."""
    path = locate(file_name)
    rows = read_rows(path)
    if not isinstance(rows, list):
        raise RecordError(path, "-", "<top level>", "expected JSON Lines of pair objects")
    out, seen = [], set()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise RecordError(path, i, "<row>", f"row is a {type(row).__name__}, not an object")
        for key in POOL_FIELDS:
            if key not in row:
                raise RecordError(path, i, key, "missing")
        for key in ("prompt", "response_a", "response_b", "source"):
            if not isinstance(row[key], str) or not row[key].strip():
                raise RecordError(path, i, key, "expected non-empty text")
        if row["label"] not in POOL_LABELS:
            raise RecordError(path, i, "label", f"expected 'a', 'b' or 'tie', got {row['label']!r}")
        if row["id"] in seen:
            raise RecordError(path, i, "id", f"duplicate id {row['id']!r}")
        seen.add(row["id"])
        out.append(records.pairwise(
            benchmark=benchmark, id=row["id"], row=i, instruction=row["prompt"], response_a=row["response_a"],
            response_b=row["response_b"], gold=row["label"],
            meta={"source": row["source"], "label_origin": str(row.get("label_origin", "")),
                  "license": str(row.get("license", ""))}))
    return out


def pool_sources(recs: list[dict]) -> dict[str, int]:
    """Records per upstream source of the preference pool (``meta.source`` of records that carry a
    ``label_origin``), for the log and the model card; empty for the other sources."""
    return dict(sorted(Counter(r["meta"]["source"] for r in recs if "label_origin" in r["meta"]).items()))


@dataclass
class SourceSpec:
    kind: str
    convert: Callable | None = None             # rows -> records (training sets)
    pool_loader: Callable | None = None         # judge_tasks.loaders function (local pool formats)
    hub: tuple | None = None                    # default (repo, revision, data_files)


SOURCES = {
    "feedback_collection": SourceSpec("absolute", feedback_collection_records, hub=FEEDBACK_COLLECTION),
    "preference_collection": SourceSpec("pairwise", preference_collection_records, hub=PREFERENCE_COLLECTION),
    "judgelm_train": SourceSpec("pairwise", judgelm_train_records, hub=JUDGELM_TRAIN),
    "pandalm_train": SourceSpec("pairwise", pandalm_train_records),
    "prometheus_absolute": SourceSpec("absolute", pool_loader=loaders.prometheus_absolute),
    "prometheus_pairwise": SourceSpec("pairwise", pool_loader=loaders.prometheus_pairwise),
    "autoj_pairs": SourceSpec("pairwise", pool_loader=loaders.autoj_pairs),
    "preference_pool": SourceSpec("pairwise", pool_loader=preference_pool),
}


def load_source(sc: SourceConfig, allow_eval_files: list[str], base: Path | None = None) -> Loaded:
    if sc.source not in SOURCES:
        raise ValueError(f"unknown training source {sc.source!r}; known: {', '.join(sorted(SOURCES))}")
    spec = SOURCES[sc.source]
    skipped: Counter = Counter()
    path = resolve_path(sc.path, base) if sc.path else (locate(sc.file) if sc.file else None)
    if spec.pool_loader is not None:
        if path is None:
            raise ValueError(f"source {sc.source}: give path: (a local file) or file: (an upstream file name "
                             "under JUDGE_DATA_DIR)")
        if not path.is_file():
            raise FileNotFoundError(f"source {sc.source}: {path} is not a file")
        overlaps = guard.check_files(sc.source, [path], allow_eval_files)
        recs = spec.pool_loader(f"{sc.source}:{path.name}", path)  # the loader reads this path, nothing searched
        origin, digests = str(path), [guard.sha256(path)]
    elif path is not None:
        if not path.exists():
            raise FileNotFoundError(f"source {sc.source}: {path} does not exist")
        files = _files_of(path)
        overlaps = guard.check_files(sc.source, files, allow_eval_files)
        recs = spec.convert(_rows_from_path(path), sc.source, skipped)
        origin, digests = str(path), [guard.sha256(f) for f in files]
    else:
        if spec.hub is None:
            raise ValueError(f"source {sc.source} is not on the hub: give path: (a local file or folder)")
        repo = sc.hub or spec.hub[0]
        revision = sc.revision or (spec.hub[1] if repo == spec.hub[0] else None)
        data_files = sc.data_files if sc.data_files is not None else (spec.hub[2] if repo == spec.hub[0] else None)
        overlaps = guard.check_hub(sc.source, repo, data_files, allow_eval_files)
        recs = spec.convert(_rows_from_hub(repo, revision, data_files), sc.source, skipped)
        origin, digests = f"hf://datasets/{repo}@{revision or 'main'}" + (f"/{data_files}" if data_files else ""), []
    if sc.limit is not None:
        recs = recs[: sc.limit]
    for r in recs:
        r["meta"]["_source"] = sc.source
        r["meta"]["_weight"] = float(sc.weight)
    if skipped:
        log.warning("source %s: skipped %s", sc.source, dict(skipped))
    return Loaded(name=sc.source, records=recs, origin=origin, kind=spec.kind, skipped=skipped,
                  overlaps=overlaps, sha256=digests)


# --------------------------------------------------------------------------- split
def _group_key(rec: dict, by: str) -> str:
    if by == "instruction":
        return hashlib.sha1(rec["instruction"].encode("utf-8")).hexdigest()
    return f"{rec['meta'].get('_source')}:{rec['benchmark']}:{rec['row']}"


def split(recs: list[dict], fraction: float, seed: int, by: str = "row",
          max_validation: int | None = None) -> tuple[list[dict], list[dict]]:
    """A seeded train / validation split (``fraction`` of the records, at least one when ``fraction > 0``);
    ``by="instruction"`` keeps every response to one instruction on the same side."""
    if fraction <= 0 or len(recs) < 2:
        return list(recs), []
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(recs):
        groups.setdefault(_group_key(r, by), []).append(i)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    target = max(1, math.ceil(fraction * len(recs)))
    if max_validation is not None:
        target = min(target, max_validation)
    val_idx: set[int] = set()
    for k in keys:
        if len(val_idx) >= target:
            break
        val_idx.update(groups[k])
    if len(val_idx) >= len(recs):
        raise ValueError("the validation split would take every record: lower data.validation_fraction")
    train = [r for i, r in enumerate(recs) if i not in val_idx]
    val = [r for i, r in enumerate(recs) if i in val_idx]
    return train, val


@dataclass
class Dataset:
    train: list[dict]
    validation: list[dict]
    sources: list[Loaded]

    @property
    def overlaps(self) -> list:
        return [o for s in self.sources for o in s.overlaps]


def build(cfg: DataConfig, config_path: str | None = None) -> Dataset:
    base = Path(config_path).resolve().parent if config_path else None
    loaded = [load_source(sc, cfg.allow_eval_files, base) for sc in cfg.train]
    for ld in loaded:
        log.info("source %s: %d records from %s%s", ld.name, len(ld.records), ld.origin,
                 f" (by upstream source: {ld.by_source})" if ld.by_source else "")
    allowed_unused = set(cfg.allow_eval_files) - {x for ld in loaded for o in ld.overlaps
                                                   for x in [o.file, *o.benchmarks, *o.tasks]}
    if allowed_unused:
        log.warning("data.allow_eval_files names %s, which no training source uses", sorted(allowed_unused))
    recs = [r for ld in loaded for r in ld.records]
    if not recs:
        raise ValueError("the training sources gave no records")
    train, val = split(recs, cfg.validation_fraction, cfg.split_seed, cfg.split_by, cfg.max_validation)
    return Dataset(train=train, validation=val, sources=loaded)
