"""Upstream files -> normalised records (``records``), one loader per published format.

Files are accepted exactly as published. A malformed row raises ``RecordError`` naming file, row and field.
Rows a benchmark's own rule filters out (JudgeLM's ``[-1, -1]`` GPT-4 scores) are counted on every record
(``meta["filtered_rows"]``) and reported as the ``filtered_rows`` metric; nothing is dropped silently.
"""
from __future__ import annotations

import random
import re
import statistics
from pathlib import Path

from judge_core import labels, parsers, records
from judge_core.records import RecordError
from judge_core.scales import verdict_from_scores
from judge_tasks.sources import locate, read_rows

# --------------------------------------------------------------------------- Prometheus prompt -> fields
_SECTION = re.compile(r"^###(Task Description|The instruction to evaluate|Response to evaluate|"
                      r"Reference Answer \(Score 5\)|Score Rubrics|Feedback):[ \n]?", re.M)
_RUBRIC = re.compile(r"\A\[(?P<criteria>.*)\]\nScore 1: (?P<s1>.*)\nScore 2: (?P<s2>.*)\nScore 3: (?P<s3>.*)\n"
                     r"Score 4: (?P<s4>.*)\nScore 5: (?P<s5>.*)\Z", re.S)


def parse_prometheus_prompt(prompt: str, file="<prompt>", row=0, field="instruction") -> dict:
    """Instruction, response, reference (or None) and rubric of a stored Prometheus absolute prompt."""
    if not isinstance(prompt, str):
        raise RecordError(file, row, field, f"expected a prompt string, got {type(prompt).__name__}")
    text = prompt.strip().rstrip('",') + " "  # kaistAI copies end in '",'; the prompt ends in '###Feedback: '
    found = list(_SECTION.finditer(text))
    sections = {}
    for i, m in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(text)
        body = text[m.end():end]
        if i + 1 < len(found):
            if not body.endswith("\n\n"):
                raise RecordError(file, row, field, f"section ###{m.group(1)} is not followed by a blank line")
            body = body[:-2]
        sections[m.group(1)] = body
    for needed in ("The instruction to evaluate", "Response to evaluate", "Score Rubrics"):
        if needed not in sections:
            raise RecordError(file, row, field, f"no ###{needed}: section (not a Prometheus absolute prompt)")
    rub = _RUBRIC.match(sections["Score Rubrics"])
    if rub is None:
        raise RecordError(file, row, field, "the ###Score Rubrics: section is not '[criteria]' + 'Score 1..5:' lines")
    return {
        "instruction": sections["The instruction to evaluate"],
        "response": sections["Response to evaluate"],
        "reference": sections.get("Reference Answer (Score 5)"),
        "rubric": records.rubric(rub["criteria"], [rub[f"s{i}"] for i in range(1, 6)]),
    }


def _field(row: dict, name: str, file, index):
    if not isinstance(row, dict):
        raise RecordError(file, index, name, f"row is a {type(row).__name__}, not an object")
    if name not in row:
        raise RecordError(file, index, name, "missing")
    return row[name]


def _text(row: dict, name: str, file, index) -> str:
    """A text field. A few upstream responses are JSON scalars (PandaLM has ``false`` answers); they are read as
    the text the upstream code formats them to (``str``). Objects, lists and null are errors."""
    value = _field(row, name, file, index)
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return str(value)
    raise RecordError(file, index, name, f"expected text, got {type(value).__name__}")


def _score(value, file, index, field, lo, hi) -> float:
    values = value if isinstance(value, list) else [value]
    try:
        nums = [float(v) for v in values]
    except (TypeError, ValueError):
        raise RecordError(file, index, field, f"not a number or list of numbers: {value!r}") from None
    if not nums:
        raise RecordError(file, index, field, "empty list of scores")
    if any(not lo <= v <= hi for v in nums):
        raise RecordError(file, index, field, f"score outside [{lo}, {hi}]: {value!r}")
    return statistics.fmean(nums)


# --------------------------------------------------------------------------- absolute Prometheus files
def prometheus_absolute(benchmark: str, file_name: str, gold_field: str = "gpt4_score", **_) -> list[dict]:
    """feedback_collection_(ood_)test / vicuna_eval / mt_bench_eval / flask_eval: gold = mean of the scores."""
    path = locate(file_name)
    out = []
    for i, row in enumerate(read_rows(path)):
        stored = _field(row, "instruction", path, i)
        fields = parse_prometheus_prompt(stored, path, i)
        gold = _score(_field(row, gold_field, path, i), path, i, gold_field, 1, 5)
        n_gold = len(row[gold_field]) if isinstance(row[gold_field], list) else 1
        out.append(records.absolute(
            benchmark=benchmark, id=row.get("idx", i), row=i, gold_score=gold, scale=(1, 5),
            prompt_family="prometheus_absolute",
            meta={"source": str(row.get("response_source", "")),
                  "category": str(row.get("category", row.get("criteria", ""))), "n_gold": n_gold,
                  "prompt": stored},  # the complete prompt as stored: what a Prometheus judge is given
            **fields))
    return out


# --------------------------------------------------------------------------- pairwise Prometheus files
def prometheus_pairwise(benchmark: str, file_name: str, seed: int = 42, **_) -> list[dict]:
    """chosen_instruction / rejected_instruction (/ tie): two absolute prompts that differ only in the
    response. The chosen response is placed at A or B by a seeded coin (upstream used an unseeded one)."""
    path = locate(file_name)
    rng = random.Random(seed)
    out = []
    for i, row in enumerate(read_rows(path)):
        chosen = parse_prometheus_prompt(_field(row, "chosen_instruction", path, i), path, i, "chosen_instruction")
        rejected = parse_prometheus_prompt(_field(row, "rejected_instruction", path, i), path, i,
                                           "rejected_instruction")
        for key in ("instruction", "reference", "rubric"):
            if chosen[key] != rejected[key]:
                raise RecordError(path, i, "rejected_instruction",
                                  f"its {key} differs from chosen_instruction's (only the response may differ)")
        tie = row.get("tie", 0)
        if tie not in (0, 1, True, False):
            raise RecordError(path, i, "tie", f"expected 0 or 1, got {tie!r}")
        chosen_at_a = rng.random() < 0.5
        a, b = (chosen, rejected) if chosen_at_a else (rejected, chosen)
        gold = "tie" if tie else ("a" if chosen_at_a else "b")
        out.append(records.pairwise(
            benchmark=benchmark, id=row.get("idx", i), row=i, instruction=chosen["instruction"],
            response_a=a["response"], response_b=b["response"], gold=gold, rubric=chosen["rubric"],
            reference=chosen["reference"], prompt_family="prometheus_relative", label_encoding="ab",
            meta={"source": str(row.get("source", "")),  # the stored absolute prompts of A and B (published order)
                  "prompt_a": row["chosen_instruction" if chosen_at_a else "rejected_instruction"],
                  "prompt_b": row["rejected_instruction" if chosen_at_a else "chosen_instruction"]}))
    return out


# --------------------------------------------------------------------------- Auto-J pairwise
AUTOJ_LABELS = labels.INTEGER_CODES["autoj"]


def autoj_pairwise(benchmark: str = "autoj_pairwise", file_name: str = "autoj_pairwise.json", **_) -> list[dict]:
    return _autoj_rows(benchmark, locate(file_name))


def _autoj_rows(benchmark: str, path: Path) -> list[dict]:
    out = []
    for i, row in enumerate(read_rows(path)):
        label = _field(row, "label", path, i)
        if label not in AUTOJ_LABELS:
            raise RecordError(path, i, "label", f"expected 0 (response 1), 1 (response 2) or 2 (tie), got {label!r}")
        out.append(records.pairwise(
            benchmark=benchmark, id=i, row=i, instruction=_text(row, "prompt", path, i),
            response_a=_text(row, "response 1", path, i), response_b=_text(row, "response 2", path, i),
            gold=AUTOJ_LABELS[label], prompt_family="autoj", label_encoding="autoj",
            meta={"source": str(row.get("scenario", ""))}))
    return out


#: 16 question / good answer / poor answer pairs written by this project (Auto-J's pairwise format)
DEMO_FILE = Path(__file__).with_name("demo_documents.jsonl")


def judge_demo(**_) -> list[dict]:
    return _autoj_rows("judge_demo", DEMO_FILE)


# --------------------------------------------------------------------------- PandaLM test set
PANDALM_LABELS = labels.INTEGER_CODES["pandalm"]


def pandalm_test(benchmark: str = "pandalm_test", file_name: str = "testset-v1.json", **_) -> list[dict]:
    """Gold is the majority of annotator1..3 (0 = Tie, 1 = response 1, 2 = response 2)."""
    path = locate(file_name)
    out = []
    for i, row in enumerate(read_rows(path)):
        votes = []
        for k in ("annotator1", "annotator2", "annotator3"):
            v = _field(row, k, path, i)
            if v not in PANDALM_LABELS:
                raise RecordError(path, i, k, f"expected 0 (tie), 1 or 2, got {v!r}")
            votes.append(v)
        top = max(set(votes), key=votes.count)
        if votes.count(top) == 1:
            raise RecordError(path, i, "annotator1..3", f"three-way split {votes}: no majority")
        instruction, input_text = _text(row, "instruction", path, i), row.get("input") or ""
        out.append(records.pairwise(
            benchmark=benchmark, id=row.get("idx", i), row=i,
            instruction=f"{instruction}\n\n{input_text}" if input_text else instruction,
            response_a=_text(row, "response1", path, i), response_b=_text(row, "response2", path, i),
            gold=PANDALM_LABELS[top], prompt_family="pandalm", label_encoding="pandalm",
            meta={"task_instruction": instruction, "input": input_text, "source": str(row.get("motivation_app", ""))}))
    return out


# --------------------------------------------------------------------------- JudgeLM val 5K
def judgelm_val(benchmark: str = "judgelm_val", with_reference: bool = False, **_) -> list[dict]:
    """Questions and answers (``judgelm_val_5k.jsonl``) joined on ``question_id`` with GPT-4's scores
    (``*_gpt4.jsonl`` or ``*_gpt4_with_reference.jsonl``) and, with reference, the reference answers.
    GPT-4 scores of ``[-1, -1]`` are JudgeLM's "invalid" rows: filtered, and counted."""
    qa_path = locate("judgelm_val_5k.jsonl")
    gold_path = locate("judgelm_val_5k_gpt4_with_reference.jsonl" if with_reference else "judgelm_val_5k_gpt4.jsonl")
    gold = {}
    for i, row in enumerate(read_rows(gold_path)):
        score = _field(row, "score", gold_path, i)
        if not (isinstance(score, list) and len(score) == 2):
            raise RecordError(gold_path, i, "score", f"expected [score 1, score 2], got {score!r}")
        text = row.get("text")  # the authors' gold: parse_score of GPT-4's text (eval_model_judgement.py)
        gold[_field(row, "question_id", gold_path, i)] = (
            [float(s) for s in score] if text is None else [float(s) for s in parsers.judgelm_parse_score(text)])
    refs = {}
    if with_reference:
        ref_path = locate("judgelm_val_5k_references.jsonl")
        for i, row in enumerate(read_rows(ref_path)):
            ref = _field(row, "reference", ref_path, i)
            if not isinstance(ref, dict) or "text" not in ref:
                raise RecordError(ref_path, i, "reference", "expected an object with 'text'")
            refs[_field(row, "question_id", ref_path, i)] = ref["text"]
    out, filtered = [], 0
    for i, row in enumerate(read_rows(qa_path)):
        qid = _field(row, "question_id", qa_path, i)
        if qid not in gold:
            raise RecordError(gold_path, "-", "question_id", f"no GPT-4 score for question_id {qid} of {qa_path}")
        s1, s2 = gold[qid]
        if s1 == -1.0 or s2 == -1.0:  # the authors' filter: either GPT-4 score is -1
            filtered += 1
            continue
        if with_reference and qid not in refs:
            raise RecordError(qa_path, i, "question_id", f"no reference answer for question_id {qid}")
        out.append(records.pairwise(
            benchmark=benchmark, id=qid, row=i, instruction=_text(row, "question_body", qa_path, i),
            response_a=_text(row, "answer1_body", qa_path, i), response_b=_text(row, "answer2_body", qa_path, i),
            gold=verdict_from_scores(s1, s2), gold_scores=[s1, s2],
            reference=refs.get(qid) if with_reference else None, prompt_family="judgelm", label_encoding="judgelm",
            meta={"source": f"{row.get('answer1_model_id', '')} vs {row.get('answer2_model_id', '')}"}))
    for r in out:
        r["meta"]["filtered_rows"] = filtered
    return out


# --------------------------------------------------------------------------- MM-Vet as text
def mmvet_class(score: float) -> str:
    """MM-Vet's correctness classes: 1.0 correct, 0.0 wrong, anything between partially correct."""
    s = round(float(score), 1)
    return "correct" if s >= 1.0 else "wrong" if s <= 0.0 else "partial"


def mm_vet_text(benchmark: str = "mm_vet_text", answers_file: str = "llava-v1.5-13b.json",
                grades_file: str = "llava-v1.5-13b_gpt-4-grade-3runs.json", **_) -> list[dict]:
    """Question + ground truth (``<AND>`` / ``<OR>`` kept as published) + one model's answer; gold is the mean
    GPT-4 correctness score in [0, 1] of the chosen grade file."""
    q_path, a_path, g_path = locate("mm-vet.json"), locate(answers_file), locate(grades_file)
    questions, answers, grades = read_rows(q_path), read_rows(a_path), read_rows(g_path)
    for path, obj in ((q_path, questions), (a_path, answers), (g_path, grades)):
        if not isinstance(obj, dict):
            raise RecordError(path, "-", "<top level>", "expected an object keyed by MM-Vet id (v1_0 ...)")
    out = []
    for i, (qid, q) in enumerate(questions.items()):
        if qid not in answers:
            raise RecordError(a_path, qid, "<id>", "no answer for this MM-Vet id")
        if qid not in grades:
            raise RecordError(g_path, qid, "<id>", "no grade for this MM-Vet id")
        grade = grades[qid]
        if not isinstance(grade, dict) or "score" not in grade:
            raise RecordError(g_path, qid, "score", "missing")
        out.append(records.absolute(
            benchmark=benchmark, id=qid, row=i, instruction=_field(q, "question", q_path, qid),
            response=str(answers[qid]), reference=_field(q, "answer", q_path, qid),
            gold_score=_score(grade["score"], g_path, qid, "score", 0, 1), scale=(0, 1),
            prompt_family="judgelm",
            meta={"capability": ",".join(q.get("capability", [])), "n_gold": len(grade["score"])}))
    return out


# --------------------------------------------------------------------------- the catalogue
BENCHMARKS = {
    "feedback_bench": lambda **kw: prometheus_absolute("feedback_bench", "feedback_collection_test.json", **kw),
    "feedback_ood": lambda **kw: prometheus_absolute("feedback_ood", "feedback_collection_ood_test.json", **kw),
    "vicuna_bench": lambda **kw: prometheus_absolute("vicuna_bench", "vicuna_eval.json", **kw),
    "mt_bench_absolute": lambda **kw: prometheus_absolute("mt_bench_absolute", "mt_bench_eval.json", **kw),
    "flask_gpt4": lambda **kw: prometheus_absolute("flask_gpt4", "flask_eval.json", "gpt4_score", **kw),
    "flask_human": lambda **kw: prometheus_absolute("flask_human", "flask_eval.json", "human_score", **kw),
    "mm_vet_text": lambda **kw: mm_vet_text(**kw),
    "preference_bench": lambda **kw: prometheus_pairwise("preference_bench", "preference_collection_ood_test.json", **kw),
    "hhh_alignment": lambda **kw: prometheus_pairwise("hhh_alignment", "hhh_alignment_eval.json", **kw),
    "mt_bench_human": lambda **kw: prometheus_pairwise("mt_bench_human", "mt_bench_human_judgement_eval.json", **kw),
    "pandalm_test": lambda **kw: pandalm_test(**kw),
    "judgelm_val": lambda **kw: judgelm_val("judgelm_val", with_reference=False, **kw),
    "judgelm_val_ref": lambda **kw: judgelm_val("judgelm_val_ref", with_reference=True, **kw),
    "autoj_pairwise": lambda **kw: autoj_pairwise(**kw),
    "judge_demo": lambda **kw: judge_demo(**kw),
}


def load(benchmark: str, swap: bool = False, **options) -> list[dict]:
    """Records of one benchmark; with ``swap`` every pair twice, as published and with the responses swapped."""
    if benchmark not in BENCHMARKS:
        raise KeyError(f"unknown benchmark {benchmark!r}; known: {', '.join(sorted(BENCHMARKS))}")
    recs = BENCHMARKS[benchmark](**options)
    if not swap:
        return recs
    if recs and recs[0]["kind"] != "pairwise":
        raise ValueError(f"{benchmark} is not pairwise: it has no swapped order")
    out = []
    for r in recs:
        r = dict(r, swap=True)
        out += [r, records.swapped(r)]
    return out
