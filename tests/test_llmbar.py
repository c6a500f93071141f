"""LLMBar tasks: the loader (layout, labels, errors), the per-subset and order-averaged metrics, the guard, and the
length baseline through the CLI on the real files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SHARED_DATA, metric, needs_shared_data, run_lm_eval

from judge_core.records import RecordError
from judge_tasks import aggregation, harness, loaders, registry
from judge_tasks.sources import using_data_dir

LLMBAR_COMMIT = "900616bff90b6c6c8e1681f7d079250637c55992"
LLMBAR_FILES = {"natural": "Natural/dataset.json", "neighbor": "Adversarial/Neighbor/dataset.json",
                "gptinst": "Adversarial/GPTInst/dataset.json", "gptout": "Adversarial/GPTOut/dataset.json",
                "manual": "Adversarial/Manual/dataset.json"}

#: subset -> rows (input, output_1, output_2, label); output lengths chosen so the longer output is known
SUBSETS = {
    "natural": [("q1", "long answer", "s", 1), ("q2", "s", "long answer", 2), ("q3", "long answer", "s", 2)],
    "neighbor": [("n1", "long answer", "s", 2), ("n2", "s", "long answer", 1)],
    "gptinst": [("g1", "long answer", "s", 1)],
    "gptout": [("o1", "s", "long answer", 1), ("o2", "same", "size", 1)],
    "manual": [("m1", "long answer", "s", 2)],
}


def write_llmbar(root: Path, subsets=SUBSETS) -> Path:
    for subset, rows in subsets.items():
        path = root / "llmbar" / LLMBAR_FILES[subset]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([{"input": i, "output_1": a, "output_2": b, "label": lab} for i, a, b, lab in rows],
                                   indent=4))
    return root


def test_files_are_pinned_by_folder_path():
    files = registry.files()
    for rel in LLMBAR_FILES.values():
        assert files[rel] == f"https://raw.githubusercontent.com/princeton-nlp/LLMBar/{LLMBAR_COMMIT}/Dataset/LLMBar/{rel}"


def test_loader_reads_subsets_in_order_with_1_based_labels(tmp_path):
    with using_data_dir(write_llmbar(tmp_path)):
        nat = loaders.load("llmbar_natural")
        adv = loaders.load("llmbar_adversarial")
    assert [r["gold"] for r in nat] == ["a", "b", "b"]
    assert [r["meta"]["source"] for r in adv] == ["neighbor", "neighbor", "gptinst", "gptout", "gptout", "manual"]
    assert [r["id"] for r in adv][:3] == ["neighbor/0", "neighbor/1", "gptinst/0"]
    assert [r["row"] for r in adv] == list(range(6))
    assert len({r["pair"] for r in adv}) == 6
    assert adv[0]["instruction"] == "n1" and adv[0]["response_a"] == "long answer" and adv[0]["gold"] == "b"
    assert all(r["rubric"] is None and r["reference"] is None for r in nat + adv)


@pytest.mark.parametrize("bad, field", [({"label": 0}, "label"), ({"label": "1"}, "label"), ({"label": True}, "label"),
                                        ({"output_2": None}, "output_2"), ({"input": ["x"]}, "input")])
def test_bad_rows_name_file_row_and_field(tmp_path, bad, field):
    write_llmbar(tmp_path)
    path = tmp_path / "llmbar" / LLMBAR_FILES["gptout"]
    rows = json.loads(path.read_text())
    rows[1].update(bad)
    path.write_text(json.dumps(rows))
    with using_data_dir(tmp_path), pytest.raises(RecordError) as err:
        loaders.load("llmbar_adversarial")
    assert "GPTOut/dataset.json" in str(err.value) and "row 1" in str(err.value) and field in str(err.value)


def test_missing_field_is_an_error(tmp_path):
    write_llmbar(tmp_path)
    path = tmp_path / "llmbar" / LLMBAR_FILES["natural"]
    rows = json.loads(path.read_text())
    del rows[2]["label"]
    path.write_text(json.dumps(rows))
    with using_data_dir(tmp_path), pytest.raises(RecordError, match="label"):
        loaders.load("llmbar_natural")


def _items(pairs):
    """harness items for (source, gold, pred in the published order, pred of the swapped order)."""
    out = []
    for k, (source, gold, ab, ba) in enumerate(pairs):
        for order, pred in (("ab", ab), ("ba", ba)):
            out.append({"pred": pred, "gold": gold, "parsed": True, "pair": f"p{k}", "order": order, "source": source})
    return out


def test_order_average_is_the_mean_of_the_two_orders_accuracies():
    items = _items([("neighbor", "a", "a", "a"), ("neighbor", "a", "a", "b"), ("manual", "b", "a", "b"),
                    ("manual", "b", "tie", "tie")])
    # published order right 2 of 4, swapped order right 2 of 4 (a tie is wrong) -> 0.5; neighbor (2/2 + 1/2) / 2
    assert aggregation.accuracy_order_average(items) == pytest.approx(0.5)
    assert aggregation.accuracy_order_average_neighbor(items) == pytest.approx(0.75)
    assert aggregation.accuracy_order_average_manual(items) == pytest.approx(0.25)
    # the swap-resolved convention differs: disagreement -> tie -> only the first pair counts
    assert aggregation.accuracy(items) == pytest.approx(0.25)
    assert aggregation.accuracy_neighbor(items) == pytest.approx(0.5)
    assert aggregation.accuracy_order_average.bootstrap(items, iters=50) > 0


def test_metric_names_of_the_swap_task_include_the_llmbar_convention(tmp_path):
    with using_data_dir(write_llmbar(tmp_path)):
        doc = loaders.load("llmbar_adversarial", swap=True)[0]
        plain = loaders.load("llmbar_natural")[0]
    names = harness.metric_names(doc)
    assert names[-5:] == ["accuracy_order_average"] + [f"accuracy_order_average_{s}"
                                                       for s in ("neighbor", "gptinst", "gptout", "manual")]
    assert "accuracy_order_average" not in harness.metric_names(plain)


def test_length_baseline_in_process_on_fixture_files(tmp_path):
    from lm_eval.evaluator import simple_evaluate
    from lm_eval.tasks import TaskManager

    from judge_models.longer import LongerJudge

    with using_data_dir(write_llmbar(tmp_path)):
        res = simple_evaluate(model=LongerJudge(), tasks=["llmbar_natural_swap", "llmbar_adversarial_swap"],
                              task_manager=TaskManager(include_defaults=False), bootstrap_iters=0, log_samples=False)
    nat, adv = res["results"]["llmbar_natural_swap"], res["results"]["llmbar_adversarial_swap"]
    assert nat["accuracy_order_average,none"] == pytest.approx(2 / 3)
    # longer wins: neighbor 0/2, gptinst 1/1, gptout 0/1 + an equal-length tie (wrong), manual 0/1
    assert adv["accuracy_order_average_neighbor,none"] == 0.0
    assert adv["accuracy_order_average_gptinst,none"] == 1.0
    assert adv["accuracy_order_average_gptout,none"] == 0.0
    assert adv["accuracy_order_average,none"] == pytest.approx(1 / 6)
    assert adv["consistency,none"] == 1.0


def test_guard_refuses_llmbar_files_as_training_data(tmp_path):
    from training import guard

    if not SHARED_DATA.is_dir():
        pytest.skip("real LLMBar files not found")
    copy = tmp_path / "my_pairs.json"
    copy.write_bytes((SHARED_DATA / "llmbar" / "Adversarial" / "Manual" / "dataset.json").read_bytes())
    with pytest.raises(guard.EvalFileError, match="llmbar_adversarial"):
        guard.check_files("prometheus_pairwise", [copy], [])


@needs_shared_data
def test_length_baseline_cli_on_the_real_files(tmp_path):
    res = run_lm_eval("--model", "longer", "--tasks", "llmbar_natural,llmbar_adversarial_swap", data_dir=SHARED_DATA,
                      output_path=tmp_path)
    assert res["n-samples"]["llmbar_natural"]["effective"] == 100
    assert res["n-samples"]["llmbar_adversarial_swap"]["effective"] == 2 * 319
    assert metric(res, "llmbar_natural", "accuracy") == pytest.approx(0.56)
    got = {s: metric(res, "llmbar_adversarial_swap", f"accuracy_order_average_{s}")
           for s in ("neighbor", "gptinst", "gptout", "manual")}
    assert got == pytest.approx({"neighbor": 16 / 134, "gptinst": 12 / 92, "gptout": 21 / 47, "manual": 8 / 46})
