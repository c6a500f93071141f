"""Parser rules on hand cases, and hypothesis fuzzing: no parser (and no ``process_results``) ever raises, and
every parser returns only values in its range."""
from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from judge_core import parsers, prompts
from judge_core.parsers import encode_judge_output
from judge_tasks import harness

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- Prometheus
@pytest.mark.parametrize("text, want", [
    ("The response is accurate. [RESULT] 4", 4),
    ("Feedback: fine\n[RESULT] 5", 5),
    ("[RESULT] 1", 1),
    ("... [RESULT] (3)", 3),
    ("... [RESULT] [2]", 2),
    ("... [RESULT] 4.", 4),
    ("... [RESULT] 4.0", 4),
    ("... [RESULT] 4\n\n", 4),
    ("first [RESULT] 2 then again [RESULT] 5", 5),   # the last [RESULT] counts
    ("... [RESULT] 4 because it is good", None),     # [RESULT] must end the output
    ("[RESULT] 3 is my score. The response is clear.", None),  # [RESULT] in the middle is not a result
    ("... [RESULT] 6", None),
    ("... [RESULT] 0", None),
    ("... [RESULT] 45", None),
    ("... [RESULT] four", None),
    ("... [RESULT]", None),
    ("Score: 4", None),
    ("... [result] 4", None),
    ("", None),
])
def test_prometheus_absolute(text, want):
    assert parsers.prometheus_absolute(text) == want


@pytest.mark.parametrize("text, want", [
    ("Response A is more complete. [RESULT] A", "a"),
    ("... [RESULT] B", "b"),
    ("... [RESULT] (A)", "a"),
    ('... [RESULT] "B"', "b"),
    ("... [RESULT] B.", "b"),
    ("... [RESULT] A\n", "a"),
    ("[RESULT] A because it is better", None),
    ("... [RESULT] C", None),
    ("... [RESULT] Tie", None),
    ("... [RESULT] a", None),
    ("A is better", None),
])
def test_prometheus_relative(text, want):
    assert parsers.prometheus_relative(text) == want


# --------------------------------------------------------------------------- JudgeLM
@pytest.mark.parametrize("text, want", [
    ("8 6\nAssistant 1 is more detailed.", (8.0, 6.0)),
    ("7.5 9\nreasons", (7.5, 9.0)),
    ("3,4\n", (3.0, 4.0)),
    ("3, 4", (3.0, 4.0)),
    ("  10 10  \nBoth equal.", (10.0, 10.0)),
    ("\n8 6\nleading blank line is stripped", (8.0, 6.0)),
    ("8\n6", None),                        # the two scores must be on the first line
    ("Assistant 1: 8, Assistant 2: 6", None),
    ("8 6 7", None),
    ("eight six", None),
    ("", None),
])
def test_judgelm_first_line(text, want):
    assert parsers.judgelm(text) == want


def test_judgelm_single_answer_prefix():
    # JudgeLM Fig. 5: the prompt already wrote "10 " (the reference's score); the judge completes the second
    prefix = prompts.JUDGELM_SINGLE_PREFIX
    assert prefix == "10 "
    assert parsers.judgelm("7\nThe answer misses a step.", prefix=prefix) == (10.0, 7.0)
    assert parsers.judgelm("7.5", prefix=prefix) == (10.0, 7.5)
    # a judge that repeats the whole line would give three numbers: not parseable
    assert parsers.judgelm("10 7\nreason", prefix=prefix) is None
    assert parsers.judgelm("seven", prefix=prefix) is None
    assert parsers.judgelm("", prefix=prefix) is None  # "10" alone is one number


@pytest.mark.parametrize("scores, want", [((8, 6), "a"), ((6, 8), "b"), ((7, 7), "tie"), ((7.0, 7), "tie"),
                                          (None, None)])
def test_judgelm_verdict(scores, want):
    assert parsers.judgelm_verdict(scores) == want


# --------------------------------------------------------------------------- PandaLM
@pytest.mark.parametrize("text, want", [
    ("1\n\nReason: Response 1 is concise.\n\nReference: ...", "a"),
    ("2\nReason: ...", "b"),
    ("Tie\nReason: both fine", "tie"),
    ("tie", "tie"),
    ("TIE.", "tie"),
    ("  2  \n", "b"),
    ("1.", "a"),
    ("\n1\nleading blank line", "a"),
    ("3\nReason", None),
    ("Response 1\nReason", None),
    ("1 is better\n", None),
    ("12", None),
    ("Reason: ...\n1", None),  # the verdict must be on the first line
    ("", None),
])
def test_pandalm_first_line(text, want):
    assert parsers.pandalm(text) == want


# --------------------------------------------------------------------------- judge models' structured line
def test_judge_output_roundtrip():
    out = {"score": 4.2, "verdict": "a", "parsed": True}
    assert parsers.judge_output(encode_judge_output(out)) == out
    assert parsers.judge_output("JUDGE_OUTPUT [1, 2]") is None
    assert parsers.judge_output("JUDGE_OUTPUT {broken") is None
    assert parsers.judge_output(" JUDGE_OUTPUT {}") is None
    assert parsers.judge_output("[RESULT] 4") is None


# --------------------------------------------------------------------------- fuzz
#: arbitrary JSON-ish objects and other Python values a model or a replay file could hand over
objects = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    | st.tuples(children, children),
    max_leaves=10)

#: text that looks like judge outputs more often than plain random text does
fragments = st.sampled_from(["[RESULT]", "[RESULT] ", "A", "B", "1", "2", "5", "10", "Tie", "tie", "\n", " ", ".",
                             "(", ")", "[", "]", "\"", "-", "e", "Feedback:", "JUDGE_OUTPUT ", "{", "}",
                             '"score":', '"verdict":', "NaN", "Infinity", "1e999", "9" * 400, ","])
judge_like = st.lists(fragments | st.text(max_size=8), max_size=14).map("".join)
texts = st.text() | judge_like


@FUZZ
@given(texts)
def test_text_parsers_never_raise_and_stay_in_range(text):
    assert parsers.prometheus_absolute(text) in (None, 1, 2, 3, 4, 5)
    assert parsers.prometheus_relative(text) in (None, "a", "b")
    assert parsers.pandalm(text) in (None, "a", "b", "tie")
    for prefix in ("", prompts.JUDGELM_SINGLE_PREFIX):
        pair = parsers.judgelm(text, prefix=prefix)
        assert pair is None or (len(pair) == 2 and all(isinstance(s, float) and math.isfinite(s) for s in pair))
        assert parsers.judgelm_verdict(pair) in (None, "a", "b", "tie")
    out = parsers.judge_output(text)
    assert out is None or isinstance(out, dict)


@FUZZ
@given(objects)
def test_parsers_never_raise_on_arbitrary_objects(obj):
    assert parsers.prometheus_absolute(obj) in (None, 1, 2, 3, 4, 5)
    assert parsers.prometheus_relative(obj) in (None, "a", "b")
    assert parsers.pandalm(obj) in (None, "a", "b", "tie")
    assert parsers.judgelm(obj) is None or isinstance(obj, str)
    assert parsers.judge_output(obj) is None or isinstance(obj, str)


@FUZZ
@given(st.none() | st.tuples(st.floats(), st.floats()))
def test_judgelm_verdict_on_any_score_pair(pair):
    assert parsers.judgelm_verdict(pair) in (None, "a", "b", "tie")


# --------------------------------------------------------------------------- process_results never raises
RUBRIC = {"criteria": "Is it right?", "score_descriptions": ["1", "2", "3", "4", "5"]}
ABS_DOCS = [
    {"kind": "absolute", "benchmark": "feedback_bench", "prompt_family": "prometheus_absolute", "scale": [1.0, 5.0],
     "gold_score": 3.0, "rubric": RUBRIC, "meta": {}},
    {"kind": "absolute", "benchmark": "mm_vet_text", "prompt_family": "judgelm", "scale": [0.0, 1.0],
     "gold_score": 0.5, "reference": "42", "meta": {}},
]
PAIR_DOCS = [
    {"kind": "pairwise", "benchmark": b, "prompt_family": family, "gold": "a", "order": order, "swap": swap,
     "pair": f"{b}:0:0", "meta": {"source": "helpful", "filtered_rows": 0}}
    for b, family in [("hhh_alignment", "prometheus_relative"), ("pandalm_test", "pandalm"),
                      ("judgelm_val", "judgelm")]
    for order, swap in [("ab", False), ("ba", True)]
]

#: structured outputs of this package's judges with arbitrary (also nonsensical) field values
judge_outputs = st.dictionaries(st.sampled_from(["score", "verdict", "parsed", "raw"]),
                                st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
                                | st.lists(st.integers(), max_size=2), max_size=4)


def _check_items(doc, result):
    assert set(result) == set(harness.metric_names(doc))
    item = next(iter(result.values()))
    assert isinstance(item["parsed"], bool)
    if doc["kind"] == "absolute":
        lo, hi = doc["scale"]
        assert item["pred"] is None or (isinstance(item["pred"], float) and lo <= item["pred"] <= hi)
        assert item["parsed"] == (item["pred"] is not None)
    else:
        assert item["pred"] in ("a", "b", "tie") and item["gold"] in ("a", "b", "tie")


@FUZZ
@given(texts)
def test_process_results_never_raises_on_text(text):
    for doc in ABS_DOCS + PAIR_DOCS:
        _check_items(doc, harness.process_results(doc, [text]))


@FUZZ
@given(judge_outputs)
def test_process_results_never_raises_on_structured_output(out):
    text = encode_judge_output(out)
    for doc in ABS_DOCS + PAIR_DOCS:
        _check_items(doc, harness.process_results(doc, [text]))


@pytest.mark.parametrize("text", ['JUDGE_OUTPUT {"score": ' + "9" * 400 + "}",
                                  'JUDGE_OUTPUT {"score": 1e999}', 'JUDGE_OUTPUT {"score": NaN}',
                                  'JUDGE_OUTPUT {"score": true}', 'JUDGE_OUTPUT {"verdict": ["a"]}',
                                  'JUDGE_OUTPUT {"verdict": {"a": 1}}', "JUDGE_OUTPUT " + "[" * 5000,
                                  "JUDGE_OUTPUT " + json.dumps({"score": 1e308 * 10})])
def test_process_results_on_hostile_structured_output(text):
    for doc in ABS_DOCS + PAIR_DOCS:
        _check_items(doc, harness.process_results(doc, [text]))


def test_structured_scores_that_are_not_numbers_are_parse_failures():
    for score in (True, "4", None, [4], 10 ** 400):
        item = harness.process_results(ABS_DOCS[0], [encode_judge_output({"score": score})])["mae"]
        assert item["parsed"] is False and item["pred"] is None, score
    assert harness.process_results(ABS_DOCS[0], [encode_judge_output({"score": 4})])["mae"]["pred"] == 4.0


def test_process_results_with_no_output():
    for doc in ABS_DOCS + PAIR_DOCS:
        result = harness.process_results(doc, [])
        assert next(iter(result.values()))["parsed"] is False
