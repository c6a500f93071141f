"""The training configuration: one YAML file per run, read into nested dataclasses.

Unknown keys are errors (a typo must not silently fall back to a default). Every field has a default, so a
config names only what differs from it; ``python -m training --print-defaults`` prints the full schema.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from training import losses

RECIPES = ("phudge", "judgelm", "pandalm")
HEADS = ("regression", "classification")


class ConfigError(ValueError):
    pass


@dataclass
class SourceConfig:
    """One training source. ``source`` names the format (``training.data.SOURCES``); the data comes from
    ``path`` (a local file or folder), else ``file`` (an upstream file name found under ``JUDGE_DATA_DIR``),
    else the hub (``hub`` / ``revision`` / ``data_files``, defaults per source, revision pinned)."""
    source: str = ""
    path: str | None = None
    file: str | None = None
    hub: str | None = None
    revision: str | None = None
    data_files: str | list[str] | None = None
    limit: int | None = None          # first N rows of this source (after format filtering)
    weight: float = 1.0               # loss weight of this source's examples


@dataclass
class DataConfig:
    train: list[SourceConfig] = field(default_factory=list)
    validation_fraction: float = 0.05  # PHUDGE: 95 / 5 split of the training set
    split_seed: int = 42
    split_by: str = "row"              # row | instruction (keep all responses to one instruction on one side)
    max_validation: int | None = None  # cap the validation split (speed); None = all of it
    allow_eval_files: list[str] = field(default_factory=list)  # evaluation files the user knowingly trains on
    max_length: int = 1488             # PHUDGE: the 99th percentile of the Feedback Collection prompts


@dataclass
class AugmentConfig:
    rubric_drop: float = 0.0           # PHUDGE: 0.5 (independent of reference_drop)
    reference_drop: float = 0.0        # PHUDGE / JudgeLM: 0.5
    swap: float = 0.0                  # JudgeLM / PandaLM: swap the answers (and their scores) with this probability


@dataclass
class LoraConfig:
    enabled: bool = True               # False: full fine-tuning
    r: int = 128
    alpha: int = 256                   # PHUDGE code: 2 * r
    dropout: float = 0.1
    target_modules: list[str] | str = "auto"  # auto: by architecture (Phi-3: qkv_proj, o_proj, gate_up_proj, down_proj)


@dataclass
class OptimConfig:
    learning_rate: float = 2e-5
    weight_decay: float = 0.005
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    scheduler: str = "cosine"          # cosine | linear | constant
    warmup_ratio: float = 0.05
    max_grad_norm: float = 1.0
    epochs: int = 5
    batch_size: int = 4                # per device (pairwise examples count once and hold two sequences)
    eval_batch_size: int | None = None
    gradient_accumulation_steps: int = 1
    max_steps: int | None = None       # stop after this many optimizer steps (cosine horizon shrinks to it)


@dataclass
class RunConfig:
    gradient_checkpointing: bool = False
    precision: str = "auto"            # auto (bf16 where the GPU has it, else fp32) | bf16 | fp16 | fp32
    neftune_alpha: float | None = None  # NEFTune noise on the input embeddings (PHUDGE code: 7)
    eval_steps: int | None = None      # also validate every N optimizer steps (always at each epoch's end)
    eval_at_start: bool = False        # validate the untrained judge first (a baseline; never the "best")
    save_steps: int | None = 500       # checkpoint every N optimizer steps (always at each epoch's end)
    keep_checkpoints: int = 2
    log_steps: int = 10
    resume: str = "auto"               # auto (latest checkpoint in output_dir, if any) | never | <checkpoint dir>
    max_steps_this_run: int | None = None  # debug: stop abruptly (exit 75, no final save) after N steps in this process
    val_max_new_tokens: int = 16       # causal recipes: greedy tokens generated to read the verdict in validation
    progress_bar: bool = True
    dataloader_workers: int = 0
    torch_threads: int | None = None   # torch.set_num_threads (CPU runs on a shared machine: 1)


@dataclass
class TrainConfig:
    recipe: str = "phudge"
    base_model: str = ""               # hub id, folder or pypi:<package>
    revision: str | None = None        # of base_model on the hub
    output_dir: str = "runs/judge"
    seed: int = 42
    head: str = "regression"           # phudge: regression (1 output) | classification (5 outputs)
    num_labels: int | None = None      # default: 1 (regression) or the scale's integer steps (classification)
    scale: list[float] = field(default_factory=lambda: [1.0, 5.0])
    loss: str = "mse"                  # a name of training.losses.LOSSES (mse | ce | squared_emd | emd | causal_lm)
    emd_p: float = 2.0
    emd_alpha: float = 2.0
    pairwise_weight: float = 1.0       # Bradley-Terry loss weight for pairwise examples on a score head
    tie_margin: float = 0.25           # ties: penalty on |s_a - s_b| beyond this margin
    trust_remote_code: bool = False
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)
    description: str = ""              # free text copied into the model card
    config_path: str | None = None     # set by load(): where this config came from

    # ------------------------------------------------------------------ derived
    @property
    def is_causal(self) -> bool:
        return self.recipe in ("judgelm", "pandalm")

    @property
    def n_labels(self) -> int:
        if self.is_causal:
            return 0
        if self.head == "regression":
            return 1
        return self.num_labels or int(round(self.scale[1] - self.scale[0])) + 1

    @property
    def class_step(self) -> float:
        """Classification: class i is the score ``scale[0] + i * class_step`` (evenly spaced over the scale, as the
        phudge judge reads it)."""
        n = self.n_labels
        return (self.scale[1] - self.scale[0]) / (n - 1) if n > 1 else 1.0

    def validate(self) -> "TrainConfig":
        if self.recipe not in RECIPES:
            raise ConfigError(f"recipe must be one of {RECIPES}, got {self.recipe!r}")
        if not self.base_model:
            raise ConfigError("base_model is required (hub id, local folder or pypi:<package>)")
        try:
            loss = losses.get(self.loss)
        except losses.UnknownLoss as err:
            raise ConfigError(f"loss: {err}") from None
        if self.is_causal:
            if loss.trains != "causal":
                raise ConfigError(f"the {self.recipe} recipe trains a causal LM: set loss: "
                                  f"{' or '.join(losses.names_for('causal'))}, not {self.loss!r}")
        else:
            if self.head not in HEADS:
                raise ConfigError(f"head must be one of {HEADS}, got {self.head!r}")
            if loss.trains != self.head:
                raise ConfigError(f"a {self.head} head trains with loss: {' or '.join(losses.names_for(self.head))}, "
                                  f"not {self.loss!r}")
            if self.head == "classification" and self.n_labels < 2:
                raise ConfigError("a classification head needs at least 2 labels")
        if len(self.scale) != 2 or not self.scale[0] < self.scale[1]:
            raise ConfigError(f"scale must be [low, high], got {self.scale!r}")
        if not self.data.train:
            raise ConfigError("data.train lists no source")
        for s in self.data.train:
            if not s.source:
                raise ConfigError("every data.train entry needs a 'source' (see training/README.md)")
        if not 0 <= self.data.validation_fraction < 1:
            raise ConfigError("data.validation_fraction must be in [0, 1)")
        if self.data.split_by not in ("row", "instruction"):
            raise ConfigError("data.split_by must be row or instruction")
        for name in ("rubric_drop", "reference_drop", "swap"):
            p = getattr(self.augment, name)
            if not 0 <= p <= 1:
                raise ConfigError(f"augment.{name} is a probability, got {p}")
        if self.optim.scheduler not in ("cosine", "linear", "constant"):
            raise ConfigError("optim.scheduler must be cosine, linear or constant")
        if self.run.precision not in ("auto", "bf16", "fp16", "fp32"):
            raise ConfigError("run.precision must be auto, bf16, fp16 or fp32")
        if self.optim.batch_size < 1 or self.optim.gradient_accumulation_steps < 1:
            raise ConfigError("optim.batch_size and optim.gradient_accumulation_steps must be >= 1")
        return self

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("config_path", None)
        return d


def _build(cls, data: Any, where: str):
    if not dataclasses.is_dataclass(cls):
        return data
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where or 'config'}: unknown key(s) {unknown}; known: {sorted(fields)}")
    kwargs = {}
    for name, value in data.items():
        sub = f"{where}.{name}" if where else name
        target = _NESTED.get((cls, name))
        if target is list:  # data.train: a list of sources
            if not isinstance(value, list):
                raise ConfigError(f"{sub}: expected a list of sources")
            kwargs[name] = [_build(SourceConfig, v, f"{sub}[{i}]") for i, v in enumerate(value)]
        elif target is not None:
            kwargs[name] = _build(target, value, sub)
        elif isinstance(value, str) and "float" in str(fields[name].type):
            try:  # YAML 1.1 reads 2e-5 as a string
                kwargs[name] = float(value)
            except ValueError:
                raise ConfigError(f"{sub}: expected a number, got {value!r}") from None
        else:
            kwargs[name] = value
    return cls(**kwargs)


_NESTED = {
    (TrainConfig, "data"): DataConfig, (TrainConfig, "augment"): AugmentConfig, (TrainConfig, "lora"): LoraConfig,
    (TrainConfig, "optim"): OptimConfig, (TrainConfig, "run"): RunConfig, (DataConfig, "train"): list,
}


def from_dict(data: dict, config_path: str | None = None) -> TrainConfig:
    cfg = _build(TrainConfig, data or {}, "")
    cfg.config_path = config_path
    return cfg.validate()


def load(path: str | os.PathLike, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML config; ``overrides`` are ``dotted.key=value`` strings (value parsed as YAML)."""
    path = Path(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not key=value")
        key, raw = item.split("=", 1)
        node = data
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = yaml.safe_load(raw)
    return from_dict(data, config_path=str(path))


def dump(cfg: TrainConfig) -> str:
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)
