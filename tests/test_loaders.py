"""Loaders: upstream files as published -> normalised records; clear errors for malformed rows; where files are
found; seeded A/B placement; the real files' label distributions and byte-exact Prometheus prompts."""
from __future__ import annotations

import collections
import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, SHARED_DATA, needs_shared_data

from judge_core import prompts, records
from judge_core.records import RecordError
from judge_tasks import loaders, sources

DATA = FIXTURES / "data"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty JUDGE_DATA_DIR; tests copy (and break) fixture files into it."""
    monkeypatch.setenv("JUDGE_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def fixture_data(monkeypatch):
    monkeypatch.setenv("JUDGE_DATA_DIR", str(DATA))


def _copy(data_dir: Path, *names) -> None:
    for name in names:
        shutil.copy(DATA / name, data_dir / name)


def _rewrite_json(path: Path, edit) -> None:
    rows = json.loads(path.read_text())
    edit(rows)
    path.write_text(json.dumps(rows))


def _rewrite_jsonl(path: Path, edit) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    edit(rows)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


# --------------------------------------------------------------------------- Prometheus prompts, byte for byte
def _rebuild(prompt: str, file, row, field) -> str:
    f = loaders.parse_prometheus_prompt(prompt, file, row, field)
    return prompts.prometheus_absolute(f["instruction"], f["response"], f["rubric"], f["reference"])


@needs_shared_data
def test_real_mt_bench_prompts_rebuild_byte_for_byte():
    path = SHARED_DATA / "prometheus" / "mt_bench_eval.json"
    rows = json.loads(path.read_text(encoding="utf-8"))
    assert len(rows) == 320
    bad = [i for i, r in enumerate(rows) if _rebuild(r["instruction"], path, i, "instruction") != r["instruction"]]
    assert bad == []
    assert sum(loaders.parse_prometheus_prompt(r["instruction"])["reference"] is not None for r in rows) == 320


@needs_shared_data
def test_real_hhh_prompts_rebuild_byte_for_byte():
    path = SHARED_DATA / "prometheus" / "hhh_alignment_eval.json"
    rows = json.loads(path.read_text(encoding="utf-8"))
    stored = [(i, f, r[f]) for i, r in enumerate(rows) for f in ("chosen_instruction", "rejected_instruction")]
    assert len(stored) == 442
    assert [(i, f) for i, f, p in stored if _rebuild(p, path, i, f) != p] == []
    assert all(loaders.parse_prometheus_prompt(p)["reference"] is None for _, _, p in stored)


def test_fixture_prompts_rebuild_byte_for_byte():
    for name in ("feedback_collection_test.json", "vicuna_eval.json", "mt_bench_eval.json", "flask_eval.json"):
        for i, row in enumerate(json.loads((DATA / name).read_text())):
            assert _rebuild(row["instruction"], name, i, "instruction") == row["instruction"], (name, i)


def test_kaistai_trailing_quote_comma_is_tolerated():
    prompt = json.loads((DATA / "feedback_collection_test.json").read_text())[0]["instruction"]
    assert loaders.parse_prometheus_prompt(prompt + '",') == loaders.parse_prometheus_prompt(prompt)


def test_criteria_with_brackets_parse():
    rubric = {"criteria": "Is it concise [no filler] and [correct]?", "score_descriptions": list("abcde")}
    prompt = prompts.prometheus_absolute("Q", "R", rubric, "Ref")
    assert loaders.parse_prometheus_prompt(prompt)["rubric"] == rubric


# --------------------------------------------------------------------------- normalised records from the fixtures
def test_every_benchmark_loads_from_the_fixtures(fixture_data):
    sizes = {"feedback_bench": 8, "feedback_ood": 6, "vicuna_bench": 6, "mt_bench_absolute": 7, "flask_gpt4": 6,
             "flask_human": 6, "mm_vet_text": 8, "preference_bench": 10, "hhh_alignment": 8, "mt_bench_human": 8,
             "pandalm_test": 9, "judgelm_val": 8, "judgelm_val_ref": 7, "autoj_pairwise": 9,
             "llmbar_natural": 4, "llmbar_adversarial": 8}
    for bench, n in sizes.items():
        recs = loaders.load(bench)
        assert len(recs) == n, bench
        for r in recs:
            assert r["benchmark"] == bench and r["kind"] in ("absolute", "pairwise")
            assert r["prompt_family"] in records.PROMPT_FAMILIES
            assert set(r["meta"]) == set(recs[0]["meta"]), bench  # same meta keys on every row (Arrow schema)
            prompts.render(r)  # every record renders its family's prompt


def test_absolute_gold_is_the_mean(fixture_data):
    flask_h = loaders.load("flask_human")
    assert [r["gold_score"] for r in flask_h] == [1.5, 2.5, 2.5, 3.5, 5.0, 2.0]
    assert flask_h[4]["meta"]["n_gold"] == 3
    assert [round(r["gold_score"], 4) for r in loaders.load("flask_gpt4")][:2] == [1.6667, 2.6667]
    assert [r["gold_score"] for r in loaders.load("feedback_bench")] == [2, 1, 4, 3, 5, 3, 2, 5]
    mt = loaders.load("mt_bench_absolute")[0]
    assert mt["id"] == "81" and mt["reference"] is not None and mt["instruction"].startswith("Here is a previous")
    mm = loaders.load("mm_vet_text")
    assert mm[0]["scale"] == [0.0, 1.0] and mm[0]["reference"] == "-1<AND>-5" and mm[0]["id"] == "v1_0"


def test_pairwise_records(fixture_data):
    pandalm = loaders.load("pandalm_test")
    assert [r["gold"] for r in pandalm] == ["b", "a", "tie", "b", "a", "tie", "a", "b", "a"]
    assert pandalm[4]["response_a"] == "True"  # a JSON boolean response, read as the text upstream prints
    assert pandalm[1]["meta"]["input"] and pandalm[1]["instruction"].endswith(pandalm[1]["meta"]["input"])
    assert [r["gold"] for r in loaders.load("autoj_pairwise")] == ["tie", "b", "a", "a", "b", "tie", "a", "a", "tie"]
    jl = loaders.load("judgelm_val")
    assert jl[0]["gold_scores"] == [3.0, 8.0] and jl[0]["reference"] is None
    jl_ref = loaders.load("judgelm_val_ref")
    assert [r["id"] for r in jl_ref] == ["0", "1", "2", "4", "5", "6", "7"]  # question 3 is [-1, -1]
    assert all(r["meta"]["filtered_rows"] == 1 for r in jl_ref) and jl_ref[0]["reference"]
    mt_human = loaders.load("mt_bench_human")
    assert [r["gold"] for r in mt_human].count("tie") == 2 and mt_human[0]["reference"] is None
    hhh = loaders.load("hhh_alignment")
    assert [r["meta"]["source"] for r in hhh][::2] == ["helpful", "harmless", "honest", "other"]


def test_swap_load_adds_the_other_order(fixture_data):
    recs = loaders.load("autoj_pairwise", swap=True)
    assert len(recs) == 18
    ab, ba = recs[0], recs[1]
    assert (ab["order"], ba["order"]) == ("ab", "ba") and ab["pair"] == ba["pair"]
    assert (ba["response_a"], ba["response_b"]) == (ab["response_b"], ab["response_a"])
    assert records.flip(ab["gold"]) == ba["gold"]
    with pytest.raises(ValueError, match="not pairwise"):
        loaders.load("feedback_bench", swap=True)
    with pytest.raises(KeyError, match="unknown benchmark"):
        loaders.load("no_such_benchmark")


# --------------------------------------------------------------------------- malformed inputs
def _raises_record_error(call, file_name, row, field):
    with pytest.raises(RecordError) as info:
        call()
    err, msg = info.value, str(info.value)
    assert file_name in msg and f"row {row}" in msg and repr(field) in msg, msg
    assert Path(err.file).name == file_name and err.row == row and err.field == field
    return msg


def test_missing_field(data_dir):
    _copy(data_dir, "feedback_collection_test.json")
    _rewrite_json(data_dir / "feedback_collection_test.json", lambda rows: rows[3].pop("gpt4_score"))
    msg = _raises_record_error(lambda: loaders.load("feedback_bench"), "feedback_collection_test.json", 3,
                               "gpt4_score")
    assert "missing" in msg


@pytest.mark.parametrize("bad", [6, 0, "abc", [], [4, None], {"score": 4}])
def test_bad_score(data_dir, bad):
    _copy(data_dir, "vicuna_eval.json")

    def edit(rows):
        rows[2]["gpt4_score"] = bad

    _rewrite_json(data_dir / "vicuna_eval.json", edit)
    _raises_record_error(lambda: loaders.load("vicuna_bench"), "vicuna_eval.json", 2, "gpt4_score")


def test_bad_human_score(data_dir):
    _copy(data_dir, "flask_eval.json")
    _rewrite_json(data_dir / "flask_eval.json", lambda rows: rows[1].update(human_score=[3, 7]))
    loaders.load("flask_gpt4")  # the GPT-4 scores are fine
    _raises_record_error(lambda: loaders.load("flask_human"), "flask_eval.json", 1, "human_score")


def test_pandalm_three_way_split(data_dir):
    _copy(data_dir, "testset-v1.json")
    _rewrite_json(data_dir / "testset-v1.json",
                  lambda rows: rows[5].update(annotator1=0, annotator2=1, annotator3=2))
    msg = _raises_record_error(lambda: loaders.load("pandalm_test"), "testset-v1.json", 5, "annotator1..3")
    assert "three-way" in msg


def test_pandalm_bad_annotator(data_dir):
    _copy(data_dir, "testset-v1.json")
    _rewrite_json(data_dir / "testset-v1.json", lambda rows: rows[2].update(annotator2="Tie"))
    _raises_record_error(lambda: loaders.load("pandalm_test"), "testset-v1.json", 2, "annotator2")


def test_non_prometheus_prompt(data_dir):
    _copy(data_dir, "feedback_collection_ood_test.json")
    _rewrite_json(data_dir / "feedback_collection_ood_test.json",
                  lambda rows: rows[4].update(instruction="Rate the following answer from 1 to 5.\n\nAnswer: 42"))
    msg = _raises_record_error(lambda: loaders.load("feedback_ood"), "feedback_collection_ood_test.json", 4,
                               "instruction")
    assert "Prometheus" in msg


def test_prometheus_prompt_with_a_broken_rubric(data_dir):
    _copy(data_dir, "mt_bench_eval.json")

    def edit(rows):
        rows[1]["instruction"] = rows[1]["instruction"].replace("\nScore 3: ", "\nScore three: ")

    _rewrite_json(data_dir / "mt_bench_eval.json", edit)
    _raises_record_error(lambda: loaders.load("mt_bench_absolute"), "mt_bench_eval.json", 1, "instruction")


def test_chosen_and_rejected_must_differ_only_in_the_response(data_dir):
    _copy(data_dir, "hhh_alignment_eval.json")

    def edit(rows):
        rows[6]["rejected_instruction"] = rows[6]["rejected_instruction"].replace(
            "###The instruction to evaluate:\n", "###The instruction to evaluate:\nPlease ")

    _rewrite_json(data_dir / "hhh_alignment_eval.json", edit)
    _raises_record_error(lambda: loaders.load("hhh_alignment"), "hhh_alignment_eval.json", 6,
                         "rejected_instruction")


def test_bad_tie_flag(data_dir):
    _copy(data_dir, "mt_bench_human_judgement_eval.json")
    _rewrite_json(data_dir / "mt_bench_human_judgement_eval.json", lambda rows: rows[0].update(tie=2))
    _raises_record_error(lambda: loaders.load("mt_bench_human"), "mt_bench_human_judgement_eval.json", 0, "tie")


@pytest.mark.parametrize("label", [3, -1, "0", None, "tie"])
def test_bad_autoj_label(data_dir, label):
    _copy(data_dir, "autoj_pairwise.json")
    _rewrite_jsonl(data_dir / "autoj_pairwise.json", lambda rows: rows[7].update(label=label))
    _raises_record_error(lambda: loaders.load("autoj_pairwise"), "autoj_pairwise.json", 7, "label")


def test_autoj_response_must_be_text(data_dir):
    _copy(data_dir, "autoj_pairwise.json")
    _rewrite_jsonl(data_dir / "autoj_pairwise.json", lambda rows: rows[2].update({"response 2": {"text": "x"}}))
    _raises_record_error(lambda: loaders.load("autoj_pairwise"), "autoj_pairwise.json", 2, "response 2")


def test_neither_json_nor_json_lines(data_dir):
    _copy(data_dir, "autoj_pairwise.json")
    path = data_dir / "autoj_pairwise.json"
    lines = path.read_text().splitlines()
    lines.insert(3, '{"scenario": "chitchat", "label": 0, "prompt": "unterminated')
    path.write_text("\n".join(lines) + "\n")
    msg = _raises_record_error(lambda: loaders.load("autoj_pairwise"), "autoj_pairwise.json", 3, "<JSON line>")
    assert "line 4" in msg and "JSON Lines" in msg


def test_judgelm_score_must_be_a_pair(data_dir):
    _copy(data_dir, "judgelm_val_5k.jsonl", "judgelm_val_5k_gpt4.jsonl")
    _rewrite_jsonl(data_dir / "judgelm_val_5k_gpt4.jsonl", lambda rows: rows[5].update(score=[7.0]))
    _raises_record_error(lambda: loaders.load("judgelm_val"), "judgelm_val_5k_gpt4.jsonl", 5, "score")


def test_judgelm_gold_filter_is_the_authors(data_dir):
    """eval_model_judgement.py: gold = parse_score(GPT-4's text); a pair is dropped when either score is -1."""
    _copy(data_dir, "judgelm_val_5k.jsonl", "judgelm_val_5k_gpt4.jsonl")

    def edit(rows):
        rows[1]["text"] = "-1 8\nAssistant 1's answer is missing."   # one score of -1: dropped
        rows[2]["text"] = "Assistant 1: 6, Assistant 2: 6\n..."      # unparseable: [-1, -1], dropped
        rows[4]["text"] = "7,2\nreason"                                # "," read as a space: [7, 2]
        rows[4]["score"] = [2.0, 7.0]                                  # the text wins, as the authors read it

    _rewrite_jsonl(data_dir / "judgelm_val_5k_gpt4.jsonl", edit)
    full = loaders.load("judgelm_val")
    ids = [r["id"] for r in full]
    assert "1" not in ids and "2" not in ids
    assert len(full) == 6 and all(r["meta"]["filtered_rows"] == 2 for r in full)
    by_id = {r["id"]: r for r in full}
    assert by_id["4"]["gold_scores"] == [7.0, 2.0] and by_id["4"]["gold"] == "a"


def test_judgelm_question_without_gpt4_score(data_dir):
    _copy(data_dir, "judgelm_val_5k.jsonl", "judgelm_val_5k_gpt4.jsonl")
    _rewrite_jsonl(data_dir / "judgelm_val_5k_gpt4.jsonl", lambda rows: rows.pop(6))
    with pytest.raises(RecordError, match=r"judgelm_val_5k_gpt4\.jsonl.*'question_id'.*question_id 6"):
        loaders.load("judgelm_val")


def test_judgelm_reference_missing(data_dir):
    _copy(data_dir, "judgelm_val_5k.jsonl", "judgelm_val_5k_gpt4_with_reference.jsonl",
          "judgelm_val_5k_references.jsonl")
    _rewrite_jsonl(data_dir / "judgelm_val_5k_references.jsonl", lambda rows: rows.pop(2))
    _raises_record_error(lambda: loaders.load("judgelm_val_ref"), "judgelm_val_5k.jsonl", 2, "question_id")


def test_mm_vet_answer_missing(data_dir):
    _copy(data_dir, "mm-vet.json", "llava-v1.5-13b.json", "llava-v1.5-13b_gpt-4-grade-3runs.json")
    path = data_dir / "llava-v1.5-13b.json"
    answers = json.loads(path.read_text())
    del answers["v1_3"]
    path.write_text(json.dumps(answers))
    _raises_record_error(lambda: loaders.load("mm_vet_text"), "llava-v1.5-13b.json", "v1_3", "<id>")


def test_row_that_is_not_an_object(data_dir):
    _copy(data_dir, "feedback_collection_test.json")
    _rewrite_json(data_dir / "feedback_collection_test.json", lambda rows: rows.__setitem__(1, ["not", "a", "row"]))
    _raises_record_error(lambda: loaders.load("feedback_bench"), "feedback_collection_test.json", 1, "instruction")


# --------------------------------------------------------------------------- JUDGE_DATA_DIR
def test_data_dir_finds_files_at_any_depth(data_dir):
    nested = data_dir / "prometheus-eval" / "eval" / "benchmark" / "data"
    nested.mkdir(parents=True)
    shutil.copy(DATA / "hhh_alignment_eval.json", nested)
    assert sources.locate("hhh_alignment_eval.json") == nested / "hhh_alignment_eval.json"
    assert len(loaders.load("hhh_alignment")) == 8


def test_data_dir_flat_folder_serves_every_file(fixture_data):
    for name in sources.FILES:
        if name in ("pandalm-7b-testset-v1.json", "llava-v1.5-13b_gpt-4-grade-1runs.json"):
            continue  # not needed by any task's default options
        assert sources.locate(name) == DATA / name


def test_data_dir_refuses_two_copies_of_a_file(data_dir):
    # issue 12: two copies used to resolve silently to the shallower one; now both are named and nothing is read
    (data_dir / "old" / "copy").mkdir(parents=True)
    shutil.copy(DATA / "autoj_pairwise.json", data_dir / "old" / "copy")
    shutil.copy(DATA / "autoj_pairwise.json", data_dir)
    with pytest.raises(sources.DataNotFound) as info:
        sources.locate("autoj_pairwise.json")
    msg = str(info.value)
    assert "2 times" in msg and str(data_dir / "autoj_pairwise.json") in msg
    assert str(data_dir / "old" / "copy" / "autoj_pairwise.json") in msg and "\n" not in msg


def test_missing_file_errors_clearly(data_dir):
    with pytest.raises(sources.DataNotFound) as info:
        loaders.load("pandalm_test")
    msg = str(info.value)
    assert "testset-v1.json" in msg and str(data_dir) in msg and "WeOpenML/PandaLM" in msg


def test_data_dir_that_is_not_a_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("JUDGE_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(sources.DataNotFound, match="not a folder"):
        sources.locate("testset-v1.json")


def test_read_rows_json_array_object_and_lines(tmp_path):
    (tmp_path / "a.json").write_text('[{"x": 1}, {"x": 2}]')
    (tmp_path / "o.json").write_text('{"v1_0": {"x": 1}}')
    (tmp_path / "l.json").write_text('{"x": 1}\n\n{"x": 2}\n')
    assert sources.read_rows(tmp_path / "a.json") == [{"x": 1}, {"x": 2}]
    assert sources.read_rows(tmp_path / "o.json") == {"v1_0": {"x": 1}}
    assert sources.read_rows(tmp_path / "l.json") == [{"x": 1}, {"x": 2}]


# --------------------------------------------------------------------------- seeded A/B placement
def _many_pairs(data_dir: Path, n: int = 200) -> None:
    row = json.loads((DATA / "hhh_alignment_eval.json").read_text())[0]
    (data_dir / "hhh_alignment_eval.json").write_text(json.dumps([row] * n))


def test_ab_placement_is_seeded_deterministic_and_balanced(data_dir):
    _many_pairs(data_dir)
    golds = lambda seed: [r["gold"] for r in loaders.load("hhh_alignment", seed=seed)]
    default = golds(42)
    assert default == golds(42) == [r["gold"] for r in loaders.load("hhh_alignment")]
    assert golds(7) == golds(7) and golds(7) != default
    for seed in (42, 7, 2024):
        share_a = golds(seed).count("a") / 200
        assert 0.4 <= share_a <= 0.6, (seed, share_a)
    # the chosen response (the same text in every row here) is where the gold says
    chosen = loaders.parse_prometheus_prompt(json.loads((DATA / "hhh_alignment_eval.json").read_text())[0]
                                             ["chosen_instruction"])["response"]
    for r in loaders.load("hhh_alignment"):
        assert r[f"response_{r['gold']}"] == chosen


def test_ab_placement_matches_the_documented_draws(fixture_data):
    # random.Random(42).random(): 0.639 0.025 0.275 0.223 0.736 0.677 0.892 0.087 -> chosen at A where < 0.5
    assert [r["gold"] for r in loaders.load("hhh_alignment")] == ["b", "a", "a", "a", "b", "b", "b", "a"]


def test_seed_reaches_the_loader_through_the_harness(fixture_data):
    from judge_tasks import harness

    d42 = harness.load_dataset("hhh_alignment")["test"]["gold"]
    d7 = harness.load_dataset("hhh_alignment", seed=7, unknown_option="ignored")["test"]["gold"]
    assert d42 == ["b", "a", "a", "a", "b", "b", "b", "a"] and d7 == [r["gold"] for r in
                                                                    loaders.load("hhh_alignment", seed=7)]


# --------------------------------------------------------------------------- real files
@needs_shared_data
def test_real_label_distributions(monkeypatch):
    monkeypatch.setenv("JUDGE_DATA_DIR", str(SHARED_DATA))
    pandalm = collections.Counter(r["gold"] for r in loaders.load("pandalm_test"))
    assert pandalm == {"tie": 105, "a": 422, "b": 472}
    autoj = collections.Counter(r["gold"] for r in loaders.load("autoj_pairwise"))
    assert autoj == {"a": 520, "b": 499, "tie": 373}
    hhh = loaders.load("hhh_alignment")
    assert len(hhh) == 221 and not any(r["gold"] == "tie" for r in hhh)
    assert set(collections.Counter(r["meta"]["source"] for r in hhh)) == {"helpful", "harmless", "honest", "other"}
    assert len(loaders.load("mm_vet_text")) == 218 and len(loaders.load("mt_bench_absolute")) == 320


# --------------------------------------------------------------------------- the committed fixtures are generated
def test_fixtures_match_their_generator(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    monkeypatch.setattr(make, "DATA", tmp_path / "data")
    monkeypatch.setattr(make, "PRED", tmp_path / "predictions")
    make.main()
    for sub in ("data", "predictions"):  # files at any depth (LLMBar's files sit in their subset folders)
        def files(root):
            return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

        generated = files(tmp_path / sub)
        assert generated == files(FIXTURES / sub), sub
        for name in generated:
            assert (tmp_path / sub / name).read_bytes() == (FIXTURES / sub / name).read_bytes(), (sub, name)
