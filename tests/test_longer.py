"""The ``longer`` length baseline: the rule, both orders, the error on absolute tasks, and the CLI on the real files."""
from __future__ import annotations

import pytest
from conftest import SHARED_DATA, metric, needs_shared_data, run_lm_eval

from judge_core import records
from judge_models.base import JudgeTaskError
from judge_models.longer import LongerJudge, longer_verdict


def _pair(a: str, b: str, gold: str = "a") -> dict:
    return records.pairwise(benchmark="t", id=0, row=0, instruction="q", response_a=a, response_b=b, gold=gold)


def test_longer_response_wins_and_equal_length_ties():
    assert longer_verdict("abcd", "abc") == "a"
    assert longer_verdict("ab", "abc") == "b"
    assert longer_verdict("abc", "xyz") == "tie"


def test_unit_is_characters_not_whitespace_tokens():
    # 11 characters in one "word" against 3 words of 5 characters: characters decide
    assert longer_verdict("abcdefghijk", "a b c") == "a"
    assert longer_verdict("日本語の文章です", "yes no") == "a"  # no spaces, still longer


def test_verdict_follows_the_text_when_the_order_is_swapped():
    judge = LongerJudge()
    doc = _pair("a much longer answer", "short")
    first, second = judge.judge([doc, records.swapped(doc)])
    assert (first["verdict"], second["verdict"]) == ("a", "b")
    assert first["lengths"] == [20, 5] and first["unit"] == "characters"


def test_absolute_task_is_refused_with_a_clear_error():
    doc = records.absolute(benchmark="t", id=0, row=0, instruction="q", response="r", gold_score=3.0, scale=(1, 5))
    with pytest.raises(JudgeTaskError, match="longer|LongerJudge|single"):
        LongerJudge().judge([doc])


def test_unknown_model_args_are_refused():
    with pytest.raises(TypeError, match="unknown model_args"):
        LongerJudge(unit="words")


@needs_shared_data
def test_cli_on_real_pandalm_test_and_hhh_alignment(tmp_path):
    res = run_lm_eval("--model", "longer", "--tasks", "pandalm_test,hhh_alignment", data_dir=SHARED_DATA,
                      output_path=tmp_path)
    assert metric(res, "pandalm_test", "accuracy") == pytest.approx(0.6106, abs=5e-5)
    assert metric(res, "hhh_alignment", "accuracy") == pytest.approx(0.6290, abs=5e-5)
    assert metric(res, "hhh_alignment", "parse_failures") == 0
