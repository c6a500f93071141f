"""``pandalm``: PandaLM pairwise judging (1 / 2 / Tie), generative.

``lm_eval --model pandalm --model_args pretrained=BASE[,adapter=DIR][,reasons=true] --tasks <pairwise tasks> ...``

Prompt: ``judge_core.prompts.pandalm`` (the released inference code's layout; the document's ``meta.input`` as the
Input section when there is one), with every special token of the judge's tokenizer (its own list:
``all_special_tokens`` and the added tokens marked special) and PandaLM's own pattern of 13 tokens stripped from
the responses. The judge writes ``1`` / ``2`` / ``Tie`` on its first line (``judge_core.parsers.pandalm``), then
``### Reason: ...`` and ``### Reference: ...``.

* ``reasons=false`` (default): only the first line is generated (stops at its end, ``max_new_tokens`` default 16).
* ``reasons=true``: the reason and the reference answer are generated too (``max_new_tokens`` default 512) and
  returned as ``reason`` and ``reference`` (so they are in ``--log_samples``). PandaLM's own decoding used beam
  search (``num_beams=4``) with ``repetition_penalty=1.2``; both are model_args here (greedy by default).

Output per document: ``verdict``, ``raw``, ``reason`` / ``reference`` (reasons=true), ``truncated``, ``parsed``,
``judge_input`` (the text the model was fed). Unparseable first line -> parse failure (tie, PandaLM's rule).
Absolute tasks: not served (PandaLM has no single-answer grading).
"""
from __future__ import annotations

from judge_core import parsers, prompts
from judge_models.generation import GenerativeJudge, first_line_done


def tokenizer_special_tokens(tokenizer) -> list[str]:
    """Every special token of a tokenizer (its special-token list and the added tokens marked special), with
    PandaLM's own pattern, which the authors strip whatever the tokenizer."""
    tokens = set(getattr(tokenizer, "all_special_tokens", None) or []) | set(prompts.PANDALM_SPECIAL_TOKENS)
    for added in (getattr(tokenizer, "added_tokens_decoder", None) or {}).values():
        if getattr(added, "special", False):
            tokens.add(getattr(added, "content", str(added)))
    return sorted(t for t in tokens if t)


class PandaLMJudge(GenerativeJudge):
    native = "pairwise"
    judge_name = "pandalm"

    def compare(self, docs: list[dict]) -> list[dict]:
        special = tokenizer_special_tokens(self.tokenizer)
        ids, truncated, fed = self.fit_texts([self.prompt_text(prompts.pandalm_for(d, special)) for d in docs])
        texts = self.generate(ids, n=1, stop=None if self.reasons else first_line_done,
                              cut_first_line=not self.reasons, desc="pandalm")
        out = []
        for tr, inp, (text,) in zip(truncated, fed, texts):
            verdict, recovered = self.read(parsers.pandalm, text)
            item = {"verdict": verdict, "raw": text, "truncated": tr, "judge_input": [inp]}
            if self.lenient:
                item["lenient_recovered"] = recovered
            if self.reasons:
                item["reason"], item["reference"] = parsers.pandalm_reason_and_reference(text)
            out.append(item)
        return out
