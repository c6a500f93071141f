"""The one reader (and the crash-safe writer) of the files lm-eval and the tools write, shared by ``judge-score``,
``judge-leaderboard`` and ``judge-report``.

* **samples logs** ``samples_<task>_<date>.jsonl`` (``--log_samples``): ``samples_task``, ``find_samples``,
  ``read_samples`` (one line per document of one filter) and the fields of a line (``prompt_text``,
  ``generation``, ``doc_field``);
* **results files** ``results_<date>.json``: ``find_results``, ``read_results`` (a file that is not an lm-eval
  results file is refused with an error naming it and what is wrong), ``samples_of`` (the samples logs that
  belong to a results file) and ``run_limit`` (the ``--limit`` a run was made with, if any);
* **graded files** of ``judge-score`` (``samples_<task>_judged_<judge>-<key>.jsonl``): ``read_graded`` /
  ``append_lines``. Lines are appended and fsync'ed per batch, so a kill at any moment leaves complete lines
  plus at most one torn last line; on resume the torn tail is dropped, counted and cut from the file, while a
  corrupt line before the last one is an error naming the file and the line.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

#: file-name prefix of ``judge-score``'s own results files (not runs of a judge task)
JUDGED_RESULTS_PREFIX = "results_judge_"
_SAMPLES = re.compile(r"^samples_(?P<task>.+)_(?P<date>[^_]+)\.jsonl$")


class ResultsFileError(ValueError):
    """A file given as lm-eval results (or samples, or graded lines) that is not one: names the file and why."""


def _json_lines(path: Path):
    """``(line number, text)`` of the non-empty lines of a UTF-8 file; bad bytes name the file and the line."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ResultsFileError(f"{path}: line {lineno}: not UTF-8 ({err.reason} at byte {err.start})") \
                    from None
            if text.strip():
                yield lineno, text


# --------------------------------------------------------------------------- samples logs
def samples_task(path: Path) -> tuple[str, str]:
    """Task name and date id of ``samples_<task>_<date>.jsonl`` (lm-eval's ``get_file_task_name`` rule)."""
    m = _SAMPLES.match(Path(path).name)
    if not m:
        raise ValueError(f"{path}: not an lm-eval samples file (samples_<task>_<date>.jsonl)")
    return m["task"], m["date"]


def find_samples(paths) -> list[Path]:
    """Samples files of the given files / folders; in a folder the latest one of every task (judged files skipped)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_file():
            task, _ = samples_task(p)
            if "_judged" in task:
                raise ValueError(f"{p}: a judge-score output (graded lines), not the samples of a run to grade")
            out.append(p)
            continue
        if not p.is_dir():
            raise FileNotFoundError(f"{p}: no such file or folder")
        latest: dict[str, tuple[str, Path]] = {}
        for f in sorted(p.rglob("samples_*.jsonl")):
            try:
                task, date = samples_task(f)
            except ValueError:
                continue
            if "_judged" in task:
                continue
            key = f"{f.parent}/{task}"
            if key not in latest or date > latest[key][0]:
                latest[key] = (date, f)
        found = [f for _, f in latest.values()]
        if not found:
            raise FileNotFoundError(f"{p}: no samples_<task>_<date>.jsonl files (run lm_eval with --log_samples)")
        out += sorted(found)
    return out


def read_sample_lines(path: Path) -> list[dict]:
    """Every logged line of a samples file, as written; a line that is not a JSON object with a ``doc_id`` is an
    error naming the file and the line."""
    rows = []
    for lineno, line in _json_lines(Path(path)):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ResultsFileError(f"{path}: line {lineno}: not JSON ({err.msg})") from None
        if not isinstance(row, dict) or "doc_id" not in row:
            raise ResultsFileError(f"{path}: line {lineno}: not an lm-eval sample (no doc_id)")
        rows.append(row)
    return rows


def read_samples(path: Path, filter_key: str | None = None) -> list[dict]:
    """One logged line per document (``filter_key``, default the first filter seen), sorted by ``doc_id``."""
    rows = read_sample_lines(path)
    if filter_key is None and rows:
        filter_key = rows[0].get("filter", "none")
    by_id = {}
    for row in rows:
        if row.get("filter", "none") == filter_key:
            by_id.setdefault(row["doc_id"], row)
    if rows and not by_id:
        filters = sorted({r.get("filter", "none") for r in rows})
        raise ValueError(f"{path}: no samples with filter {filter_key!r}; filters present: {filters}")
    return [by_id[k] for k in sorted(by_id)]


def prompt_text(sample: dict) -> str:
    """The text the model saw: the first argument of the first request (saved or in-memory layout)."""
    args = sample.get("arguments")
    first = None
    if isinstance(args, dict) and args:
        req = args.get("gen_args_0", next(iter(args.values())))
        first = req.get("arg_0") if isinstance(req, dict) else None
    elif isinstance(args, (list, tuple)) and args:
        req = args[0]
        first = req[0] if isinstance(req, (list, tuple)) and req else req
    if not isinstance(first, str):
        raise ValueError(f"doc_id {sample.get('doc_id')}: no prompt text in 'arguments'")
    return first


def generation(sample: dict, raw: bool = False) -> str | None:
    """The model's output: ``filtered_resps`` (``raw``: ``resps``) of the first request; None if there is none."""
    value = sample.get("resps" if raw else "filtered_resps")
    while isinstance(value, (list, tuple)):
        if not value:
            return None
        value = value[0]
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def doc_field(sample: dict, field: str):
    """``prompt`` (what the model saw), ``target`` (the logged target) or a (dotted) field of the document."""
    if field == "prompt":
        return prompt_text(sample)
    if field == "target":
        return sample.get("target")
    value = sample.get("doc")
    for part in field.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            fields = sample["doc"] if isinstance(sample.get("doc"), dict) else None
            raise KeyError(f"doc_id {sample.get('doc_id')}: the document has no field {field!r}"
                           + (f" (fields: {', '.join(fields)})" if fields else ""))
    return value


# --------------------------------------------------------------------------- results files
def find_results(path: Path) -> list[Path]:
    """lm-eval results files: the file itself, or every ``results_*.json`` under a folder (``judge-score``'s own
    ``results_judge_*`` files left out)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such file or folder")
    found = sorted(p for p in path.rglob("results_*.json") if not p.name.startswith(JUDGED_RESULTS_PREFIX))
    if not found:
        raise FileNotFoundError(f"{path}: no lm-eval results_*.json files")
    return found


def read_results(path: Path) -> dict:
    """An lm-eval results file, checked: a JSON object whose ``results`` maps task -> object of metrics and whose
    ``config`` (when present) is an object. Anything else is a ``ResultsFileError`` naming the file."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ResultsFileError(f"{path}: not an lm-eval results file: not UTF-8 (byte {err.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ResultsFileError(f"{path}: not an lm-eval results file: not JSON ({err.msg} at line {err.lineno}; "
                               "a run cut short?)") from None
    if not isinstance(data, dict):
        raise ResultsFileError(f"{path}: not an lm-eval results file: the top level is a "
                               f"{type(data).__name__}, not an object")
    results = data.get("results")
    if not isinstance(results, dict):
        raise ResultsFileError(f"{path}: not an lm-eval results file: no 'results' object")
    for task, metrics in results.items():
        if not isinstance(metrics, dict):
            raise ResultsFileError(f"{path}: not an lm-eval results file: results[{task!r}] is a "
                                   f"{type(metrics).__name__}, not an object of metrics")
    for key in ("config", "configs", "versions", "n-samples"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise ResultsFileError(f"{path}: not an lm-eval results file: {key!r} is a {type(data[key]).__name__}")
    return data


def run_limit(data: dict, task: str | None = None):
    """The ``--limit`` a run was made with (``config.limit``), or, for ``task``, whether fewer documents were
    evaluated than the task has (``n-samples`` effective < original); None for a full run."""
    limit = (data.get("config") or {}).get("limit")
    if limit is not None:
        return limit
    if task is not None:
        n = (data.get("n-samples") or {}).get(task) or {}
        if isinstance(n, dict) and isinstance(n.get("original"), int) and isinstance(n.get("effective"), int) \
                and n["effective"] < n["original"]:
            return n["effective"]
    return None


def samples_of(results_file: Path, tasks) -> dict[str, Path]:
    """``{task: samples log}`` of a results file: the log with the same date id, else the latest of that task
    beside it."""
    results_file = Path(results_file)
    date = results_file.name[len("results_"):-len(".json")]
    out = {}
    for task in tasks:
        exact = results_file.with_name(f"samples_{task}_{date}.jsonl")
        if exact.is_file():
            out[task] = exact
            continue
        others = [p for p in sorted(results_file.parent.glob(f"samples_{task}_*.jsonl"))
                  if re.fullmatch(rf"samples_{re.escape(task)}_[^_]+\.jsonl", p.name)]
        if others:
            out[task] = others[-1]
    return out


# --------------------------------------------------------------------------- graded files (judge-score)
def read_graded(path: Path, key: str | None = None, provenance: dict | None = None) -> tuple[dict, int]:
    """Lines already graded, by ``doc_id``, and how many torn last lines were dropped (0 or 1).

    Whatever follows the last newline is what a kill left half-written: it is dropped, counted and cut from the
    file so that appending continues on a line boundary. A complete line that is not a graded JSON object, a
    ``doc_id`` graded twice, a line of another grading (``key``), or one whose ``provenance`` fields (package
    version, judge prompt, judge weights) differ from this run's is a ``ResultsFileError`` naming the file, the
    line and the field: such a file was not written by an interrupted ``judge-score`` of this judge and is not
    resumed."""
    path = Path(path)
    if not path.exists():
        return {}, 0
    data = path.read_bytes()
    torn = 0
    cut = data.rfind(b"\n") + 1
    if cut < len(data):
        torn = 1
        with open(path, "r+b") as f:
            f.truncate(cut)
            f.flush()
            os.fsync(f.fileno())
        data = data[:cut]
    done: dict = {}
    for lineno, raw in enumerate(data.split(b"\n")[:-1], start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ResultsFileError(f"{path}: line {lineno}: corrupt graded line ({err}); only a torn last line "
                                   "is repaired on resume: delete the file to grade afresh") from None
        if not isinstance(row, dict) or "doc_id" not in row:
            raise ResultsFileError(f"{path}: line {lineno}: not a graded line (no doc_id)")
        if key is not None and row.get("grading") != key:
            raise ResultsFileError(f"{path}: line {lineno}: graded with another configuration "
                                   f"({row.get('grading')!r}, expected {key!r})")
        for field, value in (provenance or {}).items():
            if row.get(field) != value:
                raise ResultsFileError(
                    f"{path}: line {lineno}: graded with {field} {row.get(field)!r}, this run has {value!r}: not "
                    "resumed (the grades would mix); delete or move the file to grade afresh")
        if row["doc_id"] in done:
            raise ResultsFileError(f"{path}: line {lineno}: doc_id {row['doc_id']!r} graded twice")
        done[row["doc_id"]] = row
    return done, torn


def append_lines(f, lines: list[str]) -> None:
    """Append complete lines to an open file and make them durable (one write, flush, fsync): a batch is either
    on disk or, after a kill, a torn tail that ``read_graded`` drops."""
    f.write("".join(line + "\n" for line in lines))
    f.flush()
    os.fsync(f.fileno())
