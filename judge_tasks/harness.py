"""The functions the task YAMLs name: dataset loading, prompt, per-document results, corpus-level metrics.

Every document yields one item per metric, the same dict for all of them:
absolute ``{pred, gold, parsed, pair}`` (``pair``: the document key); pairwise ``{pred, gold, parsed, pair, order, source}`` with ``pred`` and
``gold`` in the *published* positions (so both orders of a pair can be compared). Unparseable output is a
parse failure: absolute -> left out of the correlations (``pred`` None) and counted; pairwise -> tie (the
JudgeLM / PandaLM rule) and counted. ``judge_tasks.aggregation`` turns the items into the corpus-level metrics.
"""
from __future__ import annotations

import math

from judge_core import parsers, prompts, records
from judge_core.scales import clip, rescale
from judge_tasks import loaders, registry

ABSOLUTE_METRICS = ["pearson", "spearman", "kendall", "r2", "mae", "mse", "parse_failures"]
CLASS_METRICS = ["accuracy", "precision_macro", "recall_macro", "f1_macro"]
PAIRWISE_METRICS = ["accuracy", "accuracy_no_tie", "precision_macro", "recall_macro", "f1_macro", "parse_failures"]
SWAP_METRICS = ["accuracy_first_order", "accuracy_both_orders", "consistency", "bias_first", "bias_second", "delta_bias"]


def __getattr__(name: str):
    """``SOURCE_METRICS`` ({benchmark: [source]}), ``CLASS_BENCHMARKS`` ({benchmark: score -> class}) and
    ``FILTERING_BENCHMARKS`` (set): read from the registry on each access, so later-registered specs count."""
    if name == "SOURCE_METRICS":
        return registry.source_metrics()
    if name == "CLASS_BENCHMARKS":
        return {b: loaders.CLASSIFIERS[rule] for b, rule in registry.class_benchmarks().items()}
    if name == "FILTERING_BENCHMARKS":
        return registry.filtering_benchmarks()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_dataset(benchmark: str, swap: bool = False, **options):
    """``custom_dataset`` of every task: ``{"test": records}``. Task options (``dataset_kwargs`` and
    ``--metadata``) override the benchmark's loader arguments of the same name (``seed``, ``answers_file``,
    ``grades_file`` ...); other metadata (version, conventions) is not for the loader.

    A missing or malformed file stops the run with one line (file, row, field; for a missing file the
    ``JUDGE_DATA_DIR`` searched and the pinned source) rather than the harness's traceback; no documents is an
    error, not an ``IndexError`` inside lm-eval; a column the Arrow conversion refuses is named with its row."""
    loader = registry.benchmark(benchmark)["loader"]
    options = {k: v for k, v in options.items() if k in loader and k != "format"}
    import datasets
    import pyarrow

    from judge_tasks.sources import DataNotFound

    try:
        recs = loaders.load(benchmark, swap=swap, **options)
        if not recs:
            raise records.RecordError(f"<{benchmark} documents>", "-", "<all>",
                                      "no documents: every row of the upstream file was filtered out")
        try:
            return datasets.DatasetDict({"test": datasets.Dataset.from_list(recs)})
        except pyarrow.lib.ArrowException as err:
            raise _mixed_column(benchmark, recs, err) from None
    except (DataNotFound, records.RecordError) as err:
        _report_in_one_line(err)
        raise


def _kinds(value) -> str:
    return "null" if value is None else "number" if isinstance(value, (int, float)) and not isinstance(
        value, bool) else type(value).__name__


def _mixed_column(benchmark: str, recs: list[dict], err: Exception) -> records.RecordError:
    """The first field (``meta.<key>`` included) whose rows hold two kinds of value, named with the first row that
    differs; Arrow's own message when no such field is found."""
    columns: dict[str, tuple[str, int]] = {}
    for r in recs:
        values = {k: v for k, v in r.items() if k != "meta"}
        values.update({f"meta.{k}": v for k, v in (r.get("meta") or {}).items()})
        for name, value in values.items():
            kind = _kinds(value)
            if kind == "null":
                continue
            first = columns.setdefault(name, (kind, r["row"]))
            if first[0] != kind:
                return records.RecordError(f"<{benchmark} documents>", r["row"], name,
                                           f"{kind} here, {first[0]} in row {first[1]}: a column must hold one type")
    return records.RecordError(f"<{benchmark} documents>", "-", "<column>", f"Arrow refused the documents: {err}")


def _report_in_one_line(err: Exception) -> None:
    """If ``err`` ends the program uncaught (as it does under the ``lm_eval`` CLI), print its one line instead of a
    traceback through the harness. In-process callers still get the exception."""
    import sys

    from judge_tasks.sources import DataNotFound

    previous = sys.excepthook
    if getattr(previous, "_judge_one_line", False):
        return

    def hook(kind, value, tb):
        if isinstance(value, (records.RecordError, DataNotFound)):
            print(f"error: {value}", file=sys.stderr)
        else:
            previous(kind, value, tb)

    hook._judge_one_line = True
    sys.excepthook = hook


def metric_names(doc: dict) -> list[str]:
    """The metrics a document's task reports (a test holds every YAML's metric_list to this)."""
    bench = doc["benchmark"]
    spec = registry.benchmarks().get(bench, {})
    if doc["kind"] == "absolute":
        names = list(ABSOLUTE_METRICS)
        if spec.get("classes"):
            names += CLASS_METRICS
        return names
    names = list(PAIRWISE_METRICS)
    if doc.get("swap"):
        names += SWAP_METRICS
    names += [f"accuracy_{s}" for s in spec.get("source_metrics") or []]  # after the swap metrics, as in the YAMLs
    if doc.get("swap") and spec.get("order_average"):  # LLMBar's convention, after the per-source metrics
        names += ["accuracy_order_average"] + [f"accuracy_order_average_{s}" for s in spec.get("source_metrics") or []]
    if spec.get("filtered_rows"):
        names.append("filtered_rows")
    return names


def doc_to_text(doc: dict) -> str:
    return prompts.render(doc)


def doc_to_target(doc: dict) -> str:
    return str(doc["gold_score"] if doc["kind"] == "absolute" else doc["gold"])


def read_absolute(doc: dict, text: str) -> tuple[float | None, dict]:
    """Predicted score on the task's scale (None if unparseable) and the parsed judge output."""
    out = parsers.judge_output(text)
    if out is not None:
        score = out.get("score")
        try:  # a bool is not a score; a JSON integer too big for a float makes math.isfinite raise
            ok = isinstance(score, (int, float)) and not isinstance(score, bool) and math.isfinite(score)
        except OverflowError:
            ok = False
        return (clip(float(score), doc["scale"]) if ok else None), out
    family = doc["prompt_family"]
    if family == "prometheus_absolute":
        s = parsers.prometheus_absolute(text)
        score = None if s is None else rescale(s, (1, 5), doc["scale"])
    elif family == "judgelm":
        pair = parsers.judgelm(text, prefix=prompts.JUDGELM_SINGLE_PREFIX)
        score = None if pair is None else rescale(clip(pair[1], prompts.JUDGELM_SCALE), prompts.JUDGELM_SCALE,
                                                 doc["scale"])
    elif family == "autoj":
        rating = parsers.autoj_rating(text)
        score = None if rating is None else rescale(rating, prompts.AUTOJ_SCALE, doc["scale"])
    else:
        raise ValueError(f"no absolute parser for prompt family {family!r}")
    return (None if score is None else clip(score, doc["scale"])), {"score": score}


def read_pairwise(doc: dict, text: str) -> tuple[str | None, dict]:
    """Verdict a / b / tie in the document's own order (None if unparseable) and the parsed output."""
    out = parsers.judge_output(text)
    if out is not None:
        v = out.get("verdict")
        return (v if v in records.VERDICTS else None), out
    family = doc["prompt_family"]
    if family == "prometheus_relative":
        v = parsers.prometheus_relative(text)
    elif family == "pandalm":
        v = parsers.pandalm(text)
    elif family == "judgelm":
        v = parsers.judgelm_verdict(parsers.judgelm(text))
    elif family == "autoj":
        v = parsers.autoj_comparison(text)
    else:
        raise ValueError(f"no pairwise parser for prompt family {family!r}")
    return v, {"verdict": v}


def process_results(doc: dict, results: list) -> dict:
    text = results[0] if results else None
    if doc["kind"] == "absolute":
        pred, _ = read_absolute(doc, text)
        item = {"pred": pred, "gold": doc["gold_score"], "parsed": pred is not None,
                "pair": f"{doc.get('benchmark')}:{doc.get('id')}:{doc.get('row')}"}
    else:
        verdict, _ = read_pairwise(doc, text)
        parsed = verdict is not None
        verdict = verdict if parsed else "tie"  # JudgeLM / PandaLM: unparseable -> tie
        item = {"pred": records.to_published_order(verdict, doc),
                "gold": records.to_published_order(doc["gold"], doc), "parsed": parsed,
                "pair": doc["pair"], "order": doc["order"], "source": doc["meta"].get("source", ""),
                "filtered_rows": doc["meta"].get("filtered_rows", 0)}
    return {name: item for name in metric_names(doc)}
