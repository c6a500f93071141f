"""Parser rules on hand cases, and hypothesis fuzzing: no parser (and no ``process_results``) ever raises, and
every parser returns only values in its range."""
from __future__ import annotations

import functools
import json
import math
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from judge_core import parsers, prompts
from judge_core.parsers import encode_judge_output
from judge_tasks import harness

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- Prometheus
# outputs as Prometheus writes them (prometheus-eval README / the Feedback Collection's "output" field)
PROMETHEUS_OUT = ("The response provides a comprehensive explanation of the process, covering each step in the "
                  "order the rubric asks for, though it misses the edge case of an empty input. So the overall "
                  "score is 4. [RESULT] 4")


@pytest.mark.parametrize("text, want", [
    (PROMETHEUS_OUT, 4),
    ("Feedback: The response is accurate and well organised.\n[RESULT] 5", 5),
    ("[RESULT] 1", 1),
    ("... [RESULT] (3)", 3),
    ("... [RESULT] [2]", 2),
    ("... [RESULT] 4\n\n", 4),
    ("... [RESULT]: 3", 3),                          # theirs: any case, "[Result]:" too
    ("... [result] 3", 3),
    ("... [RESULT] 3/5", 3),
    ("... Score: 4 out of 5", 4),
    ("... so I give it a score of 2", 2),
    ("first [RESULT] 2 then again [RESULT] 5", 5),   # what ends the output counts
    ("... [RESULT] 4.", None),                       # theirs: nothing but one closer after the score
    ("... [RESULT] 4.0", None),
    ("... [RESULT] 4 because it is good", None),     # the score must end the output
    ("... [RESULT] 6", None),
    ("... [RESULT] 0", None),
    ("... [RESULT] 45", None),
    ("... [RESULT] four", None),
    ("... [RESULT]", None),
    ("", None),
])
def test_prometheus_absolute(text, want):
    assert parsers.prometheus_absolute(text) == want


@pytest.mark.parametrize("text, want", [
    ("Response A is more complete and cites the rubric's criteria. [RESULT] A", "a"),
    ("Feedback: Both responses ... Response B is better. [RESULT] B", "b"),
    ("... [RESULT] B\n", "b"),
    ("... [RESULT] a", "a"),                          # any case
    ("... [RESULT] A\nI chose A because it is complete.", "a"),  # a verdict followed by text on the next line
    ("... [RESULT: B]", "b"),
    ("... [Result] Response B", "b"),
    ("...\nResult: A", "a"),
    ("... [RESULT] (A)", None),                       # theirs accepts no bracket before the letter
    ('... [RESULT] "B"', None),
    ("... [RESULT] B.", None),
    ("[RESULT] A because it is better", None),
    ("... [RESULT] C", None),
    ("... [RESULT] Tie", None),
    ("A is better", None),
])
def test_prometheus_relative(text, want):
    assert parsers.prometheus_relative(text) == want


@pytest.mark.parametrize("parser, text, strict, lenient", [
    (parsers.prometheus_absolute, "... [RESULT] 4.", None, 4),
    (parsers.prometheus_absolute, "... [RESULT] 4 because it is good", None, 4),
    (parsers.prometheus_absolute, "... [RESULT] 7.", None, None),
    (parsers.prometheus_relative, '... [RESULT] "B".', None, "b"),
    (parsers.prometheus_relative, "... [RESULT] Response A is better", None, "a"),
    (parsers.judgelm, "8, 6\nreasons", None, (8.0, 6.0)),
    (parsers.judgelm, "  8   6", None, (8.0, 6.0)),
    (parsers.pandalm, "2 is better\n", None, "b"),
    (parsers.pandalm, "Tie.\n### Reason: ...", None, "tie"),
    (parsers.autoj_comparison, "Final decision: Response 2", None, "b"),
    (parsers.autoj_rating, "Overall [[7]]", None, 7.0),
])
def test_lenient_reading_is_an_option_that_counts_what_it_recovered(parser, text, strict, lenient):
    assert parser(text) == strict
    assert parsers.read(parser, text) == (strict, False)
    assert parsers.read(parser, text, lenient=True) == (lenient, lenient is not None)
    assert parsers.read(parser, PROMETHEUS_OUT, lenient=True)[1] is False  # nothing to recover


#: prometheus-eval's result patterns, as data: ``libs/prometheus-eval/prometheus_eval/parser.py`` of
#: ``prometheus-eval/prometheus-eval`` @ ``dcfb44272d5d0414832f5dbb8c2a05ebc2614234`` (``_parse_output_absolute``,
#: ``_parse_output_relative``), written there with ``re.VERBOSE``; here without the layout and the comments.
AUTHORS_ABSOLUTE_PATTERN = (r"(?:\[RESULT\]|\[SCORE\]|Score:?|score:?|Result:?|\[Result\]:?|score\s+of)\s*(?:\(|\[|\s)*"
                            r"(\d+)(?:(?:\)|\]|\s|$)|(?:/\s*5|\s*out\s*of\s*5))?(?:\s*$)")
AUTHORS_RELATIVE_PATTERN = (r"(?:\[RESULT\]|\[RESULT:\s*|\[Response\s+|\[Result\](?:\s+Response)?|\[Result:\s*|"
                            r"(?:^|\n)Result:?\s*)\s*(A|B)(?:\])?(?:\s*$)")


def _authors_absolute(text: str) -> int | None:
    """The authors' rule: the first match of their pattern (case-insensitive); its number if 1-5, else no score."""
    match = re.search(AUTHORS_ABSOLUTE_PATTERN, text, re.IGNORECASE)
    return int(match.group(1)) if match and 1 <= int(match.group(1)) <= 5 else None


def _authors_relative(text: str) -> str | None:
    """The authors' rule: the first match of their pattern (case-insensitive, ``^`` at every line), upper-cased."""
    match = re.search(AUTHORS_RELATIVE_PATTERN, text, re.IGNORECASE | re.MULTILINE)
    return match.group(1).upper() if match else None


_PROMETHEUS_ATOMS = ["[RESULT]", "[result]", "[SCORE]", "Score", "score:", "Result:", "[Result]:", "score of",
                     "out of 5", "/5", "/ 5", " ", "  ", "\n", "(", ")", "[", "]", "3", "4", "5", "7", "12", "A", "B",
                     "a", "b", "[RESULT:", "[Response ", "[Result] Response", "Result", "Feedback: x", ".", "\t", "out",
                     "of"]


@FUZZ
@given(st.lists(st.sampled_from(_PROMETHEUS_ATOMS), max_size=10).map("".join))
def test_prometheus_parsers_agree_with_the_authors_regex(text):
    absolute, relative = _authors_absolute(text), _authors_relative(text)
    assert parsers.prometheus_absolute(text) == absolute
    assert parsers.prometheus_relative(text) == (relative.lower() if relative else None)


# --------------------------------------------------------------------------- JudgeLM
@pytest.mark.parametrize("text, want", [
    ("8 6\nAssistant 1 is more detailed.", (8.0, 6.0)),
    ("7.5 9\nreasons", (7.5, 9.0)),
    ("3,4\n", (3.0, 4.0)),                 # parse_score: "," -> " "
    ("10 10\nBoth equal.", (10.0, 10.0)),
    ("3, 4", None),                        # "3  4": three parts on single spaces -> [-1, -1]
    ("  10 10  \nBoth equal.", None),
    ("\n8 6\nleading blank line", None),   # the first line is empty
    ("8\n6", None),                        # the two scores must be on the first line
    ("Assistant 1: 8, Assistant 2: 6", None),
    ("8 6 7", None),
    ("eight six", None),
    ("nan 3", None),                       # not finite: counted as a failure (a tie either way)
    ("", None),
])
def test_judgelm_first_line(text, want):
    assert parsers.judgelm(text) == want
    if want is not None:
        assert parsers.judgelm_parse_score(text) == list(want)


def test_judgelm_parse_score_failure_is_minus_one_pair():
    assert parsers.judgelm_parse_score("Assistant 1: 8") == [-1, -1]
    assert parsers.judgelm_parse_score(None) == [-1, -1]
    assert parsers.judgelm_parse_score("9 4\nreason") == [9.0, 4.0]


def test_judgelm_single_answer_prefix():
    # conv_judge_single*: the prompt ends "### Response:10"; the judge continues the line with " 7"
    prefix = prompts.JUDGELM_SINGLE_PREFIX
    assert prefix == "10"
    assert parsers.judgelm(" 7\nThe answer misses a step.", prefix=prefix) == (10.0, 7.0)
    assert parsers.judgelm(" 7.5", prefix=prefix) == (10.0, 7.5)
    assert parsers.judgelm("7", prefix=prefix) is None          # "107" is one number
    assert parsers.judgelm(" 10 7\nreason", prefix=prefix) is None
    assert parsers.judgelm(" seven", prefix=prefix) is None
    assert parsers.judgelm("", prefix=prefix) is None


@pytest.mark.parametrize("scores, want", [((8, 6), "a"), ((6, 8), "b"), ((7, 7), "tie"), ((7.0, 7), "tie"),
                                          (None, None)])
def test_judgelm_verdict(scores, want):
    assert parsers.judgelm_verdict(scores) == want


# --------------------------------------------------------------------------- Auto-J
# outputs as Auto-J writes them (GAIR-NLP/auto-j README: "So, the final decision is Response 2." / "Rating: [[5]]")
AUTOJ_PAIR_OUT = ("1. The key factors to distinguish these two responses:\n\t- accuracy: Response 2 names the "
                  "correct capital ...\n\n2. The final decision:\n\nSo, the final decision is Response 2. Though "
                  "both responses are brief, Response 2 is accurate.")


@pytest.mark.parametrize("text, want", [
    (AUTOJ_PAIR_OUT, "b"),
    ("... So, the final decision is Response 1.", "a"),
    ("... So, the final decision is Tie. Both are equally helpful.", "tie"),
    ("... the final decision is response 2", "b"),
    ("... final decision is Response 1 ... wait, the final decision is Tie", "tie"),  # the last one counts
    ("... So, the Final Decision is Response 1.", None),  # theirs looks for "final decision is " as written
    ("... So, the final decision: Response 1", None),
    ("... the final decision is Response 3", None),
    ("", None),
])
def test_autoj_pairwise(text, want):
    assert parsers.autoj_comparison(text) == want


@pytest.mark.parametrize("text, want", [
    ("The response is accurate but too short ...\n\nRating: [[6]]", 6.0),
    ("... Rating: [[ 8.5 ]]", 8.5),
    ("Rating: [[3]] ... on reflection, Rating: [[4]]", 4.0),
    ("... Rating: [[five]]", None),   # their float() would raise
    ("... Rating: [[7", None),
    ("... rating: 7", None),          # theirs: 0.0, i.e. no rating
    ("... Rating: [[11]]", None),
    ("", None),
])
def test_autoj_rating(text, want):
    assert parsers.autoj_rating(text) == want


# --------------------------------------------------------------------------- PandaLM
# outputs as PandaLM-7B writes them (its released test-set predictions: "2\n\n### Reason: ...\n\n### Reference: ...")
@pytest.mark.parametrize("text, want", [
    ("1\n\n### Reason: Response 1 is concise.\n\n### Reference: ...", "a"),
    ("2\n\n### Reason: Response 2 follows the instruction.", "b"),
    ("Tie\n\n### Reason: both fine", "tie"),
    ("tie", "tie"),
    ("TIE", "tie"),
    ("  2  \n", "b"),                # the output is stripped first
    ("\n1\nleading blank line", "a"),
    ("1.", None),                    # parse_pandalm_response: exactly 1 / 2 / tie (their 0: a tie, counted here)
    ("1 \nReason", None),
    ("3\nReason", None),
    ("Response 1\nReason", None),
    ("1 is better\n", None),
    ("12", None),
    ("### Reason: ...\n1", None),     # the verdict must be on the first line
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
    assert parsers.autoj_comparison(text) in (None, "a", "b", "tie")
    rating = parsers.autoj_rating(text)
    assert rating is None or 1.0 <= rating <= 10.0
    out = parsers.judge_output(text)
    assert out is None or isinstance(out, dict)


@FUZZ
@given(objects)
def test_parsers_never_raise_on_arbitrary_objects(obj):
    assert parsers.prometheus_absolute(obj) in (None, 1, 2, 3, 4, 5)
    assert parsers.prometheus_relative(obj) in (None, "a", "b")
    assert parsers.pandalm(obj) in (None, "a", "b", "tie")
    assert parsers.judgelm(obj) is None or isinstance(obj, str)
    assert parsers.autoj_comparison(obj) is None or isinstance(obj, str)
    assert parsers.autoj_rating(obj) is None or isinstance(obj, str)
    assert parsers.judge_output(obj) is None or isinstance(obj, str)


#: every text parser, in its authors' reading and the lenient one
ALL_PARSERS = [functools.partial(f, lenient=lenient) for lenient in (False, True)
               for f in (parsers.prometheus_absolute, parsers.prometheus_relative, parsers.judgelm, parsers.pandalm,
                         parsers.autoj_comparison, parsers.autoj_rating)] + [
    parsers.judge_output, parsers.pandalm_reason_and_reference, functools.partial(parsers.judgelm, prefix="10")]
#: pieces that made the old regexes backtrack, repeated to about 1 MB
_HOSTILE = [" ", "\n", "\t", "[RESULT]", "[result] ", "(", "[", "1", "1 ", "3", "A", "a\n", ",", "Score", "score of ",
            "### Reason:", "###", "final decision is ", "Rating: [[", "[[", "out of", "/", ".", "10 "]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(_HOSTILE), min_size=1, max_size=4), st.sampled_from(_HOSTILE + ["", "4", "B"]))
def test_every_parser_reads_1mb_of_adversarial_output_in_milliseconds(pieces, tail):
    unit = "".join(pieces)
    text = unit * (1_000_000 // len(unit)) + tail
    for parse in ALL_PARSERS:
        start = time.perf_counter()
        parse(text)
        elapsed = time.perf_counter() - start
        # linear time is about 10 ms per MB here; a backtracking regex takes seconds to hours on these inputs
        assert elapsed < 1.0, (parse, repr(unit), elapsed)


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
