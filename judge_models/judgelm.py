"""``judgelm``: JudgeLM pairwise judging, generative, with the authors' prompts (``judge_core.prompts``, from
``baaivision/JudgeLM`` ``judgelm/llm_judge/common.py`` and ``gen_model_judgement*.py``).

``lm_eval --model judgelm --model_args pretrained=BASE[,adapter=DIR][,reasons=true][,lenient=true] --tasks ...``

* Pairwise documents: ``prompts.judgelm_pair`` (``conv_judge_pair``, or ``conv_judge_pair_w_reference`` when the
  document has a reference). The judge writes "s1 s2" (1-10) on its first line; the higher score wins, equal
  scores tie (``translate_score_to_win_list``, T = 0).
* Absolute documents with a reference answer: single-answer grading (``prompts.judgelm_single_for``:
  ``conv_judge_single_w_reference``, or ``conv_judge_vqa_single_answer`` on MM-Vet): the reference is Assistant 1
  and the prompt ends ``### Response:10``; the judge completes Assistant 2's score, mapped linearly from 1-10 onto
  the task's scale. Absolute documents without a reference: an error (base class).
* The authors send the prompt as plain text after BOS; ``chat_template=auto`` uses the tokenizer's template when it
  has one (JudgeLM's own tokenizers have none). With a template the prompt is the user turn and ``10`` starts the
  assistant turn.
* ``reasons=false`` (default): score-first, generation stops at the end of the first line (the authors'
  ``--if-fast-eval 1``, separator ``\\n``). ``reasons=true``: the explanation too, returned as ``reason``.
* Parsing: the authors' ``parse_score`` (``judge_core.parsers.judgelm``); a failure (their ``[-1, -1]``) is a parse
  failure (tie on pairwise tasks, as their win list makes it). ``lenient=true``: any whitespace between the scores.

Output per document: ``verdict`` / ``score``, ``scores``, ``raw``, ``reason`` (reasons=true), ``truncated``,
``parsed``, ``judge_input`` (the text the model was fed), ``lenient_recovered`` (lenient=true).
"""
from __future__ import annotations

from judge_core import parsers, prompts
from judge_core.scales import clip, rescale
from judge_models.generation import GenerativeJudge, first_line_done


def _rest(text: str) -> str:
    parts = text.strip().split("\n", 1)
    return parts[1].strip() if len(parts) > 1 else ""


class JudgeLMJudge(GenerativeJudge):
    native = "pairwise"
    judge_name = "judgelm"

    def _run(self, texts: list[str], desc: str):
        ids, truncated, fed = self.fit_texts(texts)
        outs = self.generate(ids, n=1, stop=None if self.reasons else first_line_done,
                             cut_first_line=not self.reasons, desc=desc)
        return [o[0] for o in outs], truncated, fed

    def _item(self, text, truncated, fed, prefix: str = ""):
        scores, recovered = self.read(parsers.judgelm, text, prefix=prefix)
        item = {"scores": None if scores is None else list(scores), "raw": text, "truncated": truncated,
                "judge_input": [fed]}
        if self.lenient:
            item["lenient_recovered"] = recovered
        if self.reasons:
            item["reason"] = _rest(prefix + text)
        return scores, item

    def compare(self, docs: list[dict]) -> list[dict]:
        texts = [self.prompt_text(prompts.judgelm_pair(d["instruction"], d["response_a"], d["response_b"],
                                                       d.get("reference"))) for d in docs]
        out = []
        for text, tr, fed in zip(*self._run(texts, "judgelm")):
            scores, item = self._item(text, tr, fed)
            out.append({"verdict": parsers.judgelm_verdict(scores), **item})
        return out

    def _single_text(self, d: dict) -> str:
        text = prompts.judgelm_single_for(d)
        if self.use_chat_template:
            return self.prompt_text(text[:-len(prompts.JUDGELM_SINGLE_PREFIX)],
                                    assistant_prefix=prompts.JUDGELM_SINGLE_PREFIX)
        return text

    def grade_single(self, docs: list[dict]) -> list[dict]:
        lo, hi = prompts.JUDGELM_SCALE
        out = []
        for d, text, tr, fed in zip(docs, *self._run([self._single_text(d) for d in docs], "judgelm single")):
            scores, item = self._item(text, tr, fed, prefix=prompts.JUDGELM_SINGLE_PREFIX)
            score = None if scores is None else rescale(clip(scores[1], (lo, hi)), (lo, hi), d["scale"])
            out.append({"score": score, "prefix": prompts.JUDGELM_SINGLE_PREFIX, **item})
        return out
