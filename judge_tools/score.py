"""``judge-score``: add a judge to an lm-eval run that is already done, by grading the generations it logged.

::

    lm_eval --model hf --model_args pretrained=... --tasks my_task --output_path out --log_samples
    judge-score out/<model>/samples_my_task_<date>.jsonl --model phudge --model_args adapter=ADAPTER
    judge-score out/<model>/ --model phudge --model_args adapter=ADAPTER --against out/<other model>/

Input: the ``samples_<task>_<date>.jsonl`` files that ``--log_samples`` writes (files or folders; in a folder the
latest samples file of every task is taken, ``*_judged_*`` files are skipped) of ``generate_until`` tasks.
Each logged line holds ``doc_id``, ``doc``, ``target``, ``arguments`` (``{"gen_args_0": {"arg_0": prompt,
"arg_1": gen_kwargs}}``), ``resps`` and ``filtered_resps``; one line per document and filter (``--filter``
picks one, default the first seen, usually ``none``).

Modes:

* **absolute** (default): every generation becomes a normalised absolute record (``judge_core.records``):
  instruction = ``--question_field`` (``prompt`` = the text the model saw, the default; ``target``; or a doc
  field, dotted for nested fields; the documents of this package's question-only tasks give their bare
  question and reference answer by themselves), response = the generation (``filtered_resps``; ``--raw`` for
  ``resps``), reference = ``--reference_field`` when given, rubric = ``--rubric`` (a JSON / YAML file with ``criteria`` and
  five ``score_descriptions``, or a named default: see ``RUBRICS``), scale = ``--scale`` (1,5). Aggregate: the
  mean score with a bootstrap stderr and 95 % percentile interval.
* **pairwise** (``--against OTHER``, another run's samples of the same task, matched by ``doc_id``): response A =
  this run, response B = the other run. Aggregate: win / tie / loss rates of this run (and the win rate with
  ties counted half), each with a bootstrap stderr. ``--swap`` judges each pair in both orders and resolves a
  disagreement to a tie (PandaLM's convention), also reporting the consistency.

The records carry no gold: ``gold_score`` is 0.0 and ``gold`` is ``tie`` as placeholders (``meta.gold`` says
``"none"``); judges never read them.

Any harness model can judge: this package's judges (``phudge``, ``judgelm``, ``pandalm``, ``prometheus``,
``replay``) read the record; a plain harness model (``hf``, ``vllm``, ...) gets the Prometheus absolute /
relative prompt (``--apply_chat_template`` wraps it in the model's chat template) and its text is parsed with
the Prometheus ``[RESULT]`` parser (``judge_tools.grading``). Unparseable output never stops the run: it is counted (``parse_failures``,
``parse_failure_rate``), left out of the mean score (absolute) or counted as a tie (pairwise, the JudgeLM /
PandaLM rule), and printed at the end.

Output, next to the samples file (or under ``--output_path``), in lm-eval's layout:

* ``samples_<task>_judged_<judge>-<key>.jsonl``: one line per graded document, appended and fsync'ed as soon
  as its batch is graded (a kill at any moment leaves complete lines and at most one torn last line, which a
  resume drops and counts: ``torn_lines`` in the config; a corrupt line before it is an error) (``doc_id``, ``doc`` = the judge record, ``resps`` / ``filtered_resps`` = the judge's output text,
  the per-sample metrics and ``grade`` = the parsed judge output). ``<key>`` hashes the grading configuration
  (judge, its args without device / batch size, mode, fields, rubric, scale, the samples files), so a rerun
  with the same configuration resumes: documents already in the file are skipped. Every line also records
  what fixes the grade text beyond that key, ``lm_eval_judges_version``, ``judge_prompt`` (the judge's
  ``prompt_identity``: class and prompt style, e.g. a phudge judge_config's ``prompt_style``) and
  ``judge_weights`` (``weights_identity``: a fingerprint of its weight or replayed files, ``judge_core.fingerprint``;
  a judge retrained in place keeps its args and key); a resume whose package version, judge prompt or weights
  differ stops with one line naming the file, the line and the field (the grades would mix): delete or move the
  file to grade afresh.
* ``results_judge_<judge>_<timestamp>.json``: lm-eval's results format, ``results: {"<task>_judged":
  {"judge_score,none": ..., "judge_score_stderr,none": ..., ...}}`` plus ``configs``, ``versions``,
  ``higher_is_better``, ``n-samples``, ``config`` (the judge's model args) and ``source`` (the graded run).

One evaluator: the aggregates are the task aggregations of ``judge_tasks.aggregation`` (win / tie / loss rate =
``accuracy`` of the verdicts against a constant a / tie / b, with the same pair-aware swap resolution and
bootstrap; ``consistency``; ``parse_failures``); the mean score and its interval use ``judge_core.metrics``'s
bootstrap.

Length: about 405 lines: the command itself (aggregates, the results file it writes, the CLI); grading one
document is ``judge_tools.grading``, reading results and samples files ``judge_tools.results``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import re
import sys
from datetime import datetime
from pathlib import Path

from judge_tools.grading import RUBRICS, Grader, build_record, grade_batch, load_rubric
from judge_tools.results import (append_lines, find_samples, read_graded, read_results, read_samples,
                                 samples_task)

__all__ = ["RUBRICS", "aggregate", "find_samples", "samples_task", "main"]
log = logging.getLogger("judge_score")

VERSION = 1.0
GRADING_ARGS_IGNORED = {"device", "batch_size", "max_batch_size", "parallelize"}
HIGHER_IS_BETTER = {"judge_score": True, "judge_score_ci_low": True, "judge_score_ci_high": True,
                    "win_rate": True, "tie_rate": False, "loss_rate": False, "win_rate_half_ties": True,
                    "consistency": True, "parse_failures": False, "parse_failure_rate": False}
NAN = float("nan")


# --------------------------------------------------------------------------- aggregation
def _pair_items(lines: list[dict], gold: str) -> list[dict]:
    """The harness's pairwise items of the graded lines, every verdict scored against a constant gold."""
    return [{"pred": o["verdict"], "gold": gold, "parsed": o["parsed"], "pair": str(line["doc_id"]),
             "order": o["order"], "source": "", "filtered_rows": 0}
            for line in lines for o in line["judged"]]


def _with_stderr(aggregation, items, iters) -> tuple[float, float]:
    value = aggregation(items)
    stderr = aggregation.bootstrap(items, iters=iters) if iters and len(items) > 1 else NAN
    return value, stderr


def aggregate(lines: list[dict], iters: int = 1000) -> dict:
    """Corpus-level metrics of the graded lines (lm-eval ``<metric>,none`` keys, stderr as ``_stderr``)."""
    from judge_core import metrics
    from judge_tasks import aggregation

    out: dict = {}
    if lines and lines[0]["doc"]["kind"] == "absolute":
        scores = [line["judge_score"] for line in lines if line["judge_score"] is not None]

        def mean(xs):
            return float(sum(xs) / len(xs)) if len(xs) else NAN

        lo = hi = stderr = NAN
        if iters and len(scores) > 1:
            stderr = metrics.bootstrap_stderr(mean, scores, iters=iters)
            lo, hi = metrics.bootstrap_interval(mean, scores, iters=iters)
        out.update({"judge_score,none": mean(scores), "judge_score_stderr,none": stderr,
                    "judge_score_ci_low,none": lo, "judge_score_ci_low_stderr,none": "N/A",
                    "judge_score_ci_high,none": hi, "judge_score_ci_high_stderr,none": "N/A"})
        items = [{"parsed": line["judge_score"] is not None} for line in lines]
    else:
        by_gold = {g: _pair_items(lines, g) for g in ("a", "tie", "b")}
        for name, gold in (("win_rate", "a"), ("tie_rate", "tie"), ("loss_rate", "b")):
            out[f"{name},none"], out[f"{name}_stderr,none"] = _with_stderr(aggregation.accuracy, by_gold[gold], iters)

        def half_ties(units):
            its = [it for u in units for it in u]
            win = aggregation.accuracy(its)
            return win + 0.5 * aggregation.accuracy([dict(it, gold="tie") for it in its])

        units = [_pair_items([line], "a") for line in lines]
        out["win_rate_half_ties,none"] = half_ties(units) if units else NAN
        out["win_rate_half_ties_stderr,none"] = (metrics.bootstrap_stderr(half_ties, units, iters=iters)
                                                 if iters and len(units) > 1 else NAN)
        if lines and len(lines[0]["judged"]) == 2:
            out["consistency,none"], out["consistency_stderr,none"] = _with_stderr(aggregation.consistency,
                                                                                   by_gold["a"], iters)
        items = by_gold["a"]
    failures = aggregation.parse_failures(items)
    out.update({"parse_failures,none": failures, "parse_failures_stderr,none": "N/A",
                "parse_failure_rate,none": failures / len(items) if items else NAN,
                "parse_failure_rate_stderr,none": "N/A"})
    return out


# --------------------------------------------------------------------------- files
def _sanitize(name: str, underscore: bool = False) -> str:
    """A file-name-safe judge name; without ``underscore`` also no ``_`` (the task name of a samples file ends
    at its last ``_``)."""
    return re.sub(r"[^A-Za-z0-9._-]+" if underscore else r"[^A-Za-z0-9.-]+", "-", name).strip("-") or "judge"


def _package_version() -> str:
    import judge_tasks

    return judge_tasks.__version__


def grading_key(judge: str, model_args: str, opts, samples: Path, against: Path | None, rubric) -> str:
    from lm_eval.utils import simple_parse_args_string

    args = {k: v for k, v in simple_parse_args_string(model_args or "").items() if k not in GRADING_ARGS_IGNORED}
    spec = {"judge": judge, "args": sorted((k, str(v)) for k, v in args.items()),
            "mode": "pairwise" if against else "absolute", "question": opts.question_field,
            "reference": opts.reference_field, "rubric": rubric, "scale": list(opts.scale), "raw": opts.raw,
            "filter": opts.filter, "swap": bool(opts.swap and against), "samples": samples.resolve().name,
            "against": None if against is None else str(against.resolve()),
            "chat": opts.apply_chat_template, "max_gen_toks": opts.max_gen_toks}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]


def _dump(obj) -> str:
    from lm_eval.utils import handle_non_serializable

    return json.dumps(obj, default=handle_non_serializable, ensure_ascii=False)


def _conventions(mode: str, swap: bool) -> str:
    if mode == "absolute":
        return ("Absolute: the judge grades each generation on the scale; judge_score is the mean over parsed "
                "grades, with a seeded bootstrap stderr and 95% percentile interval (ci_low / ci_high); "
                "unparseable grades are counted in parse_failures and left out.")
    return ("Pairwise: response A = this run, B = the other run (matched by doc_id); win / tie / loss = verdict a "
            "/ tie / b; win_rate_half_ties counts a tie as half a win; unparseable verdicts -> tie (JudgeLM / "
            "PandaLM rule), counted in parse_failures"
            + ("; both orders judged, disagreement -> tie (PandaLM), consistency = share of agreeing orders."
               if swap else "; published order only.") + " Stderr: seeded bootstrap over documents.")


def _check_against(samples, others, samples_path, against_path):
    for s in samples:
        o = others.get(s["doc_id"])
        if o is not None and s.get("doc_hash") and o.get("doc_hash") and s["doc_hash"] != o["doc_hash"]:
            raise ValueError(f"{samples_path} and {against_path}: doc_id {s['doc_id']} is a different document "
                             "in the two runs (doc_hash differs): compare runs of the same task")


def grade_task(grader: Grader, samples_path: Path, opts, judge: str, model_args: str, out_dir: Path,
               against_path: Path | None, rubric) -> dict:
    """Grade one samples file (resumable); return its ``results`` entry, config and per-sample lines."""
    from tqdm import tqdm

    task, _ = samples_task(samples_path)
    samples = read_samples(samples_path, opts.filter)
    if opts.limit is not None:
        samples = samples[: opts.limit]
    others = None
    if against_path is not None:
        others = {s["doc_id"]: s for s in read_samples(against_path, opts.filter)}
        _check_against(samples, others, samples_path, against_path)
    key = grading_key(judge, model_args, opts, samples_path, against_path, rubric)
    out_path = out_dir / f"samples_{task}_judged_{_sanitize(judge)}-{key}.jsonl"
    # what fixes the grade text beyond the key: checked on every line of a resumed file
    provenance = {"lm_eval_judges_version": _package_version(), "judge_prompt": grader.prompt_identity,
                  "judge_weights": grader.weights_identity}
    done, torn = read_graded(out_path, key, provenance)
    if torn:
        log.warning("%s: dropped %d torn last line (an interrupted write); it is graded again", out_path, torn)
    unmatched = [s["doc_id"] for s in samples if others is not None and s["doc_id"] not in others]
    todo = [s for s in samples if s["doc_id"] not in done and s["doc_id"] not in unmatched]
    if done:
        log.info("%s: %d of %d documents already graded in %s", task, len(done), len(samples), out_path.name)
    with open(out_path, "a", encoding="utf-8") as f, \
            tqdm(total=len(samples) - len(unmatched), initial=len(samples) - len(unmatched) - len(todo),
                 desc=f"judging {task}", disable=opts.quiet) as bar:
        for start in range(0, len(todo), opts.batch_size):
            batch = todo[start:start + opts.batch_size]
            recs = [build_record(task, s, opts, rubric, None if others is None else others[s["doc_id"]])
                    for s in batch]
            written = []
            for s, line in zip(batch, grade_batch(grader, recs, opts.swap)):
                row = {"doc_id": s["doc_id"], **line, "target": s.get("target", ""), "filter": "none",
                       "source_doc_hash": s.get("doc_hash"), "grading": key, **provenance}
                text = _dump(row)
                done[s["doc_id"]] = json.loads(text)
                written.append(text)
            append_lines(f, written)
            bar.update(len(batch))
    lines = [done[s["doc_id"]] for s in samples if s["doc_id"] in done]
    result = {"name": f"{task}_judged", "alias": f"{task}_judged", "sample_len": len(lines),
              **aggregate(lines, opts.bootstrap_iters)}
    if unmatched:
        result["unmatched,none"] = len(unmatched)
        result["unmatched_stderr,none"] = "N/A"
    mode = "absolute" if others is None else "pairwise"
    config = {"task": f"{task}_judged", "source_task": task, "source_samples": str(samples_path.resolve()),
              "against_samples": None if against_path is None else str(against_path.resolve()),
              "judged_samples": str(out_path.resolve()), "mode": mode, "question_field": opts.question_field,
              "reference_field": opts.reference_field, "rubric": rubric, "scale": list(opts.scale),
              "swap": bool(opts.swap and others is not None), "filter": opts.filter, "raw_resps": opts.raw,
              "grading_key": key, **provenance, "torn_lines": torn,
              "metadata": {"version": VERSION, "conventions": _conventions(mode, bool(opts.swap))}}
    return {"task": task, "result": result, "config": config, "lines": lines, "path": out_path,
            "unmatched": len(unmatched), "torn": torn}


def source_results(samples_path: Path) -> dict | None:
    """The results file the samples belong to (same date id), if it is there."""
    from judge_tools.results import ResultsFileError

    task, date = samples_task(samples_path)
    path = samples_path.with_name(f"results_{date}.json")
    if not path.is_file():
        return None
    try:
        data = read_results(path)
    except ResultsFileError as err:
        log.warning("%s", err)
        return None
    config = data.get("config") or {}
    return {"results_file": str(path.resolve()), "model": config.get("model"),
            "model_args": config.get("model_args"), "model_name": data.get("model_name"),
            "date": data.get("date"), "limit": config.get("limit")}


def write_results(graded: list[dict], judge: str, model_args: str, opts, out_dir: Path, started: float) -> Path:
    import lm_eval
    from lm_eval.utils import simple_parse_args_string

    date_id = datetime.now().isoformat().replace(":", "-")
    results = {
        "results": {g["result"]["name"]: g["result"] for g in graded},
        "group_subtasks": {},
        "configs": {g["config"]["task"]: g["config"] for g in graded},
        "versions": {g["config"]["task"]: VERSION for g in graded},
        "n-shot": {g["config"]["task"]: 0 for g in graded},
        "higher_is_better": {g["config"]["task"]: {m.split(",")[0]: HIGHER_IS_BETTER[m.split(",")[0]]
                                                  for m in g["result"] if m.split(",")[0] in HIGHER_IS_BETTER}
                             for g in graded},
        "n-samples": {g["config"]["task"]: {"original": g["result"]["sample_len"] + g["unmatched"],
                                            "effective": g["result"]["sample_len"]} for g in graded},
        "config": {"model": judge, "model_args": simple_parse_args_string(model_args or ""),
                   "batch_size": opts.batch_size, "bootstrap_iters": opts.bootstrap_iters,
                   "gen_kwargs": {"max_gen_toks": opts.max_gen_toks}, "limit": opts.limit},
        "source": {g["task"]: source_results(Path(g["config"]["source_samples"])) for g in graded},
        "date": datetime.now().timestamp(),
        "lm_eval_version": getattr(lm_eval, "__version__", None),
        "lm_eval_judges_version": _package_version(),
        "model_source": judge, "model_name": judge, "model_name_sanitized": _sanitize(judge, True),
        "total_evaluation_time_seconds": str(datetime.now().timestamp() - started),
    }
    path = out_dir / f"results_judge_{_sanitize(judge, True)}_{date_id}.json"
    path.write_text(json.dumps(results, indent=2, default=_json_default, ensure_ascii=False), encoding="utf-8")
    return path


def _json_default(o):
    from lm_eval.utils import handle_non_serializable

    return handle_non_serializable(o)


# --------------------------------------------------------------------------- CLI
def _scale(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("--scale is MIN,MAX (e.g. 1,5)") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise argparse.ArgumentTypeError("--scale needs MIN < MAX")
    return lo, hi


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="judge-score", description="Grade the generations of an lm-eval run (--log_samples) with a judge.",
        epilog=f"Named rubrics: {', '.join(RUBRICS)}.")
    p.add_argument("samples", nargs="+", help="samples_<task>_<date>.jsonl files or folders holding them")
    p.add_argument("--model", required=True, help="judge: phudge, judgelm, pandalm, prometheus, replay, or any "
                                                  "harness model (hf, vllm, ...)")
    p.add_argument("--model_args", default="", help="the judge's model args (key=value,...)")
    p.add_argument("--against", help="pairwise: the other run's samples (a file, or a folder: matched by task)")
    p.add_argument("--swap", action="store_true", help="pairwise: judge both orders (disagreement -> tie)")
    p.add_argument("--question_field", default=None,
                   help="'prompt' (what the model saw; the default, except for this package's question tasks, "
                        "whose documents give the bare question), 'target', or a (dotted) doc field")
    p.add_argument("--reference_field", default=None,
                   help="'target' or a (dotted) doc field with a reference (question tasks: their reference)")
    p.add_argument("--rubric", default=None, help=f"a JSON / YAML rubric file or a named rubric ({', '.join(RUBRICS)})")
    p.add_argument("--scale", type=_scale, default=(1.0, 5.0), help="score scale MIN,MAX (default 1,5)")
    p.add_argument("--filter", default=None, help="which filter's lines to grade (default: the first one)")
    p.add_argument("--raw", action="store_true", help="grade resps (unfiltered) instead of filtered_resps")
    p.add_argument("--batch_size", type=int, default=8, help="documents per judge call (and per file write)")
    p.add_argument("--device", default=None)
    p.add_argument("--limit", type=int, default=None, help="grade only the first N documents")
    p.add_argument("--bootstrap_iters", type=int, default=1000)
    p.add_argument("--max_gen_toks", type=int, default=512, help="plain harness models: generation length")
    p.add_argument("--apply_chat_template", action="store_true", help="plain harness models: chat template")
    p.add_argument("--output_path", default=None, help="folder for the outputs (default: beside the samples)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _match_against(samples: list[Path], against: str | None) -> list[Path | None]:
    if against is None:
        return [None] * len(samples)
    found = find_samples([against])
    if Path(against).is_file():
        if len(samples) != 1:
            raise SystemExit("judge-score: --against FILE needs exactly one samples file; give a folder to match "
                             "several tasks by name")
        return found
    by_task = {samples_task(f)[0]: f for f in found}
    out = []
    for s in samples:
        task = samples_task(s)[0]
        if task not in by_task:
            raise SystemExit(f"judge-score: --against {against} has no samples of task {task!r}")
        out.append(by_task[task])
    return out


def main(argv=None) -> int:
    opts = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if opts.batch_size < 1:
        raise SystemExit("judge-score: --batch_size must be >= 1")
    started = datetime.now().timestamp()
    samples = find_samples(opts.samples)
    againsts = _match_against(samples, opts.against)
    rubric = load_rubric(opts.rubric)

    from lm_eval.api.registry import get_model

    lm = get_model(opts.model).create_from_arg_string(
        opts.model_args, {"batch_size": opts.batch_size, "device": opts.device})
    grader = Grader(lm, opts.apply_chat_template, opts.max_gen_toks)
    graded = []
    for s, a in zip(samples, againsts):
        out_dir = Path(opts.output_path) if opts.output_path else s.parent
        out_dir.mkdir(parents=True, exist_ok=True)
        graded.append(grade_task(grader, s, opts, opts.model, opts.model_args, out_dir, a, rubric))
    by_dir: dict[Path, list] = {}
    for g in graded:
        by_dir.setdefault(g["path"].parent, []).append(g)
    for out_dir, group in by_dir.items():
        path = write_results(group, opts.model, opts.model_args, opts, out_dir, started)
        print(f"judge-score: wrote {path}")
    for g in graded:
        r = g["result"]
        main_metric = "judge_score" if "judge_score,none" in r else "win_rate"
        stderr = r.get(f"{main_metric}_stderr,none")
        print(f"{r['name']}: {main_metric} = {r[f'{main_metric},none']:.4f} ± {stderr:.4f} "
              f"(n = {r['sample_len']}, parse failures = {r['parse_failures,none']} "
              f"[{r['parse_failure_rate,none']:.1%}]"
              + (f", unmatched = {g['unmatched']}" if g["unmatched"] else "")
              + (f", torn lines dropped on resume = {g['torn']}" if g["torn"] else "") + f"); grades: {g['path']}")
        if r["parse_failures,none"]:
            log.warning("%s: %d judge outputs could not be parsed", r["name"], r["parse_failures,none"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
