"""The one base class of every judge: reads the normalised record from ``Instance.doc`` and hands back the
structured judge output (``parsers.encode_judge_output``) that the task's ``process_results`` reads.

A subclass implements what it natively does:

* ``grade(docs)``   -> absolute grading: ``{"score": float on the doc's scale, ...}`` per absolute doc;
* ``compare(docs)`` -> pairwise judging: ``{"verdict": "a" | "b" | "tie", ...}`` per pairwise doc;
* ``grade_single(docs)`` (pairwise judges) -> JudgeLM's single-answer grading (reference as Assistant 1 with
  a score of 10, JudgeLM Fig. 5) for absolute docs that have a reference.

The base class fills the gaps: an absolute judge on a pairwise task grades both responses and compares the
scores (``tie_rule``: ``strict`` = only equal scores tie, compared before clipping to the scale where the judge
gives that value, ``unclipped``; ``rounded`` = equal after rounding the scores to integers); a
pairwise judge on an absolute task uses ``grade_single`` where the doc has a reference and otherwise stops
with an error that says so. Every output also keeps ``raw`` (the judge's own text) and ``parsed``, and
``judge_input``: a list with the exact text given to the model after the chat template, one per call (one for a
generative judge, two for a score-head judge on a pair). lm-eval writes the output line to the samples log of
``--log_samples`` (``resps`` / ``filtered_resps``: ``JUDGE_OUTPUT {...}``), so that is where to read it.
"""
from __future__ import annotations

import functools
import logging

from lm_eval.api.model import LM

from judge_core import parsers
from judge_core.fingerprint import fingerprint

log = logging.getLogger(__name__)
TIE_RULES = ("strict", "rounded")


class JudgeTaskError(ValueError):
    """A task kind (or document) this judge cannot serve."""


class JudgeModel(LM):
    #: what the judge does natively
    native = "absolute"  # or "pairwise"
    #: the prompt style a judge takes from its own files rather than its model args (phudge: its judge_config's
    #: ``prompt_style``); None = the fixed prompts of its class in this package version
    prompt_style: str | None = None

    @property
    def prompt_identity(self) -> str:
        """What fixes the judge's prompt text besides the record, the model args and the package version: its
        class and prompt style (``judge-score`` refuses to resume grades made under another)."""
        return f"{type(self).__name__}/{self.prompt_style or 'default'}"

    def weight_paths(self) -> list:
        """The local files the judge's weights (or replayed outputs) come from; none by default."""
        return []

    @functools.cached_property
    def weights_identity(self) -> str | None:
        """A fingerprint of ``weight_paths`` (``judge_core.fingerprint``), None when there are none; ``judge-score``
        refuses to resume grades made with other weights (a judge retrained in place keeps its folder, its model
        args and so its grading key)."""
        paths = self.weight_paths()
        return fingerprint(paths) if paths else None

    def __init__(self, tie_rule: str = "strict", batch_size=1, max_batch_size=None, device=None, **kwargs):
        super().__init__()
        if tie_rule not in TIE_RULES:
            raise ValueError(f"tie_rule must be one of {TIE_RULES}, got {tie_rule!r}")
        self.tie_rule = tie_rule
        unknown = {k: v for k, v in kwargs.items() if v is not None}
        if unknown:
            raise TypeError(f"{type(self).__name__} got unknown model_args: {sorted(unknown)}")

    # ------------------------------------------------------------------ what subclasses implement
    def grade(self, docs: list[dict]) -> list[dict]:
        raise JudgeTaskError(f"{type(self).__name__} does not grade single responses")

    def compare(self, docs: list[dict]) -> list[dict]:
        raise JudgeTaskError(f"{type(self).__name__} does not compare responses")

    def grade_single(self, docs: list[dict]) -> list[dict]:
        raise JudgeTaskError(f"{type(self).__name__} has no single-answer grading")

    # ------------------------------------------------------------------ the bridges
    def compare_by_grading(self, docs: list[dict]) -> list[dict]:
        """Absolute judge on pairwise docs: grade A and B as absolute records, compare the scores."""
        singles = []
        for d in docs:
            for side in ("a", "b"):
                singles.append({**d, "kind": "absolute", "response": d[f"response_{side}"], "side": side,
                                "gold_score": 0.0, "scale": d.get("scale") or [1.0, 5.0]})
        grades = self.grade(singles)
        out = []
        for i, d in enumerate(docs):
            ga, gb = grades[2 * i], grades[2 * i + 1]
            sa, sb = ga.get("score"), gb.get("score")
            if sa is None or sb is None:
                verdict = None
            else:
                # strict: the values before clipping to the scale, when the judge gives them ("unclipped"), so
                # that two responses both beyond one end of the scale are still ordered
                ka, kb = ((round(sa), round(sb)) if self.tie_rule == "rounded"
                          else (ga.get("unclipped", sa), gb.get("unclipped", sb)))
                verdict = "a" if ka > kb else "b" if kb > ka else "tie"
            out.append({"verdict": verdict, "scores": [sa, sb], "tie_rule": self.tie_rule,
                        "parsed": verdict is not None, "grades": [ga, gb]})
        return out

    def grade_by_comparing(self, docs: list[dict]) -> list[dict]:
        missing = [d for d in docs if d.get("reference") is None]
        if missing:
            d = missing[0]
            raise JudgeTaskError(
                f"{type(self).__name__} is a pairwise judge: on the absolute task {d['benchmark']} it grades a "
                "single answer against the reference answer (JudgeLM Fig. 5), but document "
                f"{d['id']} (row {d['row']}) has no reference. Use an absolute judge (phudge, prometheus) instead.")
        return self.grade_single(docs)

    def judge(self, docs: list[dict]) -> list[dict]:
        out: list[dict | None] = [None] * len(docs)
        for kind in ("absolute", "pairwise"):
            idx = [i for i, d in enumerate(docs) if d.get("kind") == kind]
            if not idx:
                continue
            batch = [docs[i] for i in idx]
            if kind == "absolute":
                res = self.grade(batch) if self.native == "absolute" else self.grade_by_comparing(batch)
            else:
                res = self.compare(batch) if self.native == "pairwise" else self.compare_by_grading(batch)
            for i, r in zip(idx, res):
                r.setdefault("parsed", r.get("score" if kind == "absolute" else "verdict") is not None)
                out[i] = r
        bad = [i for i, o in enumerate(out) if o is None]
        if bad:
            raise JudgeTaskError(f"document {bad[0]} is not a judge record (no 'kind'): run a judge task of "
                                 "lm-eval-judges (lm-eval ls tasks | grep judge)")
        return out

    # ------------------------------------------------------------------ lm-eval API
    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        docs = [req.doc for req in requests]
        if any(not isinstance(d, dict) or "kind" not in d for d in docs):
            raise JudgeTaskError(f"{type(self).__name__} judges only the tasks of lm-eval-judges, whose documents "
                                 "are judge records; this task's documents are not")
        return [parsers.encode_judge_output(o) for o in self.judge(docs)]

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise JudgeTaskError(f"{type(self).__name__} is a judge: it runs the generate_until judge tasks of "
                             "lm-eval-judges, not log-likelihood tasks")

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        return self.loglikelihood(requests)
