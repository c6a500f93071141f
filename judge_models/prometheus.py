"""``prometheus``: Prometheus absolute and relative grading, generative, as prometheus-eval runs it.

``lm_eval --model prometheus --model_args pretrained=BASE[,adapter=DIR][,runs=3][,system_prompt=false] --tasks ...``

* Absolute documents: the complete prompt as the benchmark file stores it (``meta.prompt``: the Prometheus
  Feedback Collection / Vicuna / MT-Bench / FLASK files), else ``judge_core.prompts.prometheus_absolute`` built
  from the record (a rubric is required: a document without one stops the run with an error that says which
  judges need none). ``[RESULT] 1-5`` is read by the authors' parser (``judge_core.parsers.prometheus_absolute``)
  and mapped linearly onto the task's scale.
* Pairwise documents: ``prompts.prometheus_relative`` (the rubric's criteria, or the default criteria line when the
  document has no rubric), ``A`` / ``B`` read by ``parsers.prometheus_relative``. ``relative=false`` grades both
  responses with the absolute prompt instead (each response's stored prompt on the HHH / MT-Bench human files)
  and compares the scores (``tie_rule``).
* ``system_prompt=true`` (default, as prometheus-eval): Prometheus 2's system prompt (absolute / relative) as the
  system turn; a chat template without a system role gets it joined to the user turn with a newline, which is
  prometheus-eval's layout (fastchat's ``mistral`` template: ``[INST] {system}\\n{user} [/INST]``).
* ``runs=N``: N sampled generations per document (Prometheus used 3; sampling ``temperature=1.0``,
  ``top_p=0.9``, ``repetition_penalty=1.03`` as prometheus-eval); absolute: the mean of the parsed scores,
  relative: the majority verdict (an even split -> tie). ``runs=1`` (default): greedy.
* Generation stops once ``[RESULT] x`` is written, at most ``max_new_tokens`` (default 1024, prometheus-eval's).
* ``lenient=true``: where the authors' parser fails, the first score / letter after the last ``[RESULT]``.

Output per document: ``score`` / ``verdict``, ``runs`` (each run's parsed result), ``raw`` (the generated text, a
list when runs > 1), ``truncated``, ``parsed``, ``judge_input`` (the text the model was fed: one call, N samples),
``lenient_recovered`` (lenient=true: how many runs only the lenient reading read).
"""
from __future__ import annotations

from judge_core import parsers, prompts, records
from judge_core.scales import rescale, verdict_from_scores
from judge_models.base import JudgeTaskError
from judge_models.generation import GenerativeJudge, result_written

PROMETHEUS_TOKENS = 1024


def majority(verdicts: list) -> str | None:
    a, b = verdicts.count("a"), verdicts.count("b")
    if a == b == 0:
        return None
    return verdict_from_scores(a, b)


def absolute_prompt(doc: dict) -> str:
    """The absolute prompt of a document: the stored one (of its side, for a response of a pair), else built."""
    meta = doc.get("meta") or {}
    side = doc.get("side")
    if side in ("a", "b") and meta.get(f"prompt_{records.to_published_order(side, doc)}"):
        return meta[f"prompt_{records.to_published_order(side, doc)}"]
    if not meta.get("prompt") and not doc.get("rubric"):
        from judge_tasks.registry import rubric_benchmarks

        raise JudgeTaskError(
            f"prometheus grades a response against a score rubric, but {doc.get('benchmark')} document "
            f"{doc.get('id')} (row {doc.get('row')}) has none. Run it on a task with rubrics "
            f"({', '.join(rubric_benchmarks())}), or use a judge that needs none (phudge, judgelm with a "
            "reference answer).")
    return prompts.prometheus_absolute_for(doc)


class PrometheusJudge(GenerativeJudge):
    native = "absolute"
    judge_name = "prometheus"

    def __init__(self, runs: int = 1, relative: bool = True, system_prompt: bool = True, max_new_tokens=None,
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

    def _run(self, texts: list[str], system: str, desc: str):
        ids, truncated, fed = self.fit_texts(
            [self.prompt_text(t, system=system if self.system_prompt else None) for t in texts])
        outs = self.generate(ids, n=self.runs, stop=result_written, sample=self.runs > 1 or self.do_sample,
                             desc=desc)
        return outs, truncated, fed

    def _read_runs(self, parser, group):
        reads = [self.read(parser, t) for t in group]
        return [v for v, _ in reads], sum(r for _, r in reads)

    def _item(self, runs, recovered, group, truncated, fed) -> dict:
        item = {"runs": runs, "raw": group[0] if self.runs == 1 else group, "truncated": truncated,
                "judge_input": [fed]}
        if self.lenient:
            item["lenient_recovered"] = recovered
        return item

    def grade(self, docs: list[dict]) -> list[dict]:
        texts = [absolute_prompt(d) for d in docs]
        results = []
        for d, group, tr, fed in zip(docs, *self._run(texts, prompts.PROMETHEUS_ABS_SYSTEM, "prometheus absolute")):
            runs, recovered = self._read_runs(parsers.prometheus_absolute, group)
            ok = [r for r in runs if r is not None]
            score = rescale(sum(ok) / len(ok), (1.0, 5.0), d.get("scale") or (1.0, 5.0)) if ok else None
            results.append({"score": score, **self._item(runs, recovered, group, tr, fed)})
        return results

    def compare(self, docs: list[dict]) -> list[dict]:
        texts = [prompts.prometheus_relative(d["instruction"], d["response_a"], d["response_b"], d.get("rubric"),
                                             d.get("reference")) for d in docs]
        results = []
        for group, tr, fed in zip(*self._run(texts, prompts.PROMETHEUS_REL_SYSTEM, "prometheus relative")):
            runs, recovered = self._read_runs(parsers.prometheus_relative, group)
            results.append({"verdict": majority(runs), **self._item(runs, recovered, group, tr, fed)})
        return results

    def compare_by_grading(self, docs: list[dict]) -> list[dict]:
        """Pairwise documents: the relative prompt (native), or with relative=false the base class's bridge."""
        return self.compare(docs) if self.relative else super().compare_by_grading(docs)
