"""``judge-report``: figures and one HTML page from an lm-eval results folder with samples logs.

::

    lm_eval --model phudge --model_args adapter=A --tasks <absolute task>,<pairwise task>_swap \\
        --output_path out --log_samples
    judge-report out                 # -> out/report/index.html and PNGs
    judge-report out --out report/

Every ``results_<date>.json`` under the folder (``judge-score``'s ``results_judge_*`` files are skipped) is read
with its samples logs (``samples_<task>_<date>.jsonl``, same date id; else the latest of that task beside it).
Only this package's tasks are drawn (their logged ``doc`` is a judge record with the gold label). Each judge
output is read again from the log's ``filtered_resps`` exactly as the task did (``judge_tasks.harness``: the
``JUDGE_OUTPUT {json}`` of this package's judges, parsed with ``judge_core.parsers.judge_output``, or a
generative judge's text), so the figures use the same predictions as the metrics. Per task:

* absolute: predicted against gold score (scatter, parsed predictions; unparseable ones counted in the title);
* pairwise: confusion matrix of gold against predicted verdict (one per pair: swap-resolved for ``_swap`` tasks,
  the metrics' convention); a task with correctness classes (``harness.CLASS_BENCHMARKS``, MM-Vet):
  confusion matrix of the classes;
* ``_swap`` tasks: position-bias bars (consistency / bias toward the first / toward the second position, with the
  results' bootstrap stderr);
* absolute tasks judged by a classification head (the output has a ``distribution``): a calibration curve
  (reliability diagram of the top class: its probability against how often it is the gold class, the gold
  class being the class value nearest to the gold score; ECE in the title).

PNG files (matplotlib, Agg backend) and ``index.html`` (metrics table + figures per judge and task) are written
to ``--out`` (default ``<folder>/report``).

Length: about 410 lines: one console tool (reading the logs, each figure, the HTML page, the CLI) that no other
module imports; results files and samples are read by ``judge_tools.results``, the metrics come from the tasks.
"""
from __future__ import annotations

import argparse
import html
import json
import math
import re
import sys
from pathlib import Path

import numpy as np

VERDICT_LABELS = ["a", "b", "tie"]
CLASS_LABELS = ["correct", "partial", "wrong"]  # judge_tasks.harness.CLASS_BENCHMARKS


# --------------------------------------------------------------------------- reading
def find_runs(paths) -> list[dict]:
    """``[{results, results_file, samples: {task: path}}]`` for every results file under the paths (a file that is
    not an lm-eval results file stops with an error naming it)."""
    from judge_tools.results import find_results, read_results, samples_of

    runs = []
    for path in map(Path, paths):
        for file in find_results(path):
            data = read_results(file)
            runs.append({"results": data, "results_file": file, "samples": samples_of(file, data["results"])})
    return runs


def read_items(samples_path: Path) -> list[dict]:
    """The logged documents of a samples file (see ``read_items_from_lines``)."""
    from judge_tools.results import read_sample_lines

    return read_items_from_lines(read_sample_lines(samples_path))


def read_items_from_lines(lines) -> list[dict]:
    """Per logged document: the record, the judge text and what the task made of it (as ``process_results``);
    ``[]`` when the documents are not judge records."""
    from judge_tasks import harness
    from judge_tools.results import generation

    out = []
    for s in lines:
        doc = s.get("doc")
        if not isinstance(doc, dict) or doc.get("kind") not in ("absolute", "pairwise"):
            return []  # not a judge task
        text = generation(s)
        if doc["kind"] == "absolute":
            value, parsed = harness.read_absolute(doc, text)
        else:
            value, parsed = harness.read_pairwise(doc, text)
        item = next(iter(harness.process_results(doc, [text]).values()))
        out.append({"doc": doc, "text": text, "value": value, "parsed_output": parsed or {}, "item": item})
    return out


# --------------------------------------------------------------------------- figures
def _title(title: str, stats: str) -> str:
    """Judge and task on their own lines (long adapter names would be cut off otherwise)."""
    import textwrap

    return "\n".join(textwrap.wrap(title, 60)) + "\n" + stats


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def scatter(items: list[dict], title: str, path: Path) -> dict:
    from judge_core import metrics

    plt = _plt()
    kept = [it for it in items if it["item"]["pred"] is not None]
    gold = np.array([it["item"]["gold"] for it in kept], float)
    pred = np.array([it["item"]["pred"] for it in kept], float)
    lo, hi = items[0]["doc"]["scale"]
    span = hi - lo
    rng = np.random.default_rng(0)
    jitter = rng.uniform(-0.015, 0.015, len(gold)) * span  # many golds and predictions are integers
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    ax.scatter(gold + jitter, pred, s=14, alpha=0.5, color="#1f77b4", edgecolors="none")
    ax.plot([lo, hi], [lo, hi], color="0.4", lw=1, ls="--", label="prediction = gold")
    ax.set_xlim(lo - 0.05 * span, hi + 0.05 * span)
    ax.set_ylim(lo - 0.05 * span, hi + 0.05 * span)
    ax.set_xlabel("gold score (jittered)")
    ax.set_ylabel("predicted score")
    r = metrics.pearson(pred, gold)
    failures = len(items) - len(kept)
    ax.set_title(_title(title, f"Pearson r = {r:.3f}, n = {len(kept)}, parse failures = {failures}"), fontsize=9)
    ax.legend(loc="best", fontsize=8, framealpha=0.9)
    ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return {"n": len(kept), "parse_failures": failures, "pearson": r}


def confusion(gold: list[str], pred: list[str], labels: list[str], title: str, path: Path) -> np.ndarray:
    plt = _plt()
    mat = np.zeros((len(labels), len(labels)), int)
    pos = {l: i for i, l in enumerate(labels)}
    for g, p in zip(gold, pred):
        if g in pos and p in pos:
            mat[pos[g], pos[p]] += 1
    fig, ax = plt.subplots(figsize=(4.6, 4), dpi=100)
    im = ax.imshow(mat, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    top = mat.max() if mat.size else 0
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(mat[i, j]), ha="center", va="center",
                    color="white" if top and mat[i, j] > top / 2 else "black", fontsize=10)
    acc = np.trace(mat) / mat.sum() if mat.sum() else float("nan")
    ax.set_title(_title(title, f"accuracy = {acc:.3f}, n = {mat.sum()}"), fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return mat


def bias_bars(values: dict, stderrs: dict, title: str, path: Path) -> None:
    plt = _plt()
    names = ["consistency", "bias_first", "bias_second"]
    labels = ["consistency", "bias toward 1st", "bias toward 2nd"]
    vals = [values.get(n, float("nan")) for n in names]
    errs = [stderrs.get(n) if isinstance(stderrs.get(n), (int, float)) else 0.0 for n in names]
    fig, ax = plt.subplots(figsize=(5, 3.6), dpi=100)
    bars = ax.bar(labels, vals, yerr=errs, capsize=4, color=["#2ca02c", "#d62728", "#9467bd"])
    for b, v, e in zip(bars, vals, errs):
        if math.isfinite(v):
            ax.text(b.get_x() + b.get_width() / 2, v + (e if math.isfinite(e) else 0) + 0.02, f"{v:.3f}",
                    ha="center", fontsize=9)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("share of pairs")
    delta = values.get("delta_bias", float("nan"))
    ax.set_title(_title(title, f"position bias (both orders), delta bias = {delta:.3f}"), fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def calibration_data(items: list[dict]) -> tuple[np.ndarray, np.ndarray] | None:
    """Top-class confidence and correctness of every output with a ``distribution``; None if there are none."""
    conf, correct = [], []
    for it in items:
        dist = it["parsed_output"].get("distribution")
        if not isinstance(dist, list) or len(dist) < 2 or it["item"]["pred"] is None:
            continue
        probs = np.asarray(dist, float)
        if not np.all(np.isfinite(probs)) or probs.sum() <= 0:
            continue
        probs = probs / probs.sum()
        lo, hi = it["doc"]["scale"]
        values = np.linspace(lo, hi, len(probs))
        gold_class = int(np.argmin(np.abs(values - float(it["doc"]["gold_score"]))))
        top = int(np.argmax(probs))
        conf.append(probs[top])
        correct.append(float(top == gold_class))
    if not conf:
        return None
    return np.asarray(conf), np.asarray(correct)


def calibration(conf: np.ndarray, correct: np.ndarray, title: str, path: Path, bins: int = 10) -> dict:
    plt = _plt()
    edges = np.round(np.linspace(0, 1, bins + 1), 9)
    conf = np.round(np.asarray(conf, float), 9)  # 0.7 and 0.7000000001 fall in the same bin
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    xs, ys, ns = [], [], []
    ece = 0.0
    for b in range(bins):
        mask = idx == b
        if not mask.any():
            continue
        xs.append(conf[mask].mean())
        ys.append(correct[mask].mean())
        ns.append(int(mask.sum()))
        ece += mask.sum() / len(conf) * abs(conf[mask].mean() - correct[mask].mean())
    fig, (ax, axn) = plt.subplots(2, 1, figsize=(5, 5.6), dpi=100, gridspec_kw={"height_ratios": [3, 1]},
                                  sharex=True)
    ax.plot([0, 1], [0, 1], color="0.4", ls="--", lw=1, label="perfectly calibrated")
    ax.plot(xs, ys, marker="o", color="#ff7f0e", label="judge (top class)")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("accuracy of the top class")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(_title(title, f"calibration: ECE = {ece:.3f}, n = {len(conf)}"), fontsize=9)
    axn.bar([(edges[b] + edges[b + 1]) / 2 for b in range(bins)],
            [int((idx == b).sum()) for b in range(bins)], width=1 / bins * 0.9, color="0.6")
    axn.set_xlabel("confidence (probability of the top class)")
    axn.set_ylabel("count")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return {"ece": ece, "n": len(conf), "bins": [{"confidence": x, "accuracy": y, "n": n}
                                                 for x, y, n in zip(xs, ys, ns)]}


# --------------------------------------------------------------------------- one task
def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def pair_verdicts(items: list[dict]) -> list[dict]:
    """One entry per pair, in the published positions: ``{gold, ab, ba}`` (``ba`` None when judged in one order)."""
    pairs: dict = {}
    for it in items:
        entry = pairs.setdefault(it["pair"], {"gold": it["gold"], "ab": None, "ba": None})
        entry[it["order"]] = it["pred"]
    return list(pairs.values())


def draw_task(judge: str, task: str, result: dict, items: list[dict], out: Path) -> list[dict]:
    """The figures of one task: ``[{kind, file, caption}]``."""
    from judge_core import metrics
    from judge_tasks import harness

    figures = []
    stem = f"{_slug(judge)}__{_slug(task)}"
    title = f"{judge} on {task}"
    kind = items[0]["doc"]["kind"]
    if kind == "absolute":
        info = scatter(items, title, out / f"{stem}__scatter.png")
        figures.append({"kind": "scatter", "file": f"{stem}__scatter.png",
                        "caption": f"Predicted against gold score ({info['n']} parsed, {info['parse_failures']} "
                                   "unparseable)."})
        to_class = harness.CLASS_BENCHMARKS.get(items[0]["doc"]["benchmark"])
        if to_class is not None:
            kept = [it["item"] for it in items if it["item"]["pred"] is not None]
            gold = [to_class(k["gold"]) for k in kept]
            pred = [to_class(k["pred"]) for k in kept]
            confusion(gold, pred, CLASS_LABELS, title, out / f"{stem}__confusion.png")
            figures.append({"kind": "confusion", "file": f"{stem}__confusion.png",
                            "caption": "Correctness classes (1.0 correct, 0.0 wrong, between partial)."})
        cal = calibration_data(items)
        if cal is not None:
            info = calibration(*cal, title, out / f"{stem}__calibration.png")
            figures.append({"kind": "calibration", "file": f"{stem}__calibration.png",
                            "caption": f"Calibration of the classification head (ECE {info['ece']:.3f}): gold class "
                                       "= the class value nearest to the gold score."})
    else:
        pairs = pair_verdicts([it["item"] for it in items])
        both = [p for p in pairs if p["ab"] is not None and p["ba"] is not None]
        pred = [metrics.swap_resolved(p["ab"], p["ba"]) if p in both else p["ab"] if p["ab"] is not None
                else p["ba"] for p in pairs]
        confusion([p["gold"] for p in pairs], pred, VERDICT_LABELS, title, out / f"{stem}__confusion.png")
        swap = any(it["doc"].get("swap") for it in items)
        figures.append({"kind": "confusion", "file": f"{stem}__confusion.png",
                        "caption": "Gold against predicted verdict, one per pair"
                                   + (" (swap-resolved: disagreement -> tie)." if swap else " (published order).")})
        if swap:
            values = metrics.swap_stats([p["ab"] for p in both], [p["ba"] for p in both])
            stderrs = {name: result.get(f"{name}_stderr,none") for name in values}
            bias_bars(values, stderrs, title, out / f"{stem}__position_bias.png")
            figures.append({"kind": "position_bias", "file": f"{stem}__position_bias.png",
                            "caption": "Consistency and position bias over the pairs judged in both orders "
                                       "(error bars: bootstrap stderr from the results)."})
    return figures


# --------------------------------------------------------------------------- HTML
_CSS = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
        "text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}"
        "figure{display:inline-block;margin:0.5em;vertical-align:top;max-width:520px}"
        "figcaption{font-size:0.85em;color:#555}img{max-width:100%}")


def _fmt(value) -> str:
    if isinstance(value, bool) or value is None:
        return "—"
    if isinstance(value, (int, float)):
        return "nan" if not math.isfinite(value) else f"{value:.0f}" if float(value).is_integer() and \
            abs(value) >= 2 else f"{value:.4f}"
    return html.escape(str(value))


def metrics_table(result: dict) -> str:
    rows = []
    for key, value in result.items():
        metric, _, flt = key.partition(",")
        if not flt or metric.endswith("_stderr"):
            continue
        rows.append(f"<tr><td>{html.escape(metric)}</td><td>{_fmt(value)}</td>"
                    f"<td>{_fmt(result.get(f'{metric}_stderr,{flt}'))}</td></tr>")
    return "<table><tr><th>metric</th><th>value</th><th>stderr</th></tr>" + "".join(rows) + "</table>"


def write_html(sections: list[dict], out: Path) -> Path:
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>lm-eval-judges report</title>",
             f"<style>{_CSS}</style></head><body><h1>lm-eval-judges report</h1>"]
    for sec in sections:
        parts.append(f"<h2>{html.escape(sec['judge'])} — {html.escape(sec['task'])}</h2>")
        parts.append(f"<p><code>{html.escape(sec['model'])}</code> <code>{html.escape(sec['model_args'])}</code>"
                     f"<br>results: <code>{html.escape(sec['results_file'])}</code>"
                     f"<br>samples: <code>{html.escape(sec['samples_file'])}</code></p>")
        if sec.get("conventions"):
            parts.append(f"<p><small>{html.escape(sec['conventions'])}</small></p>")
        parts.append(metrics_table(sec["result"]))
        for fig in sec["figures"]:
            parts.append(f"<figure><img src='{html.escape(fig['file'])}' alt='{html.escape(fig['kind'])}'>"
                         f"<figcaption>{html.escape(fig['caption'])}</figcaption></figure>")
        if not sec["figures"]:
            parts.append(f"<p><em>{html.escape(sec.get('note', 'no figures'))}</em></p>")
    parts.append("</body></html>")
    path = out / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- CLI
def build_report(paths, out: Path) -> dict:
    from judge_tools.leaderboard import judge_label, package_tasks

    out.mkdir(parents=True, exist_ok=True)
    known = package_tasks()
    sections, skipped = [], []
    for run in find_runs(paths):
        data = run["results"]
        config = data.get("config") or {}
        judge = judge_label(config)
        for task, result in sorted(data["results"].items()):
            if task not in known:
                skipped.append(f"{task} (not a task of lm-eval-judges)")
                continue
            sec = {"judge": judge, "task": task, "result": result, "model": str(config.get("model")),
                   "model_args": json.dumps(config.get("model_args"), default=str),
                   "results_file": str(run["results_file"]), "samples_file": "—",
                   "conventions": ((data.get("configs") or {}).get(task, {}).get("metadata") or {}).get("conventions"),
                   "figures": []}
            samples = run["samples"].get(task)
            if samples is None:
                sec["note"] = "no samples log: rerun lm_eval with --log_samples to draw this task"
                skipped.append(f"{task} (no samples log)")
            else:
                sec["samples_file"] = str(samples)
                items = read_items(samples)
                if items:
                    sec["figures"] = draw_task(judge, task, result, items, out)
                else:
                    sec["note"] = "the samples log holds no judge records"
            sections.append(sec)
    if not sections:
        raise SystemExit("judge-report: no results of lm-eval-judges tasks under " + " ".join(map(str, paths)))
    index = write_html(sections, out)
    return {"index": index, "sections": sections, "skipped": skipped,
            "figures": [out / f["file"] for s in sections for f in s["figures"]]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="judge-report", description=__doc__.split("\n\n")[0])
    p.add_argument("results", nargs="+", help="results folders (or results files) of runs with --log_samples")
    p.add_argument("--out", default=None, help="output folder (default: <first results folder>/report)")
    opts = p.parse_args(argv)
    first = Path(opts.results[0])
    out = Path(opts.out) if opts.out else (first if first.is_dir() else first.parent) / "report"
    report = build_report(opts.results, out)
    for s in report["skipped"]:
        print(f"judge-report: skipped {s}", file=sys.stderr)
    print(f"judge-report: {len(report['figures'])} figures, {report['index']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
