"""Upstream files -> normalised records (``records``), one loader per published file *format*.

Which benchmark reads which format, with which files and arguments, is the ``loader:`` of its entry in the
registry (``tasks.yaml``); ``load`` looks it up and calls ``FORMATS[format](benchmark, **arguments)``. Every format
function takes the benchmark's name first and its (main) upstream file name second, so that the training pool
can call it on any file of that format. Files are accepted exactly as published. A malformed row raises
``RecordError`` naming file, row and field. Rows a benchmark's own rule filters out (JudgeLM's ``[-1, -1]``
GPT-4 scores) are counted on every record (``meta["filtered_rows"]``) and reported as the ``filtered_rows``
metric; nothing is dropped silently.

Length: just over 400 lines because each format's field checks sit in its own row loop, beside the row they
check; the shared field validators would be the part to move out if it grows further.
"""
from __future__ import annotations

import math
import random
import statistics
from pathlib import Path

from judge_core import labels, parsers, prompts, records
from judge_core.records import RecordError
from judge_core.scales import verdict_from_scores
from judge_tasks import registry
from judge_tasks.sources import locate, read_rows

# --------------------------------------------------------------------------- Prometheus prompt -> fields
#: the section headers of a stored Prometheus absolute prompt, each at the start of a line as ``###<name>:``
_SECTIONS = ("Task Description", "The instruction to evaluate", "Response to evaluate", "Reference Answer (Score 5)",
             "Score Rubrics", "Feedback")


def _sections(text: str) -> list[tuple[str, int, int]]:
    """(name, start, end of header) of every ``###<name>:`` header at a line start, in order; one optional space or
    newline after the colon belongs to the header. String scanning only: linear in the prompt's length."""
    found, pos, taken = [], 0, 0
    while True:
        at = text.find("###", pos)
        if at < 0:
            return found
        pos = at + 1
        if at < taken or (at > 0 and text[at - 1] != "\n"):
            continue
        for name in _SECTIONS:
            if text.startswith(name + ":", at + 3):
                end = at + 3 + len(name) + 1
                if text[end:end + 1] in (" ", "\n") and end < len(text):
                    end += 1
                found.append((name, at, end))
                taken = pos = end
                break


def _split_rubric(body: str):
    """``[criteria]\\nScore 1: ...\\nScore 5: ...`` -> (criteria, [5 descriptions]) or None. Where a separator
    occurs more than once, the earlier fields take the longest text (what a greedy pattern would give): the
    separators are found from the right, each before the next one, so the work is linear."""
    seps = ["]\nScore 1: ", "\nScore 2: ", "\nScore 3: ", "\nScore 4: ", "\nScore 5: "]
    if not body.startswith("["):
        return None
    starts, limit = [0] * 5, len(body)
    for k in range(4, -1, -1):
        at = body.rfind(seps[k], 1, limit)
        if at < 0:
            return None
        starts[k], limit = at, at
    ends = [starts[k] + len(seps[k]) for k in range(5)]
    parts = [body[ends[k]:starts[k + 1]] for k in range(4)] + [body[ends[4]:]]
    return body[1:starts[0]], parts


def parse_prometheus_prompt(prompt: str, file="<prompt>", row=0, field="instruction") -> dict:
    """Instruction, response, reference (or None) and rubric of a stored Prometheus absolute prompt."""
    if not isinstance(prompt, str):
        raise RecordError(file, row, field, f"expected a prompt string, got {type(prompt).__name__}")
    text = prompt.strip().rstrip('",') + " "  # kaistAI copies end in '",'; the prompt ends in '###Feedback: '
    found = _sections(text)
    sections = {}
    for i, (name, _, header_end) in enumerate(found):
        end = found[i + 1][1] if i + 1 < len(found) else len(text)
        body = text[header_end:end]
        if i + 1 < len(found):
            if not body.endswith("\n\n"):
                raise RecordError(file, row, field, f"section ###{name} is not followed by a blank line")
            body = body[:-2]
        sections[name] = body
    for needed in ("The instruction to evaluate", "Response to evaluate", "Score Rubrics"):
        if needed not in sections:
            raise RecordError(file, row, field, f"no ###{needed}: section (not a Prometheus absolute prompt)")
    rub = _split_rubric(sections["Score Rubrics"])
    if rub is None:
        raise RecordError(file, row, field, "the ###Score Rubrics: section is not '[criteria]' + 'Score 1..5:' lines")
    return {
        "instruction": sections["The instruction to evaluate"],
        "response": sections["Response to evaluate"],
        "reference": sections.get("Reference Answer (Score 5)"),
        "rubric": records.rubric(*rub),
    }


# --------------------------------------------------------------------------- field validators
def _field(row: dict, name: str, file, index):
    if not isinstance(row, dict):
        raise RecordError(file, index, name, f"row is a {type(row).__name__}, not an object")
    if name not in row:
        raise RecordError(file, index, name, "missing")
    return row[name]


def _text(row: dict, name: str, file, index) -> str:
    """A text field. A few upstream responses are JSON scalars (PandaLM has ``false`` answers); they are read as
    the text the upstream code formats them to (``str``). Objects, lists and null are errors."""
    return _as_text(_field(row, name, file, index), file, index, name)


def _as_text(value, file, index, name) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return str(value)
    raise RecordError(file, index, name, f"expected text, got {_json_kind(value)}")


def _optional_text(row: dict, name: str, file, index) -> str:
    """A text field that may be absent, null or empty (read as "")."""
    if not isinstance(row, dict):
        raise RecordError(file, index, name, f"row is a {type(row).__name__}, not an object")
    value = row.get(name)
    return "" if value is None else _as_text(value, file, index, name)


def _json_kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), f"a {type(value).__name__}")


def _number(value, file, index, field) -> float:
    """A JSON number: booleans, strings, null and lists are errors, not 1.0 / parsed text / a crash."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RecordError(file, index, field, f"expected a number, got {_json_kind(value)}: {value!r}")
    try:
        number = float(value)
    except OverflowError:
        raise RecordError(file, index, field, f"number too large: {value!r}") from None
    if not math.isfinite(number):
        raise RecordError(file, index, field, f"not a finite number: {value!r}")
    return number


def _score(value, file, index, field, lo, hi) -> float:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise RecordError(file, index, field, "empty list of scores")
    try:
        nums = [_number(v, file, index, field) for v in values]
    except RecordError:
        raise RecordError(file, index, field, f"not a number or list of numbers: {value!r}") from None
    if any(not lo <= v <= hi for v in nums):
        raise RecordError(file, index, field, f"score outside [{lo}, {hi}]: {value!r}")
    return statistics.fmean(nums)


def _code(row: dict, name: str, codes: dict, file, index, meaning: str):
    """An integer label of ``codes``; a boolean (``true`` == 1 in Python), a string or a list is an error."""
    value = _field(row, name, file, index)
    if isinstance(value, bool) or not isinstance(value, int) or value not in codes:
        raise RecordError(file, index, name, f"expected {meaning}, got {value!r}")
    return value


def _id(row: dict, name: str, index, file):
    """The upstream id in ``name`` (text or integer), or the row number when the file has none."""
    if name not in row:
        return index
    value = row[name]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RecordError(file, index, name, f"expected an id (text or integer), got {value!r}")
    return value


class _UniqueIds:
    """Refuses a second row with the same id (a join or a replay would silently keep only one of them)."""

    def __init__(self, file, field: str):
        self.file, self.field, self.first = file, field, {}

    def add(self, value, index):
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise RecordError(self.file, index, self.field, f"expected an id (text or integer), got {value!r}")
        key = str(value)
        if key in self.first:
            raise RecordError(self.file, index, self.field, f"duplicate id {value!r} (first at row {self.first[key]})")
        self.first[key] = index
        return value


def _known_sources(benchmark: str):
    """The per-source labels a benchmark's catalog entry lists (``labels: source:``), or None."""
    try:
        labels_ = registry.benchmark(benchmark).get("labels") or {}
    except KeyError:
        return None
    known = labels_.get("source") if isinstance(labels_, dict) else None
    return set(known) if known else None


# --------------------------------------------------------------------------- absolute Prometheus files
def prometheus_absolute(benchmark: str, file: str, gold_field: str = "gpt4_score", scale=(1, 5), **_) -> list[dict]:
    """Prometheus absolute-grading files (a stored prompt + scores per row): gold = mean of ``gold_field``."""
    path = locate(file)
    out = []
    for i, row in enumerate(read_rows(path, expect="array")):
        stored = _field(row, "instruction", path, i)
        fields = parse_prometheus_prompt(stored, path, i)
        gold = _score(_field(row, gold_field, path, i), path, i, gold_field, *scale)
        n_gold = len(row[gold_field]) if isinstance(row[gold_field], list) else 1
        category = "category" if "category" in row else "criteria"
        out.append(records.absolute(
            benchmark=benchmark, id=_id(row, "idx", i, path), row=i, gold_score=gold, scale=tuple(scale),
            prompt_family="prometheus_absolute", source_file=path,
            meta={"source": _optional_text(row, "response_source", path, i),
                  "category": _optional_text(row, category, path, i), "n_gold": n_gold,
                  "prompt": stored},  # the complete prompt as stored: what a Prometheus judge is given
            **fields))
    return out


# --------------------------------------------------------------------------- pairwise Prometheus files
def prometheus_pairwise(benchmark: str, file: str, seed: int = 42, label_encoding: str = "ab", **_) -> list[dict]:
    """chosen_instruction / rejected_instruction (/ tie): two absolute prompts that differ only in the
    response. The chosen response is placed at A or B by a seeded coin (upstream used an unseeded one)."""
    path = locate(file)
    rng = random.Random(seed)
    known_sources = _known_sources(benchmark)
    out = []
    for i, row in enumerate(read_rows(path, expect="array")):
        chosen = parse_prometheus_prompt(_field(row, "chosen_instruction", path, i), path, i, "chosen_instruction")
        rejected = parse_prometheus_prompt(_field(row, "rejected_instruction", path, i), path, i,
                                           "rejected_instruction")
        for key in ("instruction", "reference", "rubric"):
            if chosen[key] != rejected[key]:
                raise RecordError(path, i, "rejected_instruction",
                                  f"its {key} differs from chosen_instruction's (only the response may differ)")
        tie = row.get("tie", 0)
        if not isinstance(tie, (int, bool)) or tie not in (0, 1):  # a boolean is a fine tie flag
            raise RecordError(path, i, "tie", f"expected 0 or 1, got {tie!r}")
        source = _optional_text(row, "source", path, i)
        if known_sources is not None and source not in known_sources:
            raise RecordError(path, i, "source", f"unknown source {source!r}: {benchmark}'s catalog entry "
                                                 f"(tasks.yaml labels: source:) lists {', '.join(sorted(known_sources))}")
        chosen_at_a = rng.random() < 0.5
        a, b = (chosen, rejected) if chosen_at_a else (rejected, chosen)
        gold = "tie" if tie else ("a" if chosen_at_a else "b")
        out.append(records.pairwise(
            benchmark=benchmark, id=_id(row, "idx", i, path), row=i, instruction=chosen["instruction"],
            response_a=a["response"], response_b=b["response"], gold=gold, rubric=chosen["rubric"],
            reference=chosen["reference"], prompt_family="prometheus_relative", label_encoding=label_encoding,
            source_file=path,
            meta={"source": source,  # and the stored absolute prompts of A and B (published order)
                  "prompt_a": row["chosen_instruction" if chosen_at_a else "rejected_instruction"],
                  "prompt_b": row["rejected_instruction" if chosen_at_a else "chosen_instruction"]}))
    return out


# --------------------------------------------------------------------------- Auto-J pairwise
def autoj_pairs(benchmark: str, file: str | None = None, bundled: str | None = None,
                label_encoding: str = "autoj", **_) -> list[dict]:
    """Auto-J's pairwise format (``prompt``, ``response 1``, ``response 2``, integer ``label``): an upstream
    ``file``, or a file ``bundled`` in this package (path relative to ``judge_tasks/``)."""
    if (file is None) == (bundled is None):
        raise ValueError(f"{benchmark}: the autoj_pairs loader takes exactly one of file / bundled")
    path = Path(__file__).parent / bundled if bundled else locate(file)
    codes = labels.INTEGER_CODES[label_encoding]
    out = []
    for i, row in enumerate(read_rows(path, expect="array")):
        label = _code(row, "label", codes, path, i, "0 (response 1), 1 (response 2) or 2 (tie)")
        out.append(records.pairwise(
            benchmark=benchmark, id=i, row=i, instruction=_text(row, "prompt", path, i),
            response_a=_text(row, "response 1", path, i), response_b=_text(row, "response 2", path, i),
            gold=codes[label], prompt_family="autoj", label_encoding=label_encoding,
            source_file=path, meta={"source": _optional_text(row, "scenario", path, i)}))
    return out


# --------------------------------------------------------------------------- PandaLM test set
def pandalm_annotated(benchmark: str, file: str, label_encoding: str = "pandalm", **_) -> list[dict]:
    """PandaLM's annotated test-set format: gold is the majority of annotator1..3 (0 = Tie, 1 = response 1,
    2 = response 2)."""
    path = locate(file)
    codes = labels.INTEGER_CODES[label_encoding]
    ids = _UniqueIds(path, "idx")
    out = []
    for i, row in enumerate(read_rows(path, expect="array")):
        votes = [_code(row, k, codes, path, i, "0 (tie), 1 or 2")
                 for k in ("annotator1", "annotator2", "annotator3")]
        top = max(set(votes), key=votes.count)
        if votes.count(top) == 1:
            raise RecordError(path, i, "annotator1..3", f"three-way split {votes}: no majority")
        instruction, input_text = _text(row, "instruction", path, i), _optional_text(row, "input", path, i)
        out.append(records.pairwise(
            benchmark=benchmark, id=ids.add(row["idx"], i) if "idx" in row else i, row=i, source_file=path,
            instruction=f"{instruction}\n\n{input_text}" if input_text else instruction,
            response_a=_text(row, "response1", path, i), response_b=_text(row, "response2", path, i),
            gold=codes[top], prompt_family="pandalm", label_encoding=label_encoding,
            meta={"task_instruction": instruction, "input": input_text,
                  "source": _optional_text(row, "motivation_app", path, i)}))
    return out


# --------------------------------------------------------------------------- JudgeLM val 5K
def judgelm_scored(benchmark: str, file: str, gold_file: str, reference_file: str | None = None,
                   label_encoding: str = "judgelm", **_) -> list[dict]:
    """JudgeLM's format: questions and answers (``file``) joined on ``question_id`` with GPT-4's score pairs
    (``gold_file``) and, when given, the reference answers (``reference_file``). The gold scores are
    ``parse_score`` of GPT-4's ``text`` (the ``score`` field where there is no text), as JudgeLM's
    ``eval_model_judgement.py`` reads them; a pair with either score -1 is dropped, and counted."""
    with_reference = reference_file is not None
    qa_path = locate(file)
    gold_path = locate(gold_file)
    gold, gold_ids = {}, _UniqueIds(gold_path, "question_id")
    for i, row in enumerate(read_rows(gold_path, expect="array")):
        score = _field(row, "score", gold_path, i)
        if not (isinstance(score, list) and len(score) == 2):
            raise RecordError(gold_path, i, "score", f"expected [score 1, score 2], got {score!r}")
        pair = [_number(s, gold_path, i, "score") for s in score]
        text = row.get("text")  # the authors' gold: parse_score of GPT-4's text (eval_model_judgement.py)
        if text is not None:
            pair = [float(s) for s in parsers.judgelm_parse_score(text)]
        gold[gold_ids.add(_field(row, "question_id", gold_path, i), i)] = pair
    refs = {}
    if with_reference:
        ref_path = locate(reference_file)
        ref_ids = _UniqueIds(ref_path, "question_id")
        for i, row in enumerate(read_rows(ref_path, expect="array")):
            ref = _field(row, "reference", ref_path, i)
            if not isinstance(ref, dict) or "text" not in ref:
                raise RecordError(ref_path, i, "reference", "expected an object with 'text'")
            refs[ref_ids.add(_field(row, "question_id", ref_path, i), i)] = _as_text(ref["text"], ref_path, i,
                                                                                     "reference")
    out, filtered, qa_ids = [], 0, _UniqueIds(qa_path, "question_id")
    for i, row in enumerate(read_rows(qa_path, expect="array")):
        qid = qa_ids.add(_field(row, "question_id", qa_path, i), i)
        if qid not in gold:
            raise RecordError(gold_path, "-", "question_id", f"no GPT-4 score for question_id {qid} of {qa_path}")
        s1, s2 = gold[qid]
        if s1 == -1.0 or s2 == -1.0:  # the authors' filter: either GPT-4 score is -1
            filtered += 1
            continue
        if with_reference and qid not in refs:
            raise RecordError(qa_path, i, "question_id", f"no reference answer for question_id {qid}")
        models = (_optional_text(row, "answer1_model_id", qa_path, i), _optional_text(row, "answer2_model_id", qa_path, i))
        out.append(records.pairwise(
            benchmark=benchmark, id=qid, row=i, instruction=_text(row, "question_body", qa_path, i),
            response_a=_text(row, "answer1_body", qa_path, i), response_b=_text(row, "answer2_body", qa_path, i),
            gold=verdict_from_scores(s1, s2), gold_scores=[s1, s2], source_file=qa_path,
            reference=refs.get(qid) if with_reference else None, prompt_family="judgelm",
            label_encoding=label_encoding,
            meta={"source": f"{models[0]} vs {models[1]}"}))
    for r in out:
        r["meta"]["filtered_rows"] = filtered
    return out


# --------------------------------------------------------------------------- MM-Vet as text
def mmvet_class(score: float) -> str:
    """MM-Vet's correctness classes: 1.0 correct, 0.0 wrong, anything between partially correct."""
    s = round(float(score), 1)
    return "correct" if s >= 1.0 else "wrong" if s <= 0.0 else "partial"


def mmvet_graded(benchmark: str, file: str, answers_file: str, grades_file: str, scale=(0, 1), **_) -> list[dict]:
    """MM-Vet's format: question + ground truth (``file``; ``<AND>`` / ``<OR>`` kept as published) + one model's
    answer (``answers_file``); gold is the mean GPT-4 correctness score in [0, 1] of ``grades_file``."""
    q_path, a_path, g_path = locate(file), locate(answers_file), locate(grades_file)
    questions, answers, grades = (read_rows(q_path, expect="object"), read_rows(a_path, expect="object"),
                                  read_rows(g_path, expect="object"))
    out = []
    for i, (qid, q) in enumerate(questions.items()):
        if qid not in answers:
            raise RecordError(a_path, qid, "<id>", "no answer for this MM-Vet id")
        if qid not in grades:
            raise RecordError(g_path, qid, "<id>", "no grade for this MM-Vet id")
        grade = grades[qid]
        if not isinstance(grade, dict):
            raise RecordError(g_path, qid, "score", f"expected an object with 'score', got {_json_kind(grade)}")
        score = _field(grade, "score", g_path, qid)
        capability = q.get("capability", []) if isinstance(q, dict) else None
        if not isinstance(capability, list) or not all(isinstance(c, str) for c in capability):
            raise RecordError(q_path, qid, "capability", f"expected a list of names, got {capability!r}")
        out.append(records.absolute(
            benchmark=benchmark, id=qid, row=i, instruction=_text(q, "question", q_path, qid),
            response=_as_text(answers[qid], a_path, qid, "<answer>"), reference=_text(q, "answer", q_path, qid),
            gold_score=_score(score, g_path, qid, "score", *scale), scale=tuple(scale),
            prompt_family="judgelm", source_file=q_path,
            meta={"capability": ",".join(capability), "n_gold": len(score) if isinstance(score, list) else 1,
                  "judgelm_template": prompts.JUDGELM_MMVET_TEMPLATE}))
    return out


# --------------------------------------------------------------------------- formats and dispatch
#: format name (``loader.format`` in tasks.yaml) -> loader function
FORMATS = {f.__name__: f for f in (prometheus_absolute, prometheus_pairwise, autoj_pairs, pandalm_annotated,
                                   judgelm_scored, mmvet_graded)}
#: class rule name (``classes`` in tasks.yaml) -> score -> class, for absolute benchmarks also scored as classes
CLASSIFIERS = {"mmvet": mmvet_class}


def load(benchmark: str, swap: bool = False, **options) -> list[dict]:
    """Records of one benchmark (its registry ``loader:``, ``options`` overriding the arguments written there);
    with ``swap`` every pair twice, as published and with the responses swapped."""
    spec = registry.benchmark(benchmark)
    arguments = {k: v for k, v in spec["loader"].items() if k != "format"}
    arguments.setdefault("label_encoding", spec["label_encoding"])
    if spec.get("scale"):
        arguments.setdefault("scale", tuple(spec["scale"]))
    recs = FORMATS[spec["loader"]["format"]](benchmark, **{**arguments, **options})
    if spec.get("prompt_family"):  # the registry says which prompt a plain model gets (one format, several uses)
        recs = [r if r["prompt_family"] == spec["prompt_family"] else dict(r, prompt_family=spec["prompt_family"])
                for r in recs]
    if not swap:
        return recs
    if recs and recs[0]["kind"] != "pairwise":
        raise ValueError(f"{benchmark} is not pairwise: it has no swapped order")
    out = []
    for r in recs:
        r = dict(r, swap=True)
        out += [r, records.swapped(r)]
    return out


# --------------------------------------------------------------------------- LLMBar (appended)
LLMBAR_LABELS = {1: "a", 2: "b"}


def llmbar(benchmark: str, files: list[str], **_) -> list[dict]:
    """LLMBar (princeton-nlp/LLMBar, ``Dataset/LLMBar/<subset>/dataset.json``): a JSON array of ``{input, output_1,
    output_2, label}`` with label 1 / 2 (1-based, no ties). ``files`` (from the registry) are the subsets' files in
    the paper's order, named by their folders (every file is called ``dataset.json``); ``meta.source`` is the
    subset (the file's folder, lower case: ``natural``, ``neighbor``, ``gptinst``, ``gptout``, ``manual``), ``id``
    ``<subset>/<row in its file>``, ``row`` the position in the task."""
    out = []
    for name in files:
        subset = Path(name).parent.name.lower()
        path = locate(name)
        rows = read_rows(path)
        if not isinstance(rows, list):
            raise RecordError(path, "-", "<top level>", "expected a JSON array of {input, output_1, output_2, label}")
        for i, row in enumerate(rows):
            label = _field(row, "label", path, i)
            if isinstance(label, bool) or label not in LLMBAR_LABELS:
                raise RecordError(path, i, "label", f"expected 1 (output_1) or 2 (output_2), got {label!r}")
            out.append(records.pairwise(
                benchmark=benchmark, id=f"{subset}/{i}", row=len(out), instruction=_text(row, "input", path, i),
                response_a=_text(row, "output_1", path, i), response_b=_text(row, "output_2", path, i),
                gold=LLMBAR_LABELS[label], prompt_family="prometheus_relative", label_encoding="pandalm",
                meta={"source": subset, "file_row": i}))
    return out


FORMATS["llmbar"] = llmbar
