"""Hostile benchmark files (issue 12 item 1, issue 13 item 4): every malformed file ends in an error that names
the file, the row and the field, or loads to the right numbers; never a crash deep inside, never a silently wrong
number. Each case writes its own broken copy of a fixture file; the hypothesis fuzz (item 2) feeds the JSON reader,
the Prometheus prompt reader and the loaders' row readers inputs up to 1 MB."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import FIXTURES, OFFLINE_ENV, REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from judge_core import prompts
from judge_core.records import RecordError
from judge_tasks import harness, loaders, sources

DATA = FIXTURES / "data"


# --------------------------------------------------------------------------- writing broken copies
def _rows(name: str):
    text = (DATA / name).read_text(encoding="utf-8")
    if name.endswith(".jsonl") or name == "autoj_pairwise.json":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)


def _dump(name: str, rows) -> bytes:
    if name.endswith(".jsonl") or name == "autoj_pairwise.json":
        return "".join(json.dumps(r) + "\n" for r in rows).encode()
    return json.dumps(rows, indent=1).encode()


def edit(name: str, change):
    """A case's writer: the fixture file ``name`` with ``change(rows)`` applied (in place, or returning new rows)."""
    def write(folder: Path):
        rows = _rows(name)
        out = change(rows)
        (folder / name).write_bytes(_dump(name, rows if out is None else out))
    return write


def raw(name: str, change):
    """A case's writer: ``change(bytes of the well-formed file) -> bytes``."""
    def write(folder: Path):
        (folder / name).write_bytes(change(_dump(name, _rows(name))))
    return write


def _set(row, **fields):
    def change(rows):
        rows[row].update(fields)
    return change


def _nest_in(name: str, row: int, field: str, depth: int = 100_000):
    """``field`` of ``row`` replaced by a list nested ``depth`` deep (written as text: json.dumps would recurse)."""
    def change(data: bytes) -> bytes:
        rows = _rows(name)
        rows[row][field] = "__DEEP__"
        return _dump(name, rows).replace(b'"__DEEP__"', b"[" * depth + b"]" * depth)
    return change


def _bad_utf8_in(name: str, row, field: str):
    """The text of ``field`` in ``row`` gets a byte that is not UTF-8 (0xff)."""
    def change(data: bytes) -> bytes:
        rows = _rows(name)
        if field == "<row>":
            rows[row] = "__BAD__" + rows[row]
        else:
            rows[row][field] = "__BAD__" + str(rows[row][field])
        return _dump(name, rows).replace(b"__BAD__", b"caf\xff ")
    return change


def _duplicate_key(name: str, row: int, field: str, value):
    """``row`` gets ``field`` twice, the second time with ``value`` (json.loads would keep the second silently)."""
    def change(data: bytes) -> bytes:
        rows = _rows(name)
        rows[row] = {"__DUP__": 0, **rows[row]}
        return _dump(name, rows).replace(b'"__DUP__": 0', f'"{field}": {json.dumps(value)}'.encode(), 1)
    return change


def _jsonl_duplicate_key(name: str, row: int, field: str, value):
    def change(data: bytes) -> bytes:
        lines = data.decode().splitlines()
        lines[row] = lines[row][:-1] + f', "{field}": {json.dumps(value)}' + "}"
        return ("\n".join(lines) + "\n").encode()
    return change


def _mm_vet_duplicate_id(data: bytes) -> bytes:
    text = data.decode()
    return text.replace('{\n "v1_0"', '{\n "v1_1": {"question": "dup", "answer": "x"},\n "v1_0"', 1).encode()


MMVET = ("mm-vet.json", "llava-v1.5-13b.json", "llava-v1.5-13b_gpt-4-grade-3runs.json")
JUDGELM = ("judgelm_val_5k.jsonl", "judgelm_val_5k_gpt4.jsonl")
GRADES = "llava-v1.5-13b_gpt-4-grade-3runs.json"

#: case -> (benchmark, fixture files copied, writer of the broken file, (file, row, field) the error must name)
ERRORS = {
    # ------------------------------------------------ crashed deep inside, or with no file / row named
    "top level object where an array is expected": (
        "pandalm_test", ["testset-v1.json"], edit("testset-v1.json", lambda rows: {"rows": rows}),
        ("testset-v1.json", "-", "<top level>")),
    "top level array where an object is expected": (
        "mm_vet_text", MMVET, edit("mm-vet.json", lambda rows: list(rows.values())), ("mm-vet.json", "-", "<top level>")),
    "top level number": (
        "vicuna_bench", ["vicuna_eval.json"], raw("vicuna_eval.json", lambda data: b"42\n"),
        ("vicuna_eval.json", "-", "<top level>")),
    "not UTF-8 in a JSON array": (
        "pandalm_test", ["testset-v1.json"], raw("testset-v1.json", _bad_utf8_in("testset-v1.json", 4, "response1")),
        ("testset-v1.json", 4, "response1")),
    "not UTF-8 in JSON Lines": (
        "autoj_pairwise", ["autoj_pairwise.json"],
        raw("autoj_pairwise.json", _bad_utf8_in("autoj_pairwise.json", 2, "prompt")), ("autoj_pairwise.json", 2, "prompt")),
    "not UTF-8 in an object keyed by id": (
        "mm_vet_text", MMVET, raw("llava-v1.5-13b.json", _bad_utf8_in("llava-v1.5-13b.json", "v1_3", "<row>")),
        ("llava-v1.5-13b.json", "v1_3", "<row>")),
    "nested 100,000 deep in a JSON array": (
        "pandalm_test", ["testset-v1.json"], raw("testset-v1.json", _nest_in("testset-v1.json", 3, "input")),
        ("testset-v1.json", 3, "input")),
    "nested 100,000 deep in JSON Lines": (
        "autoj_pairwise", ["autoj_pairwise.json"], raw("autoj_pairwise.json", _nest_in("autoj_pairwise.json", 5, "prompt")),
        ("autoj_pairwise.json", 5, "<JSON line>")),
    "a list as the Auto-J label": (
        "autoj_pairwise", ["autoj_pairwise.json"], edit("autoj_pairwise.json", _set(4, label=[0])),
        ("autoj_pairwise.json", 4, "label")),
    "a list as a PandaLM vote": (
        "pandalm_test", ["testset-v1.json"], edit("testset-v1.json", _set(6, annotator2=[1])),
        ("testset-v1.json", 6, "annotator2")),
    "a nested list as a score": (
        "vicuna_bench", ["vicuna_eval.json"], edit("vicuna_eval.json", _set(1, gpt4_score=[[4]])),
        ("vicuna_eval.json", 1, "gpt4_score")),
    "a list as a text field": (
        "pandalm_test", ["testset-v1.json"], edit("testset-v1.json", _set(2, input=["a", "b"])),
        ("testset-v1.json", 2, "input")),
    "an MM-Vet grade that is a bare number": (
        "mm_vet_text", MMVET, edit(GRADES, lambda g: g.update(v1_2=0.5)), (GRADES, "v1_2", "score")),
    "an MM-Vet grade that is null": (
        "mm_vet_text", MMVET, edit(GRADES, lambda g: g.update(v1_2=None)), (GRADES, "v1_2", "score")),
    "an MM-Vet score that is null": (
        "mm_vet_text", MMVET, edit(GRADES, lambda g: g["v1_2"].update(score=None)), (GRADES, "v1_2", "score")),
    "JudgeLM scores given as strings": (
        "judgelm_val", JUDGELM, edit("judgelm_val_5k_gpt4.jsonl", _set(3, score=["8", "7"])),
        ("judgelm_val_5k_gpt4.jsonl", 3, "score")),
    "an empty file": (
        "pandalm_test", ["testset-v1.json"], raw("testset-v1.json", lambda data: b""), ("testset-v1.json", "-", "<file>")),
    "a file of blank lines": (
        "autoj_pairwise", ["autoj_pairwise.json"], raw("autoj_pairwise.json", lambda data: b"\n \n\n"),
        ("autoj_pairwise.json", "-", "<file>")),
    "an empty JSON array": (
        "hhh_alignment", ["hhh_alignment_eval.json"], raw("hhh_alignment_eval.json", lambda data: b"[]"),
        ("hhh_alignment_eval.json", "-", "<file>")),
    # ------------------------------------------------ gave a wrong number without a word
    "a boolean as the Auto-J label (true == 1)": (
        "autoj_pairwise", ["autoj_pairwise.json"], edit("autoj_pairwise.json", _set(3, label=True)),
        ("autoj_pairwise.json", 3, "label")),
    "a boolean as a PandaLM vote": (
        "pandalm_test", ["testset-v1.json"], edit("testset-v1.json", _set(0, annotator1=True)),
        ("testset-v1.json", 0, "annotator1")),
    "a boolean as a score": (
        "vicuna_bench", ["vicuna_eval.json"], edit("vicuna_eval.json", _set(3, gpt4_score=True)),
        ("vicuna_eval.json", 3, "gpt4_score")),
    "a boolean in a JudgeLM score pair": (
        "judgelm_val", JUDGELM, edit("judgelm_val_5k_gpt4.jsonl", _set(2, score=[True, 8])),
        ("judgelm_val_5k_gpt4.jsonl", 2, "score")),
    "a duplicate PandaLM idx": (
        "pandalm_test", ["testset-v1.json"], edit("testset-v1.json", lambda rows: rows[7].update(idx=rows[2]["idx"])),
        ("testset-v1.json", 7, "idx")),
    "a duplicate JudgeLM question_id (GPT-4 scores)": (
        "judgelm_val", JUDGELM,
        edit("judgelm_val_5k_gpt4.jsonl", lambda rows: rows.insert(5, dict(rows[1], score=[1.0, 9.0]))),
        ("judgelm_val_5k_gpt4.jsonl", 5, "question_id")),
    "a duplicate JudgeLM question_id (questions)": (
        "judgelm_val", JUDGELM, edit("judgelm_val_5k.jsonl", lambda rows: rows.append(dict(rows[0]))),
        ("judgelm_val_5k.jsonl", 8, "question_id")),
    "a duplicate key in a JSON array row": (
        "pandalm_test", ["testset-v1.json"], raw("testset-v1.json", _duplicate_key("testset-v1.json", 2, "annotator1", 2)),
        ("testset-v1.json", 2, "annotator1")),
    "a duplicate key in a JSON Lines row": (
        "autoj_pairwise", ["autoj_pairwise.json"],
        raw("autoj_pairwise.json", _jsonl_duplicate_key("autoj_pairwise.json", 1, "label", 2)),
        ("autoj_pairwise.json", 1, "label")),
    "a duplicate id in an object keyed by id": (
        "mm_vet_text", MMVET, raw("mm-vet.json", _mm_vet_duplicate_id), ("mm-vet.json", "v1_1", "<id>")),
    "a misspelled HHH source": (
        "hhh_alignment", ["hhh_alignment_eval.json"], edit("hhh_alignment_eval.json", _set(5, source="helpfull")),
        ("hhh_alignment_eval.json", 5, "source")),
    "an MM-Vet answer that is null (was the text 'None')": (
        "mm_vet_text", MMVET, edit("llava-v1.5-13b.json", lambda a: a.update(v1_4=None)),
        ("llava-v1.5-13b.json", "v1_4", "<answer>")),
    "an MM-Vet capability that is a string (was split into characters)": (
        "mm_vet_text", MMVET, edit("mm-vet.json", lambda q: q["v1_5"].update(capability="ocr")),
        ("mm-vet.json", "v1_5", "capability")),
    "an MM-Vet question that is a list": (
        "mm_vet_text", MMVET, edit("mm-vet.json", lambda q: q["v1_6"].update(question=["what?"])),
        ("mm-vet.json", "v1_6", "question")),
}


@pytest.fixture(params=sorted(ERRORS), ids=lambda case: re.sub(r"\W+", "_", case).strip("_"))
def broken(request, tmp_path, monkeypatch):
    """(benchmark, expected (file, row, field)) with ``JUDGE_DATA_DIR`` holding the case's broken files."""
    benchmark, names, write, expected = ERRORS[request.param]
    for name in names:
        shutil.copy(DATA / name, tmp_path / name)
    write(tmp_path)
    monkeypatch.setenv("JUDGE_DATA_DIR", str(tmp_path))
    return benchmark, expected


def _names(err: RecordError, expected) -> str:
    file, row, field = expected
    msg = str(err)
    assert Path(err.file).name == file and err.row == row and err.field == field, (msg, expected)
    assert file in msg and f"row {row}" in msg and repr(field) in msg and "\n" not in msg, msg
    return msg


def test_a_malformed_file_is_an_error_naming_file_row_and_field(broken):
    benchmark, expected = broken
    with pytest.raises(RecordError) as info:
        loaders.load(benchmark)
    _names(info.value, expected)


def test_the_harness_raises_the_same_error(broken):
    """Through ``harness.load_dataset`` (what lm-eval calls) the same RecordError arrives, not an IndexError."""
    benchmark, expected = broken
    with pytest.raises(RecordError) as info:
        harness.load_dataset(benchmark)
    _names(info.value, expected)


# --------------------------------------------------------------------------- files that now load to the right values
@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("JUDGE_DATA_DIR", str(tmp_path))
    return tmp_path


def test_mm_vet_score_as_a_bare_number_is_one_grade(data_dir):
    for name in MMVET:
        shutil.copy(DATA / name, data_dir)
    edit(GRADES, lambda g: g["v1_2"].update(score=0.5))(data_dir)
    rec = {r["id"]: r for r in loaders.load("mm_vet_text")}["v1_2"]
    assert rec["gold_score"] == 0.5 and rec["meta"]["n_gold"] == 1


def test_number_where_text_is_expected_is_read_as_its_text(data_dir):
    """A number in a text column (PandaLM's input, an MM-Vet ground truth) becomes text on that row, so the column
    keeps one type and the Arrow conversion of ``datasets`` accepts it."""
    shutil.copy(DATA / "testset-v1.json", data_dir)
    edit("testset-v1.json", _set(1, input=12))(data_dir)
    for name in MMVET:
        shutil.copy(DATA / name, data_dir)
    edit("mm-vet.json", lambda q: q["v1_1"].update(answer=7))(data_dir)
    assert harness.load_dataset("pandalm_test")["test"][1]["meta"]["input"] == "12"
    assert harness.load_dataset("mm_vet_text")["test"][1]["reference"] == "7"


def test_a_column_arrow_refuses_is_named_with_its_row():
    recs = [{"benchmark": "t", "row": i, "x": "a", "meta": {"k": "text"}} for i in range(3)]
    recs[2]["meta"]["k"] = 5
    err = harness._mixed_column("t", recs, ValueError("arrow"))
    assert (err.row, err.field) == (2, "meta.k") and "row 0" in str(err)


def test_records_refuse_a_non_text_field():
    from judge_core import records

    with pytest.raises(RecordError) as info:
        records.pairwise(benchmark="t", id=1, row=4, instruction="q", response_a=["x"], response_b="y", gold="a",
                         source_file="f.json")
    assert (info.value.file, info.value.row, info.value.field) == ("f.json", 4, "response_a")
    with pytest.raises(RecordError, match="gold_score"):
        records.absolute(benchmark="t", id=1, row=0, instruction="q", response="r", gold_score=True)


def test_judgelm_all_rows_filtered_is_an_error_not_an_index_error(data_dir):
    for name in JUDGELM:
        shutil.copy(DATA / name, data_dir)
    edit("judgelm_val_5k_gpt4.jsonl", lambda rows: [dict(r, score=[-1, -1], text="no scores") for r in rows])(data_dir)
    with pytest.raises(RecordError, match="no documents"):
        harness.load_dataset("judgelm_val")


# --------------------------------------------------------------------------- where files are found
def test_two_copies_under_the_data_dir_are_both_named(data_dir):
    for sub in ("a", "b/c"):
        (data_dir / sub).mkdir(parents=True)
        shutil.copy(DATA / "testset-v1.json", data_dir / sub)
    with pytest.raises(sources.DataNotFound) as info:
        loaders.load("pandalm_test")
    msg = str(info.value)
    assert str(data_dir / "a" / "testset-v1.json") in msg and str(data_dir / "b" / "c" / "testset-v1.json") in msg


def test_missing_file_offline_without_a_data_dir_is_one_line(monkeypatch):
    monkeypatch.delenv("JUDGE_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name, where in (("testset-v1.json", "WeOpenML/PandaLM"), ("judgelm_val_5k.jsonl", "BAAI/JudgeLM-100K")):
        with pytest.raises(sources.DataNotFound) as info:
            sources.locate(name)
        msg = str(info.value)
        assert name in msg and "JUDGE_DATA_DIR is not set" in msg and where in msg and "\n" not in msg


def test_a_failed_download_is_one_line(monkeypatch):
    monkeypatch.delenv("JUDGE_DATA_DIR", raising=False)
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)

    def fail(url):
        raise ConnectionError(f"cannot reach {url}\n  (a long report from the download library)")

    monkeypatch.setattr(sources, "_download", fail)
    with pytest.raises(sources.DataNotFound) as info:
        sources.locate("autoj_pairwise.json")
    msg = str(info.value)
    assert "autoj_pairwise.json could not be downloaded" in msg and "prometheus-eval" in msg and "\n" not in msg
    assert "JUDGE_DATA_DIR is not set" in msg


def test_a_folder_in_the_name_picks_one_of_two_copies(data_dir):
    for sub in ("Natural", "Adversarial/Neighbor"):
        (data_dir / sub).mkdir(parents=True)
        (data_dir / sub / "dataset.json").write_text("[]")
    assert sources.locate("Natural/dataset.json") == data_dir / "Natural" / "dataset.json"
    with pytest.raises(sources.DataNotFound, match="2 times"):
        sources.locate("dataset.json")


def test_missing_file_through_the_cli_ends_in_one_line(tmp_path):
    """``lm_eval --tasks pandalm_test`` with an empty JUDGE_DATA_DIR: the last stderr line names the file, the
    folder searched and the pinned URL; no traceback through the harness."""
    env = {**os.environ, **OFFLINE_ENV, "JUDGE_DATA_DIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "lm_eval", "--model", "replay", "--model_args",
         f"path={FIXTURES / 'predictions' / 'pandalm_autoj.json'},field=pandalm_result,id_field=idx",
         "--tasks", "pandalm_test"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: testset-v1.json") and str(tmp_path) in last and "WeOpenML/PandaLM" in last, last
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]


# --------------------------------------------------------------------------- hypothesis: inputs up to 1 MB
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
#: pieces that drive a JSON reader or a prompt reader into its corners
JSON_PIECES = ["[", "]", "{", "}", '"', "\\", ",", ":", "\n", " ", "1", "-", "e", "true", "null", "NaN",
               '{"a": 1, "a": 2}', '"\\u00e9"', "\ud800", "\xff", "\u2028"]
PROMPT_PIECES = ["###Task Description:\n", "###The instruction to evaluate:\n", "###Response to evaluate:\n",
                 "###Reference Answer (Score 5):\n", "###Score Rubrics:\n", "###Feedback: ", "###", "[", "]",
                 "\nScore 1: ", "\nScore 2: ", "\nScore 3: ", "\nScore 4: ", "\nScore 5: ", "]\nScore 1: ", "\n",
                 "\n\n", " ", "x", '",']


def _long(pieces):
    """A text of up to about 1 MB: a few pieces, each repeated up to 200,000 times."""
    return st.lists(st.tuples(st.sampled_from(pieces), st.integers(1, 200_000)), min_size=1, max_size=6).map(
        lambda parts: "".join(p * n for p, n in parts)[:1_000_000])


def _read(data: bytes):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.json"
        path.write_bytes(data)
        try:
            return sources.read_rows(path)
        except RecordError as err:
            assert err.file == str(path) and "\n" not in str(err)
            return err


@FUZZ
@given(st.one_of(st.binary(max_size=2000), _long(JSON_PIECES).map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_fuzz_json_reader(data):
    out = _read(data)
    assert isinstance(out, (list, dict, RecordError))


@FUZZ
@given(st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=5), kids, max_size=4),
                    max_leaves=30))
def test_fuzz_json_reader_reads_what_json_writes(value):
    out = _read(json.dumps([value]).encode())
    assert out == [value] or isinstance(out, RecordError) and value in ([], {})


@FUZZ
@given(st.one_of(_long(PROMPT_PIECES), st.lists(st.sampled_from(PROMPT_PIECES + ["ab", "]"]), max_size=40).map("".join)))
def test_fuzz_prometheus_prompt_reader(text):
    try:
        fields = loaders.parse_prometheus_prompt(text)
    except RecordError:
        return
    assert set(fields) == {"instruction", "response", "reference", "rubric"}


#: the regular expressions the prompt reader used before (exponential on long rubrics): its reference semantics
_OLD_SECTION = re.compile(r"^###(Task Description|The instruction to evaluate|Response to evaluate|"
                          r"Reference Answer \(Score 5\)|Score Rubrics|Feedback):[ \n]?", re.MULTILINE)
_OLD_RUBRIC = re.compile(r"\A\[(?P<criteria>.*)\]\nScore 1: (?P<s1>.*)\nScore 2: (?P<s2>.*)\nScore 3: (?P<s3>.*)\n"
                         r"Score 4: (?P<s4>.*)\nScore 5: (?P<s5>.*)\Z", re.DOTALL)


@FUZZ
@given(st.lists(st.sampled_from(PROMPT_PIECES + ["ab", "###Feedback:"]), max_size=14).map("".join))
def test_prompt_reader_splits_as_the_old_patterns_did(text):
    assert [(n, a, e) for n, a, e in loaders._sections(text)] == [
        (m.group(1), m.start(), m.end()) for m in _OLD_SECTION.finditer(text)]
    old = _OLD_RUBRIC.match(text)
    new = loaders._split_rubric(text)
    assert (None if old is None else (old["criteria"], [old[f"s{i}"] for i in range(1, 6)])) == new


@FUZZ
@given(st.text(max_size=300), st.text(max_size=300), st.lists(st.text(max_size=40), min_size=6, max_size=6),
       st.none() | st.text(max_size=100))
def test_prompt_reader_round_trips_a_rendered_prompt(instruction, response, rubric_texts, reference):
    def clean(t):
        return t.replace("###", "#").replace("\nScore ", "\nscore ").replace("]\n", "] \n").replace("\r", "")
    instruction, response = clean(instruction), clean(response)
    rubric = {"criteria": clean(rubric_texts[0]), "score_descriptions": [clean(t) for t in rubric_texts[1:]]}
    reference = None if reference is None else clean(reference)
    prompt = prompts.prometheus_absolute(instruction, response, rubric, reference)
    fields = loaders.parse_prometheus_prompt(prompt)
    assert prompts.prometheus_absolute(fields["instruction"], fields["response"], fields["rubric"],
                                       fields["reference"]) == prompt


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.floats() | st.text(max_size=30),
                     lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3),
                     max_leaves=10)
_AUTOJ_ROW = st.fixed_dictionaries({"scenario": _JSON, "label": _JSON | st.integers(0, 2), "prompt": _JSON,
                                    "response 1": _JSON | st.text(), "response 2": _JSON | st.text()})
_PANDALM_ROW = st.fixed_dictionaries({"idx": _JSON | st.integers(0, 5), "instruction": _JSON, "input": _JSON,
                                      "response1": _JSON, "response2": _JSON, "annotator1": _JSON | st.integers(0, 2),
                                      "annotator2": _JSON | st.integers(0, 2), "annotator3": _JSON | st.integers(0, 2)})


def _load_rows(benchmark: str, name: str, rows: list, long_text: str = "") -> list | RecordError:
    with tempfile.TemporaryDirectory() as folder, sources.using_data_dir(folder):
        if long_text:
            rows = [dict(r, **{k: long_text for k in r if k.startswith("response")}) for r in rows]
        (Path(folder) / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        try:
            return loaders.load(benchmark)
        except RecordError as err:
            assert Path(err.file).name == name and "\n" not in str(err)
            return err


@FUZZ
@given(st.lists(_AUTOJ_ROW, min_size=1, max_size=5), st.sampled_from(["", "é" * 500_000, "x\n" * 300_000]))
def test_fuzz_autoj_row_reader(rows, long_text):
    out = _load_rows("autoj_pairwise", "autoj_pairwise.json", rows, long_text)
    if not isinstance(out, RecordError):
        assert [r["gold"] for r in out] == [{0: "a", 1: "b", 2: "tie"}[r["label"]] for r in rows]
        assert all(isinstance(r["response_a"], str) for r in out)


@FUZZ
@given(st.lists(_PANDALM_ROW, min_size=1, max_size=5))
def test_fuzz_pandalm_row_reader(rows):
    out = _load_rows("pandalm_test", "testset-v1.json", rows)
    if not isinstance(out, RecordError):
        for rec, row in zip(out, rows):
            votes = [row[f"annotator{k}"] for k in (1, 2, 3)]
            assert all(type(v) is int for v in votes)
            assert rec["gold"] == {0: "tie", 1: "a", 2: "b"}[max(set(votes), key=votes.count)]


_PROMPT = json.loads((DATA / "vicuna_eval.json").read_text())[0]["instruction"]
_VICUNA_ROW = st.fixed_dictionaries({
    "idx": _JSON | st.integers(0, 3), "response_source": _JSON | st.text(max_size=10),
    "category": _JSON, "instruction": _JSON | st.just(_PROMPT) | st.lists(st.sampled_from(PROMPT_PIECES)).map("".join),
    "gpt4_score": _JSON | st.integers(1, 5) | st.lists(st.integers(0, 6), max_size=3)})
_JUDGELM_GOLD = st.fixed_dictionaries({"question_id": _JSON | st.integers(0, 3),
                                       "score": _JSON | st.lists(_JSON | st.integers(-1, 10), min_size=2, max_size=2)})


@FUZZ
@given(st.lists(_VICUNA_ROW, min_size=1, max_size=4))
def test_fuzz_prometheus_absolute_row_reader(rows):
    with tempfile.TemporaryDirectory() as folder, sources.using_data_dir(folder):
        (Path(folder) / "vicuna_eval.json").write_text(json.dumps(rows), encoding="utf-8")
        try:
            out = loaders.load("vicuna_bench")
        except RecordError as err:
            assert Path(err.file).name == "vicuna_eval.json" and "\n" not in str(err)
            return
    for rec, row in zip(out, rows):
        scores = row["gpt4_score"] if isinstance(row["gpt4_score"], list) else [row["gpt4_score"]]
        assert all(type(s) in (int, float) and 1 <= s <= 5 for s in scores)
        assert rec["gold_score"] == pytest.approx(sum(scores) / len(scores))


@FUZZ
@given(st.lists(_JUDGELM_GOLD, min_size=1, max_size=4))
def test_fuzz_judgelm_score_reader(gold_rows):
    with tempfile.TemporaryDirectory() as folder, sources.using_data_dir(folder):
        shutil.copy(DATA / "judgelm_val_5k.jsonl", folder)
        (Path(folder) / "judgelm_val_5k_gpt4.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in gold_rows), encoding="utf-8")
        try:
            out = loaders.load("judgelm_val")
        except RecordError as err:
            assert Path(err.file).name.startswith("judgelm_val_5k") and "\n" not in str(err)
            return
    assert all(all(type(s) is float for s in r["gold_scores"]) for r in out)
