"""``prometheus``: Prometheus absolute and relative grading, generative.

``lm_eval --model prometheus --model_args pretrained=BASE[,adapter=DIR][,runs=3][,system_prompt=true] --tasks ...``

* Absolute documents: ``judge_core.prompts.prometheus_absolute`` (rubric required: a document without one stops
  the run with an error that says which judges need none), ``[RESULT] 1-5`` parsed by
  ``judge_core.parsers.prometheus_absolute`` and mapped linearly onto the task's scale.
* Pairwise documents: ``prompts.prometheus_relative`` (the rubric's criteria, or the default criteria line when the
  document has no rubric), ``[RESULT] A|B`` parsed by ``parsers.prometheus_relative``. ``relative=false`` grades
  both responses with the absolute prompt instead and compares the scores (``tie_rule``; needs rubrics).
* ``runs=N``: N sampled generations per document (Prometheus used 3; sampling ``temperature=1.0``,
  ``top_p=0.9``, ``repetition_penalty=1.03`` as prometheus-eval); absolute: the mean of the parsed scores,
  relative: the majority verdict (an even split -> tie). ``runs=1`` (default): greedy.
* ``system_prompt=true``: Prometheus 2's system prompts (absolute / relative), as prometheus-eval sends them
  (merged into the user turn when the chat template has no system role).
* Generation stops once ``[RESULT] x`` is written, at most ``max_new_tokens`` (default 1024).

Output per document: ``score`` / ``verdict``, ``runs`` (each run's parsed result), ``raw`` (the generated text, a
list when runs > 1), ``truncated``, ``parsed``.
"""
from __future__ import annotations

from judge_core import parsers, prompts
from judge_core.scales import rescale, verdict_from_scores
from judge_models.base import JudgeTaskError
from judge_models.generation import GenerativeJudge, result_written

PROMETHEUS_TOKENS = 1024


def majority(verdicts: list) -> str | None:
    a, b = verdicts.count("a"), verdicts.count("b")
    if a == b == 0:
        return None
    return verdict_from_scores(a, b)


class PrometheusJudge(GenerativeJudge):
    native = "absolute"
    judge_name = "prometheus"

    def __init__(self, runs: int = 1, relative: bool = True, system_prompt: bool = False, max_new_tokens=None,
                 temperature: float = 1.0, top_p: float = 0.9, repetition_penalty: float | None = None,
                 **kwargs):
        self.runs = int(runs)
        if self.runs < 1:
            raise ValueError(f"runs must be >= 1, got {runs}")
        if repetition_penalty is None:
            repetition_penalty = 1.03 if self.runs > 1 or kwargs.get("do_sample") else 1.0
        super().__init__(max_new_tokens=max_new_tokens or PROMETHEUS_TOKENS, temperature=temperature, top_p=top_p,
                         repetition_penalty=repetition_penalty, **kwargs)
        self.relative = bool(relative)
        self.system_prompt = bool(system_prompt)

    def _run(self, texts: list[str], system: str | None, desc: str):
        fitted = [self.fit(self.encode_prompt(t, system=system if self.system_prompt else None)) for t in texts]
        outs = self.generate([ids for ids, _ in fitted], n=self.runs, stop=result_written,
                             sample=self.runs > 1 or self.do_sample, desc=desc)
        return outs, [tr for _, tr in fitted]

    def grade(self, docs: list[dict]) -> list[dict]:
        for d in docs:
            if not d.get("rubric"):
                raise JudgeTaskError(
                    f"prometheus grades a response against a score rubric, but {d.get('benchmark')} document "
                    f"{d.get('id')} (row {d.get('row')}) has none. Run it on a task with rubrics (feedback_bench, "
                    "flask_*, mt_bench_absolute, ...), or use a judge that needs none (phudge, judgelm with a "
                    "reference answer).")
        texts = [prompts.prometheus_absolute(d["instruction"], d["response"], d["rubric"], d.get("reference"))
                 for d in docs]
        outs, truncated = self._run(texts, prompts.PROMETHEUS_ABS_SYSTEM, "prometheus absolute")
        results = []
        for d, group, tr in zip(docs, outs, truncated):
            runs = [parsers.prometheus_absolute(t) for t in group]
            ok = [r for r in runs if r is not None]
            score = None
            if ok:
                score = rescale(sum(ok) / len(ok), (1.0, 5.0), d.get("scale") or (1.0, 5.0))
            results.append({"score": score, "runs": runs, "raw": group[0] if self.runs == 1 else group,
                            "truncated": tr})
        return results

    def compare(self, docs: list[dict]) -> list[dict]:
        texts = [prompts.prometheus_relative(d["instruction"], d["response_a"], d["response_b"], d.get("rubric"),
                                             d.get("reference")) for d in docs]
        outs, truncated = self._run(texts, prompts.PROMETHEUS_REL_SYSTEM, "prometheus relative")
        results = []
        for group, tr in zip(outs, truncated):
            runs = [parsers.prometheus_relative(t) for t in group]
            results.append({"verdict": majority(runs), "runs": runs, "raw": group[0] if self.runs == 1 else group,
                            "truncated": tr})
        return results

    def compare_by_grading(self, docs: list[dict]) -> list[dict]:
        """Pairwise documents: the relative prompt (native), or with relative=false the base class's bridge."""
        return self.compare(docs) if self.relative else super().compare_by_grading(docs)
