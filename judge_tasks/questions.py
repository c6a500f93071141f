"""Question-only tasks: the questions of a judge benchmark, for a model of one's own to answer.

A question task (``judge_tasks/question_tasks/``) asks every distinct question of a benchmark once
(``dataset_kwargs.benchmark``, read by ``judge_tasks.loaders`` from the same files as the judge task, so
``JUDGE_DATA_DIR`` works the same), lets any harness model generate an answer, and logs it with
``--log_samples``; ``judge-score`` then grades the answers with a judge. The documents are
``{kind: "question", benchmark, id, question, reference, rubric}``, one per upstream question id: ``question`` is
the instruction the judge benchmark shows its judges, ``reference`` / ``rubric`` its reference answer and score rubric (None where the
benchmark has none), which ``judge-score`` hands to the judge.

The task itself has no gold, so its metrics only describe the answers: ``answered`` (share of non-empty
answers) and ``answer_words`` (mean length in words). The quality of the answers is ``judge-score``'s
``judge_score``.
"""
from __future__ import annotations

KIND = "question"


def questions(benchmark: str, **options) -> list[dict]:
    """One question per upstream question id of a benchmark's records, in file order (the first row of an id is
    kept: for a second-turn benchmark such as MT-Bench that row's first-turn dialogue is part of the question)."""
    from judge_tasks import loaders

    options = {k: v for k, v in options.items() if k in {"seed", "answers_file", "grades_file"}}
    seen, out = set(), []
    for rec in loaders.load(benchmark, **options):
        if rec["id"] in seen:
            continue
        seen.add(rec["id"])
        out.append({"kind": KIND, "benchmark": benchmark, "id": str(rec["id"]), "question": rec["instruction"],
                    "reference": rec.get("reference"), "rubric": rec.get("rubric")})
    if not out:
        raise ValueError(f"{benchmark}: no questions (the benchmark's file has no rows)")
    return out


def load_questions(benchmark: str, **options):
    """``custom_dataset`` of the question tasks: ``{"test": questions}``."""
    import datasets

    return datasets.DatasetDict({"test": datasets.Dataset.from_list(questions(benchmark, **options))})


def doc_to_text(doc: dict) -> str:
    return doc["question"]


def doc_to_target(doc: dict) -> str:
    return doc.get("reference") or ""


def process_results(doc: dict, results: list) -> dict:
    text = results[0] if results and isinstance(results[0], str) else ""
    return {"answered": int(bool(text.strip())), "answer_words": len(text.split())}
