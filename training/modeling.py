"""Base model + head + LoRA, NEFTune, and the judge folder the judges load (its contract:
``judge_core.judge_folder``: peft LoRA + ``judge_config.json`` + model card, or a complete model folder for a full
fine-tune, whose ``base_model`` is ``"."``).
"""
from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import torch

from judge_core.backbones import resolve
from judge_core.judge_folder import HEAD_NAMES, JUDGE_CONFIG
from judge_core.padding import ensure_pad_token
from training.config import TrainConfig

log = logging.getLogger(__name__)

#: LoRA targets by architecture (``lora.target_modules: auto``)
TARGET_MODULES = {
    "phi3": ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"],  # PHUDGE
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "mistral": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "qwen2": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "gemma": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "phi": ["q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"],
    "bert": ["query", "key", "value", "dense"],
}


def load_tokenizer(cfg: TrainConfig):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(resolve(cfg.base_model), revision=cfg.revision,
                                        trust_remote_code=cfg.trust_remote_code)
    ensure_pad_token(tok)  # as the judges do: pad with EOS (or UNK), no new token, no resized embeddings
    return tok


def target_modules(cfg: TrainConfig, model) -> list[str]:
    if cfg.lora.target_modules != "auto":
        return list(cfg.lora.target_modules)
    mtype = getattr(model.config, "model_type", "")
    if mtype in TARGET_MODULES:
        return TARGET_MODULES[mtype]
    raise ValueError(f"no default LoRA targets for model_type {mtype!r}: set lora.target_modules")


def head_name(model) -> str:
    for name in HEAD_NAMES:
        if isinstance(getattr(model, name, None), torch.nn.Module):
            return name
    raise ValueError(f"{type(model).__name__} has no 'score' or 'classifier' head")


def build_model(cfg: TrainConfig, tokenizer, load_dtype: torch.dtype = torch.float32):
    """The model to train: a sequence-classification (score) head for PHUDGE, a causal LM for JudgeLM / PandaLM,
    LoRA-wrapped unless ``lora.enabled`` is false."""
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    path = resolve(cfg.base_model)
    common = {"revision": cfg.revision, "trust_remote_code": cfg.trust_remote_code, "dtype": load_dtype,
              "use_safetensors": True}  # weights from safetensors only, as the judges load them
    missing: list[str] = []
    if cfg.is_causal:
        model = AutoModelForCausalLM.from_pretrained(path, **common)
    else:
        model, info = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=cfg.n_labels, problem_type="regression" if cfg.head == "regression"
            else "single_label_classification", output_loading_info=True, **common)
        missing = sorted({k.rsplit(".", 1)[0] for k in info.get("missing_keys", [])
                          if k.split(".")[0] not in HEAD_NAMES})
    ensure_pad_token(tokenizer, model)
    if getattr(model.config, "use_cache", None):
        model.config.use_cache = False
    if cfg.run.gradient_checkpointing:
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if cfg.lora.enabled:
            model.enable_input_require_grads()
    if not cfg.lora.enabled:
        return model
    from peft import LoraConfig, TaskType, get_peft_model

    save = [] if cfg.is_causal else [head_name(model)]
    if not cfg.is_causal and missing:
        # weights the checkpoint lacks (e.g. an encoder's pooler) are random: train and save them with the head,
        # or the judge would load different random ones
        log.warning("%s has no weights for %s: trained and saved with the head (modules_to_save)", cfg.base_model,
                    missing)
        save += missing
    lcfg = LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout, bias="none",
                      target_modules=target_modules(cfg, model), modules_to_save=save or None,
                      task_type=TaskType.CAUSAL_LM if cfg.is_causal else TaskType.SEQ_CLS)
    model = get_peft_model(model, lcfg)
    for p in model.parameters():  # trainable weights (adapters, head) in fp32 even over a bf16 base
        if p.requires_grad and p.dtype != torch.float32:
            p.data = p.data.float()
    return model


def trainable_summary(model) -> tuple[int, int]:
    def numel(p):  # ZeRO-3 partitions parameters: ds_numel is the full size
        return getattr(p, "ds_numel", None) or p.numel()

    trainable = sum(numel(p) for p in model.parameters() if p.requires_grad)
    total = sum(numel(p) for p in model.parameters())
    return trainable, total


def add_neftune(model, alpha: float):
    """NEFTune (Jain et al. 2023): uniform noise of magnitude alpha / sqrt(L * d) on the input embeddings while
    training (the transformers Trainer formula)."""
    emb = model.get_input_embeddings()

    def hook(module, inputs, output):
        if module.training:
            mag = alpha / math.sqrt(output.size(1) * output.size(2))
            output = output + torch.zeros_like(output).uniform_(-mag, mag)
        return output

    return emb.register_forward_hook(hook)


def head_scores(cfg: TrainConfig, logits: torch.Tensor) -> torch.Tensor:
    """A score on the judge's scale per sequence: the regression output, or a classification head's expected score."""
    from training.losses import expected_score

    if cfg.head == "regression":
        return logits.reshape(-1).float()
    return expected_score(logits, cfg.scale[0], cfg.class_step)


def judge_config(cfg: TrainConfig, extra: dict | None = None) -> dict:
    out = {"judge": cfg.recipe, "base_model": cfg.base_model if cfg.lora.enabled else "."}
    if cfg.revision:
        out["revision"] = cfg.revision
    if not cfg.is_causal:
        out.update({"head": cfg.head, "num_labels": cfg.n_labels, "scale": [float(x) for x in cfg.scale]})
    out["max_length"] = cfg.data.max_length
    out.update(extra or {})
    return out


def save_judge(accelerator, model, tokenizer, cfg: TrainConfig, folder: Path, extra: dict | None = None) -> None:
    """Write the adapter (or the full model) and ``judge_config.json`` into ``folder``. Collective (ZeRO-3
    gathers the weights): every process must call it."""
    state = accelerator.get_state_dict(model)
    if accelerator.is_main_process:
        folder.mkdir(parents=True, exist_ok=True)
        unwrapped = accelerator.unwrap_model(model)
        unwrapped.save_pretrained(folder, state_dict=state, safe_serialization=True)
        if not cfg.lora.enabled:
            tokenizer.save_pretrained(folder)
        (folder / JUDGE_CONFIG).write_text(json.dumps(judge_config(cfg, extra), indent=2) + "\n")
    accelerator.wait_for_everyone()
