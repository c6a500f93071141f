"""The model card (``README.md`` of the adapter folder) and the loss-curve plot."""
from __future__ import annotations

import math
from pathlib import Path

from judge_core.judge_folder import MODEL_CARD
from training import losses
from training.config import TrainConfig

RECIPE_TEXT = {
    "phudge": ("PHUDGE (Deshwal & Chawla 2024): a score head on a causal LM, one forward pass per response, "
               "no generation. Pairwise records train the same head with a Bradley-Terry loss on the two scores."),
    "judgelm": ("JudgeLM (Zhu et al. 2023): a causal LM that writes the two answers' scores (1-10) on the first "
                "line, then the reason; loss on the judgement only."),
    "pandalm": ("PandaLM (Wang et al. 2023): a causal LM that writes 1 / 2 / Tie, then the reason and a reference "
                "answer; loss on the judgement only."),
}


def _fmt(v) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4f}"
    return str(v)


def write(folder: Path, cfg: TrainConfig, summary: dict, state, rows: list[dict]) -> None:
    lines = [f"# {cfg.recipe} judge on `{cfg.base_model}`", ""]
    if cfg.description:
        lines += [cfg.description, ""]
    overlap = summary.get("eval_overlap") or []
    if overlap:
        tasks = sorted({t for o in overlap for t in o["tasks"]})
        lines += ["> **Warning: trained on evaluation data.** This judge was trained on "
                  + ", ".join(f"`{o['file']}`" for o in overlap)
                  + f", the data of the evaluation task(s) {', '.join(f'`{t}`' for t in tasks)}. "
                  "It must not be evaluated on those tasks (allowed explicitly by `data.allow_eval_files`; listed in "
                  "`judge_config.json` as `not_for_tasks`).", ""]
    lines += ["## Use", "", "```bash",
              f"lm_eval --model {cfg.recipe} --model_args adapter=<this folder> --tasks <judge task>", "```", "",
              "## Recipe", "", RECIPE_TEXT[cfg.recipe], ""]
    loss = losses.get(cfg.loss).describe.format(p=cfg.emd_p, alpha=cfg.emd_alpha)
    rec = [("base model", f"`{cfg.base_model}`" + (f" @ {cfg.revision}" if cfg.revision else "")),
           ("objective", loss)]
    if not cfg.is_causal:
        rec += [("head", f"{cfg.head} ({cfg.n_labels} output{'s' if cfg.n_labels > 1 else ''}), scale {cfg.scale}"),
                ("pairwise loss", f"Bradley-Terry x {cfg.pairwise_weight}, tie margin {cfg.tie_margin}")]
    rec += [("fine-tuning", f"LoRA r={cfg.lora.r}, alpha={cfg.lora.alpha}, dropout={cfg.lora.dropout}, "
                            f"targets {cfg.lora.target_modules}" if cfg.lora.enabled else "full fine-tuning"),
            ("augmentation", f"rubric drop {cfg.augment.rubric_drop}, reference drop {cfg.augment.reference_drop}, "
                             f"swap {cfg.augment.swap}"),
            ("optimizer", f"AdamW lr {cfg.optim.learning_rate:g}, weight decay {cfg.optim.weight_decay:g}, "
                          f"betas ({cfg.optim.adam_beta1}, {cfg.optim.adam_beta2}), eps {cfg.optim.adam_epsilon:g}, "
                          f"grad clip {cfg.optim.max_grad_norm}"),
            ("schedule", f"{cfg.optim.scheduler}, warm-up ratio {cfg.optim.warmup_ratio}"),
            ("batch", f"{cfg.optim.batch_size} per device x {cfg.optim.gradient_accumulation_steps} accumulation x "
                      f"{summary.get('num_processes', 1)} process(es)"),
            ("epochs / steps", f"{cfg.optim.epochs} epochs, {summary.get('total_steps')} optimizer steps "
                               f"({summary.get('steps_per_epoch')} per epoch)"),
            ("max length", str(cfg.data.max_length)),
            ("precision", str(summary.get("precision"))),
            ("parallelism", str(summary.get("distributed_type"))),
            ("gradient checkpointing", str(cfg.run.gradient_checkpointing)),
            ("NEFTune alpha", str(cfg.run.neftune_alpha)),
            ("trainable parameters", f"{summary.get('trainable_parameters', 0):,} of {summary.get('total_parameters', 0):,}"),
            ("seed", str(cfg.seed))]
    lines += ["| setting | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rec] + [""]
    lines += ["## Data", "", "| source | from | records | skipped |", "|---|---|---|---|"]
    for s in summary.get("sources", []):
        skipped = ", ".join(f"{k}: {v}" for k, v in s["skipped"].items()) or "-"
        lines.append(f"| {s['name']} | `{s['origin']}` | {s['records']} | {skipped} |")
    lines += ["", f"Split: {summary.get('n_train')} train / {summary.get('n_validation')} validation records "
              f"(seeded, seed {cfg.data.split_seed}, fraction {cfg.data.validation_fraction}, by {cfg.data.split_by}).",
              ""]
    vals = [r for r in rows if r.get("type") == "validation"]
    lines += ["## Validation", ""]
    if state.best_step is not None:
        lines += [f"Best validation loss {_fmt(state.best_val_loss)} at step {state.best_step}: the weights in this "
                  "folder.", ""]
    if vals:
        keys = [k for k in ("val_loss", "pearson", "spearman", "mae", "accuracy", "parse_failures", "n")
                if any(k in v for v in vals)]
        lines += ["| step | epoch | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
        for v in vals:
            step = f"{v['step']} (untrained)" if v.get("baseline") else str(v["step"])
            lines.append(f"| {step} | {v['epoch']:.2f} | " + " | ".join(_fmt(v.get(k, '')) for k in keys) + " |")
    else:
        lines.append("No validation split: the weights are those of the last step.")
    lines += ["", "Pearson / Spearman / MAE on the absolute validation records (scores on the judge's scale), "
              "accuracy on the pairwise ones (scores compared, strict tie rule"
              + ("; the verdict line generated greedily, unparseable = tie" if cfg.is_causal else "") + ").",
              "", "Files: `metrics.jsonl` (every logged step and validation), `loss_curve.png`, "
              "`training_config.yaml` (the full config of this run).", ""]
    (folder / MODEL_CARD).write_text("\n".join(lines), encoding="utf-8")


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [r for r in rows if r.get("type") == "train"]
    val = [r for r in rows if r.get("type") == "validation"]
    metric = next((k for k in ("pearson", "accuracy") if any(k in v for v in val)), None)
    fig, axes = plt.subplots(1, 2 if metric else 1, figsize=(11 if metric else 6, 4), squeeze=False)
    ax = axes[0][0]
    if train:
        ax.plot([r["step"] for r in train], [r["loss"] for r in train], label="train loss", lw=1)
    if val:
        ax.plot([r["step"] for r in val], [r["val_loss"] for r in val], "o-", label="validation loss")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    if metric:
        ax2 = axes[0][1]
        pts = [(v["step"], v[metric]) for v in val if metric in v]
        ax2.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color="C2")
        ax2.set_xlabel("optimizer step")
        ax2.set_ylabel(f"validation {metric}")
        ax2.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
