"""The judges feed the golden texts: each generative judge's ``judge_input`` (what the samples log shows) is the
authors' prompt of ``expected.json`` (plain text, ``chat_template=false``, as the authors send it), the
Prometheus judge gets a benchmark's stored prompt as stored, and the phudge judge on a Phi-3 gets PHUDGE's own Phi-3
text (its token ids: BOS, then the text). Tiny random Phi-3, scripted generations."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from judge_core import prompts, records
from tests.tiny_models import tiny_phi3_folder

HERE = Path(__file__).parent
EXPECTED = json.loads((HERE / "expected.json").read_text())["synthetic"]
DOCS = json.loads((HERE / "documents.json").read_text())


def _pair(i):
    d = DOCS["pairwise"][i]
    return records.pairwise(benchmark="unit", id=f"p{i}", row=i, instruction=d["instruction"],
                            response_a=d["response_a"], response_b=d["response_b"], gold="a")


def _absolute(i):
    d = DOCS["absolute"][i]
    return records.absolute(benchmark="unit", id=f"a{i}", row=i, instruction=d["instruction"],
                            response=d["response"], reference=d["reference"], rubric=d["rubric"], gold_score=3)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    import torch

    torch.set_num_threads(1)
    return tiny_phi3_folder(tmp_path_factory.mktemp("fed"))


def scripted(judge, monkeypatch, text):
    monkeypatch.setattr(judge, "generate", lambda ids, n=1, **kw: [[text] * n for _ in ids])


def test_judgelm_pandalm_and_autoj_are_fed_the_authors_text(base, monkeypatch):
    from judge_models.autoj import AutoJJudge
    from judge_models.judgelm import JudgeLMJudge
    from judge_models.pandalm import PandaLMJudge

    judgelm = JudgeLMJudge(pretrained=str(base), chat_template=False, device="cpu", max_new_tokens=4)
    scripted(judgelm, monkeypatch, "8 6")
    out = judgelm.judge([_pair(0), _pair(1)])
    assert [o["judge_input"] for o in out] == [[EXPECTED["judgelm_pair/0"]], [EXPECTED["judgelm_pair/1"]]]
    assert [o["verdict"] for o in out] == ["a", "a"]
    scripted(judgelm, monkeypatch, " 7\nclose to the reference")
    out = judgelm.judge([_absolute(0), _absolute(1)])  # single answer: "### Response:10", the judge writes " 7"
    assert [o["judge_input"] for o in out] == [[EXPECTED["judgelm_single/0"]], [EXPECTED["judgelm_single/1"]]]
    assert out[0]["scores"] == [10.0, 7.0]

    pandalm = PandaLMJudge(pretrained=str(base), chat_template=False, device="cpu", max_new_tokens=4)
    scripted(pandalm, monkeypatch, "2\n\n### Reason: ...")
    docs = [{**_pair(i), "response_a": _pair(i)["response_a"] + "</s>", "response_b": "<s>" + _pair(i)["response_b"]}
            for i in (0, 1)]
    out = pandalm.judge(docs)  # </s> and <s>: PandaLM's own pattern, stripped whatever the tokenizer
    assert [o["judge_input"] for o in out] == [[EXPECTED["pandalm/0"]], [EXPECTED["pandalm/1"]]]

    autoj = AutoJJudge(pretrained=str(base), device="cpu", max_new_tokens=4)
    scripted(autoj, monkeypatch, "... So, the final decision is Tie. Both are fine.")
    out = autoj.judge([_pair(0), _pair(1)])
    assert [o["judge_input"] for o in out] == [[EXPECTED["autoj_pairwise/0"]], [EXPECTED["autoj_pairwise/1"]]]
    assert [o["verdict"] for o in out] == ["tie", "tie"]
    scripted(autoj, monkeypatch, "The response is right.\n\nRating: [[8]]")
    out = autoj.judge([_absolute(0), _absolute(1)])  # absolute: Auto-J's single protocol, 1-10 -> 1-5
    assert [o["judge_input"] for o in out] == [[EXPECTED["autoj_single/0"]], [EXPECTED["autoj_single/1"]]]
    assert out[0]["rating"] == 8.0 and out[0]["score"] == pytest.approx(1 + 7 / 9 * 4)


PHUDGE_VARIANTS = {"plain": (False, False), "reference": (False, True), "rubric": (True, False),
                   "rubric_reference": (True, True)}


def _phudge_fed(base, monkeypatch, docs):
    """The phudge judge on the tiny Phi-3 (a random regression head) grading ``docs`` in every system variant:
    {variant: outputs}, and the token id lists the model was given, in order."""
    from judge_models.phudge import PhudgeJudge

    judge = PhudgeJudge(pretrained=str(base), head="regression", device="cpu", max_length=4096)
    fed = []
    real_head_outputs = judge.head_outputs

    def spy(seqs):
        fed.extend(seqs)
        return real_head_outputs(seqs)

    monkeypatch.setattr(judge, "head_outputs", spy)
    out = {}
    for variant, (use_rubric, use_ref) in PHUDGE_VARIANTS.items():
        shown = [{**d, "rubric": d["rubric"] if use_rubric else None, "reference": d["reference"] if use_ref else None}
                 for d in docs]
        out[variant] = judge.judge(shown)
    return judge, out, fed


def _bos_then(tokenizer, text):
    return [tokenizer.bos_token_id] + tokenizer(text, add_special_tokens=False)["input_ids"]


def test_phudge_on_phi3_is_fed_the_authors_phi3_text(base, monkeypatch):
    """PHUDGE ``create_prometheus_prompt`` (expected.json), four system variants, two documents; the ids are what
    the authors' ``tokenizer(prompt)`` gave on the Phi-3-mini tokenizer they trained with: BOS, then the text."""
    judge, out, fed = _phudge_fed(base, monkeypatch, [_absolute(0), _absolute(1)])
    texts = []
    for variant, outputs in out.items():
        assert [o["judge_input"] for o in outputs] == [[EXPECTED[f"phudge_{variant}/{i}"]] for i in (0, 1)]
        assert all(o["parsed"] and o["truncated"] is False for o in outputs)
        texts += [EXPECTED[f"phudge_{variant}/{i}"] for i in (0, 1)]
    assert sorted(fed) == sorted(_bos_then(judge.tokenizer, t) for t in texts)
    # training builds the same ids for the same records (the trainer's featurizer, no augmentation)
    from training import config
    from training.encode import Featurizer

    cfg = config.load(HERE.parents[1] / "training" / "configs" / "tiny_cpu.yaml",
                      [f"base_model={base}", "data.max_length=4096"])
    featurize = Featurizer(cfg, judge.tokenizer)
    for i in (0, 1):
        rec = {**_absolute(i), "meta": {}}
        assert featurize(rec, None, i)["seqs"] == [_bos_then(judge.tokenizer, EXPECTED[f"phudge_rubric_reference/{i}"])]
    # a pair: one forward pass per response, each fed the authors' text for it (A, then B)
    (pair,) = judge.judge([_pair(0)])
    d = DOCS["pairwise"][0]
    assert pair["judge_input"] == [prompts.phudge_phi3(d["instruction"], d["response_a"]),
                                   prompts.phudge_phi3(d["instruction"], d["response_b"])]


def test_phudge_on_phi3_is_fed_the_authors_phi3_text_on_real_documents(base, monkeypatch):
    """The same on mt_bench_absolute rows 0-1 (expected.json stores their SHA-256 and length)."""
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"the real benchmark files are not in {SHARED_DATA}")
    monkeypatch.setenv("JUDGE_DATA_DIR", str(SHARED_DATA))
    from judge_tasks import loaders

    real = json.loads((HERE / "expected.json").read_text())["real"]
    judge, out, fed = _phudge_fed(base, monkeypatch, loaders.load("mt_bench_absolute")[:2])
    for variant, outputs in out.items():
        for i, o in enumerate(outputs):
            (text,) = o["judge_input"]
            want = real[f"phudge_{variant}/{i}"]
            assert (len(text), hashlib.sha256(text.encode()).hexdigest()) == (want["chars"], want["sha256"]), variant
            assert o["truncated"] is False and _bos_then(judge.tokenizer, text) in fed


def test_tokenizer_special_tokens_are_the_tokenizers_own_list(base):
    from transformers import AutoTokenizer

    from judge_models.pandalm import tokenizer_special_tokens

    tok = AutoTokenizer.from_pretrained(base)
    special = tokenizer_special_tokens(tok)
    assert set(tok.all_special_tokens) <= set(special) and set(prompts.PANDALM_SPECIAL_TOKENS) <= set(special)
    tok.add_special_tokens({"additional_special_tokens": ["<|judge_sep|>"]})
    special = tokenizer_special_tokens(tok)
    assert "<|judge_sep|>" in special  # an added special token is stripped too: the tokenizer's own list
    assert prompts.strip_special_tokens("a<|judge_sep|>b<|endoftext|>" + "".join(special), special) == "ab"


def test_prometheus_is_fed_the_stored_prompt_with_its_system_prompt(base, monkeypatch):
    from transformers import AutoTokenizer

    from judge_models.prometheus import PrometheusJudge

    judge = PrometheusJudge(pretrained=str(base), device="cpu", max_new_tokens=4)
    scripted(judge, monkeypatch, "Feedback: right. [RESULT] 4")
    stored = "###Task Description:\nas stored in the benchmark file, byte for byte  \n\n###Feedback: "
    doc = {**_absolute(0), "meta": {"prompt": stored}}
    (out,) = judge.judge([doc])
    tok = AutoTokenizer.from_pretrained(base)
    want = tok.apply_chat_template([{"role": "system", "content": prompts.PROMETHEUS_ABS_SYSTEM},
                                    {"role": "user", "content": stored}], tokenize=False, add_generation_prompt=True)
    assert out["judge_input"] == [want] and out["score"] == 4.0
    # a template without a system role: the system prompt joins the user turn with a newline (prometheus-eval)
    monkeypatch.setattr(judge.tokenizer, "apply_chat_template", _no_system_role(judge.tokenizer.apply_chat_template))
    (out,) = judge.judge([doc])
    assert out["judge_input"] == [f"[INST] {prompts.PROMETHEUS_ABS_SYSTEM}\n{stored} [/INST]"]


def _no_system_role(original):
    def apply(messages, **kwargs):
        if messages[0]["role"] == "system":
            raise ValueError("Conversation roles must alternate user/assistant/user/assistant/...")
        return f"[INST] {messages[0]['content']} [/INST]"

    return apply
