"""Turning judge messages into the exact token ids a model reads, for the judges and for training alike (a judge
is trained on the ids it will be given when it judges): the tokenizer's chat template (or plain text for tokenizers
without one, e.g. encoders), a generative judge's prompt (``judge_prompt_text`` / ``prompt_text_ids``), the PHUDGE
input with its truncation rule, and the cuts that shorten a text (``middle_cut``) or token ids (``keep_ends``).

PHUDGE input: the layout follows the tokenizer (``phudge_layout``): a Phi-3 chat template gets the authors' own
text (``judge_core.prompts.phudge_phi3``, BOS first), any other template ``judge_core.prompts.phudge_messages``
rendered with the generation prompt (so the head reads the position where the answer would start), tokenizers
without one the messages as plain text; the system variant by what the document has (rubric / reference / both /
none). When the prompt is longer than ``max_length`` it keeps the response and
the rubric whole and shortens the instruction first, then the reference answer (each keeps its start and its end,
the middle replaced by ``[...]``), cut once to the length that fits (measured with the field emptied), then moved by
the few tokens that joining the pieces changes. If even the response and rubric alone do not fit it raises
``PromptTooLong``.

Tokenizers are passed in (``transformers``); nothing here imports a model.
"""
from __future__ import annotations

import math

from judge_core.prompts import phudge_messages, phudge_phi3

MARKER = " [...] "


# --------------------------------------------------------------------------- chat template
def has_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def plain_text(messages: list[dict]) -> str:
    """Messages joined as plain text (tokenizers without a chat template, e.g. encoders)."""
    return "\n\n".join(m["content"] for m in messages)


def chat_text(tokenizer, messages: list[dict], add_generation_prompt: bool = True) -> str:
    """Messages rendered by the tokenizer's chat template; a template that refuses the system role gets the system
    text prepended to the first user turn (what prometheus-eval does for Mistral)."""
    try:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)
    except Exception:
        if not messages or messages[0]["role"] != "system":
            raise
        merged = [{"role": "user", "content": messages[0]["content"] + "\n\n" + messages[1]["content"]},
                  *messages[2:]]
        return tokenizer.apply_chat_template(merged, tokenize=False, add_generation_prompt=add_generation_prompt)


def render_messages(tokenizer, messages: list[dict], use_chat_template: bool | None = None) -> tuple[str, list[int]]:
    """The exact text given to the model for a conversation ending where the judge's answer starts (chat template,
    or plain text for tokenizers without one, whose own special tokens are then added) and its token ids."""
    if use_chat_template is None:
        use_chat_template = has_chat_template(tokenizer)
    if use_chat_template:
        # the template writes BOS and the special tokens itself
        text = chat_text(tokenizer, messages)
        return text, tokenizer(text, add_special_tokens=False)["input_ids"]
    text = plain_text(messages)
    return text, tokenizer(text, add_special_tokens=True)["input_ids"]


def judge_prompt_text(tokenizer, user: str, system: str | None = None, assistant_prefix: str = "",
                      use_chat_template: bool | None = None) -> str:
    """The text of one generative judge prompt as the model reads it: the chat template's rendering (a system turn
    that the template refuses is joined to the user turn with a newline, as prometheus-eval's Mistral layout does),
    or without a template the text itself (the system text first, then a newline); ``assistant_prefix`` follows."""
    if use_chat_template is None:
        use_chat_template = has_chat_template(tokenizer)
    if use_chat_template:
        messages = [{"role": "user", "content": user}]
        if system:
            try:
                return tokenizer.apply_chat_template(
                    [{"role": "system", "content": system}, *messages], tokenize=False,
                    add_generation_prompt=True) + assistant_prefix
            except Exception:  # noqa: BLE001 - templates reject a system turn in their own ways
                messages = [{"role": "user", "content": f"{system}\n{user}"}]
        return chat_text(tokenizer, messages) + assistant_prefix
    return (f"{system}\n" if system else "") + user + assistant_prefix


def prompt_text_ids(tokenizer, text: str, use_chat_template: bool | None = None) -> list[int]:
    """Token ids of a finished prompt text: a chat template writes BOS itself, plain text gets the tokenizer's."""
    if use_chat_template is None:
        use_chat_template = has_chat_template(tokenizer)
    return list(tokenizer(text, add_special_tokens=not use_chat_template)["input_ids"])


# --------------------------------------------------------------------------- truncation
def middle_cut(tokenizer, text: str, keep_tokens: int, marker: str = MARKER, ids: list[int] | None = None) -> str:
    """``text`` shortened to about ``keep_tokens`` tokens: its start and its end, the middle replaced by a marker.
    ``ids``: the text's token ids when the caller has them already (no second tokenisation)."""
    if keep_tokens <= 0:
        return ""
    if ids is None:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) <= keep_tokens:
        return text
    head = math.ceil(keep_tokens / 2)
    tail = keep_tokens - head
    end = tokenizer.decode(ids[len(ids) - tail:], skip_special_tokens=False) if tail else ""
    return tokenizer.decode(ids[:head], skip_special_tokens=False) + marker + end


def keep_ends(ids: list[int], room: int) -> list[int]:
    """Token ids cut to ``room``: the first ``room // 2`` and the last ``room - room // 2`` (unchanged if they fit)."""
    if len(ids) <= room:
        return list(ids)
    head = room // 2
    return list(ids[:head]) + list(ids[len(ids) - (room - head):])


# --------------------------------------------------------------------------- PHUDGE input
class PromptTooLong(ValueError):
    """Even the response and the rubric alone are longer than ``max_length``."""


#: what Phi-3's chat template writes for a system turn "S", a user turn "U" and the generation prompt (after any BOS);
#: the April 2024 Phi-3 template drops the system turn
_PHI3_TURNS = ("<|system|>\nS<|end|>\n<|user|>\nU<|end|>\n<|assistant|>\n", "<|user|>\nU<|end|>\n<|assistant|>\n")
_phi3_templates: dict[tuple, bool] = {}


def writes_phi3_turns(tokenizer) -> bool:
    """Whether the tokenizer's chat template is Phi-3's (probed once per template: a system and a user turn)."""
    if not has_chat_template(tokenizer):
        return False
    key = (tokenizer.chat_template, tokenizer.bos_token)
    if key not in _phi3_templates:
        try:
            text = tokenizer.apply_chat_template([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}],
                                                 tokenize=False, add_generation_prompt=True)
        except Exception:  # a template that refuses the probe is not Phi-3's
            text = ""
        if tokenizer.bos_token and text.startswith(tokenizer.bos_token):
            text = text[len(tokenizer.bos_token):]
        _phi3_templates[key] = text in _PHI3_TURNS
    return _phi3_templates[key]


def phudge_layout(tokenizer, use_chat_template: bool | None = None) -> str:
    """``phi3`` (the authors' text), ``chat`` (the tokenizer's template) or ``plain`` (module docstring).
    ``use_chat_template``: None = by the tokenizer; True = its template even on Phi-3; False = plain text."""
    if use_chat_template is False:
        return "plain"
    if use_chat_template is None and writes_phi3_turns(tokenizer):
        return "phi3"
    return "chat" if use_chat_template or has_chat_template(tokenizer) else "plain"


def _render(tokenizer, fields: dict, response, rubric, layout: str) -> tuple[str, list[int]]:
    if layout == "phi3":  # create_prometheus_prompt's text; tokenised as the authors did: BOS, then the text
        text = phudge_phi3(fields["instruction"], response, rubric, fields["reference"], fields.get("style"))
        bos = [] if tokenizer.bos_token_id is None else [tokenizer.bos_token_id]
        return text, bos + tokenizer(text, add_special_tokens=False)["input_ids"]
    messages = phudge_messages(fields["instruction"], response, rubric, fields["reference"],
                                       fields.get("style"))
    return render_messages(tokenizer, messages, layout == "chat")


def render_phudge_input(tokenizer, instruction: str, response: str, rubric: dict | None = None,
                        reference: str | None = None, max_length: int | None = None,
                        use_chat_template: bool | None = None, style: str | None = None) -> tuple[str, list[int], bool]:
    """The PHUDGE input: the exact text given to the model, its token ids, and whether it was truncated.
    ``style``: the prompt style the judge was trained with (``judge_core.prompts.PHUDGE_STYLES``; None = the authors').

    The layout by the tokenizer (``phudge_layout``: the authors' Phi-3 text, the chat template, plain text;
    ``use_chat_template`` forces the template on / off). Truncation keeps the response and rubric whole, shortens
    the instruction first, then the reference; raises ``PromptTooLong`` if the prompt cannot fit even with both
    emptied."""
    layout = phudge_layout(tokenizer, use_chat_template)
    fields = {"instruction": instruction or "", "reference": reference, "style": style}
    text, ids = _render(tokenizer, fields, response, rubric, layout)
    if not max_length or len(ids) <= max_length:
        return text, ids, False
    marker_tokens = len(tokenizer(MARKER, add_special_tokens=False)["input_ids"])
    for name in ("instruction", "reference"):
        value = fields[name]
        if not value:
            continue
        emptied = {**fields, name: ""}
        empty_text, empty_ids = _render(tokenizer, emptied, response, rubric, layout)
        if len(empty_ids) > max_length:  # not even with this field emptied: empty it and shorten the next one
            fields = emptied
            continue
        value_ids = tokenizer(value, add_special_tokens=False)["input_ids"]

        def attempt(keep, name=name, value=value, value_ids=value_ids, fields=fields):
            trial = {**fields, name: middle_cut(tokenizer, value, keep, MARKER, ids=value_ids)}
            return _render(tokenizer, trial, response, rubric, layout)

        # one cut to the room left with the field emptied, then a step of the few tokens the joins change
        keep = min(len(value_ids) - 1, max_length - len(empty_ids) - marker_tokens)
        best = (empty_text, empty_ids)
        tried: set[int] = set()
        while 0 < keep < len(value_ids) and keep not in tried:
            tried.add(keep)
            t, i = attempt(keep)
            if len(i) <= max_length:
                best = (t, i)
                if keep + 1 in tried:
                    break
                keep += 1  # the largest cut that fits, as a search would find it
            else:
                if keep - 1 in tried:
                    break
                keep -= max(1, len(i) - max_length)
        return best[0], best[1], True
    raise PromptTooLong(f"the response and rubric alone take {len(ids)} tokens, more than max_length={max_length}")


def render_phudge_prompt(tokenizer, instruction: str, response: str, rubric: dict | None = None,
                         reference: str | None = None, max_length: int | None = None,
                         use_chat_template: bool | None = None) -> tuple[list[int], bool]:
    """Token ids of the PHUDGE prompt and whether it was truncated (``render_phudge_input`` without the text)."""
    _, ids, truncated = render_phudge_input(tokenizer, instruction, response, rubric, reference, max_length,
                                            use_chat_template)
    return ids, truncated
