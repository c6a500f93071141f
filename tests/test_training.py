"""Training (``python -m training``): losses by hand, config, the evaluation-file guard, the training-set loaders,
augmentations, encoding with the judges' prompts, and end-to-end runs of a tiny Phi-3 judge on CPU (trained, then
evaluated through the stock ``lm_eval`` CLI; interrupted and resumed; JudgeLM / PandaLM causal recipes).

The slow DeepSpeed ZeRO-2 run (``accelerate launch``, 2 CPU processes) is in ``test_training_deepspeed.py``.
"""
from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from pathlib import Path

import pytest
import torch
from conftest import REPO, SHARED_DATA, metric, needs_shared_data, run_lm_eval
from tiny_models import tiny_phi3_folder

from training import augment, config, data, guard, losses
from training.config import AugmentConfig, ConfigError

TINY_CFG = REPO / "training" / "configs" / "tiny_cpu.yaml"
POOL = SHARED_DATA / "prometheus"


# =========================================================================== losses
def _onehot(k: int, n: int = 5) -> torch.Tensor:
    t = torch.zeros(1, n)
    t[0, k] = 1.0
    return t


def test_emd_of_identical_distributions_is_zero():
    t = torch.tensor([[0.1, 0.2, 0.4, 0.2, 0.1], [0.0, 0.0, 1.0, 0.0, 0.0]])
    logits = torch.log(t.clamp_min(1e-30))  # softmax(log t) = t
    assert losses.squared_emd(logits, t).abs().max() < 1e-10
    assert losses.generalised_emd(logits, t, p=2, alpha=2).abs().max() < 1e-10
    assert losses.generalised_emd(logits, t, p=1, alpha=1).abs().max() < 1e-6


def test_generalised_emd_with_p_alpha_2_equals_squared_emd():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 5, generator=g)
    target = torch.softmax(torch.randn(8, 5, generator=g), -1)
    assert torch.allclose(losses.generalised_emd(logits, target, 2, 2), losses.squared_emd(logits, target))


def test_emd_one_class_shift_by_hand():
    # all mass on score 2 (class 1), gold score 3 (class 2): CDFs [0,1,1,1,1] vs [0,0,1,1,1] -> one unit of gap
    logits = torch.full((1, 5), -60.0)
    logits[0, 1] = 60.0
    assert losses.squared_emd(logits, _onehot(2)).item() == pytest.approx(1.0, abs=1e-6)
    # two classes away: two gaps of 1 -> squared EMD 2, EMD_{p=1} 2, EMD_{p=2, alpha=1} sqrt(2)
    assert losses.squared_emd(logits, _onehot(3)).item() == pytest.approx(2.0, abs=1e-6)
    assert losses.generalised_emd(logits, _onehot(3), p=1, alpha=1).item() == pytest.approx(2.0, abs=1e-6)
    assert losses.generalised_emd(logits, _onehot(3), p=2, alpha=1).item() == pytest.approx(math.sqrt(2), abs=1e-6)
    # a uniform prediction against gold score 1: CDF gaps .8 .6 .4 .2 0 -> .64+.36+.16+.04 = 1.2
    uniform = torch.zeros(1, 5)
    assert losses.squared_emd(uniform, _onehot(0)).item() == pytest.approx(1.2, abs=1e-6)
    assert losses.generalised_emd(uniform, _onehot(0), p=1, alpha=1).item() == pytest.approx(2.0, abs=1e-6)
    assert losses.generalised_emd(uniform, _onehot(0), p=2, alpha=3).item() == pytest.approx(1.2 ** 1.5, abs=1e-6)


def test_emd_penalises_far_mistakes_more_than_cross_entropy_does():
    near, far = torch.full((1, 5), -20.0), torch.full((1, 5), -20.0)
    near[0, 1], far[0, 4] = 20.0, 20.0   # gold is class 0
    t = _onehot(0)
    assert losses.squared_emd(far, t) > 3 * losses.squared_emd(near, t)
    assert losses.cross_entropy(far, t).item() == pytest.approx(losses.cross_entropy(near, t).item())


def test_cross_entropy_matches_torch_for_one_hot_and_soft_targets():
    logits = torch.randn(4, 5, generator=torch.Generator().manual_seed(1))
    gold = torch.tensor([1.0, 5.0, 3.0, 2.0])
    t = losses.soft_targets(gold, 5, 1.0)
    assert torch.allclose(losses.cross_entropy(logits, t),
                          torch.nn.functional.cross_entropy(logits, (gold - 1).long(), reduction="none"))
    soft = losses.soft_targets(torch.tensor([3.5, 4.75]), 5, 1.0)
    assert soft.tolist()[0] == pytest.approx([0, 0, 0.5, 0.5, 0])
    assert soft.tolist()[1] == pytest.approx([0, 0, 0, 0.25, 0.75])
    assert (soft * torch.arange(1, 6)).sum(-1).tolist() == pytest.approx([3.5, 4.75])  # expected score kept


def test_expected_score_of_a_classification_head():
    logits = torch.log(torch.tensor([[0.0, 0.0, 0.5, 0.5, 0.0]]).clamp_min(1e-30))
    assert losses.expected_score(logits, 1.0).item() == pytest.approx(3.5, abs=1e-6)


def test_bradley_terry_value_and_gradients_push_the_chosen_score_up():
    s_a = torch.tensor([2.0, 3.0], requires_grad=True)
    s_b = torch.tensor([2.0, 1.0], requires_grad=True)
    loss = losses.bradley_terry(s_a, s_b, torch.tensor([1, -1]))
    assert loss[0].item() == pytest.approx(math.log(2))                  # equal scores: -log sigma(0)
    assert loss[1].item() == pytest.approx(-math.log(torch.sigmoid(torch.tensor(-2.0)).item()))
    loss.sum().backward()
    # gradient descent moves each score against its gradient: chosen up, rejected down
    assert s_a.grad[0] < 0 < s_b.grad[0]          # pair 0: a chosen
    assert s_b.grad[1] < 0 < s_a.grad[1]          # pair 1: b chosen
    s_a1, s_b1 = (s_a - 0.5 * s_a.grad).detach(), (s_b - 0.5 * s_b.grad).detach()
    assert (losses.bradley_terry(s_a1, s_b1, torch.tensor([1, -1])) < loss.detach()).all()


def test_bradley_terry_holds_ties_together_beyond_a_margin():
    s_a = torch.tensor([3.0, 3.0, 2.0], requires_grad=True)
    s_b = torch.tensor([3.1, 4.0, 3.0], requires_grad=True)
    loss = losses.bradley_terry(s_a, s_b, torch.tensor([0, 0, 0]), margin=0.25)
    assert loss.tolist() == pytest.approx([0.0, 0.75, 0.75])
    loss.sum().backward()
    assert s_a.grad[0] == 0 and s_b.grad[0] == 0        # within the margin: no push
    assert s_a.grad[1] < 0 < s_b.grad[1]                # beyond it: pulled together


def test_causal_lm_loss_counts_only_the_judgement_tokens():
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(1, 6, 11, generator=g)
    labels = torch.tensor([[-100, -100, -100, 4, 7, 2]])   # prompt of 3 tokens, judgement of 3
    total, count = losses.causal_lm(logits, labels)
    assert count.item() == 3
    ref = torch.nn.functional.cross_entropy(logits[0, 2:5], labels[0, 3:6], reduction="sum")
    assert total.item() == pytest.approx(ref.item(), rel=1e-6)
    changed = logits.clone()
    changed[0, 0] += 5.0     # predictions made inside the prompt do not count
    assert losses.causal_lm(changed, labels)[0].item() == pytest.approx(total.item(), rel=1e-6)


# =========================================================================== config
def test_config_rejects_unknown_keys_and_reads_yaml_floats(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("recipe: phudge\nbase_model: x\ndata: {train: [{source: feedback_collection}]}\n"
                 "optim: {learning_rate: 2e-5, epochs: 1}\n")
    cfg = config.load(p)
    assert cfg.optim.learning_rate == pytest.approx(2e-5) and cfg.n_labels == 1
    p.write_text("recipe: phudge\nbase_model: x\ndata: {train: [{source: feedback_collection}]}\noptim: {lr: 1}\n")
    with pytest.raises(ConfigError, match="unknown key"):
        config.load(p)
    with pytest.raises(ConfigError, match="regression head trains with loss: mse"):
        config.from_dict({"base_model": "x", "loss": "ce", "data": {"train": [{"source": "feedback_collection"}]}})
    cls = config.from_dict({"base_model": "x", "head": "classification", "loss": "emd",
                            "data": {"train": [{"source": "feedback_collection"}]}})
    assert cls.n_labels == 5


def test_an_unknown_loss_is_an_error_listing_the_known_ones():
    with pytest.raises(losses.UnknownLoss, match="unknown loss 'emd2'; known losses: causal_lm, ce, emd, mse, squared_emd"):
        losses.get("emd2")
    with pytest.raises(ConfigError, match="unknown loss 'emd2'; known losses: causal_lm, ce, emd, mse, squared_emd"):
        config.from_dict({"base_model": "x", "head": "classification", "loss": "emd2",
                          "data": {"train": [{"source": "feedback_collection"}]}})
    with pytest.raises(ConfigError, match="classification head trains with loss: ce or emd or squared_emd"):
        config.from_dict({"base_model": "x", "head": "classification", "loss": "mse",
                          "data": {"train": [{"source": "feedback_collection"}]}})
    with pytest.raises(ConfigError, match="judgelm recipe trains a causal LM: set loss: causal_lm, not 'mse'"):
        config.from_dict({"recipe": "judgelm", "base_model": "x", "data": {"train": [{"source": "judgelm_train"}]}})


def test_every_loss_of_the_registry_trains_its_head():
    """Each score-head loss of the table gives one finite, non-negative loss per example, zero-ish for a confident
    right answer and larger for a wrong one; the card text of each is set."""
    cfg = config.from_dict({"base_model": "x", "head": "classification", "loss": "ce",
                            "data": {"train": [{"source": "feedback_collection"}]}})
    gold = torch.tensor([2.0, 5.0])
    right = torch.full((2, 5), -20.0)
    right[0, 1], right[1, 4] = 20.0, 20.0
    wrong = right.flip(-1)
    for name, loss in losses.LOSSES.items():
        assert loss.describe and loss.trains in ("regression", "classification", "causal"), name
        if loss.point is None:
            continue
        if loss.trains == "regression":
            good, bad = loss.point(gold[:, None], gold, cfg), loss.point(gold[:, None] + 2, gold, cfg)
        else:
            good, bad = loss.point(right, gold, cfg), loss.point(wrong, gold, cfg)
        assert good.shape == (2,) and torch.all(good < 1e-3) and torch.all(bad > 0.5), name


@pytest.mark.parametrize("name", ["phudge_regression", "phudge_classification_emd", "judgelm_causal",
                                  "pandalm_causal", "tiny_cpu"])
def test_published_recipe_configs_load(name):
    cfg = config.load(REPO / "training" / "configs" / f"{name}.yaml")
    assert cfg.data.train
    if name.startswith("phudge") and name != "tiny_cpu":
        assert cfg.lora.r == 128 and cfg.augment.rubric_drop == 0.5 and cfg.augment.reference_drop == 0.5
        assert cfg.data.validation_fraction == 0.05 and cfg.optim.learning_rate == pytest.approx(2e-5)


# =========================================================================== what training depends on
def test_training_imports_the_core_not_the_judges():
    """Issue 10: training reaches the judges' tokenisation through ``judge_core`` (chat, padding, backbones), never
    by importing ``judge_models``; ``judge_core`` imports neither."""
    import ast

    root = Path(__file__).resolve().parents[1]
    for package, banned in (("training", ("judge_models",)), ("judge_core", ("judge_models", "judge_tasks", "training"))):
        for path in sorted((root / package).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                hits = [n for n in names if n.split(".")[0] in banned]
                assert not hits, f"{package}/{path.name} imports {hits}"


# =========================================================================== evaluation-file guard
def test_every_evaluation_file_maps_to_tasks():
    from judge_tasks.sources import FILES

    assert set(FILES) <= set(guard.EVAL_FILE_BENCHMARKS)
    for name in FILES:
        assert guard.tasks_of(guard.EVAL_FILE_BENCHMARKS[name]), name
    assert "mt_bench_absolute" in guard.tasks_of(["mt_bench_absolute"])
    assert {"autoj_pairwise", "autoj_pairwise_swap"} <= set(guard.tasks_of(["autoj_pairwise"]))


@needs_shared_data
def test_guard_refuses_an_evaluation_file_unless_allowed(tmp_path):
    src = config.SourceConfig(source="prometheus_absolute", path=str(POOL / "mt_bench_eval.json"))
    with pytest.raises(guard.EvalFileError, match=r"mt_bench_absolute.*allow_eval_files: \[mt_bench_eval.json\]"):
        data.load_source(src, [])
    loaded = data.load_source(src, ["mt_bench_eval.json"])
    assert len(loaded.records) == 320 and loaded.overlaps[0].tasks == ["mt_bench_absolute"]
    # the task name is accepted too; a renamed copy is caught by its content hash
    copy = tmp_path / "my_train.json"
    shutil.copy(POOL / "mt_bench_eval.json", copy)
    renamed = config.SourceConfig(source="prometheus_absolute", path=str(copy))
    with pytest.raises(guard.EvalFileError, match="matched by sha256"):
        data.load_source(renamed, [])
    assert data.load_source(renamed, ["mt_bench_absolute"]).overlaps[0].how == "sha256"


def test_guard_refuses_evaluation_datasets_on_the_hub():
    with pytest.raises(guard.EvalFileError, match="feedback_bench"):
        guard.check_hub("feedback_collection", "prometheus-eval/Feedback-Bench", None, [])
    with pytest.raises(guard.EvalFileError, match="judgelm_val"):
        guard.check_hub("judgelm_train", "BAAI/JudgeLM-100K", "judgelm_val_5k_gpt4.jsonl", [])
    assert guard.check_hub("judgelm_train", "BAAI/JudgeLM-100K", "judgelm_train_100k.jsonl", []) == []


# =========================================================================== training-set loaders (fixtures in the
# published formats, DATASETS.md §7)
def _feedback_rows(n=10):
    rows = []
    for i in range(n):
        rows.append({
            "orig_instruction": f"Question {i}?", "orig_response": f"Answer {i}.",
            "orig_reference_answer": f"Reference {i}.", "orig_criteria": f"Is answer {i} [good]?",
            **{f"orig_score{k}_description": f"level {k}" for k in range(1, 6)},
            "orig_feedback": f"Feedback {i}.", "orig_score": str(1 + i % 5), "instruction": "", "output": "",
            "input": ""})
    if n > 3:
        rows[3]["orig_score"] = "n/a"  # malformed: counted, not dropped silently
    return rows


def _judgelm_rows():
    base = {"review_id": "r", "answer1_id": "", "answer2_id": "", "reviewer_id": 1, "metadata": {},
            "answer1_model_id": "m1", "answer2_model_id": "m2", "answer1_metadata": {}, "answer2_metadata": {}}
    rows = []
    for i in range(6):
        rows.append({**base, "question_id": i, "question_body": f"Q{i}", "answer1_body": f"A{i}", "answer2_body": f"B{i}",
                     "text": f"{8 - i} {2 + i}\nAssistant 1 is clearer than Assistant 2.", "score": [8.0 - i, 2.0 + i],
                     "reference": {"decoding_method": "None", "model": "x", "text": f"R{i}"},
                     "text_w_reference": f"{9 - i} {1 + i}\nAssistant 1 matches the reference.",
                     "score_w_reference": [9.0 - i, 1.0 + i]})
    rows[5]["text"] = "error"
    return rows


def _pandalm_rows():
    out = []
    for i, res in enumerate(["1", "2", "Tie", "1", "2", "1"]):
        out.append({"inputs": {"instruction": f"Task {i}", "input": "ctx" if i % 2 else "", "response1": f"r1 {i}",
                               "response2": f"r2 {i}"},
                    "outputs": {"evaluation_result": res, "evaluation_reason": "Response 1 is better than Response 2.",
                                "reference_response": f"ref {i}"}})
    return out


def _write(path: Path, rows, jsonl=False) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n" if jsonl else json.dumps(rows))
    return path


def test_feedback_collection_loader(tmp_path):
    path = _write(tmp_path / "new_feedback_collection.json", _feedback_rows())
    ld = data.load_source(config.SourceConfig(source="feedback_collection", path=str(path)), [])
    assert len(ld.records) == 9 and ld.skipped == Counter({"orig_score not 1-5": 1})
    r = ld.records[0]
    assert r["kind"] == "absolute" and r["gold_score"] == 1.0 and r["reference"] == "Reference 0."
    assert r["rubric"] == {"criteria": "Is answer 0 [good]?", "score_descriptions": [f"level {k}" for k in range(1, 6)]}


def test_preference_collection_loader_reads_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"orig_instruction": f"Q{i}", "orig_response_A": "a", "orig_response_B": "b", "orig_reference_answer": "r",
             "orig_criteria": "c", "orig_score_A": "4", "orig_score_B": "2", "orig_preference": "A" if i % 2 else "B",
             "orig_feedback": "f", "orig_feedback_A": "", "orig_feedback_B": "", "instruction": "", "output": "",
             "input": ""} for i in range(4)]
    folder = tmp_path / "pc" / "data"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), folder / "train-00000-of-00001.parquet")
    ld = data.load_source(config.SourceConfig(source="preference_collection", path=str(tmp_path / "pc")), [])
    assert [r["gold"] for r in ld.records] == ["b", "a", "b", "a"]
    assert ld.records[0]["gold_scores"] == [4.0, 2.0] and ld.records[0]["meta"]["criteria"] == "c"


def test_judgelm_train_loader_keeps_both_judgements(tmp_path):
    path = _write(tmp_path / "judgelm_train_100k.jsonl", _judgelm_rows(), jsonl=True)
    ld = data.load_source(config.SourceConfig(source="judgelm_train", path=str(path)), [])
    assert len(ld.records) == 5 and ld.skipped["text == 'error'"] == 1
    r = ld.records[0]
    assert r["gold"] == "a" and r["gold_scores"] == [8.0, 2.0] and r["reference"] == "R0"
    assert r["meta"]["judgelm"]["score_w_reference"] == [9.0, 1.0]


def test_pandalm_train_loader(tmp_path):
    path = _write(tmp_path / "pandalm_train.json", _pandalm_rows())
    ld = data.load_source(config.SourceConfig(source="pandalm_train", path=str(path)), [])
    assert [r["gold"] for r in ld.records] == ["a", "b", "tie", "a", "b", "a"]
    assert ld.records[1]["meta"]["input"] == "ctx" and ld.records[1]["meta"]["task_instruction"] == "Task 1"


def test_hub_sources_load_with_datasets_at_the_pinned_revision(monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(repo, **kwargs):
        calls.append((repo, kwargs))
        return _feedback_rows(5)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    ld = data.load_source(config.SourceConfig(source="feedback_collection", limit=2), [])
    assert calls == [("prometheus-eval/Feedback-Collection", {"revision": "22a339f961c40b07261bea44ec10849c7440b75f",
                                                             "split": "train",
                                                             "data_files": "new_feedback_collection.json"})]
    assert len(ld.records) == 2 and ld.origin.startswith("hf://datasets/prometheus-eval/Feedback-Collection@22a339f9")
    with pytest.raises(ValueError, match="not on the hub"):
        data.load_source(config.SourceConfig(source="pandalm_train"), [])


def test_cli_prints_defaults_and_checks_a_config(tmp_path, capsys):
    from training.__main__ import main

    assert main(["--print-defaults"]) == 0
    assert "rubric_drop: 0.0" in capsys.readouterr().out
    path = _write(tmp_path / "new_feedback_collection.json", _feedback_rows(40))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"base_model: x\ndata: {{train: [{{source: feedback_collection, path: {path}}}]}}\n")
    assert main([str(cfg), "--check", "data.validation_fraction=0.1"]) == 0
    assert "35 train / 4 validation records" in capsys.readouterr().out


@needs_shared_data
def test_local_pool_is_read_by_the_task_loaders():
    ld = data.load_source(config.SourceConfig(source="autoj_pairs", path=str(POOL / "autoj_pairwise.json")),
                          ["autoj_pairwise.json"])
    assert len(ld.records) == 1392 and Counter(r["gold"] for r in ld.records) == {"a": 520, "b": 499, "tie": 373}


def test_split_is_seeded_95_5_and_can_group_by_instruction():
    recs = [{"instruction": f"q{i // 5}", "benchmark": "x", "row": i, "meta": {"_source": "s"}} for i in range(400)]
    tr, va = data.split(recs, 0.05, seed=3)
    assert len(va) == 20 and len(tr) == 380
    assert [r["row"] for r in data.split(recs, 0.05, seed=3)[1]] == [r["row"] for r in va]
    assert [r["row"] for r in data.split(recs, 0.05, seed=4)[1]] != [r["row"] for r in va]
    tr, va = data.split(recs, 0.05, seed=3, by="instruction")
    assert not {r["instruction"] for r in tr} & {r["instruction"] for r in va} and len(va) == 20


# =========================================================================== augmentations
def test_rubric_and_reference_drop_are_independent_and_seeded():
    rec = {"instruction": "q", "response": "r", "rubric": {"criteria": "c", "score_descriptions": ["x"] * 5},
           "reference": "ref", "kind": "absolute"}
    aug = AugmentConfig(rubric_drop=0.5, reference_drop=0.5)
    seen = Counter()
    for i in range(4000):
        out = augment.drop_sections(rec, aug, augment.example_rng(1, 0, i))
        seen[(out["rubric"] is None, out["reference"] is None)] += 1
    for combo in [(False, False), (False, True), (True, False), (True, True)]:
        assert abs(seen[combo] / 4000 - 0.25) < 0.03, seen        # independent, p = 0.5 each
    a = augment.drop_sections(rec, aug, augment.example_rng(1, 2, 3))
    b = augment.drop_sections(rec, aug, augment.example_rng(1, 2, 3))
    assert a == b and rec["rubric"] is not None                   # seeded; the record is not modified


def test_judgelm_swap_reference_support_and_drop(tmp_path):
    path = _write(tmp_path / "judgelm_train_100k.jsonl", _judgelm_rows(), jsonl=True)
    rec = data.load_source(config.SourceConfig(source="judgelm_train", path=str(path)), []).records[0]
    assert augment.swap_judgelm_text("8 2\nAssistant 1 beats Assistant 2.") == "2 8\nAssistant 2 beats Assistant 1."
    val, target = augment.judgelm_view(rec, AugmentConfig(swap=0.5, reference_drop=0.5), None)
    assert val["reference"] == "R0" and target.startswith("9 1\n")          # validation: reference, no swap
    outcomes = Counter()
    for i in range(400):
        shown, target = augment.judgelm_view(rec, AugmentConfig(swap=0.5, reference_drop=0.5),
                                             augment.example_rng(0, 0, i))
        with_ref, swapped = shown["reference"] is not None, shown["response_a"] == "B0"
        outcomes[(with_ref, swapped)] += 1
        expected = {(True, False): "9 1", (True, True): "1 9", (False, False): "8 2", (False, True): "2 8"}
        assert target.split("\n")[0] == expected[(with_ref, swapped)]
        assert shown["gold"] == ("b" if swapped else "a")
        if swapped:
            assert "Assistant 2" in target and "Assistant 1 " not in target.split("\n")[1][:12]
    assert len(outcomes) == 4 and min(outcomes.values()) > 60


def test_pandalm_target_and_swap(tmp_path):
    path = _write(tmp_path / "pandalm_train.json", _pandalm_rows())
    rec = data.load_source(config.SourceConfig(source="pandalm_train", path=str(path)), []).records[0]
    _, target = augment.pandalm_view(rec, AugmentConfig(), None)
    assert target == "1\n\n### Reason: Response 1 is better than Response 2.\n\n### Reference: ref 0\n"
    shown, target = augment.pandalm_view(rec, AugmentConfig(swap=1.0), augment.example_rng(0, 0, 0))
    assert shown["response_a"] == "r2 0" and target.startswith("2\n\n### Reason: Response 2 is better than Response 1.")


# =========================================================================== encoding
@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    return tiny_phi3_folder(tmp_path_factory.mktemp("tiny_base"))


def _tiny_cfg(base: Path, out: Path, *overrides: str):
    return config.load(TINY_CFG, [f"base_model={base}", f"output_dir={out}", "run.progress_bar=false", *overrides])


def test_phudge_examples_are_the_judge_prompt(tiny_base, tmp_path):
    from judge_core.chat import render_phudge_prompt
    from training.encode import Featurizer
    from training.modeling import load_tokenizer

    # the authors' four PHUDGE system texts (issue 11) are longer than the tiny config's 384 tokens leave room for
    cfg = _tiny_cfg(tiny_base, tmp_path, "data.max_length=1024")
    tok = load_tokenizer(cfg)
    feat = Featurizer(cfg, tok)
    rec = data.feedback_collection_records(_feedback_rows(2), "fc", Counter())[1]
    x = feat(rec, None, 0)
    ids, _ = render_phudge_prompt(tok, rec["instruction"], rec["response"], rec["rubric"], rec["reference"],
                                  cfg.data.max_length)
    assert x["seqs"] == [list(ids)] and x["target"] == 2.0
    assert "<|assistant|>" in tok.decode(x["seqs"][0])                     # chat template + generation prompt
    pair = {**rec, "kind": "pairwise", "response_a": "yes", "response_b": "no", "gold": "b"}
    y = feat(pair, None, 1)
    assert len(y["seqs"]) == 2 and y["gold"] == -1


def test_causal_examples_mask_the_prompt(tiny_base, tmp_path):
    from judge_core import prompts
    from training.encode import Featurizer, causal_prompt_ids
    from training.modeling import load_tokenizer

    path = _write(tmp_path / "judgelm_train_100k.jsonl", _judgelm_rows(), jsonl=True)
    cfg = _tiny_cfg(tiny_base, tmp_path, "recipe=judgelm", "loss=causal_lm",
                    f"data.train=[{{source: judgelm_train, path: {path}}}]", "data.max_length=2048")
    tok = load_tokenizer(cfg)
    rec = data.load_source(cfg.data.train[0], []).records[0]
    x = Featurizer(cfg, tok)(rec, None, 0)
    n_prompt = sum(1 for label in x["labels"] if label == -100)
    assert x["input_ids"][:n_prompt] == causal_prompt_ids(tok, prompts.judgelm_pair("Q0", "A0", "B0", "R0"))
    judgement = tok.decode(x["labels"][n_prompt:], skip_special_tokens=True)
    assert judgement == "9 1\nAssistant 1 matches the reference." and x["labels"][-1] == tok.eos_token_id


# =========================================================================== end to end (tiny Phi-3, CPU)
@pytest.fixture(scope="module")
def regression_run(tiny_base, tmp_path_factory):
    from training.trainer import train

    out = tmp_path_factory.mktemp("runs") / "phudge_regression"
    summary = train(_tiny_cfg(tiny_base, out))
    return out, summary


@needs_shared_data
def test_training_writes_the_adapter_folder_contract(regression_run):
    out, summary = regression_run
    for name in ("adapter_config.json", "adapter_model.safetensors", "judge_config.json", "README.md",
                 "metrics.jsonl", "loss_curve.png", "training_config.yaml"):
        assert (out / name).is_file(), name
    jc = json.loads((out / "judge_config.json").read_text())
    assert {k: jc[k] for k in ("judge", "head", "num_labels", "scale", "max_length")} == {
        "judge": "phudge", "head": "regression", "num_labels": 1, "scale": [1.0, 5.0], "max_length": 384}
    assert jc["not_for_tasks"] == ["autoj_pairwise", "autoj_pairwise_swap", "mt_bench_absolute"]
    ac = json.loads((out / "adapter_config.json").read_text())
    assert ac["task_type"] == "SEQ_CLS" and "score" in ac["modules_to_save"] and ac["r"] == 8
    assert set(ac["target_modules"]) == {"qkv_proj", "o_proj", "gate_up_proj", "down_proj"}
    from judge_models.torch_judge import adapter_has_head

    assert adapter_has_head(out)
    card = (out / "README.md").read_text()
    assert "must not be evaluated on those tasks" in card and "mt_bench_absolute" in card and "## Validation" in card
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    vals = [r for r in rows if r["type"] == "validation"]
    assert len(vals) == 2 and all(math.isfinite(v["pearson"]) and 0 <= v["accuracy"] <= 1 for v in vals)
    state = summary["state"]
    assert state["global_step"] == summary["total_steps"] == 30 and state["best_val_loss"] == min(
        v["val_loss"] for v in vals)
    train_losses = [r["loss"] for r in rows if r["type"] == "train"]
    assert sum(train_losses[-10:]) < sum(train_losses[:10])               # it learns


@needs_shared_data
def test_trained_adapter_runs_through_the_stock_lm_eval_cli(regression_run, tmp_path):
    out, _ = regression_run
    # the tiny byte-level tokenizer makes hhh prompts long: judge with a longer window than the training one
    res = run_lm_eval("--model", "phudge", "--model_args", f"adapter={out},max_length=4096", "--tasks",
                      "hhh_alignment", "--limit", "8", data_dir=SHARED_DATA, output_path=tmp_path,
                      extra_env={"OMP_NUM_THREADS": "1"})
    acc = metric(res, "hhh_alignment", "accuracy")
    assert 0.0 <= acc <= 1.0 and metric(res, "hhh_alignment", "parse_failures") == 0
    assert str(out) in json.dumps(res["config"]["model_args"])
    print(f"hhh_alignment (8 docs) accuracy of the trained tiny judge: {acc}")


@needs_shared_data
def test_interrupted_run_resumes_to_the_same_result(tiny_base, tmp_path):
    from training.trainer import INTERRUPTED_EXIT, train

    small = ["data.train=[{source: prometheus_absolute, path: %s, limit: 24}, "
             "{source: autoj_pairs, path: %s, limit: 8}]" % (POOL / "mt_bench_eval.json", POOL / "autoj_pairwise.json"),
             "run.save_steps=4", "run.keep_checkpoints=3"]
    full = train(_tiny_cfg(tiny_base, tmp_path / "full", *small))
    with pytest.raises(SystemExit) as stop:
        train(_tiny_cfg(tiny_base, tmp_path / "resumed", *small, "run.max_steps_this_run=10"))
    assert stop.value.code == INTERRUPTED_EXIT
    ckpts = sorted(p.name for p in (tmp_path / "resumed" / "checkpoints").iterdir())
    assert ckpts == ["step-0000004", "step-0000007", "step-0000008"]  # every 4 steps + the end of epoch 1 (7 steps)
    resumed = train(_tiny_cfg(tiny_base, tmp_path / "resumed", *small))
    f, r = full["state"], resumed["state"]
    print(f"uninterrupted: step {f['global_step']}, validation losses {[v['val_loss'] for v in f['validations']]}; "
          f"interrupted at 10 + resumed from 8: step {r['global_step']}, "
          f"validation losses {[v['val_loss'] for v in r['validations']]}")
    assert r["global_step"] == f["global_step"] == 14
    assert abs(r["best_val_loss"] - f["best_val_loss"]) <= 0.01 * abs(f["best_val_loss"])
    assert [v["val_loss"] for v in r["validations"]] == pytest.approx([v["val_loss"] for v in f["validations"]],
                                                                      rel=0.01)
    log = [json.loads(line) for line in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()]
    steps = [x["step"] for x in log if x["type"] == "train"]
    assert steps == list(range(1, 15))                                      # the interrupted steps are not doubled
    assert any(x["type"] == "event" and x["event"] == "resumed" for x in log)


@needs_shared_data
def test_classification_head_with_generalised_emd(tiny_base, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    from training.trainer import train

    out = tmp_path / "cls"
    s = train(_tiny_cfg(tiny_base, out, "head=classification", "loss=emd", "emd_p=2", "emd_alpha=1.5",
                        "optim.epochs=1", "run.neftune_alpha=5", "run.gradient_checkpointing=true"))
    assert s["state"]["finished"] and json.loads((out / "judge_config.json").read_text())["num_labels"] == 5
    base = AutoModelForSequenceClassification.from_pretrained(str(tiny_base), num_labels=5)
    model = PeftModel.from_pretrained(base, str(out))
    assert model.base_model.model.score.modules_to_save["default"].weight.shape[0] == 5


@pytest.mark.parametrize("recipe", ["judgelm", "pandalm"])
def test_causal_recipes_train_and_validate(recipe, tiny_base, tmp_path):
    from training.trainer import train

    if recipe == "judgelm":
        path, source = _write(tmp_path / "judgelm_train_100k.jsonl", _judgelm_rows() * 2, jsonl=True), "judgelm_train"
    else:
        path, source = _write(tmp_path / "pandalm_train.json", _pandalm_rows() * 2), "pandalm_train"
    out = tmp_path / recipe
    s = train(_tiny_cfg(tiny_base, out, f"recipe={recipe}", "loss=causal_lm", "data.max_length=1024",
                        f"data.train=[{{source: {source}, path: {path}}}]", "data.allow_eval_files=[]",
                        "data.validation_fraction=0.25", "augment.swap=0.5", "optim.epochs=1",
                        "run.val_max_new_tokens=4"))
    v = s["state"]["validations"][-1]
    assert math.isfinite(v["val_loss"]) and 0 <= v["accuracy"] <= 1 and "parse_failures" in v
    jc = json.loads((out / "judge_config.json").read_text())
    assert jc == {"judge": recipe, "base_model": str(tiny_base), "max_length": 1024}
    ac = json.loads((out / "adapter_config.json").read_text())
    assert ac["task_type"] == "CAUSAL_LM" and not ac.get("modules_to_save")


@needs_shared_data
def test_full_fine_tuning_writes_a_complete_judge_folder(tiny_base, tmp_path):
    from judge_models.phudge import PhudgeJudge
    from training.trainer import train

    out = tmp_path / "full"
    train(_tiny_cfg(tiny_base, out, "lora.enabled=false", "optim.max_steps=3", "optim.learning_rate=1e-4",
                    "run.eval_steps=3"))
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["type"] == "validation"] == [3]  # the last step is validated once
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()
    assert (out / "tokenizer_config.json").is_file() and not (out / "adapter_config.json").exists()
    assert json.loads((out / "judge_config.json").read_text())["base_model"] == "."
    doc = {"kind": "absolute", "benchmark": "t", "row": 0, "instruction": "What is 2 + 2?", "response": "4",
           "rubric": None, "reference": None, "scale": [1.0, 5.0]}
    judge = PhudgeJudge(adapter=str(out), device="cpu")
    first = judge.judge([doc])[0]
    assert first["parsed"] and 1.0 <= first["score"] <= 5.0
    from safetensors.torch import load_file

    trained, base = load_file(out / "model.safetensors"), load_file(tiny_base / "model.safetensors")
    name = "model.layers.0.self_attn.qkv_proj.weight"
    assert not torch.allclose(trained[name], base[name])                   # all weights trained, not only a head


class _PlantedPickle:
    """Unpickling this runs code: it writes ``marker`` (what a hostile checkpoint file would do)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


def test_resume_never_unpickles_a_planted_checkpoint_file(tiny_base, tmp_path):
    """A checkpoint folder holding pickles at every name accelerate used to load (``custom_checkpoint_0.pkl``,
    ``random_states_0.pkl``, ``optimizer.bin``, ``scheduler.bin``, ``model.safetensors``'s neighbours) resumes
    without running them; a pickle where this trainer expects safetensors is an error, not code run."""
    import pickle

    from training import checkpoint
    from training.trainer import INTERRUPTED_EXIT, train

    marker = tmp_path / "marker"
    payload = pickle.dumps(_PlantedPickle(marker))
    pickle.loads(payload)                                   # the payload is live: plain unpickling runs it
    assert marker.is_file()
    marker.unlink()

    rows = _write(tmp_path / "fc.json", _feedback_rows(12))
    cfg = ["data.train=[{source: feedback_collection, path: %s}]" % rows, "data.allow_eval_files=[]",
           "data.validation_fraction=0.25", "optim.epochs=1", "optim.batch_size=2", "run.save_steps=2"]
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as stop:
        train(_tiny_cfg(tiny_base, out, *cfg, "run.max_steps_this_run=3"))
    assert stop.value.code == INTERRUPTED_EXIT
    ckpt = checkpoint.latest(out)
    assert ckpt is not None and ckpt.name == "step-0000002"
    assert not [p.name for p in ckpt.iterdir() if p.suffix in (".pkl", ".bin", ".pt")]   # nothing pickled written
    for name in ("custom_checkpoint_0.pkl", "random_states_0.pkl", "optimizer.bin", "scheduler.bin",
                 "pytorch_model.bin"):
        (ckpt / name).write_bytes(payload)
    resumed = train(_tiny_cfg(tiny_base, out, *cfg))
    assert resumed["state"]["finished"] and resumed["state"]["global_step"] == resumed["total_steps"]
    assert not marker.exists()

    (ckpt / checkpoint.WEIGHTS_FILE).write_bytes(payload)    # a pickle where safetensors belong: refused
    with pytest.raises(checkpoint.CheckpointError, match="trainable_weights.safetensors: not a safetensors file"):
        train(_tiny_cfg(tiny_base, out, *cfg, f"run.resume={ckpt}"))
    assert not marker.exists()


def test_deepspeed_engine_files_are_read_with_weights_only(tmp_path):
    """DeepSpeed loads its engine files with ``torch.load(weights_only=False)``; resume runs that load inside
    ``torch_load_weights_only``, where a planted ``torch.save`` file fails before its code runs, and a tensor
    file still loads."""
    import pickle

    from training.checkpoint import torch_load_weights_only

    marker, planted, fine = tmp_path / "marker", tmp_path / "mp_rank_00_model_states.pt", tmp_path / "ok.pt"
    torch.save({"module": _PlantedPickle(marker)}, planted)
    torch.save({"module": {"w": torch.ones(2)}, "global_steps": 4}, fine)
    with torch_load_weights_only():
        with pytest.raises(pickle.UnpicklingError):
            torch.load(planted, map_location="cpu", weights_only=False)   # what DeepSpeed 0.19 asks for
        assert torch.load(fine, map_location="cpu", weights_only=False)["global_steps"] == 4
    assert not marker.exists()
    torch.load(planted, map_location="cpu", weights_only=False)      # outside: torch.load is torch's again
    assert marker.exists()
