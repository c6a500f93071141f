"""The submission file of ``judge-leaderboard``: one JSON file per judge (schema ``submission.schema.json``).

::

    {
      "schema_version": "1.0",
      "date": "2026-01-01T00:00:00+00:00",          # when the submission was written (ISO 8601, UTC)
      "judge": {"name": "phudge:adapter", "model": "phudge", "model_args": {"adapter": "..."}},
      "package": {"name": "lm-eval-judges", "version": "0.1.0"},
      "harness": {"name": "lm_eval", "version": "0.4.13"},
      "tasks": {
        "<task>": {
          "version": 1.0, "benchmark": "<task>", "kind": "pairwise", "n_samples": 999,
          "limit": null,                                 # the run's --limit (null: a full run)
          "conventions": "Verdicts in {a, b, tie}; ...",   # the task's metadata.conventions
          "data": [{"file": "<upstream file>",           # the files the task reads and their pinned sources
                    "source": "https://raw.githubusercontent.com/<repo>/<commit>/<path>", "revision": "<commit>"}],
          "metrics": {"accuracy": {"value": 0.6677, "stderr": 0.0114}, "parse_failures": {"value": 0, "stderr": null}},
          "results_file": "out/.../results_<date>.json", "evaluated_at": "2026-01-01T00:00:00+00:00",
          "git_hash": "abc1234"
        }
      }
    }

A metric that is NaN (e.g. a correlation of constant predictions) or has no stderr is ``null``. The data files
come from the package's catalog (``judge_tasks.registry``): the files the benchmark's ``loader`` reads (its
``file`` / ``*_file`` arguments; any ``*_file`` option the run gave in the task metadata wins), with the pinned
URL of ``source.files``; a bundled file; for a catalog entry without ``loader``, the ``source.files`` whose
``role`` is ``data`` (the default; ``predictions`` / ``alternative`` files are not read by the task).
"""
from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from pathlib import Path

SCHEMA_VERSION = "1.0"
SCHEMA_FILE = Path(__file__).with_name("submission.schema.json")
DATA_ROLE = "data"


def number(value):
    """A finite float, or None (NaN, booleans, text)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def base_task(task: str) -> str:
    return task[: -len("_swap")] if task.endswith("_swap") else task


def task_kind(result: dict) -> str:
    names = {k.split(",")[0] for k in result}
    return "absolute" if "pearson" in names else "pairwise"


def _revision(url: str) -> str | None:
    m = re.match(r"hf://datasets/[^@]+@([^/]+)/", url)
    if m:
        return m.group(1)
    m = re.match(r"https://raw\.githubusercontent\.com/[^/]+/[^/]+/([^/]+)/", url)
    return m.group(1) if m else None


def _file_arguments(mapping: dict) -> dict:
    """``{argument: file name}`` of the arguments that name a file (``file``, ``<what>_file``)."""
    return {k: str(v) for k, v in (mapping or {}).items()
            if (k == "file" or k.endswith("_file")) and isinstance(v, str) and v}


def data_files(task_config: dict, entry: dict | None) -> list[dict]:
    """The upstream files a task read, with their pinned sources (see the module docstring)."""
    entry = entry or {}
    source = entry.get("source") or {}
    by_name = {f["name"]: f for f in source.get("files") or [] if isinstance(f, dict) and f.get("name")}
    loader = entry.get("loader")
    if isinstance(loader, dict):  # the files the loader reads, the run's options (task metadata) overriding
        read = {**_file_arguments(loader), **_file_arguments(task_config.get("metadata"))}
        names = list(dict.fromkeys(read.values()))
    else:
        names = [n for n, f in by_name.items() if f.get("role", DATA_ROLE) == DATA_ROLE]
        names += [v for v in _file_arguments(task_config.get("metadata")).values() if v not in names]
    out = []
    for name in names:
        url = (by_name.get(name) or {}).get("url")
        revision = (_revision(url) if url else None) or \
            (None if url is None or source.get("revision") is None else str(source["revision"]))
        out.append({"file": name, "source": url, "revision": revision})
    if not out and source.get("bundled"):
        out.append({"file": str(source["bundled"]), "source": "lm-eval-judges (bundled)", "revision": None})
    return out


def _iso(timestamp) -> str | None:
    ts = number(timestamp)
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat()


def _parsed_args(args) -> dict:
    if isinstance(args, str):
        from lm_eval.utils import simple_parse_args_string

        return simple_parse_args_string(args)
    return args or {}


def submission(judge: str, info: dict, entries: dict) -> dict:
    """The submission of one judge (``info`` as ``leaderboard.load_judges`` gives it; ``entries`` the catalog)."""
    from importlib.metadata import PackageNotFoundError, version

    import judge_tasks

    try:
        harness = version("lm_eval")
    except PackageNotFoundError:  # pragma: no cover - the harness is a dependency
        harness = None
    tasks = {}
    for task, t in sorted(info["tasks"].items()):
        cfg = t["config"]
        benchmark = (cfg.get("dataset_kwargs") or {}).get("benchmark", base_task(task))
        metrics = {}
        for key, value in t["result"].items():
            metric, _, flt = key.partition(",")
            if flt != "none" or metric.endswith("_stderr") or isinstance(value, bool) \
                    or not isinstance(value, (int, float)):
                continue
            metrics[metric] = {"value": number(value), "stderr": number(t["result"].get(f"{metric}_stderr,none"))}
        version_ = t["version"]
        tasks[task] = {
            "version": version_ if isinstance(version_, (int, float, str)) else None,
            "benchmark": benchmark, "kind": task_kind(t["result"]),
            "n_samples": None if t["n"] is None else int(t["n"]), "limit": t.get("limit"),
            "conventions": (cfg.get("metadata") or {}).get("conventions"),
            "data": data_files(cfg, entries.get(base_task(task))),
            "metrics": metrics, "results_file": t["file"], "evaluated_at": _iso(t["date"]),
            "git_hash": t["git_hash"],
        }
    return {
        "schema_version": SCHEMA_VERSION,
        "date": datetime.now(timezone.utc).isoformat(),
        "judge": {"name": judge, "model": str(info["config"].get("model")),
                  "model_args": json.loads(json.dumps(_parsed_args(info["config"].get("model_args")), default=str))},
        "package": {"name": "lm-eval-judges", "version": judge_tasks.__version__},
        "harness": {"name": "lm_eval", "version": info.get("lm_eval_version") or harness},
        "tasks": tasks,
    }


def validate_submission(sub: dict, required: bool = True) -> bool:
    """Raise ``jsonschema.ValidationError`` if ``sub`` does not follow ``submission.schema.json``; without
    ``jsonschema`` installed (it is not a runtime dependency) raise, or return False when not ``required``."""
    try:
        import jsonschema
    except ImportError:
        if required:
            raise
        return False

    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.validate(sub, schema, format_checker=jsonschema.FormatChecker())
    return True
