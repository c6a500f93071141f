"""The preference pool (``shared/data/train/pairs.jsonl``) as a training source: schema, errors naming file / row /
field, the record of upstream sources for the model card, and the evaluation-file guard."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SHARED_DATA

from judge_core.records import RecordError
from training import card, config, data, guard

ROWS = [
    {"id": "hh-0", "source": "hh-rlhf-harmless-base", "prompt": "Human: hi", "response_a": "Hello!", "response_b": "Go away.",
     "label": "a", "label_origin": "human", "license": "MIT"},
    {"id": "qa-0", "source": "fgrlhf-qa-feedback", "prompt": "Answer.", "response_a": "x", "response_b": "y",
     "label": "tie", "label_origin": "human", "license": "Apache-2.0"},
    {"id": "ar-0", "source": "arena-bench-v1-gpt4-rating", "prompt": "Write a poem.", "response_a": "short",
     "response_b": "a longer poem", "label": "b", "label_origin": "gpt-4-single-rating", "license": "Apache-2.0"},
]


def _write(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_pool_rows_become_pairwise_records_with_their_source(tmp_path):
    ld = data.load_source(config.SourceConfig(source="preference_pool", path=str(_write(tmp_path / "pairs.jsonl", ROWS))), [])
    assert ld.kind == "pairwise" and len(ld.records) == 3
    r = ld.records[0]
    assert (r["instruction"], r["response_a"], r["response_b"], r["gold"]) == ("Human: hi", "Hello!", "Go away.", "a")
    assert r["rubric"] is None and r["reference"] is None
    assert [x["gold"] for x in ld.records] == ["a", "tie", "b"]
    assert r["meta"]["source"] == "hh-rlhf-harmless-base" and r["meta"]["license"] == "MIT"
    assert r["meta"]["_source"] == "preference_pool"
    assert ld.by_source == {"arena-bench-v1-gpt4-rating": 1, "fgrlhf-qa-feedback": 1, "hh-rlhf-harmless-base": 1}
    assert ld.overlaps == []


@pytest.mark.parametrize("change, field", [({"label": "A"}, "label"), ({"label": 1}, "label"),
                                           ({"response_b": ""}, "response_b"), ({"prompt": None}, "prompt"),
                                           ({"id": "hh-0"}, "id")])
def test_bad_rows_name_file_row_and_field(tmp_path, change, field):
    rows = [dict(r) for r in ROWS]
    rows[1].update(change)
    path = _write(tmp_path / "pairs.jsonl", rows)
    with pytest.raises(RecordError) as err:
        data.load_source(config.SourceConfig(source="preference_pool", path=str(path)), [])
    msg = str(err.value)
    assert "pairs.jsonl" in msg and "row 1" in msg and field in msg


def test_missing_key_is_an_error(tmp_path):
    rows = [dict(r) for r in ROWS]
    del rows[2]["response_a"]
    with pytest.raises(RecordError, match="response_a"):
        data.load_source(config.SourceConfig(source="preference_pool", path=str(_write(tmp_path / "p.jsonl", rows))), [])


def test_guard_still_refuses_an_evaluation_file_given_as_the_pool(tmp_path):
    if not SHARED_DATA.is_dir():
        pytest.skip("real evaluation files not found")
    copy = tmp_path / "pairs.jsonl"
    copy.write_bytes((SHARED_DATA / "pandalm" / "testset-v1.json").read_bytes())  # renamed: caught by hash
    with pytest.raises(guard.EvalFileError, match="pandalm_test"):
        data.load_source(config.SourceConfig(source="preference_pool", path=str(copy)), [])


def test_card_records_the_upstream_sources_seen(tmp_path):
    cfg = config.load(Path(__file__).resolve().parents[1] / "training" / "configs" / "phudge_mini_pool.yaml")
    summary = {"sources": [{"name": "preference_pool", "origin": "pairs.jsonl", "records": 3, "skipped": {},
                            "by_source": {"hh-rlhf-harmless-base": 2, "fgrlhf-qa-feedback": 1}}]}

    class State:
        best_step, best_val_loss = None, None

    card.write(tmp_path, cfg, summary, State(), [])
    text = (tmp_path / "README.md").read_text()
    assert "preference_pool / `hh-rlhf-harmless-base` 2" in text and "`fgrlhf-qa-feedback` 1" in text


def test_pool_config_uses_no_evaluation_file():
    cfg = config.load(Path(__file__).resolve().parents[1] / "training" / "configs" / "phudge_mini_pool.yaml")
    assert [s.source for s in cfg.data.train] == ["preference_pool"]
    assert cfg.data.allow_eval_files == []


@pytest.mark.skipif(not (SHARED_DATA / "train" / "pairs.jsonl").is_file(), reason="pool not found")
def test_real_pool_reads_completely():
    ld = data.load_source(config.SourceConfig(source="preference_pool", path=str(SHARED_DATA / "train" / "pairs.jsonl")), [])
    assert len(ld.records) == 11459
    assert ld.by_source == {"arena-bench-v1-gpt4-rating": 6208, "fgrlhf-qa-feedback": 3000, "hh-rlhf-harmless-base": 2251}
    golds = [r["gold"] for r in ld.records]
    assert (golds.count("a"), golds.count("b"), golds.count("tie")) == (5537, 5538, 384)
