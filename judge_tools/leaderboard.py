"""``judge-leaderboard``: paper-style tables across judges from lm-eval results files, and one submission per judge.

::

    judge-leaderboard out/pandalm7b out/phudge            # folders (results_*.json found at any depth) or files
    judge-leaderboard PandaLM-7B=out/a phudge-tiny=out/b  # NAME=PATH names a judge
    judge-leaderboard out/ --out board/ --catalog tasks.yaml

Inputs are the results JSON files lm-eval writes for this package's tasks (``judge-score``'s
``results_judge_*`` files and tasks of other packages are skipped). A judge is one model + model args
(``config.model`` / ``config.model_args`` of the results); several results files of one judge are merged (for a
task run twice, the later file wins). Its name is ``NAME`` when given, else ``<model>:<adapter / pretrained /
path file name>``.

Tables (markdown on stdout and in ``--out``; every measured value is ``value ± stderr`` from the results):

* **Absolute grading (PHUDGE Tables 2-3)**: per absolute task, Pearson / Kendall tau-b / Spearman / R2 / MAE / MSE
  (and for MM-Vet the accuracy / macro P / R / F1 of its correctness classes, JudgeLM Table 9).
* **Relative grading (PHUDGE Table 4)**: accuracy (ties counted as a class) per pairwise task.
* **Agreement (JudgeLM Table 1)**: per pairwise task, agreement (accuracy), macro precision / recall / F1 and,
  where the ``<task>_swap`` variant was run, consistency and position bias (first / second). Agreement / P / R /
  F1 come from the published-order task when it was run, otherwise from the swap variant (swap-resolved
  verdicts; the row's ``convention`` column says which).

Published numbers come from the catalog (``tasks.yaml`` at the repo root, ``--catalog``; each task may hold
``published: [{judge, metric, value, source}]``) and appear as rows named ``<judge> (published)``; without a
catalog the tables hold the measured rows only.

Files written to ``--out DIR``: ``leaderboard.md``, ``leaderboard.csv`` and ``leaderboard.json`` (long format:
one row per judge, task and metric: ``judge, task, metric, value, stderr, origin (measured | published),
source``) and ``<judge>/submission.json`` per judge.

Submission file (``submission.json``; JSON Schema: ``judge_tools/submission.schema.json``, version ``1.0``)::

    {
      "schema_version": "1.0",
      "date": "2026-01-01T00:00:00+00:00",          # when the submission was written (ISO 8601, UTC)
      "judge": {"name": "phudge:adapter", "model": "phudge", "model_args": {"adapter": "..."}},
      "package": {"name": "lm-eval-judges", "version": "0.1.0"},
      "harness": {"name": "lm_eval", "version": "0.4.13"},
      "tasks": {
        "pandalm_test": {
          "version": 1.0, "benchmark": "pandalm_test", "kind": "pairwise", "n_samples": 999,
          "conventions": "Verdicts in {a, b, tie}; ...",     # the task's metadata.conventions
          "data": [{"file": "testset-v1.json",                # upstream files and their pinned sources
                    "source": "https://raw.githubusercontent.com/WeOpenML/PandaLM/<commit>/data/testset-v1.json",
                    "revision": "<commit>"}],
          "metrics": {"accuracy": {"value": 0.6677, "stderr": 0.0114}, "parse_failures": {"value": 0, "stderr": null}},
          "results_file": "out/.../results_<date>.json", "evaluated_at": "2026-01-01T00:00:00+00:00",
          "git_hash": "abc1234"
        }
      }
    }

A metric that is NaN (e.g. a correlation of constant predictions) or has no stderr is ``null``.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import math
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

SCHEMA_VERSION = "1.0"
SCHEMA_FILE = Path(__file__).with_name("submission.schema.json")
REPO_CATALOG = Path(__file__).resolve().parents[1] / "tasks.yaml"

ABSOLUTE_COLUMNS = [("pearson", "Pearson"), ("kendall", "Kendall"), ("spearman", "Spearman"), ("r2", "R²"),
                    ("mae", "MAE"), ("mse", "MSE")]
CLASS_COLUMNS = [("accuracy", "Accuracy"), ("precision_macro", "Precision"), ("recall_macro", "Recall"),
                 ("f1_macro", "F1")]
JUDGELM_COLUMNS = [("accuracy", "Agreement"), ("precision_macro", "Precision"), ("recall_macro", "Recall"),
                   ("f1_macro", "F1"), ("consistency", "Consistency"), ("bias_first", "Bias 1st"),
                   ("bias_second", "Bias 2nd")]
SWAP_ONLY = {"consistency", "bias_first", "bias_second", "delta_bias", "accuracy_first_order"}
#: how published rows may name a metric -> the metric of the results
METRIC_ALIASES = {"agreement": "accuracy", "acc": "accuracy", "precision": "precision_macro",
                  "recall": "recall_macro", "f1": "f1_macro", "kendall_tau": "kendall", "tau": "kendall",
                  "pearson_r": "pearson", "spearman_rho": "spearman", "r^2": "r2", "r²": "r2"}

#: upstream files of each benchmark (the names ``judge_tasks.loaders`` locates; pinned in ``sources.FILES``)
BENCHMARK_FILES = {
    "feedback_bench": ["feedback_collection_test.json"],
    "feedback_ood": ["feedback_collection_ood_test.json"],
    "vicuna_bench": ["vicuna_eval.json"],
    "mt_bench_absolute": ["mt_bench_eval.json"],
    "flask_gpt4": ["flask_eval.json"],
    "flask_human": ["flask_eval.json"],
    "mm_vet_text": ["mm-vet.json"],  # + the answers / grades files named in the task metadata
    "preference_bench": ["preference_collection_ood_test.json"],
    "hhh_alignment": ["hhh_alignment_eval.json"],
    "mt_bench_human": ["mt_bench_human_judgement_eval.json"],
    "pandalm_test": ["testset-v1.json"],
    "judgelm_val": ["judgelm_val_5k.jsonl", "judgelm_val_5k_gpt4.jsonl"],
    "judgelm_val_ref": ["judgelm_val_5k.jsonl", "judgelm_val_5k_gpt4_with_reference.jsonl",
                        "judgelm_val_5k_references.jsonl"],
    "autoj_pairwise": ["autoj_pairwise.json"],
}


# --------------------------------------------------------------------------- this package's tasks
def package_tasks() -> set[str]:
    """Task names declared by the YAMLs of this package (a ``task:`` line in each task folder)."""
    from judge_tasks import TASKS_DIR

    names = set()
    for path in TASKS_DIR.glob("*/*.yaml"):
        m = re.search(r"^task:\s*([A-Za-z0-9_.-]+)\s*$", path.read_text(encoding="utf-8"), re.M)
        if m and path.parent.name != "groups":
            names.add(m.group(1))
    return names


def base_task(task: str) -> str:
    return task[: -len("_swap")] if task.endswith("_swap") else task


def task_kind(result: dict) -> str:
    names = {k.split(",")[0] for k in result}
    return "absolute" if "pearson" in names else "pairwise"


# --------------------------------------------------------------------------- catalog
def load_catalog(path: Path | str | None) -> dict:
    """``{task: entry}`` from ``tasks.yaml`` (a mapping of tasks, or ``tasks:`` as a mapping or list); ``{}`` if absent."""
    if path is None:
        path = REPO_CATALOG
    path = Path(path)
    if not path.is_file():
        return {}
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if isinstance(data, dict) and "tasks" in data:
        data = data["tasks"]
    if isinstance(data, list):
        out = {}
        for entry in data:
            if isinstance(entry, dict):
                name = entry.get("task") or entry.get("name")
                if name:
                    out[str(name)] = entry
        return out
    if isinstance(data, dict):
        return {str(k): v for k, v in data.items() if isinstance(v, dict)}
    return {}


def published_rows(catalog: dict) -> list[dict]:
    """Rows of the catalog's ``published`` lists; an entry's own ``task`` (the plain task or its ``_swap``
    variant, whichever convention the number follows) wins over the task it is listed under."""
    rows = []
    for task, entry in catalog.items():
        kind = entry.get("kind") if entry.get("kind") in ("absolute", "pairwise") else None
        for pub in entry.get("published") or []:
            if not isinstance(pub, dict) or "judge" not in pub or "metric" not in pub:
                continue
            metric = str(pub["metric"]).strip()
            metric = METRIC_ALIASES.get(metric.lower(), metric)
            source = str(pub.get("source", ""))
            if pub.get("note"):
                source += f" ({pub['note']})"
            rows.append({"judge": f"{pub['judge']} (published)", "task": str(pub.get("task") or task),
                         "metric": metric, "kind": kind, "value": _num(pub.get("value")),
                         "stderr": _num(pub.get("stderr")), "origin": "published", "source": source})
    return rows


# --------------------------------------------------------------------------- results
def _num(value):
    if isinstance(value, bool) or value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def find_results(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such file or folder")
    found = sorted(p for p in path.rglob("results_*.json") if not p.name.startswith("results_judge_"))
    if not found:
        raise FileNotFoundError(f"{path}: no lm-eval results_*.json files")
    return found


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


def load_judges(specs: list[str], known_tasks: set[str] | None = None) -> dict:
    """``{judge name: {"config", "tasks": {task: {result, config, version, n, file, date, git_hash}}}}``."""
    known = package_tasks() if known_tasks is None else known_tasks
    judges: dict = {}
    names_by_key: dict = {}
    for spec in specs:
        name, path = None, Path(spec)
        if not path.exists() and "=" in spec:
            name, path = spec.split("=", 1)
            path = Path(path)
        for file in find_results(path):
            data = json.loads(file.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or "results" not in data:
                continue
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
                previous = judge["tasks"].get(task)
                date = float(data.get("date") or 0)
                if previous is not None and previous["date"] > date:
                    continue
                cfg = (data.get("configs") or {}).get(task, {})
                judge["tasks"][task] = {
                    "result": result, "config": cfg, "version": (data.get("versions") or {}).get(task),
                    "n": ((data.get("n-samples") or {}).get(task) or {}).get("effective", result.get("sample_len")),
                    "file": str(file), "date": date, "git_hash": data.get("git_hash"),
                    "lm_eval_version": data.get("lm_eval_version")}
    return {k: v for k, v in judges.items() if v["tasks"]}


def measured_rows(judges: dict) -> list[dict]:
    rows = []
    for judge, info in judges.items():
        for task, t in sorted(info["tasks"].items()):
            for key, value in t["result"].items():
                metric, _, flt = key.partition(",")
                if not flt or metric.endswith("_stderr") or not isinstance(value, (int, float)) \
                        or isinstance(value, bool):
                    continue
                rows.append({"judge": judge, "task": task, "metric": metric, "value": _num(value),
                             "stderr": _num(t["result"].get(f"{metric}_stderr,{flt}")), "origin": "measured",
                             "source": t["file"]} | ({} if flt == "none" else {"filter": flt}))
    return rows


# --------------------------------------------------------------------------- tables
def fmt(value, stderr=None) -> str:
    if value is None:
        return "nan"
    text = f"{value:.0f}" if float(value).is_integer() and stderr is None else f"{value:.4f}"
    return f"{text} ± {stderr:.4f}" if stderr is not None else text


def _markdown(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
    return "\n".join(lines)


class Board:
    """All rows (measured and published), indexed by (judge, task, metric)."""

    def __init__(self, rows: list[dict], judges: dict, all_tasks: bool = False):
        self.rows, self.judges, self.all_tasks = rows, judges, all_tasks
        self.index = {(r["judge"], r["task"], r["metric"]): r for r in rows if "filter" not in r}
        self.order = list(judges) + sorted({r["judge"] for r in rows if r["origin"] == "published"})

    def tasks(self, kind: str) -> list[str]:
        found = set()
        for info in self.judges.values():
            for task, t in info["tasks"].items():
                if task_kind(t["result"]) == kind:
                    found.add(base_task(task))
        if self.all_tasks:  # otherwise only the tasks some given judge ran
            for r in self.rows:
                if r["origin"] == "published" and self._published_kind(r) == kind:
                    found.add(base_task(r["task"]))
        return sorted(found)

    @staticmethod
    def _published_kind(row) -> str:
        if row.get("kind"):
            return row["kind"]
        return "absolute" if row["metric"] in {m for m, _ in ABSOLUTE_COLUMNS} else "pairwise"

    def cell(self, judge, task, metric, swap_fallback=True):
        """(text, convention) for one cell: the task's own value, else its ``_swap`` variant's."""
        if metric in SWAP_ONLY:
            candidates = [f"{task}_swap", task]
        else:
            candidates = [task, f"{task}_swap"] if swap_fallback else [task]
        for i, t in enumerate(candidates):
            row = self.index.get((judge, t, metric))
            if row is not None:
                swap = t.endswith("_swap")
                return fmt(row["value"], row["stderr"]), ("swap-resolved" if swap and metric not in SWAP_ONLY
                                                          else "published order")
        return "—", None

    def has(self, judge, task) -> bool:
        return any((judge, t) == (j, tt) for (j, tt, _) in self.index for t in (task, f"{task}_swap"))

    def absolute_tables(self) -> str:
        parts = []
        for task in self.tasks("absolute"):
            columns = list(ABSOLUTE_COLUMNS)
            if any((j, task, "accuracy") in self.index for j in self.order):  # MM-Vet: correctness classes too
                columns += CLASS_COLUMNS
            body = []
            for judge in self.order:
                if not self.has(judge, task):
                    continue
                cells = [self.cell(judge, task, m)[0] for m, _ in columns]
                if all(c == "—" for c in cells):
                    continue
                fails = self.index.get((judge, task, "parse_failures"))
                body.append([judge] + cells + [self._n(judge, task), "—" if fails is None else fmt(fails["value"])])
            parts.append(f"### {task}\n\n" + _markdown(["Judge"] + [h for _, h in columns]
                                                        + ["n", "Parse failures"], body))
        return "\n\n".join(parts) if parts else "_no absolute tasks_"

    def relative_table(self) -> str:
        tasks = self.tasks("pairwise")
        if not tasks:
            return "_no pairwise tasks_"
        def text(judge, task):
            value, convention = self.cell(judge, task, "accuracy")
            return value + (" †" if convention == "swap-resolved" else "")

        body = [[judge] + [text(judge, t) for t in tasks]
                for judge in self.order if any(self.has(judge, t) for t in tasks)]
        return _markdown(["Judge"] + tasks, body) + (
            "\n\n† swap-resolved verdicts (both orders, disagreement -> tie: the `_swap` task); unmarked: "
            "published order.")

    def judgelm_table(self) -> str:
        body = []
        for task in self.tasks("pairwise"):
            for judge in self.order:
                if not self.has(judge, task):
                    continue
                cells = [self.cell(judge, task, m) for m, _ in JUDGELM_COLUMNS]
                conventions = {c for _, c in cells[:4] if c}
                body.append([task, judge] + [c for c, _ in cells] + [", ".join(sorted(conventions)) or "—"])
        if not body:
            return "_no pairwise tasks_"
        return _markdown(["Task", "Judge"] + [h for _, h in JUDGELM_COLUMNS] + ["Convention"], body)

    def _n(self, judge, task) -> str:
        info = self.judges.get(judge)
        if info is None:
            return "—"
        t = info["tasks"].get(task) or info["tasks"].get(f"{task}_swap")
        return "—" if t is None or t["n"] is None else str(t["n"])

    def markdown(self, catalog_path) -> str:
        shown = set(self.tasks("absolute")) | set(self.tasks("pairwise"))
        sources = sorted({(r["judge"], r["source"]) for r in self.rows
                          if r["origin"] == "published" and r["source"] and base_task(r["task"]) in shown})
        notes = "\n".join(f"- {j}: {s}" for j, s in sources)
        out = [
            "# Judge leaderboard", "",
            "Measured values are `value ± stderr` (seeded bootstrap) from the lm-eval results; "
            + (f"rows named `(published)` are the papers' numbers from the catalog (`{catalog_path}`)."
               if catalog_path else "no catalog found: measured rows only."), "",
            "## Absolute grading (PHUDGE Tables 2-3)", "", self.absolute_tables(), "",
            "## Relative grading: accuracy (PHUDGE Table 4)", "", self.relative_table(), "",
            "## Agreement, precision, recall, F1, consistency (JudgeLM Table 1)", "", self.judgelm_table(), "",
        ]
        if notes:
            out += ["## Sources of the published rows", "", notes, ""]
        judges = "\n".join(f"- **{j}**: `{info['config'].get('model')}` "
                           f"`{json.dumps(info['config'].get('model_args'), default=str)}`"
                           for j, info in self.judges.items())
        out += ["## Judges", "", judges, ""]
        return "\n".join(out)


# --------------------------------------------------------------------------- submission
def _revision(url: str) -> str | None:
    m = re.match(r"hf://datasets/[^@]+@([^/]+)/", url)
    if m:
        return m.group(1)
    m = re.match(r"https://raw\.githubusercontent\.com/[^/]+/[^/]+/([^/]+)/", url)
    return m.group(1) if m else None


def data_files(task_config: dict, benchmark: str, catalog_entry: dict | None) -> list[dict]:
    from judge_tasks.sources import FILES

    names = list(BENCHMARK_FILES.get(benchmark, []))
    meta = task_config.get("metadata") or {}
    if benchmark == "mm_vet_text":
        names += [meta.get("answers_file", "llava-v1.5-13b.json"),
                  meta.get("grades_file", "llava-v1.5-13b_gpt-4-grade-3runs.json")]
    out = []
    for name in names:
        source = FILES.get(name)
        out.append({"file": name, "source": source, "revision": _revision(source) if source else None})
    source = (catalog_entry or {}).get("source")
    if not out and isinstance(source, dict):
        for f in source.get("files") or []:
            if isinstance(f, dict) and f.get("name"):
                url = f.get("url")
                out.append({"file": str(f["name"]), "source": url,
                            "revision": (_revision(url) if url else None) or
                            (None if source.get("revision") is None else str(source["revision"]))})
    if not out and benchmark == "judge_demo":
        out.append({"file": "judge_tasks/demo_documents.jsonl", "source": "lm-eval-judges (bundled)",
                    "revision": None})
    return out


def _iso(timestamp) -> str | None:
    ts = _num(timestamp)
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat()


def submission(judge: str, info: dict, catalog: dict) -> dict:
    import judge_tasks

    try:
        from importlib.metadata import version

        harness = version("lm_eval")
    except Exception:  # pragma: no cover - the harness is a dependency
        harness = None
    args = info["config"].get("model_args") or {}
    if isinstance(args, str):
        from lm_eval.utils import simple_parse_args_string

        args = simple_parse_args_string(args)
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
            metrics[metric] = {"value": _num(value), "stderr": _num(t["result"].get(f"{metric}_stderr,none"))}
        version_ = t["version"]
        tasks[task] = {
            "version": version_ if isinstance(version_, (int, float, str)) else None,
            "benchmark": benchmark, "kind": task_kind(t["result"]),
            "n_samples": None if t["n"] is None else int(t["n"]),
            "conventions": (cfg.get("metadata") or {}).get("conventions"),
            "data": data_files(cfg, benchmark, catalog.get(base_task(task))),
            "metrics": metrics, "results_file": t["file"], "evaluated_at": _iso(t["date"]),
            "git_hash": t["git_hash"],
        }
    return {
        "schema_version": SCHEMA_VERSION,
        "date": datetime.now(timezone.utc).isoformat(),
        "judge": {"name": judge, "model": str(info["config"].get("model")),
                  "model_args": json.loads(json.dumps(args, default=str))},
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


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "judge"


# --------------------------------------------------------------------------- CLI
def build(specs: list[str], catalog_path=None, all_tasks: bool = False) -> tuple[Board, dict, dict, Path | None]:
    path = Path(catalog_path) if catalog_path else REPO_CATALOG
    catalog = load_catalog(path)
    judges = load_judges(specs)
    if not judges:
        raise SystemExit("judge-leaderboard: no results of lm-eval-judges tasks in " + " ".join(specs))
    board = Board(measured_rows(judges) + published_rows(catalog), judges, all_tasks)
    return board, judges, catalog, (path if catalog else None)


def write_outputs(board: Board, judges: dict, catalog: dict, out: Path, catalog_path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    text = board.markdown(catalog_path)
    (out / "leaderboard.md").write_text(text, encoding="utf-8")
    fields = ["judge", "task", "metric", "value", "stderr", "origin", "source"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in board.rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in fields})
    (out / "leaderboard.csv").write_text(buf.getvalue(), encoding="utf-8")
    (out / "leaderboard.json").write_text(json.dumps({
        "judges": {j: {"model": i["config"].get("model"), "model_args": i["config"].get("model_args"),
                       "tasks": sorted(i["tasks"])} for j, i in judges.items()},
        "catalog": None if catalog_path is None else str(catalog_path),
        "rows": board.rows}, indent=2, default=str), encoding="utf-8")
    subs = {}
    for judge, info in judges.items():
        sub = submission(judge, info, catalog)
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
    opts = p.parse_args(argv)
    board, judges, catalog, catalog_path = build(opts.results, opts.catalog, opts.all_tasks)
    if opts.catalog and not catalog:
        print(f"judge-leaderboard: no catalog at {opts.catalog}: measured rows only", file=sys.stderr)
    print(board.markdown(catalog_path))
    if opts.out:
        subs = write_outputs(board, judges, catalog, Path(opts.out), catalog_path)
        print(f"judge-leaderboard: wrote {Path(opts.out) / 'leaderboard.md'}, .csv, .json and "
              f"{len(subs)} submission file(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
