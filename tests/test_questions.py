"""Grade your own model, offline (issue 13 item 3): the question-only tasks and ``judge-score`` on their logs.

Fast tests: the questions of the bundled demo (and of MT-Bench from ``../shared/data`` when it is there), the
task's own metrics, and that ``judge-score`` takes the question, reference answer and rubric from a question
document. The slow test is the README recipe end to end with the stock CLI: ``lm_eval --model hf`` (tiny random
Phi-3 from ``tests/tiny_models.py``) answers ``questions_demo``, then ``judge-score`` grades the answers with the
embedded ``phudge-mini`` and with a generative judge (``prometheus``) on the same local model folder.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from judge_tasks import questions
from tests.conftest import LM_EVAL, OFFLINE_ENV, SHARED_DATA, needs_shared_data
from tests.test_score_run import graded_lines, results_of, run

# the class the harness registered as toy_judge (pytest may import test_score_run under two module names)
ToyJudge = __import__("lm_eval.api.registry", fromlist=["get_model"]).get_model("toy_judge")


def test_demo_questions_are_the_demo_prompts_once_each():
    qs = questions.questions("judge_demo")
    demo = [json.loads(line) for line in (Path(questions.__file__).with_name("demo_documents.jsonl")
                                          .read_text(encoding="utf-8").splitlines())]
    assert [q["question"] for q in qs] == [d["prompt"] for d in demo]
    assert {q["kind"] for q in qs} == {"question"} and all(q["reference"] is None for q in qs)
    ds = questions.load_questions("judge_demo", version=1.0, conventions="ignored")["test"]
    assert len(ds) == 16 and questions.doc_to_text(ds[0]) == demo[0]["prompt"]
    assert questions.process_results(ds[0], ["Water boils at 100 C."]) == {"answered": 1, "answer_words": 5}
    assert questions.process_results(ds[0], ["  "]) == {"answered": 0, "answer_words": 0}


@needs_shared_data
def test_mt_bench_questions_one_per_question_id(monkeypatch):
    monkeypatch.setenv("JUDGE_DATA_DIR", str(SHARED_DATA))
    qs = questions.questions("mt_bench_absolute")
    assert len(qs) == 80 and len({q["id"] for q in qs}) == 80  # 320 rows = 80 questions x 4 answering models
    assert all(q["reference"] and q["rubric"]["criteria"] and len(q["rubric"]["score_descriptions"]) == 5
               for q in qs)


def _question_log(folder: Path, answers: list[str]) -> Path:
    """A samples log of a question task, in lm-eval's layout."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "samples_questions_demo_2026-01-01T00-00-00.000001.jsonl"
    docs = [{"kind": "question", "benchmark": "judge_demo", "id": "0", "question": "What is 2 + 2?",
             "reference": "4", "rubric": {"criteria": "Correct?", "score_descriptions": list("abcde")}},
            {"kind": "question", "benchmark": "judge_demo", "id": "1", "question": "Name a colour.",
             "reference": None, "rubric": None}]
    with open(path, "w", encoding="utf-8") as f:
        for i, (doc, ans) in enumerate(zip(docs, answers)):
            f.write(json.dumps({"doc_id": i, "doc": doc, "target": doc["reference"] or "",
                                "arguments": {"gen_args_0": {"arg_0": f"<|user|>\n{doc['question']}<|end|>",
                                                             "arg_1": {"max_gen_toks": 8}}},
                                "resps": [[ans]], "filtered_resps": [ans], "filter": "none"}) + "\n")
    return path


def test_judge_score_reads_question_reference_and_rubric_of_a_question_document(tmp_path):
    log = _question_log(tmp_path / "run", ["Four.", "Blue"])
    ToyJudge.seen.clear()
    run(log, "--model", "toy_judge")
    first, second = ToyJudge.seen
    assert first["instruction"] == "What is 2 + 2?" and first["reference"] == "4"  # not the chat-templated prompt
    assert first["rubric"] == {"criteria": "Correct?", "score_descriptions": list("abcde")}
    assert second["instruction"] == "Name a colour." and second["reference"] is None and second["rubric"] is None
    assert [ln["doc"]["response"] for ln in graded_lines(tmp_path / "run", "questions_demo")] == ["Four.", "Blue"]
    assert results_of(tmp_path / "run")["results"]["questions_demo_judged"]["sample_len"] == 2
    # explicit fields and --rubric still win
    ToyJudge.seen.clear()
    run(log, "--model", "toy_judge", "--question_field", "prompt", "--rubric", "honesty")
    assert ToyJudge.seen[0]["instruction"].startswith("<|user|>")
    assert ToyJudge.seen[0]["rubric"]["criteria"].startswith("Is the response truthful")
    # a judge-score output given as the run to grade is refused, by name
    judged = sorted((tmp_path / "run").glob("samples_questions_demo_judged_*.jsonl"))[0]
    with pytest.raises(ValueError, match="a judge-score output"):
        run(judged, "--model", "toy_judge")


@pytest.mark.slow  # lm_eval + two judge-score runs in subprocesses: about 2-3 minutes on 2 cores
def test_grade_your_own_model_recipe(tmp_path):
    from tests.tiny_models import tiny_phi3_folder

    model = tiny_phi3_folder(tmp_path / "models")
    env = {**os.environ, **OFFLINE_ENV}
    env.pop("JUDGE_DATA_DIR", None)
    out = tmp_path / "mine"
    gen = subprocess.run([LM_EVAL, "--model", "hf", "--model_args", f"pretrained={model},dtype=float32",
                          "--tasks", "questions_demo", "--limit", "4", "--gen_kwargs", "max_gen_toks=12",
                          "--device", "cpu", "--output_path", str(out), "--log_samples"],
                         env=env, capture_output=True, text=True, timeout=900)
    assert gen.returncode == 0, gen.stderr[-4000:]
    (log,) = out.rglob("samples_questions_demo_*.jsonl")
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert [s["doc"]["kind"] for s in logged] == ["question"] * 4
    judge_score = [sys.executable, "-m", "judge_tools.score"]
    for judge, args in (("phudge", []), ("prometheus", ["--model_args", f"pretrained={model},max_new_tokens=12",
                                                        "--rubric", "helpfulness"])):
        proc = subprocess.run([*judge_score, str(out), "--model", judge, *args, "--quiet"], env=env,
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert "questions_demo_judged: judge_score = " in proc.stdout and "n = 4" in proc.stdout, proc.stdout
        (results,) = log.parent.glob(f"results_judge_{judge}_*.json")
        r = json.loads(results.read_text())["results"]["questions_demo_judged"]
        lines = graded_lines(log.parent, "questions_demo") if judge == "phudge" else None
        if judge == "phudge":  # the embedded judge always gives a score
            assert r["parse_failures,none"] == 0 and 1.0 <= r["judge_score,none"] <= 5.0
            assert [ln["doc"]["instruction"] for ln in lines] == [s["doc"]["question"] for s in logged]
        else:  # a random model's text is counted when it cannot be parsed, never a crash
            assert r["sample_len"] == 4 and 0 <= r["parse_failures,none"] <= 4
        for f in log.parent.glob("samples_questions_demo_judged_*.jsonl"):
            f.rename(f.with_suffix(".done"))  # one judged file at a time for graded_lines
