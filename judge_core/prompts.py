"""Every judge prompt in one place, byte for byte as the authors' code builds it (golden tests in
``tests/golden/`` compare each with the text the upstream code makes; README "Judges" names file and commit):

* Prometheus absolute / relative (the Feedback / Preference Collection format, which the benchmark files store);
* JudgeLM: pair, pair with reference, single answer (``### Response:10``), multiple answers, MM-Vet;
* PandaLM (special tokens of the judge's tokenizer stripped from the responses);
* PHUDGE: the four system texts, as chat messages for any backbone and in the authors' Phi-3 layout;
* Auto-J: pairwise with tie and single, in its ``[INST] ... [/INST]`` wrapper.
"""
from __future__ import annotations

import re

# --------------------------------------------------------------------------- Prometheus
_ABS_INTRO_REF = ("An instruction (might include an Input inside it), a response to evaluate, a reference answer "
                  "that gets a score of 5, and a score rubric representing a evaluation criteria are given.")
_ABS_INTRO_NOREF = ("An instruction (might include an Input inside it), a response to evaluate, and a score rubric "
                    "representing a evaluation criteria are given.")
_ABS_STEPS = (
    "1. Write a detailed feedback that assess the quality of the response strictly based on the given score rubric, "
    "not evaluating in general.\n"
    "2. After writing a feedback, write a score that is an integer between 1 and 5. You should refer to the score rubric.\n"
    '3. The output format should look as follows: "Feedback: (write a feedback for criteria) [RESULT] '
    '(an integer number between 1 and 5)"\n'
    "4. Please do not generate any other opening, closing, and explanations."
)

_REL_INTRO_REF = ("An instruction (might include an Input inside it), two responses to evaluate (denoted as Response A "
                  "and Response B), a reference answer, and an evaluation criteria are given.")
_REL_INTRO_NOREF = ("An instruction (might include an Input inside it), two responses to evaluate (denoted as Response A "
                    "and Response B), and an evaluation criteria are given.")
_REL_STEPS = (
    "1. Write a detailed feedback that assess the quality of the two responses strictly based on the given evaluation "
    "criteria, not evaluating in general.\n"
    "2. Make comparisons between Response A, Response B, and the Reference Answer. Instead of examining Response A and "
    "Response B separately, go straight to the point and mention about the commonalities and differences between them.\n"
    '3. After writing the feedback, indicate the better response, either "A" or "B".\n'
    '4. The output format should look as follows: "Feedback: (write a feedback for criteria) [RESULT] (Either "A" or "B")"\n'
    "5. Please do not generate any other opening, closing, and explanations."
)
# Prometheus 2's system prompts (prepended to the user turn by prometheus-eval; ``prometheus`` judge, system_prompt=true)
PROMETHEUS_ABS_SYSTEM = ("You are a fair judge assistant tasked with providing clear, objective feedback based on "
                         "specific criteria, ensuring each assessment reflects the absolute standards set for performance.")
PROMETHEUS_REL_SYSTEM = ("You are a fair judge assistant assigned to deliver insightful feedback that compares "
                         "individual performances, highlighting how each stands relative to others within the same cohort.")
DEFAULT_CRITERIA = ("Is the response helpful, relevant, accurate and sufficiently detailed for the user's "
                    "instruction?")


def rubric_block(rubric: dict) -> str:
    """``[criteria]`` then ``Score 1: ...`` .. ``Score 5: ...`` (no trailing newline), as in the Prometheus data."""
    lines = [f"[{rubric['criteria']}]"]
    lines += [f"Score {i}: {d}" for i, d in enumerate(rubric["score_descriptions"], start=1)]
    return "\n".join(lines)


def prometheus_absolute(instruction: str, response: str, rubric: dict, reference: str | None = None,
                        library: bool = False) -> str:
    """The Feedback Collection's absolute prompt (Prometheus' training data, and the prompt stored in every
    Prometheus benchmark file). ``library=True``: prometheus-eval's ``ABSOLUTE_PROMPT(_WO_REF)``, whose format line
    has no ``Feedback: ``."""
    intro = _ABS_INTRO_REF if reference is not None else _ABS_INTRO_NOREF
    steps = _ABS_STEPS.replace('"Feedback: (write', '"(write') if library else _ABS_STEPS
    parts = [f"###Task Description:\n{intro}\n{steps}",
             f"###The instruction to evaluate:\n{instruction}",
             f"###Response to evaluate:\n{response}"]
    if reference is not None:
        parts.append(f"###Reference Answer (Score 5):\n{reference}")
    parts.append(f"###Score Rubrics:\n{rubric_block(rubric)}")
    return "\n\n".join(parts) + "\n\n###Feedback: "


def prometheus_relative(instruction: str, response_a: str, response_b: str, rubric: dict | None,
                        reference: str | None = None) -> str:
    criteria = f"[{rubric['criteria']}]" if rubric else f"[{DEFAULT_CRITERIA}]"
    intro = _REL_INTRO_REF if reference is not None else _REL_INTRO_NOREF
    parts = [f"###Task Description:\n{intro}\n{_REL_STEPS}", f"###Instruction:\n{instruction}",
             f"###Response A:\n{response_a}", f"###Response B:\n{response_b}"]
    if reference is not None:
        parts.append(f"###Reference Answer:\n{reference}")
    parts.append(f"###Score Rubric:\n{criteria}")
    return "\n\n".join(parts) + "\n\n###Feedback: "


# --------------------------------------------------------------------------- JudgeLM
# baaivision/JudgeLM judgelm/llm_judge/common.py (conv_judge_*) and gen_model_judgement*.py: the prompt is
# ``system + "\n" + prompt_template.format(...) + appendix``, sent as plain text after the tokenizer's BOS.
JUDGELM_SCALE = (1.0, 10.0)
JUDGELM_SYSTEM_LINE = "You are a helpful and precise assistant for checking the quality of the answer."
JUDGELM_INSTRUCTION = (
    "We would like to request your feedback on the performance of two AI assistants in response to the user "
    "question displayed above.\nPlease rate the helpfulness, relevance, accuracy, level of details of their "
    "responses. Each assistant receives an overall score on a scale of 1 to 10, where a higher score indicates "
    "better overall performance.\nPlease first output a single line containing only two values indicating the "
    "scores for Assistant 1 and 2, respectively. The two scores are separated by a space. In the subsequent line, "
    "please provide a comprehensive explanation of your evaluation, avoiding any potential bias and ensuring that "
    "the order in which the responses were presented does not affect your judgment.")
JUDGELM_MMVET_INSTRUCTION = (
    "We would like to request your feedback on the performance of two AI assistants' answers in comparing with the "
    "reference answer and determine if they match meaningfully. Please rate the helpfulness, relevance, accuracy, "
    "level of details of the Assistants' answers. To accomplish the task, you must : 1. Focus on the meaningful match "
    "between the reference answer and the Assistants' answers.\n 2. Consider synonyms or paraphrases as valid "
    "matches.\n 3. Evaluate the correctness of the Assistants' answers compared to the reference answer.\n 4. If "
    "there are multiple reference answers, the Assistants' answer is considered correct as long as it is close to "
    "any of the answers.\nPlease first output a single line containing only two values indicating the scores for "
    "Assistant 1 and 2, respectively. The two scores are separated by a space. In the subsequent line, please "
    "provide a comprehensive explanation of your evaluation, avoiding any potential bias and ensuring that the order "
    "in which the responses were presented does not affect your judgment.")
JUDGELM_ENDING = "### Response:"
JUDGELM_SINGLE_PREFIX = "10"  # conv_judge_single*: appendix "### Response:10" (Assistant 1, the reference, gets 10)
_NUM2WORDS = {3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten",
              11: "eleven", 12: "twelve", 13: "thirteen", 14: "fourteen", 15: "fifteen", 16: "sixteen",
              17: "seventeen", 18: "eighteen", 19: "nineteen"}


def _judgelm_answer(n: int, answer: str) -> str:
    return f"[The Start of Assistant {n}'s Answer]\n{answer}\n\n[The End of Assistant {n}'s Answer]\n\n"


def _judgelm(question: str, answers: list[str], reference: str | None, instruction: str, ending: str) -> str:
    ref = "" if reference is None else f"[Reference Answer]\n{reference}\n\n"
    body = "".join(_judgelm_answer(n, a) for n, a in enumerate(answers, start=1))
    return (f"{JUDGELM_SYSTEM_LINE}\n[Question]\n{question}\n\n{ref}{body}[System]\n{instruction}\n\n"
            f"{ending}")


def judgelm_pair(question: str, answer_1: str, answer_2: str, reference: str | None = None) -> str:
    """``conv_judge_pair`` / ``conv_judge_pair_w_reference`` (gen_model_judgement.py)."""
    return _judgelm(question, [answer_1, answer_2], reference, JUDGELM_INSTRUCTION, JUDGELM_ENDING)


def judgelm_single(question: str, answer: str, reference: str) -> str:
    """``conv_judge_single_w_reference`` (gen_model_judgement_single.py): the reference answer is Assistant 1 and
    the prompt ends ``### Response:10``; the judge completes Assistant 2's score."""
    return _judgelm(question, [reference, answer], reference, JUDGELM_INSTRUCTION,
                    JUDGELM_ENDING + JUDGELM_SINGLE_PREFIX)


def judgelm_multi_instruction(n_answers: int) -> str:
    """``Conversation.copy(answer_num)``: every "two" -> the number in words, "for Assistant 1, 2, ... and n"."""
    if n_answers not in _NUM2WORDS:
        raise ValueError(f"JudgeLM's multi-answer prompt takes 3 to 19 answers, got {n_answers}")
    text = JUDGELM_INSTRUCTION.replace("two", _NUM2WORDS[n_answers]).replace("for Assistant 1 and 2",
                                                                             "for Assistant 1")
    cut = text.find("for Assistant 1") + len("for Assistant 1")
    more = "".join(f", {i + 2}" for i in range(n_answers - 2)) + f" and {n_answers}"
    return text[:cut] + more + text[cut:]


def judgelm_multi(question: str, answers: list[str], reference: str | None = None) -> str:
    """``conv_judge_multi`` / ``conv_judge_multi_w_reference`` (gen_model_judgement_multi.py), 3+ answers."""
    return _judgelm(question, list(answers), reference, judgelm_multi_instruction(len(answers)), JUDGELM_ENDING)


def judgelm_mmvet_placeholder(ground_truth: str) -> str:
    """The answer MM-Vet's ground truth gives Assistant 1: ``<AND>`` -> " and "; of ``<OR>`` alternatives the
    authors take a random one (unseeded), here the first."""
    if "<OR>" in ground_truth:
        return ground_truth.split("<OR>")[0]
    return ground_truth.replace("<AND>", " and ")


def judgelm_mmvet(question: str, answer: str, ground_truth: str) -> str:
    """``conv_judge_vqa_single_answer`` (gen_model_judgement_mmvet.py): the ground truth as the reference, its
    placeholder answer as Assistant 1 (score 10 written), the model's answer as Assistant 2."""
    return _judgelm(question, [judgelm_mmvet_placeholder(ground_truth), answer], ground_truth,
                    JUDGELM_MMVET_INSTRUCTION, JUDGELM_ENDING + JUDGELM_SINGLE_PREFIX)


# --------------------------------------------------------------------------- PandaLM
# WeOpenML/PandaLM pandalm/utils/pandalm_inference.py (build_pandalm_prompt)
#: the tokens the PandaLM authors strip when no judge tokenizer is at hand (plain harness models)
PANDALM_SPECIAL_TOKENS = ("<unk>", "<pad>", "<s>", "</s>", "[PAD]", "<|endoftext|>", "[UNK]", "[CLS]", "[MASK]",
                          "<|startofpiece|>", "<|endofpiece|>", "[gMASK]", "[sMASK]")  # pandalm_inference.py


def strip_special_tokens(text: str, special_tokens=PANDALM_SPECIAL_TOKENS) -> str:
    """``text`` without any of ``special_tokens`` (one left-to-right pass, longest token first at a position)."""
    tokens = sorted({t for t in special_tokens if t}, key=len, reverse=True)
    if not tokens:
        return text
    return re.sub("|".join(re.escape(t) for t in tokens), "", text)


def pandalm(instruction: str, response_1: str, response_2: str, input_text: str | None = None,
            special_tokens=PANDALM_SPECIAL_TOKENS) -> str:
    r1 = strip_special_tokens(response_1.strip(), special_tokens).strip()
    r2 = strip_special_tokens(response_2.strip(), special_tokens).strip()
    responses = f"### Response 1:\n{r1}\n\n### Response 2:\n{r2}"
    if input_text:
        return ("Below are two responses for a given task. The task is defined by the Instruction with an Input that "
                "provides further context. Evaluate the responses and generate a reference answer for the task.\n\n"
                f"### Instruction:\n{instruction}\n\n### Input:\n{input_text}\n\n{responses}\n\n### Evaluation:\n")
    return ("Below are two responses for a given task. The task is defined by the Instruction. Evaluate the responses "
            f"and generate a reference answer for the task.\n\n### Instruction:\n{instruction}\n\n{responses}\n\n"
            "### Evaluation:\n")


# --------------------------------------------------------------------------- PHUDGE (score head; no generation)
# deshwalmahesh/PHUDGE scripts/data_utils.py (sys_only / sys_ref / sys_rubric / sys_ref_rubric and
# create_prometheus_prompt, the Phi-3 layout the released adapters were trained on)
_PHUDGE_FORMAT = ('3. The output format should look as follows: "Feedback: (write a feedback for criteria) [RESULT] '
                  '(an integer number between 1 and 5)"\n4. Please do not generate any other opening, closing, and '
                  'explanations.')
PHUDGE_SYSTEMS = {
    "plain": "###Task Description:\nAn instruction (might include an Input inside it) and a response to evaluate "
             "are given.\n1. Write a detailed feedback that assess the quality of the response strictly.\n2. After "
             "writing a feedback, write a score that is an integer between 1 and 5.\n" + _PHUDGE_FORMAT,
    "reference": "###Task Description:\nAn instruction (might include an Input inside it), a response to evaluate "
                 "and a reference answer that gets a score of 5 are given.\n1. Write a detailed feedback that assess "
                 "the quality of the response.\n2. After writing a feedback, write a score that is an integer between "
                 "1 and 5. You can refer to the reference answer (which has a perfect score of 5) to get the idea for "
                 "scoring.\n" + _PHUDGE_FORMAT,
    "rubric": "###Task Description:\nAn instruction (might include an Input inside it), a response to evaluate and a "
              "score rubric representing a evaluation criteria are given.\n1. Write a detailed feedback that assess "
              "the quality of the response strictly based on the given score rubric, not evaluating in general.\n2. "
              "After writing a feedback, write a score that is an integer between 1 and 5. You should refer to the "
              "score rubric.\n" + _PHUDGE_FORMAT,
    "rubric_reference": "###Task Description:\nAn instruction (might include an Input inside it), a response to "
                        "evaluate, a reference answer that gets a score of 5, and a score rubric representing a "
                        "evaluation criteria are given.\n1. Write a detailed feedback that assess the quality of the "
                        "response strictly based on the given score rubric, not evaluating in general. You can also "
                        "refer to the reference answer (which has a perfect score of 5) to get the idea for scoring."
                        "\n2. After writing a feedback, write a score that is an integer between 1 and 5. You should "
                        "refer to the score rubric.\n" + _PHUDGE_FORMAT,
}


#: The system texts of this project's first PHUDGE-style judges (phudge-mini was trained on them): prompt style
#: ``lm-eval-judges-0.1``, recorded as ``prompt_style`` in such a judge's ``judge_config.json``. Blocks are not
#: stripped at their end in this style. The authors' texts above are style ``phudge``, the default.
_V01_TASK = ("###Task Description:\nAn instruction (might include an Input inside it), a response to evaluate{given} "
             "are given.")
PHUDGE_SYSTEMS_V01 = {
    "plain": _V01_TASK.format(given="") + "\nGrade the quality of the response with an integer score from 1 to 5.",
    "reference": _V01_TASK.format(given=" and a reference answer that gets a score of 5")
    + "\nGrade the response from 1 to 5, using the reference answer (a perfect score of 5) as the anchor.",
    "rubric": _V01_TASK.format(given=" and a score rubric representing an evaluation criteria")
    + "\nGrade the response from 1 to 5 strictly by the score rubric, not in general.",
    "rubric_reference": _V01_TASK.format(
        given=", a reference answer that gets a score of 5, and a score rubric representing an evaluation criteria")
    + "\nGrade the response from 1 to 5 strictly by the score rubric; the reference answer shows what a 5 looks like.",
}
#: prompt style -> (system texts, whether each block is stripped at its end)
PHUDGE_STYLES = {"phudge": (PHUDGE_SYSTEMS, True), "lm-eval-judges-0.1": (PHUDGE_SYSTEMS_V01, False)}


def phudge_style(name: str | None) -> str:
    """A known PHUDGE prompt style (None -> the authors' ``phudge``); an unknown one is an error naming the known."""
    name = name or "phudge"
    if name not in PHUDGE_STYLES:
        raise ValueError(f"unknown PHUDGE prompt_style {name!r}; known: {', '.join(PHUDGE_STYLES)}")
    return name


def phudge_variant(has_rubric: bool, has_reference: bool) -> str:
    return {(False, False): "plain", (False, True): "reference", (True, False): "rubric",
            (True, True): "rubric_reference"}[(bool(has_rubric), bool(has_reference))]


def phudge_sections(instruction: str, response: str, rubric: dict | None = None,
                    reference: str | None = None, style: str | None = None) -> dict:
    """The parts of a PHUDGE user turn (concatenated in this order), so that a truncation rule can shorten the
    instruction first. As ``create_prometheus_prompt``: each block stripped at its end, blocks ``\\n\\n`` apart
    (style ``lm-eval-judges-0.1``: not stripped)."""
    end = str.rstrip if PHUDGE_STYLES[phudge_style(style)][1] else str
    return {
        "instruction": f"###The instruction to evaluate:\n{instruction}\n\n",
        "response": end(f"###Response to evaluate:\n{response}"),
        "reference": "" if reference is None else end(f"\n\n###Reference Answer (Score 5):\n{reference}"),
        "rubric": "" if rubric is None else end(f"\n\n###Score Rubrics:\n{rubric_block(rubric)}"),
    }


def phudge_messages(instruction: str, response: str, rubric: dict | None = None,
                    reference: str | None = None, style: str | None = None) -> list[dict]:
    """System and user turn of PHUDGE's prompt (``style``: see ``PHUDGE_STYLES``), for a backbone's chat template."""
    s = phudge_sections(instruction, response, rubric, reference, style)
    system = PHUDGE_STYLES[phudge_style(style)][0][phudge_variant(rubric is not None, reference is not None)]
    return [{"role": "system", "content": system},
            {"role": "user", "content": s["instruction"] + s["response"] + s["reference"] + s["rubric"]}]


def phudge_phi3(instruction: str, response: str, rubric: dict | None = None, reference: str | None = None,
                style: str | None = None) -> str:
    """The exact text of ``create_prometheus_prompt`` for Phi-3 (``<|end|>`` followed by a blank line, unlike the
    Phi-3 chat template), ending where the score head reads."""
    system, user = (m["content"] for m in phudge_messages(instruction, response, rubric, reference, style))
    return f"<|system|>\n{system}<|end|>\n\n<|user|>\n{user}<|end|>\n\n<|assistant|>\n"


# --------------------------------------------------------------------------- Auto-J
# GAIR-NLP/auto-j codes/usage/constants_prompt.py: ``build_autoj_input`` = the protocol text in Llama-2's
# ``[INST] ... [/INST]`` without a system message, after the tokenizer's BOS.
AUTOJ_SCALE = (1.0, 10.0)
AUTOJ_SINGLE = (
    "Write critiques for a submitted response on a given user's query, and grade the response:\n  \n[BEGIN DATA]\n"
    "***\n[Query]: {prompt}\n***\n[Response]: {response}\n***\n[END DATA]\n\nWrite critiques for this response. "
    "After that, you should give a final rating for the response on a scale of 1 to 10 by strictly following this "
    'format: "[[rating]]", for example: "Rating: [[5]]".')
AUTOJ_PAIRWISE_TIE = (
    "You are assessing two submitted responses on a given user's query and judging which response is better or they "
    "are tied. Here is the data:\n\n[BEGIN DATA]\n***\n[Query]: {prompt}\n***\n[Response 1]: {response}\n***\n"
    "[Response 2]: {response_another}\n***\n[END DATA]\n\nHere are the instructions to assess and compare the two "
    "responses:\n\n1. Pinpoint the key factors to distinguish these two responses.\n2. Conclude your comparison by "
    "providing a final decision on which response is better, or they are tied. Begin your final decision statement "
    'with "So, the final decision is Response 1 / Response 2 / Tie". Ensure that your decision aligns coherently '
    "with the comprehensive evaluation and comparison you've provided.")


def autoj_user_message(prompt: str, response: str, response_another: str | None = None) -> str:
    """The protocol text (pairwise with tie when there is a second response, else single)."""
    if response_another is None:
        return AUTOJ_SINGLE.format(prompt=prompt, response=response)
    return AUTOJ_PAIRWISE_TIE.format(prompt=prompt, response=response, response_another=response_another)


def autoj(prompt: str, response: str, response_another: str | None = None) -> str:
    """``build_autoj_input``: ``[INST] {protocol text} [/INST]``."""
    return f"[INST] {autoj_user_message(prompt, response, response_another)} [/INST]"


# --------------------------------------------------------------------------- records -> prompt
#: ``meta.judgelm_template`` of the records whose JudgeLM prompt is the MM-Vet variant (set by the MM-Vet loader)
JUDGELM_MMVET_TEMPLATE = "mmvet"


def pandalm_for(doc: dict, special_tokens=PANDALM_SPECIAL_TOKENS) -> str:
    """PandaLM's prompt for a pairwise record: the task instruction and its input apart, as PandaLM shows them
    (the record's ``instruction`` has the input appended for the other judges)."""
    meta = doc.get("meta") or {}
    return pandalm(meta.get("task_instruction") or doc["instruction"], doc["response_a"], doc["response_b"],
                   meta.get("input"), special_tokens)


def prometheus_absolute_for(doc: dict) -> str:
    """The Prometheus absolute prompt of an absolute record: the complete prompt as the benchmark file stores it
    (``meta.prompt``) where there is one, else built from the record (a rubric is needed)."""
    stored = (doc.get("meta") or {}).get("prompt")
    if isinstance(stored, str) and stored:
        return stored
    if not doc.get("rubric"):
        raise ValueError(f"{doc.get('benchmark')} row {doc.get('row')}: the Prometheus absolute prompt needs a rubric")
    return prometheus_absolute(doc["instruction"], doc["response"], doc["rubric"], doc.get("reference"))


def judgelm_single_for(doc: dict) -> str:
    """JudgeLM's single-answer prompt of an absolute record with a reference (the MM-Vet variant on MM-Vet)."""
    if doc.get("reference") is None:
        raise ValueError(f"{doc.get('benchmark')} row {doc.get('row')}: JudgeLM single-answer grading needs a "
                         "reference")
    if (doc.get("meta") or {}).get("judgelm_template") == JUDGELM_MMVET_TEMPLATE:
        return judgelm_mmvet(doc["instruction"], doc["response"], doc["reference"])
    return judgelm_single(doc["instruction"], doc["response"], doc["reference"])


def render(doc: dict) -> str:
    """The generative prompt a plain harness model gets for a record, by its ``prompt_family``."""
    family = doc["prompt_family"]
    if doc["kind"] == "absolute":
        if family == "prometheus_absolute":
            return prometheus_absolute_for(doc)
        if family == "judgelm":
            return judgelm_single_for(doc)
        if family == "autoj":
            return autoj(doc["instruction"], doc["response"])
    else:
        if family == "prometheus_relative":
            return prometheus_relative(doc["instruction"], doc["response_a"], doc["response_b"], doc["rubric"],
                                       doc["reference"])
        if family == "judgelm":
            return judgelm_pair(doc["instruction"], doc["response_a"], doc["response_b"], doc["reference"])
        if family == "pandalm":
            return pandalm_for(doc)
        if family == "autoj":
            return autoj(doc["instruction"], doc["response_a"], doc["response_b"])
    raise ValueError(f"no {family!r} prompt for {doc['kind']} documents")
