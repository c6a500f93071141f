"""The tables of ``judge-leaderboard``: rows (measured and published) indexed by judge, task and metric, drawn
as markdown in the layout of ``tables.yaml`` (PHUDGE Tables 2-4, JudgeLM Table 1)."""
from __future__ import annotations

import functools
import json
from pathlib import Path

from judge_tools.submission import base_task, task_kind

TABLES_FILE = Path(__file__).with_name("tables.yaml")
LIMITED = " [limited]"  # appended to the name of a judge with a --limit run (judge-leaderboard --allow_limited)


@functools.lru_cache(maxsize=1)
def tables() -> dict:
    """The table layout (``tables.yaml``)."""
    import yaml

    return yaml.safe_load(TABLES_FILE.read_text(encoding="utf-8"))


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
    """All rows (measured and published), indexed by (judge, task, metric); the tables of ``tables.yaml``."""

    def __init__(self, rows: list[dict], judges: dict, all_tasks: bool = False):
        self.rows, self.judges, self.all_tasks = rows, judges, all_tasks
        self.layout = tables()
        self.swap_only = set(self.layout["swap_only"])
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

    def _published_kind(self, row) -> str:
        if row.get("kind"):
            return row["kind"]
        return "absolute" if row["metric"] in {m for m, _ in self.layout["absolute"]["columns"]} else "pairwise"

    def cell(self, judge, task, metric, swap_fallback=True):
        """(text, convention) for one cell: the task's own value, else its ``_swap`` variant's."""
        if metric in self.swap_only:
            candidates = [f"{task}_swap", task]
        else:
            candidates = [task, f"{task}_swap"] if swap_fallback else [task]
        for t in candidates:
            row = self.index.get((judge, t, metric))
            if row is not None:
                swap = t.endswith("_swap")
                return fmt(row["value"], row["stderr"]), ("swap-resolved" if swap and metric not in self.swap_only
                                                          else "published order")
        return "—", None

    def has(self, judge, task) -> bool:
        return any((judge, t) == (j, tt) for (j, tt, _) in self.index for t in (task, f"{task}_swap"))

    def absolute_tables(self) -> str:
        parts = []
        spec = self.layout["absolute"]
        for task in self.tasks("absolute"):
            columns = [tuple(c) for c in spec["columns"]]
            first_class = spec["class_columns"][0][0]
            if any((j, task, first_class) in self.index for j in self.order):  # a task with classes
                columns += [tuple(c) for c in spec["class_columns"]]
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
        metric = self.layout["relative"]["metric"]

        def text(judge, task):
            value, convention = self.cell(judge, task, metric)
            return value + (" †" if convention == "swap-resolved" else "")

        body = [[judge] + [text(judge, t) for t in tasks]
                for judge in self.order if any(self.has(judge, t) for t in tasks)]
        return _markdown(["Judge"] + tasks, body) + (
            "\n\n† swap-resolved verdicts (both orders, disagreement -> tie: the `_swap` task); unmarked: "
            "published order.")

    def agreement_table(self) -> str:
        columns = [tuple(c) for c in self.layout["agreement"]["columns"]]
        body = []
        for task in self.tasks("pairwise"):
            for judge in self.order:
                if not self.has(judge, task):
                    continue
                cells = [self.cell(judge, task, m) for m, _ in columns]
                conventions = {c for (m, _), (_, c) in zip(columns, cells) if c and m not in self.swap_only}
                body.append([task, judge] + [c for c, _ in cells] + [", ".join(sorted(conventions)) or "—"])
        if not body:
            return "_no pairwise tasks_"
        return _markdown(["Task", "Judge"] + [h for _, h in columns] + ["Convention"], body)

    def _n(self, judge, task) -> str:
        info = self.judges.get(judge)
        if info is None:
            return "—"
        t = info["tasks"].get(task) or info["tasks"].get(f"{task}_swap")
        if t is None or t["n"] is None:
            return "—"
        return str(t["n"]) + ("" if t["limit"] is None else f" (--limit {t['limit']})")

    def markdown(self, catalog_path) -> str:
        shown = set(self.tasks("absolute")) | set(self.tasks("pairwise"))
        sources = sorted({(r["judge"], r["source"]) for r in self.rows
                          if r["origin"] == "published" and r["source"] and base_task(r["task"]) in shown})
        notes = "\n".join(f"- {j}: {s}" for j, s in sources)
        limited = [j for j in self.judges if j.endswith(LIMITED)]
        out = [
            "# Judge leaderboard", "",
            "Measured values are `value ± stderr` (seeded bootstrap) from the lm-eval results; "
            + (f"rows named `(published)` are the papers' numbers from the catalog (`{catalog_path}`)."
               if catalog_path else "no catalog found: measured rows only."), "",
        ]
        if limited:
            out += [f"**Limited runs** ({', '.join(limited)}): scored with `--limit` on a subset of the documents "
                    "(the `n` column; on a `_swap` task two documents per pair), not comparable with full runs.",
                    ""]
        out += [
            f"## {self.layout['absolute']['title']}", "", self.absolute_tables(), "",
            f"## {self.layout['relative']['title']}", "", self.relative_table(), "",
            f"## {self.layout['agreement']['title']}", "", self.agreement_table(), "",
        ]
        if notes:
            out += ["## Sources of the published rows", "", notes, ""]
        judges = "\n".join(f"- **{j}**: `{info['config'].get('model')}` "
                           f"`{json.dumps(info['config'].get('model_args'), default=str)}`"
                           for j, info in self.judges.items())
        out += ["## Judges", "", judges, ""]
        return "\n".join(out)
