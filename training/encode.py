"""Records -> token ids, with the judges' own renderers from ``judge_core.chat`` (training and judging must give
the model the same token ids), and batches padded by ``judge_core.padding``.

* PHUDGE score head: ``judge_core.chat.render_phudge_prompt`` (the chat template when the tokenizer has one, plain
  text otherwise; truncation keeps the response and the rubric). When even the response and the rubric do not fit,
  the judge gives up on the document; training keeps the prompt's head and tail instead (``keep_ends``).
  A pairwise record is two sequences (one per response) that share the instruction, rubric and reference.
* JudgeLM / PandaLM causal LMs: the prompt of ``judge_core.prompts`` (``judgelm_pair``, ``pandalm``) as the
  generative judges encode it with no system turn (``judge_core.chat.judge_prompt_text``), then the judgement +
  EOS; labels are -100 on the prompt (loss on the judgement only).
"""
from __future__ import annotations

import random

import torch

from judge_core import prompts
from judge_core.chat import (
    PromptTooLong,
    judge_prompt_text,
    keep_ends,
    prompt_text_ids,
    render_phudge_prompt,
)
from judge_core.padding import pad_batch, pad_sequences
from judge_core.scales import rescale
from training.augment import drop_sections, example_rng, judgelm_view, pandalm_view
from training.config import TrainConfig
from training.losses import IGNORE_INDEX


def to_head_scale(score: float, record_scale, head_scale) -> float:
    if [float(x) for x in record_scale] == [float(x) for x in head_scale]:
        return float(score)
    return rescale(score, record_scale, head_scale)


def phudge_prompt_ids(tokenizer, rec: dict, max_length: int) -> tuple[list[int], bool]:
    """Token ids of the PHUDGE prompt of ``rec`` (``instruction``, ``response``, ``rubric``, ``reference``) as the
    phudge judge renders it, and whether it was truncated (head and tail kept when it cannot fit otherwise)."""
    args = (tokenizer, rec["instruction"], rec["response"], rec.get("rubric"), rec.get("reference"))
    try:
        ids, truncated = render_phudge_prompt(*args, max_length)
    except PromptTooLong:
        ids, _ = render_phudge_prompt(*args, None)
        return keep_ends(ids, max_length), True
    return list(ids), bool(truncated)


def causal_prompt_ids(tokenizer, text: str) -> list[int]:
    """The prompt as the generative judges encode it with no system turn: the user turn of the chat template +
    generation prompt when the tokenizer has a template, else the plain text with the tokenizer's special tokens."""
    return prompt_text_ids(tokenizer, judge_prompt_text(tokenizer, text))


class Featurizer:
    """One training example (a record, augmented by a per-example RNG) -> a dict of token ids and targets."""

    def __init__(self, cfg: TrainConfig, tokenizer):
        self.cfg, self.tok = cfg, tokenizer
        self.max_length = cfg.data.max_length
        self.eos = tokenizer.eos_token_id

    # ------------------------------------------------------------------ score head
    def _phudge(self, rec: dict) -> tuple[list[int], bool]:
        return phudge_prompt_ids(self.tok, rec, self.max_length)

    def phudge(self, rec: dict, rng: random.Random | None, index: int) -> dict:
        if rng is not None:
            rec = drop_sections(rec, self.cfg.augment, rng)
        weight = float(rec["meta"].get("_weight", 1.0))
        if rec["kind"] == "absolute":
            ids, trunc = self._phudge(rec)
            target = to_head_scale(rec["gold_score"], rec["scale"], self.cfg.scale)
            return {"kind": "absolute", "seqs": [ids], "target": target, "weight": weight, "index": index,
                    "truncated": int(trunc)}
        a, ta = self._phudge({**rec, "response": rec["response_a"]})
        b, tb = self._phudge({**rec, "response": rec["response_b"]})
        gold = {"a": 1, "b": -1, "tie": 0}[rec["gold"]]
        return {"kind": "pairwise", "seqs": [a, b], "gold": gold, "weight": weight, "index": index,
                "truncated": int(ta) + int(tb)}

    # ------------------------------------------------------------------ causal LM
    def causal_prompt(self, rec: dict) -> str:
        if self.cfg.recipe == "judgelm":
            return prompts.judgelm_pair(rec["instruction"], rec["response_a"], rec["response_b"], rec.get("reference"))
        return prompts.pandalm_for(rec)

    def causal(self, rec: dict, rng: random.Random | None, index: int) -> dict:
        if rec["kind"] != "pairwise":
            raise ValueError(f"the {self.cfg.recipe} recipe trains on pairwise records; {rec['benchmark']} is absolute")
        view = judgelm_view if self.cfg.recipe == "judgelm" else pandalm_view
        shown, target = view(rec, self.cfg.augment, rng)
        prompt_ids = causal_prompt_ids(self.tok, self.causal_prompt(shown))
        target_ids = list(self.tok(target, add_special_tokens=False)["input_ids"])
        if self.eos is not None:
            target_ids.append(self.eos)
        truncated = 0
        budget = self.max_length - min(8, len(target_ids))
        if len(prompt_ids) > budget:  # keep the head (task, question) and the tail (answers, instructions) of the prompt
            head = budget // 2
            prompt_ids = prompt_ids[:head] + prompt_ids[len(prompt_ids) - (budget - head):]
            truncated = 1
        room = self.max_length - len(prompt_ids)
        if len(target_ids) > room:  # the verdict comes first: a cut reason still trains the verdict
            target_ids, truncated = target_ids[:room], 1
        return {"kind": "causal", "input_ids": prompt_ids + target_ids,
                "labels": [IGNORE_INDEX] * len(prompt_ids) + target_ids, "prompt_ids": prompt_ids,
                "gold": shown["gold"], "weight": float(rec["meta"].get("_weight", 1.0)), "index": index,
                "truncated": truncated}

    def __call__(self, rec: dict, rng: random.Random | None, index: int) -> dict:
        return self.causal(rec, rng, index) if self.cfg.is_causal else self.phudge(rec, rng, index)


class ExampleSet(torch.utils.data.Dataset):
    """Records featurized on access; training examples are augmented with ``example_rng(seed, epoch, i)``."""

    def __init__(self, recs: list[dict], featurizer: Featurizer, seed: int, augment: bool):
        self.recs, self.featurizer, self.seed, self.augment = recs, featurizer, seed, augment
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.recs)

    def __getitem__(self, i: int) -> dict:
        rng = example_rng(self.seed, self.epoch, i) if self.augment else None
        return self.featurizer(self.recs[i], rng, i)


class Collator:
    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, items: list[dict]) -> dict:
        if items[0]["kind"] == "causal":
            ids, mask = pad_batch([x["input_ids"] for x in items], self.pad_id)
            return {"input_ids": ids, "attention_mask": mask, "labels": pad_sequences([x["labels"] for x in items], IGNORE_INDEX),
                    "weight": torch.tensor([x["weight"] for x in items]), "index": [x["index"] for x in items],
                    "gold": [x["gold"] for x in items], "prompt_ids": [x["prompt_ids"] for x in items],
                    "truncated": sum(x["truncated"] for x in items)}
        seqs, abs_pos, abs_target, abs_w, abs_idx = [], [], [], [], []
        pa, pb, pgold, pw, pidx = [], [], [], [], []
        for x in items:
            start = len(seqs)
            seqs += x["seqs"]
            if x["kind"] == "absolute":
                abs_pos.append(start)
                abs_target.append(x["target"])
                abs_w.append(x["weight"])
                abs_idx.append(x["index"])
            else:
                pa.append(start)
                pb.append(start + 1)
                pgold.append(x["gold"])
                pw.append(x["weight"])
                pidx.append(x["index"])
        ids, mask = pad_batch(seqs, self.pad_id)
        return {
            "input_ids": ids, "attention_mask": mask,
            "abs_pos": torch.tensor(abs_pos, dtype=torch.long), "abs_target": torch.tensor(abs_target, dtype=torch.float),
            "abs_weight": torch.tensor(abs_w, dtype=torch.float), "abs_index": abs_idx,
            "pair_a": torch.tensor(pa, dtype=torch.long), "pair_b": torch.tensor(pb, dtype=torch.long),
            "pair_gold": torch.tensor(pgold, dtype=torch.long), "pair_weight": torch.tensor(pw, dtype=torch.float),
            "pair_index": pidx, "truncated": sum(x["truncated"] for x in items),
        }
