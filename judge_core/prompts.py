"""Every judge prompt in one place: Prometheus absolute / relative, JudgeLM (pair, pair with reference,
single answer), PandaLM, and PHUDGE's chat messages (system variant chosen by what the document has).

The Prometheus strings are byte-exact with the prompts stored in the Prometheus benchmark files
(``loaders`` parses those prompts back and a test rebuilds them); JudgeLM's follow the paper's Fig. 3-5 and
PandaLM's the released inference code's layout.
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


def prometheus_absolute(instruction: str, response: str, rubric: dict, reference: str | None = None) -> str:
    intro = _ABS_INTRO_REF if reference is not None else _ABS_INTRO_NOREF
    parts = [f"###Task Description:\n{intro}\n{_ABS_STEPS}",
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


# --------------------------------------------------------------------------- JudgeLM (paper Fig. 3, 4, 5)
JUDGELM_SCALE = (1.0, 10.0)
_JUDGELM_HEAD = "You are a helpful and precise assistant for checking the quality of the answer."
_JUDGELM_SYSTEM = (
    "[System]\nWe would like to request your feedback on the performance of two AI assistants in response to the "
    "user question displayed above.\n{rate} the helpfulness, relevance, accuracy, level of details of "
    "their responses. Each assistant receives an overall score on a scale of 1 to 10, where a higher score indicates "
    "better overall performance.\nPlease first output a single line containing only two values indicating the scores "
    "for Assistant 1 and 2, respectively. The two scores are separated by a space. In the subsequent line, please "
    "provide a comprehensive explanation of your evaluation, avoiding any potential bias and ensuring that the order "
    "in which the responses were presented does not affect your judgment."
)
JUDGELM_SINGLE_PREFIX = "10 "  # Fig. 5: the reference answer (Assistant 1) is given the score 10


def _judgelm_answers(answer_1: str, answer_2: str) -> str:
    return (f"[The Start of Assistant 1's Answer]\n{answer_1}\n[The End of Assistant 1's Answer]\n\n"
            f"[The Start of Assistant 2's Answer]\n{answer_2}\n[The End of Assistant 2's Answer]")


def judgelm_pair(question: str, answer_1: str, answer_2: str, reference: str | None = None) -> str:
    ref = f"[Reference Answer]\n{reference}\n\n" if reference is not None else ""
    rate = "Please rate" if reference is None else "Based on the reference answer, please rate"
    return (f"{_JUDGELM_HEAD}\n\n[Question]\n{question}\n\n{ref}{_judgelm_answers(answer_1, answer_2)}\n\n"
            f"{_JUDGELM_SYSTEM.format(rate=rate)}")


def judgelm_single(question: str, answer: str, reference: str) -> str:
    """Fig. 5: the reference answer as Assistant 1 with a score of 10; the judge completes Assistant 2's score."""
    return (f"{_JUDGELM_HEAD}\n[Question]\n{question}\n\n{_judgelm_answers(reference, answer)}\n\n"
            f"{_JUDGELM_SYSTEM.format(rate='Please rate')}\n\n[Response]\n{JUDGELM_SINGLE_PREFIX}")


# --------------------------------------------------------------------------- PandaLM
_SPECIAL_TOKENS = re.compile(r"<unk>|<pad>|<s>|</s>|\[PAD\]|<\|endoftext\|>|\[UNK\]|\[CLS\]|\[MASK\]")


def pandalm(instruction: str, response_1: str, response_2: str, input_text: str | None = None) -> str:
    r1 = _SPECIAL_TOKENS.sub("", response_1.strip()).strip()
    r2 = _SPECIAL_TOKENS.sub("", response_2.strip()).strip()
    responses = f"### Response 1:\n{r1}\n\n### Response 2:\n{r2}"
    if input_text:
        return ("Below are two responses for a given task. The task is defined by the Instruction with an Input that "
                "provides further context. Evaluate the responses and generate a reference answer for the task.\n\n"
                f"### Instruction:\n{instruction}\n\n### Input:\n{input_text}\n\n{responses}\n\n### Evaluation:\n")
    return ("Below are two responses for a given task. The task is defined by the Instruction. Evaluate the responses "
            f"and generate a reference answer for the task.\n\n### Instruction:\n{instruction}\n\n{responses}\n\n"
            "### Evaluation:\n")


# --------------------------------------------------------------------------- PHUDGE (score head; no generation)
_PHUDGE_TASK = "###Task Description:\nAn instruction (might include an Input inside it), a response to evaluate{given} are given."
PHUDGE_SYSTEMS = {
    "plain": _PHUDGE_TASK.format(given="") + "\nGrade the quality of the response with an integer score from 1 to 5.",
    "reference": _PHUDGE_TASK.format(given=" and a reference answer that gets a score of 5")
    + "\nGrade the response from 1 to 5, using the reference answer (a perfect score of 5) as the anchor.",
    "rubric": _PHUDGE_TASK.format(given=" and a score rubric representing an evaluation criteria")
    + "\nGrade the response from 1 to 5 strictly by the score rubric, not in general.",
    "rubric_reference": _PHUDGE_TASK.format(
        given=", a reference answer that gets a score of 5, and a score rubric representing an evaluation criteria")
    + "\nGrade the response from 1 to 5 strictly by the score rubric; the reference answer shows what a 5 looks like.",
}


def phudge_variant(has_rubric: bool, has_reference: bool) -> str:
    return {(False, False): "plain", (False, True): "reference", (True, False): "rubric",
            (True, True): "rubric_reference"}[(bool(has_rubric), bool(has_reference))]


def phudge_sections(instruction: str, response: str, rubric: dict | None = None,
                    reference: str | None = None) -> dict:
    """The parts of a PHUDGE user turn, so that a truncation rule can shorten the instruction first."""
    return {
        "instruction": f"###The instruction to evaluate:\n{instruction}\n\n",
        "response": f"###Response to evaluate:\n{response}",
        "reference": "" if reference is None else f"\n\n###Reference Answer (Score 5):\n{reference}",
        "rubric": "" if rubric is None else f"\n\n###Score Rubrics:\n{rubric_block(rubric)}",
    }


def phudge_messages(instruction: str, response: str, rubric: dict | None = None,
                    reference: str | None = None) -> list[dict]:
    s = phudge_sections(instruction, response, rubric, reference)
    system = PHUDGE_SYSTEMS[phudge_variant(rubric is not None, reference is not None)]
    return [{"role": "system", "content": system},
            {"role": "user", "content": s["instruction"] + s["response"] + s["reference"] + s["rubric"]}]


# --------------------------------------------------------------------------- records -> prompt
def pandalm_for(doc: dict) -> str:
    """PandaLM's prompt for a pairwise record: the task instruction and its input apart, as PandaLM shows them
    (the record's ``instruction`` has the input appended for the other judges)."""
    meta = doc.get("meta") or {}
    return pandalm(meta.get("task_instruction") or doc["instruction"], doc["response_a"], doc["response_b"],
                   meta.get("input"))


def render(doc: dict) -> str:
    """The generative prompt a plain harness model gets for a record, by its ``prompt_family``."""
    family = doc["prompt_family"]
    if doc["kind"] == "absolute":
        if family == "prometheus_absolute":
            if doc["rubric"] is None:
                raise ValueError(f"{doc['benchmark']} row {doc['row']}: the Prometheus absolute prompt needs a rubric")
            return prometheus_absolute(doc["instruction"], doc["response"], doc["rubric"], doc["reference"])
        if family == "judgelm":
            if doc["reference"] is None:
                raise ValueError(f"{doc['benchmark']} row {doc['row']}: JudgeLM single-answer grading needs a reference")
            return judgelm_single(doc["instruction"], doc["response"], doc["reference"])
    else:
        if family == "prometheus_relative":
            return prometheus_relative(doc["instruction"], doc["response_a"], doc["response_b"], doc["rubric"],
                                       doc["reference"])
        if family == "judgelm":
            return judgelm_pair(doc["instruction"], doc["response_a"], doc["response_b"], doc["reference"])
        if family == "pandalm":
            return pandalm_for(doc)
    raise ValueError(f"no {family!r} prompt for {doc['kind']} documents")
