"""The ``replay`` judge: decoding of each benchmark's encoding, matching by id and by position, clear errors."""
from __future__ import annotations

import json

import pytest

from judge_core import parsers, records
from judge_models.base import JudgeTaskError
from judge_models.replay import ReplayJudge, decode_score, decode_verdict
from judge_tasks import harness


# --------------------------------------------------------------------------- decoding
@pytest.mark.parametrize("value, want", [
    (0, "tie"), (1, "a"), (2, "b"), (1.0, "a"),            # PandaLM's released ints: 0 = Tie
    ("1", "a"), ("2", "b"), ("Tie", "tie"), ("tie", "tie"), (" 2 ", "b"),
    (3, None), (-1, None), (1.5, None), (True, None), (False, None), (None, None), ("3", None), ("", None),
])
def test_pandalm_encoding(value, want):
    assert decode_verdict(value, "pandalm") == want


@pytest.mark.parametrize("value, want", [
    (0, "a"), (1, "b"), (2, "tie"),                        # Auto-J: 0 = response 1, 2 = tie
    ("1", "a"), ("2", "b"), ("tie", "tie"),                # strings read the PandaLM / A-B way everywhere
    (3, None), (True, None), ("response 1", None),
])
def test_autoj_encoding(value, want):
    assert decode_verdict(value, "autoj") == want


@pytest.mark.parametrize("value, want", [
    ([8, 6], "a"), ([3, 9.5], "b"), ([7, 7], "tie"), ((7.0, 7), "tie"), (["8", "6"], "a"),
    ([8], None), ([8, 6, 1], None), ([1, "x"], None), ([None, 2], None), ("8 6", None), (8, None),
])
def test_judgelm_score_pairs(value, want):
    assert decode_verdict(value, "judgelm") == want


@pytest.mark.parametrize("value, want", [
    ("A", "a"), ("b", "b"), ("Tie", "tie"), ("1", "a"), ("2", "b"),
    (0, None), (1, None), ("Response A", None), ("A or B", None),
])
def test_ab_encoding(value, want):
    assert decode_verdict(value, "ab") == want


@pytest.mark.parametrize("value, want", [
    (4, 4.0), (3.5, 3.5), ("4", 4.0), (" 2.5 ", 2.5), (0, 0.0), (7, 7.0),   # clipping happens in the task
    (None, None), (True, None), ("four", None), ("NaN", None), (float("inf"), None), ([4], None), ({}, None),
])
def test_absolute_scores(value, want):
    assert decode_score(value) == want


# --------------------------------------------------------------------------- the judge
# two rows: a one-line JSON Lines file is also a single JSON document (an object), which replay does not accept
TWO, TWO_BY_ID = [{"v": 1}, {"v": 2}], [{"idx": 0, "v": 1}, {"idx": 1, "v": 2}]


def _write(path, rows, jsonl=True):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) if jsonl else json.dumps(rows))
    return str(path)


def _pair(id, row, encoding="pandalm", gold="a"):
    return records.pairwise(benchmark="t", id=id, row=row, instruction="q", response_a="x", response_b="y",
                            gold=gold, prompt_family="pandalm", label_encoding=encoding)


def _abs(id, row):
    return records.absolute(benchmark="t", id=id, row=row, instruction="q", response="r", gold_score=3,
                            rubric=records.rubric("c", list("12345")))


def test_match_by_id_in_any_order(tmp_path):
    path = _write(tmp_path / "p.json", [{"idx": 5, "v": 2}, {"idx": 3, "v": 0}, {"idx": "x7", "v": 1}], jsonl=False)
    judge = ReplayJudge(path=path, field="v", id_field="idx")
    out = judge.judge([_pair(3, 0), _pair("x7", 1), _pair(5, 2)])
    assert [o["verdict"] for o in out] == ["tie", "a", "b"]
    assert [o["raw"] for o in out] == [0, 1, 2]


def test_match_by_position(tmp_path):
    path = _write(tmp_path / "p.jsonl", [{"s": 4}, {"s": "n/a"}, {"s": 2.5}])
    judge = ReplayJudge(path=path, field="s")
    out = judge.judge([_abs("q9", 2), _abs("q7", 0), _abs("q8", 1)])
    assert [o["score"] for o in out] == [2.5, 4.0, None]


def test_unknown_values_are_parse_failures(tmp_path):
    path = _write(tmp_path / "p.jsonl", [{"v": 7}, {"v": "maybe"}, {"v": None}, {"v": [1]}])
    judge = ReplayJudge(path=path, field="v")
    docs = [_pair(i, i) for i in range(4)]
    outputs = judge.generate_until([type("Req", (), {"doc": d})() for d in docs])
    for doc, text in zip(docs, outputs):
        item = harness.process_results(doc, [text])["accuracy"]
        assert item["parsed"] is False and item["pred"] == "tie"
    out = parsers.judge_output(outputs[0])
    assert out["verdict"] is None and out["raw"] == 7


def test_each_document_is_read_in_its_own_encoding(tmp_path):
    path = _write(tmp_path / "p.jsonl", [{"v": 0}, {"v": 0}, {"v": [2, 9]}, {"v": "B"}])
    judge = ReplayJudge(path=path, field="v")
    docs = [_pair(0, 0, "pandalm"), _pair(1, 1, "autoj"), _pair(2, 2, "judgelm"), _pair(3, 3, "ab")]
    assert [o["verdict"] for o in judge.judge(docs)] == ["tie", "a", "b", "b"]


def test_missing_field(tmp_path):
    path = _write(tmp_path / "p.jsonl", [{"v": 1}, {"w": 2}])
    with pytest.raises(ValueError, match=r"p\.jsonl: row 1: field 'v': missing"):
        ReplayJudge(path=path, field="v")


def test_missing_id_field(tmp_path):
    path = _write(tmp_path / "p.jsonl", [{"idx": 0, "v": 1}, {"v": 2}])
    with pytest.raises(ValueError, match=r"p\.jsonl: row 1: field 'idx': missing"):
        ReplayJudge(path=path, field="v", id_field="idx")


def test_duplicate_id(tmp_path):
    path = _write(tmp_path / "p.jsonl", [{"idx": 0, "v": 1}, {"idx": 1, "v": 2}, {"idx": "0", "v": 0}])
    with pytest.raises(ValueError, match=r"p\.jsonl: row 2: field 'idx': duplicate id '0'"):
        ReplayJudge(path=path, field="v", id_field="idx")


def test_document_without_a_prediction(tmp_path):
    judge = ReplayJudge(path=_write(tmp_path / "p.jsonl", TWO_BY_ID), field="v", id_field="idx")
    with pytest.raises(JudgeTaskError, match=r"no prediction for document idx=4 of t"):
        judge.judge([_pair(4, 0)])
    judge = ReplayJudge(path=_write(tmp_path / "q.jsonl", TWO), field="v")
    with pytest.raises(JudgeTaskError, match=r"no prediction for document row 2 of t"):
        judge.judge([_pair(0, 2)])


def test_swapped_documents_are_refused_without_swap_path(tmp_path):
    judge = ReplayJudge(path=_write(tmp_path / "p.jsonl", TWO), field="v")
    with pytest.raises(JudgeTaskError, match="without _swap"):
        judge.judge([records.swapped(_pair(0, 0))])


def test_swap_path_gives_the_exchanged_order(tmp_path):
    # Auto-J codes; the exchanged file holds verdicts in the exchanged positions (0 = the response shown first)
    ab = _write(tmp_path / "ab.jsonl", [{"idx": 0, "v": 0}, {"idx": 1, "v": 2}])
    ba = _write(tmp_path / "ba.jsonl", [{"idx": 1, "v": 2}, {"idx": 0, "v": 1}])
    judge = ReplayJudge(path=ab, field="v", id_field="idx", swap_path=ba)
    docs = [_pair(0, 0, "autoj"), records.swapped(_pair(0, 0, "autoj")), _pair(1, 1, "autoj"),
            records.swapped(_pair(1, 1, "autoj"))]
    out = judge.judge(docs)
    assert [o["verdict"] for o in out] == ["a", "b", "tie", "tie"]  # in each document's own order
    # published positions: pair 0 says a in both orders (Auto-J's exchange_to_ori_label: 1 -> 0)
    assert [records.to_published_order(o["verdict"], d) for o, d in zip(out, docs)] == ["a", "a", "tie", "tie"]
    with pytest.raises(JudgeTaskError, match=r"ba\.jsonl: no prediction for document idx=2"):
        judge.judge([records.swapped(_pair(2, 2, "autoj"))])


def test_predictions_without_a_document_are_counted_and_reported(tmp_path, caplog):
    path = _write(tmp_path / "p.jsonl", [{"idx": i, "v": 1} for i in range(5)])
    judge = ReplayJudge(path=path, field="v", id_field="idx")
    with caplog.at_level("WARNING"):
        out = judge.judge([_pair(1, 0), _pair(3, 1)])
    assert [o["unmatched_predictions"] for o in out] == [3, 3]
    assert "3 of the predictions in" in caplog.text and "p.jsonl" in caplog.text
    assert judge.unmatched() == {path: 3}
    full = ReplayJudge(path=path, field="v", id_field="idx")
    assert full.judge([_pair(i, i) for i in range(5)])[0]["unmatched_predictions"] == 0


def test_duplicate_id_in_the_swap_file(tmp_path):
    ab = _write(tmp_path / "ab.jsonl", TWO_BY_ID)
    ba = _write(tmp_path / "ba.jsonl", [{"idx": 1, "v": 1}, {"idx": 1, "v": 2}])
    with pytest.raises(ValueError, match=r"ba\.jsonl: row 1: field 'idx': duplicate id '1'"):
        ReplayJudge(path=ab, field="v", id_field="idx", swap_path=ba)


@pytest.mark.parametrize("key", [True, None, [1], {"a": 1}, 1.5])
def test_ids_must_be_strings_or_integers(tmp_path, key):
    path = _write(tmp_path / "p.jsonl", [{"idx": 0, "v": 1}, {"idx": key, "v": 2}])
    with pytest.raises(ValueError, match=r"p\.jsonl: row 1: field 'idx': an id must be a string or an integer"):
        ReplayJudge(path=path, field="v", id_field="idx")


@pytest.mark.parametrize("value", [True, False, [True, False], [1, True]])
def test_booleans_are_never_labels(tmp_path, value):
    judge = ReplayJudge(path=_write(tmp_path / "p.jsonl", [{"v": value}, {"v": 1}]), field="v")
    for encoding in ("pandalm", "autoj", "judgelm", "ab"):
        assert judge.judge([_pair(0, 0, encoding)])[0]["verdict"] is None
    assert judge.judge([_abs(0, 0)])[0]["score"] is None


def test_bytes_that_are_not_utf8(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(b'{"v": 1}\n{"v": 2}\n{"v": "\xff\xfe"}\n')
    with pytest.raises(ValueError, match=r"p\.jsonl: row 2: .*bytes at offset 25 \(line 3\) are not UTF-8"):
        ReplayJudge(path=str(path), field="v")


def test_both_orders_through_the_cli(tmp_path):
    """lm_eval --model replay --model_args path=AB,swap_path=BA,field=output --tasks autoj_pairwise_swap, on the
    9-pair fixture (gold tie b a a b tie a a tie). Published verdicts AB: tie b a b b a a tie tie; BA (written in
    the exchanged positions): tie b a a b a b a and one unparseable (-> tie).
    Consistent pairs 0 1 2 4 5 8 -> 6/9; swap-resolved tie b a tie b a tie tie tie -> 5/9, without gold ties 3/6;
    first order 6/9; right in both orders 0 1 2 4 8 -> 5/9; disagreeing pairs 3 (b / a: second + second),
    6 (a / b: first + first), 7 (tie / a: second) -> bias_first 1/9, bias_second 2/9."""
    import sys

    from conftest import FIXTURES, metric, run_lm_eval

    code_ab = {"a": 0, "b": 1, "tie": 2}
    code_ba = {"a": 1, "b": 0, "tie": 2}  # a published verdict written in the exchanged positions
    ab = [code_ab[v] for v in "tie b a b b a a tie tie".split()]
    ba = [code_ba[v] for v in "tie b a a b a b a".split()] + [7]
    args = (f"path={_write(tmp_path / 'ab.jsonl', [{'output': v} for v in ab])},"
            f"swap_path={_write(tmp_path / 'ba.jsonl', [{'output': v} for v in ba])},field=output")
    res = run_lm_eval("--model", "replay", "--model_args", args, "--tasks", "autoj_pairwise_swap",
                      data_dir=FIXTURES / "data", output_path=tmp_path / "out", launcher=[sys.executable, "-m", "lm_eval"])
    want = {"accuracy": 5 / 9, "accuracy_no_tie": 3 / 6, "accuracy_first_order": 6 / 9,
            "accuracy_both_orders": 5 / 9, "consistency": 6 / 9, "bias_first": 1 / 9, "bias_second": 2 / 9,
            "delta_bias": 1 / 9, "parse_failures": 1}
    got = {m: metric(res, "autoj_pairwise_swap", m) for m in want}
    assert got == pytest.approx(want)
    assert res["n-samples"]["autoj_pairwise_swap"]["effective"] == 18
    assert res["results"]["autoj_pairwise_swap"]["accuracy_both_orders_stderr,none"] > 0


def test_not_a_list_of_predictions(tmp_path):
    (tmp_path / "p.json").write_text('{"0": 1}')
    with pytest.raises(ValueError, match="JSON array or JSON Lines"):
        ReplayJudge(path=str(tmp_path / "p.json"), field="v")
    (tmp_path / "q.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="row 0: field 'v': missing"):
        ReplayJudge(path=str(tmp_path / "q.json"), field="v")


def test_unknown_model_args_are_rejected(tmp_path):
    with pytest.raises(TypeError, match="unknown model_args"):
        ReplayJudge(path=_write(tmp_path / "p.jsonl", TWO), field="v", colour="blue")


def test_replay_is_not_a_loglikelihood_model(tmp_path):
    judge = ReplayJudge(path=_write(tmp_path / "p.jsonl", TWO), field="v")
    with pytest.raises(JudgeTaskError, match="judge"):
        judge.loglikelihood([])
    with pytest.raises(JudgeTaskError, match="judge records"):
        judge.generate_until([type("Req", (), {"doc": {"question": "not a judge record"}})()])


# --------------------------------------------------------------------------- edge cases of predictions files
@pytest.mark.parametrize("decode", [decode_score, lambda v: decode_verdict(v, "pandalm"),
                                    lambda v: decode_verdict([v, 1], "judgelm")])
def test_huge_integers_are_parse_failures(decode):
    assert decode(10 ** 400) is None


def test_one_line_json_lines_file(tmp_path):
    judge = ReplayJudge(path=_write(tmp_path / "p.jsonl", [{"v": 1}]), field="v")
    assert judge.judge([_pair(0, 0)])[0]["verdict"] == "a"
