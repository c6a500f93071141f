"""``training.recipe_search``: frozen features + Bradley-Terry linear heads, compared by k-fold accuracy on a pool.

On a pool whose label is "the longer response wins", the length feature alone must be right on every pair and
be the variant chosen among those that reach it; a held-out benchmark (the bundled ``judge_demo``) is scored
with every variant; the features are cached and reused."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

from tests.tiny_models import tiny_phi3_folder
from training import recipe_search



@pytest.fixture(scope="module")
def tiny_phi3(tmp_path_factory):
    return tiny_phi3_folder(tmp_path_factory.mktemp("tiny"))


WORDS = "the cat sat on a mat while it rained and we read books about stars rivers trees".split()


def _pool(path, n=40, seed=3, shorter_wins_in_y=False):
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        short = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6)))
        long = " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 18)))
        a_long = i % 2 == 0
        a_wins = a_long if not (shorter_wins_in_y and i >= n // 2) else not a_long
        rows.append({"id": f"t-{i}", "source": "src-x" if i < n // 2 else "src-y", "prompt": f"Say something {i}.",
                     "response_a": long if a_long else short, "response_b": short if a_long else long,
                     "label": "a" if a_wins else "b", "label_origin": "test", "license": "MIT"})
    rows.append({**rows[0], "id": "t-tie", "label": "tie"})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_length_feature_alone_learns_a_length_labelled_pool(tmp_path, tiny_phi3, monkeypatch):
    monkeypatch.delenv("JUDGE_DATA_DIR", raising=False)  # judge_demo is bundled with the package
    pool = _pool(tmp_path / "pairs.jsonl")
    out = tmp_path / "search"
    args = ["--base", str(tiny_phi3), "--pool", str(pool), "--pairs", "41", "--max-length", "256", "--folds", "4",
            "--batch-size", "8", "--heldout", "judge_demo", "--out", str(out)]
    assert recipe_search.main(args) == 0
    res = json.loads((out / "results.json").read_text())
    meta, rows = res["meta"], res["variants"]
    assert meta["pairs"] == 41 and meta["ties"] == 1 and meta["decided"] == 40
    assert meta["length_rule_pool"] == 1.0
    only_length = [r for r in rows if r["features"] == "-"]
    assert len(only_length) == len(recipe_search.C_GRID)
    assert all(r["pool_cv_accuracy"] == 1.0 and r["length_weight"] > 0 for r in only_length)
    assert set(only_length[0]["pool_cv_by_source"]) == {"src-x", "src-y"}
    assert len(rows) == len(recipe_search.C_GRID) * (1 + len(recipe_search.LENGTH_MODES) * len(recipe_search.FEATURES))
    assert res["chosen"]["pool_cv_accuracy"] == 1.0
    assert all(set(r["heldout"]) == {"judge_demo"} and 0 <= r["heldout"]["judge_demo"] <= 1 for r in rows)
    assert "judge_demo" in meta["length_rule_heldout"]
    table = (out / "results.md").read_text()
    assert "held out, not used to choose" in table and table.count("\n| ") == len(rows) + 2
    # the cache is reused: same features on a second run, the backbone not loaded
    before = np.load(out / "features_pool.npz")["X"].copy()
    monkeypatch.setattr(recipe_search, "load_backbone", lambda base: pytest.fail("backbone loaded again"))
    assert recipe_search.main(args) == 0
    assert np.array_equal(np.load(out / "features_pool.npz")["X"], before)


def test_head_features_are_what_the_score_head_reads(tiny_phi3):
    """Causal LM: the last real token's hidden state (right padding), as AutoModelForSequenceClassification."""
    import torch

    tok, model = recipe_search.load_backbone(str(tiny_phi3))
    seqs = [tok("a b c")["input_ids"], tok("a b c d e f g")["input_ids"]]
    X, _ = recipe_search.embed(model, tok, seqs, batch_size=2)
    with torch.inference_mode():
        alone = model(input_ids=torch.tensor([seqs[0]])).last_hidden_state[0]
    assert np.allclose(X[0, 0], alone[-1].numpy(), atol=1e-5)
    assert np.allclose(X[0, 1], alone.mean(0).numpy(), atol=1e-5)


def test_length_by_source_puts_each_pair_in_its_source_column():
    f = {"meta": np.array([[9, 0], [2, 0], [1, 0], [4, 0], [3, 0], [3, 0]], float)}
    groups = np.array(["x", "y", "x"])
    got = recipe_search.length_by_source(f, groups, ["x", "y"], scale=2.0)
    want_diff = (np.log1p([9, 1, 3]) - np.log1p([2, 4, 3])) / 2.0
    assert np.allclose(got, [[want_diff[0], 0], [0, want_diff[1]], [want_diff[2], 0]])


def test_debiased_variant_fits_each_sources_own_length_preference(tmp_path, tiny_phi3, monkeypatch):
    """src-x: the longer response wins; src-y: the shorter. The debiased fit gives them length weights of opposite
    signs (in the fit only); the table names the mode."""
    monkeypatch.delenv("JUDGE_DATA_DIR", raising=False)
    pool = _pool(tmp_path / "pairs.jsonl", shorter_wins_in_y=True)
    out = tmp_path / "search"
    assert recipe_search.main(["--base", str(tiny_phi3), "--pool", str(pool), "--pairs", "41", "--max-length", "256",
                               "--folds", "4", "--batch-size", "8", "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    debiased = [r for r in res["variants"] if r["length"] == "debiased"]
    assert len(debiased) == len(recipe_search.FEATURES) * len(recipe_search.C_GRID)
    for r in debiased:
        assert r["length_weight"]["src-x"] > 0 > r["length_weight"]["src-y"]
    assert "| debiased |" in (out / "results.md").read_text()
