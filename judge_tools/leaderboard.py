"""``judge-leaderboard``: paper-style tables across judges from lm-eval results files, and one submission per judge.

::

    judge-leaderboard out/pandalm7b out/phudge            # folders (results_*.json found at any depth) or files
    judge-leaderboard PandaLM-7B=out/a phudge-tiny=out/b  # NAME=PATH names a judge
    judge-leaderboard out/ --out board/ --catalog tasks.yaml

Inputs are the results JSON files lm-eval writes for this package's tasks (``judge-score``'s
``results_judge_*`` files and tasks of other packages are skipped; a file that is not an lm-eval results file
stops the run with an error naming it). A judge is one model + model args (``config.model`` /
``config.model_args``); several results files of one judge are merged (for a task run twice, the later file
wins). Its name is ``NAME`` when given, else ``<model>:<adapter / pretrained / path file name>``.

**``--limit`` runs are refused**: a run made with ``lm_eval --limit`` (``config.limit`` in its results, or fewer
documents evaluated than the task has) scored a subset, and its numbers are not comparable with full runs.
``--allow_limited`` takes it anyway and marks it: the judge's name gets `` [limited]`` in every table, the
``n`` column and the submission file (``limit``) say how many documents were scored. On a ``<task>_swap`` task
``--limit N`` counts documents, and every pair is two documents (both orders): ``--limit 10`` is 5 pairs.

Tables (markdown on stdout and in ``--out``; every measured value is ``value ± stderr`` from the results; the
layout, i.e. headings and metric columns, is data in ``judge_tools/tables.yaml``):

* **Absolute grading (PHUDGE Tables 2-3)**: per absolute task, Pearson / Kendall tau-b / Spearman / R2 / MAE / MSE
  (and, for a task with classes, accuracy / macro P / R / F1, JudgeLM Table 9).
* **Relative grading (PHUDGE Table 4)**: accuracy (ties counted as a class) per pairwise task.
* **Agreement (JudgeLM Table 1)**: per pairwise task, agreement (accuracy), macro precision / recall / F1 and,
  where the ``<task>_swap`` variant was run, consistency and position bias (first / second). Agreement / P / R /
  F1 come from the published-order task when it was run, otherwise from the swap variant (swap-resolved
  verdicts; the row's ``convention`` column says which).

Published numbers come from the catalog (``judge_tasks.registry.published_rows()``: the package's
``tasks.yaml``, also after ``pip install``; ``--catalog`` reads another) and appear as rows named
``<judge> (published)``.

Files written to ``--out DIR``: ``leaderboard.md``, ``leaderboard.csv`` and ``leaderboard.json`` (long format:
one row per judge, task and metric: ``judge, task, metric, value, stderr, origin (measured | published),
source``) and ``<judge>/submission.json`` per judge (``judge_tools.submission``).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from pathlib import Path

from judge_tools.board import LIMITED, Board, tables
from judge_tools.results import find_results, read_results, run_limit
from judge_tools.submission import SCHEMA_FILE, base_task, number, submission, validate_submission

__all__ = ["SCHEMA_FILE", "REPO_CATALOG", "Board", "load_judges", "published_rows", "validate_submission", "main"]



def _default_catalog() -> Path | None:
    from judge_tasks import registry

    try:
        return registry.catalog_path()
    except FileNotFoundError:
        return None


REPO_CATALOG = _default_catalog() or Path(__file__).resolve().parents[1] / "tasks.yaml"


# --------------------------------------------------------------------------- this package's tasks
def package_tasks() -> set[str]:
    """The judge tasks of this package (the catalog's tasks and their ``_swap`` variants)."""
    from judge_tasks import registry

    names = set()
    for name, entry in registry.benchmarks().items():
        names.add(name)
        if entry.get("swap"):
            names.add(entry["swap"]["name"])
    return names


# --------------------------------------------------------------------------- catalog
def catalog_entries(path: Path | str | None) -> dict:
    """``{task: entry}`` of a catalog; ``{}`` when the file is not there."""
    from judge_tasks import registry

    if path is None or not Path(path).is_file():
        return {}
    return registry.benchmarks(path)


def published_rows(path: Path | str | None) -> list[dict]:
    """The catalog's published numbers as rows of the board; an entry's own ``task`` (the plain task or its
    ``_swap`` variant, whichever convention the number follows) says where it goes."""
    from judge_tasks import registry

    entries = catalog_entries(path)
    if not entries:
        return []
    aliases = tables()["metric_aliases"]
    rows = []
    for pub in registry.published_rows(path):
        if not isinstance(pub, dict) or "judge" not in pub or "metric" not in pub:
            continue
        metric = str(pub["metric"]).strip()
        metric = aliases.get(metric.lower(), metric)
        task = str(pub.get("task"))
        kind = (entries.get(base_task(task)) or {}).get("kind")
        source = str(pub.get("source", "")) + (f" ({pub['note']})" if pub.get("note") else "")
        rows.append({"judge": f"{pub['judge']} (published)", "task": task, "metric": metric,
                     "kind": kind if kind in ("absolute", "pairwise") else None, "value": number(pub.get("value")),
                     "stderr": number(pub.get("stderr")), "origin": "published", "source": source})
    return rows


# --------------------------------------------------------------------------- results
def judge_label(config: dict) -> str:
    model = str(config.get("model", "?"))
    args = config.get("model_args") or {}
    if isinstance(args, str):
        from lm_eval.utils import simple_parse_args_string

        args = simple_parse_args_string(args)
    for key in ("adapter", "pretrained", "path", "model", "base_url"):
        if args.get(key):
            name = Path(str(args[key]).rstrip("/")).name
            return f"{model}:{re.sub(r'[.](json|jsonl)$', '', name)}"
    return model


def _config_key(config: dict) -> str:
    return json.dumps([config.get("model"), config.get("model_args")], sort_keys=True, default=str)


class LimitedRunError(SystemExit):
    """A ``--limit`` run given without ``--allow_limited``."""


def _limit_message(file, task, limit, n) -> str:
    swap = (" On a _swap task --limit counts documents, two per pair (both orders): "
            f"{limit} documents = {limit / 2:g} pairs." if task.endswith("_swap") and isinstance(limit, int) else "")
    return (f"judge-leaderboard: {file}: task {task} was run with --limit {limit} ({n} documents scored): a subset, "
            "not comparable with full runs. Rerun it without --limit, or pass --allow_limited to show it marked "
            f"'{LIMITED.strip()}'.{swap}")


def load_judges(specs: list[str], known_tasks: set[str] | None = None, allow_limited: bool = False) -> dict:
    """``{judge name: {"config", "tasks": {task: {result, config, version, n, limit, file, date, git_hash}}}}``."""
    known = package_tasks() if known_tasks is None else known_tasks
    judges: dict = {}
    names_by_key: dict = {}
    for spec in specs:
        name, path = None, Path(spec)
        if not path.exists() and "=" in spec:
            name, path = spec.split("=", 1)
            path = Path(path)
        for file in find_results(path):
            data = read_results(file)
            config = data.get("config") or {}
            key = _config_key(config)
            label = name or names_by_key.get(key) or judge_label(config)
            if name is None and label in judges and _config_key(judges[label]["config"]) != key:
                i = 2
                while f"{label}#{i}" in judges:
                    i += 1
                label = f"{label}#{i}"
            names_by_key.setdefault(key, label)
            judge = judges.setdefault(label, {"config": config, "lm_eval_version": data.get("lm_eval_version"),
                                              "tasks": {}})
            for task, result in data["results"].items():
                if task not in known:
                    continue
                n = ((data.get("n-samples") or {}).get(task) or {}).get("effective", result.get("sample_len"))
                limit = run_limit(data, task)
                if limit is not None and not allow_limited:
                    raise LimitedRunError(_limit_message(file, task, limit, n))
                previous = judge["tasks"].get(task)
                date = float(data.get("date") or 0)
                if previous is not None and previous["date"] > date:
                    continue
                judge["tasks"][task] = {
                    "result": result, "config": (data.get("configs") or {}).get(task, {}),
                    "version": (data.get("versions") or {}).get(task), "n": n, "limit": limit,
                    "file": str(file), "date": date, "git_hash": data.get("git_hash"),
                    "lm_eval_version": data.get("lm_eval_version")}
    judges = {k: v for k, v in judges.items() if v["tasks"]}
    return {(k + LIMITED if any(t["limit"] is not None for t in v["tasks"].values()) else k): v
            for k, v in judges.items()}


def measured_rows(judges: dict) -> list[dict]:
    rows = []
    for judge, info in judges.items():
        for task, t in sorted(info["tasks"].items()):
            for key, value in t["result"].items():
                metric, _, flt = key.partition(",")
                if not flt or metric.endswith("_stderr") or not isinstance(value, (int, float)) \
                        or isinstance(value, bool):
                    continue
                rows.append({"judge": judge, "task": task, "metric": metric, "value": number(value),
                             "stderr": number(t["result"].get(f"{metric}_stderr,{flt}")), "origin": "measured",
                             "source": t["file"]} | ({} if flt == "none" else {"filter": flt})
                            | ({} if t["limit"] is None else {"limit": t["limit"]}))
    return rows


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "judge"


# --------------------------------------------------------------------------- CLI
def build(specs: list[str], catalog_path=None, all_tasks: bool = False, allow_limited: bool = False):
    """``(board, judges, catalog path or None)``."""
    path = Path(catalog_path) if catalog_path else REPO_CATALOG
    found = path if path is not None and path.is_file() else None
    judges = load_judges(specs, allow_limited=allow_limited)
    if not judges:
        raise SystemExit("judge-leaderboard: no results of lm-eval-judges tasks in " + " ".join(specs))
    board = Board(measured_rows(judges) + published_rows(found), judges, all_tasks)
    return board, judges, found


def write_outputs(board: Board, judges: dict, out: Path, catalog_path) -> dict:
    from judge_tasks import registry

    out.mkdir(parents=True, exist_ok=True)
    text = board.markdown(catalog_path)
    (out / "leaderboard.md").write_text(text, encoding="utf-8")
    fields = ["judge", "task", "metric", "value", "stderr", "origin", "source", "limit"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in board.rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in fields})
    (out / "leaderboard.csv").write_text(buf.getvalue(), encoding="utf-8")
    (out / "leaderboard.json").write_text(json.dumps({
        "judges": {j: {"model": i["config"].get("model"), "model_args": i["config"].get("model_args"),
                       "tasks": sorted(i["tasks"]),
                       "limited": {t: v["limit"] for t, v in i["tasks"].items() if v["limit"] is not None}}
                   for j, i in judges.items()},
        "catalog": None if catalog_path is None else str(catalog_path),
        "rows": board.rows}, indent=2, default=str), encoding="utf-8")
    entries = registry.benchmarks()  # the package's own facts (data files), whatever --catalog says
    subs = {}
    for judge, info in judges.items():
        sub = submission(judge, info, entries)
        validate_submission(sub, required=False)
        folder = out / _slug(judge)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "submission.json").write_text(json.dumps(sub, indent=2), encoding="utf-8")
        subs[judge] = folder / "submission.json"
    return subs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="judge-leaderboard", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", nargs="+", help="results JSON files or folders; NAME=PATH names a judge")
    p.add_argument("--catalog", default=None, help=f"the task catalog with published numbers (default {REPO_CATALOG})")
    p.add_argument("--out", default=None, help="folder for leaderboard.{md,csv,json} and <judge>/submission.json")
    p.add_argument("--all_tasks", action="store_true",
                   help="also show the published rows of tasks that none of the given judges ran")
    p.add_argument("--allow_limited", action="store_true",
                   help="take runs made with lm_eval --limit, marked '[limited]' (default: refuse them)")
    opts = p.parse_args(argv)
    board, judges, catalog_path = build(opts.results, opts.catalog, opts.all_tasks, opts.allow_limited)
    if opts.catalog and catalog_path is None:
        print(f"judge-leaderboard: no catalog at {opts.catalog}: measured rows only", file=sys.stderr)
    print(board.markdown(catalog_path))
    if opts.out:
        subs = write_outputs(board, judges, Path(opts.out), catalog_path)
        print(f"judge-leaderboard: wrote {Path(opts.out) / 'leaderboard.md'}, .csv, .json and "
              f"{len(subs)} submission file(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
