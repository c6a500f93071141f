"""Checkpoints of a training run (``output_dir/checkpoints/step-N``), written and read without pickle.

A checkpoint holds everything an interrupted run needs to continue bit for bit, in JSON and safetensors only:

==============================  ===========================================================================
``trainable_weights.safetensors``  the trainable weights (LoRA + head, or every weight of a full fine-tune);
                                   the frozen base is reloaded from its source
``optimizer.safetensors`` +        the optimizer's tensors (AdamW moments, step counts) and the rest of its
``optimizer.json``                 state (parameter groups, hyper-parameters)
``scheduler.json``                 the learning-rate scheduler's state (``grad_scaler.json``: fp16's loss scale)
``rng_state_<rank>.safetensors`` + every process's torch (CPU, CUDA) random state, and Python's / NumPy's
``rng_state_<rank>.json``
``trainer_state.json``             ``TrainerState``: step, epoch, micro-batches consumed, best so far,
                                   validations; written last, so a checkpoint without it is incomplete
``pytorch_model/`` (DeepSpeed)     the engine's own files (ZeRO-partitioned weights and optimizer state)
==============================  ===========================================================================

DeepSpeed writes its engine state with ``torch.save``, and DeepSpeed 0.19 reads it back with
``torch.load(weights_only=False)``, which would run any code a planted file carries. ``load`` reads it with
``torch.load`` forced to ``weights_only=True`` (tensors, containers and the few DeepSpeed data classes listed in
``DEEPSPEED_SAFE_GLOBALS`` only). Files that older versions of this trainer wrote through accelerate
(``custom_checkpoint_0.pkl``, ``random_states_*.pkl``, ``optimizer.bin``, ``scheduler.bin``) are never read.
"""
from __future__ import annotations

import contextlib
import json
import random
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

STATE_FILE = "trainer_state.json"
WEIGHTS_FILE = "trainable_weights.safetensors"
OPTIMIZER_TENSORS, OPTIMIZER_JSON = "optimizer.safetensors", "optimizer.json"
SCHEDULER_FILE = "scheduler.json"
GRAD_SCALER_FILE = "grad_scaler.json"   # fp16 runs: the loss scale and its growth tracker
DEEPSPEED_TAG = "pytorch_model"   # the engine's folder inside a checkpoint (accelerate's name for it, kept)
_STEP_DIR = re.compile(r"step-\d+")


class CheckpointError(RuntimeError):
    """A checkpoint folder that cannot be resumed (a file missing or not what this trainer writes)."""


@dataclass
class TrainerState:
    """Where the run stands; ``trainer_state.json`` of a checkpoint."""
    global_step: int = 0
    epoch: int = 0                    # the epoch in progress (0-based)
    batches_done: int = 0             # micro-batches of that epoch already consumed (per process)
    best_val_loss: float | None = None
    best_step: int | None = None
    best_metrics: dict = field(default_factory=dict)
    validations: list = field(default_factory=list)
    finished: bool = False

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> TrainerState:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError) as err:
            raise CheckpointError(f"{path}: not a trainer state written by this trainer ({err})") from None


# --------------------------------------------------------------------------- finding checkpoints
def step_dir(out: Path, step: int) -> Path:
    return out / "checkpoints" / f"step-{step:07d}"


def _step_dirs(out: Path) -> list[Path]:
    root = out / "checkpoints"
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if _STEP_DIR.fullmatch(p.name)), key=lambda p: int(p.name[5:]))


def latest(out: Path) -> Path | None:
    """The newest complete checkpoint of ``out`` (one with its ``trainer_state.json``), if any."""
    done = [p for p in _step_dirs(out) if (p / STATE_FILE).is_file()]
    return done[-1] if done else None


def prune(out: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` checkpoints."""
    for old in _step_dirs(out)[:-max(1, keep)]:
        shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------- tensors + JSON
def _tensor_state(state: dict, prefix: str = "") -> tuple[dict, dict]:
    """Split a nested state dict into its tensors (flat ``a/b/c`` keys) and the JSON-able rest."""
    tensors, rest = {}, {}
    for key, value in state.items():
        name = f"{prefix}{key}"
        if isinstance(value, torch.Tensor):
            tensors[name] = value.detach().cpu().contiguous()
        elif isinstance(value, dict):
            sub_t, sub_r = _tensor_state(value, f"{name}/")
            tensors.update(sub_t)
            rest[str(key)] = sub_r
        else:
            rest[str(key)] = value
    return tensors, rest


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _read_json(path: Path):
    if not path.is_file():
        raise CheckpointError(f"{path} is missing: not a complete checkpoint of this trainer")
    return json.loads(path.read_text(encoding="utf-8"))


def _read_tensors(path: Path) -> dict:
    if not path.is_file():
        raise CheckpointError(f"{path} is missing: not a complete checkpoint of this trainer")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as err:  # safetensors reads a header and raw tensors: no code runs
        raise CheckpointError(f"{path}: not a safetensors file ({err})") from None


def _optimizer_state(folder: Path) -> dict:
    """The optimizer's ``state_dict`` back from ``optimizer.safetensors`` + ``optimizer.json``."""
    meta, tensors = _read_json(folder / OPTIMIZER_JSON), _read_tensors(folder / OPTIMIZER_TENSORS)
    state: dict[int, dict] = {}
    for pid, values in meta["state"].items():
        state[int(pid)] = dict(values)
    for name, t in tensors.items():
        _, pid, key = name.split("/", 2)
        state.setdefault(int(pid), {})[key] = t
    return {"state": state, "param_groups": meta["param_groups"]}


# --------------------------------------------------------------------------- random states
def _save_rng(folder: Path, rank: int) -> None:
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors.update({f"cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    save_file(tensors, str(folder / f"rng_state_{rank}.safetensors"))
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    _write_json(folder / f"rng_state_{rank}.json",
                {"python": [version, list(internal), gauss], "numpy": [kind, keys.tolist(), pos, has_gauss, cached]})


def _load_rng(folder: Path, rank: int) -> None:
    tensors = _read_tensors(folder / f"rng_state_{rank}.safetensors")
    rest = _read_json(folder / f"rng_state_{rank}.json")
    torch.set_rng_state(tensors["torch"])
    cuda = [tensors[k] for k in sorted((k for k in tensors if k.startswith("cuda.")), key=lambda k: int(k[5:]))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    version, internal, gauss = rest["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = rest["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))


# --------------------------------------------------------------------------- DeepSpeed's own files
def _deepspeed_safe_globals() -> list:
    """The non-container objects DeepSpeed puts in its checkpoint files (allowed to ``weights_only`` loading)."""
    from deepspeed.runtime.fp16.loss_scaler import DynamicLossScaler, LossScaler
    from deepspeed.runtime.zero.config import ZeroStageEnum
    from deepspeed.utils.tensor_fragment import fragment_address

    return [LossScaler, DynamicLossScaler, ZeroStageEnum, fragment_address, set]


@contextlib.contextmanager
def torch_load_weights_only(extra_globals=()):
    """Within the block every ``torch.load`` runs with ``weights_only=True``: a file can only hold tensors,
    containers, numbers, strings and ``extra_globals``; one that asks for anything else (a planted pickle's code)
    fails with ``UnpicklingError`` before that code runs."""
    original = torch.load

    def load(*args, **kwargs):
        kwargs["weights_only"] = True
        return original(*args, **kwargs)

    torch.load = load
    try:
        with torch.serialization.safe_globals(list(extra_globals)):
            yield
    finally:
        torch.load = original


# --------------------------------------------------------------------------- save / load
def save(folder: Path, accelerator, model, optimizer, scheduler, state: TrainerState, *, deepspeed: bool,
         exclude_frozen: bool) -> None:
    """Write a checkpoint. Collective: every process calls it (each writes its random state; DeepSpeed's ranks
    each write their optimizer partition)."""
    folder.mkdir(parents=True, exist_ok=True)
    main = accelerator.is_main_process
    if deepspeed:
        model.save_checkpoint(str(folder), DEEPSPEED_TAG, exclude_frozen_parameters=exclude_frozen)
    elif main:
        unwrapped = accelerator.unwrap_model(model)
        weights = {n: p.detach().cpu().contiguous() for n, p in unwrapped.named_parameters() if p.requires_grad}
        save_file(weights, str(folder / WEIGHTS_FILE))
        tensors, rest = _tensor_state(optimizer.state_dict()["state"], "state/")
        save_file(tensors, str(folder / OPTIMIZER_TENSORS))
        _write_json(folder / OPTIMIZER_JSON, {"state": rest, "param_groups": optimizer.state_dict()["param_groups"]})
    if main:
        _write_json(folder / SCHEDULER_FILE, scheduler.state_dict())
        if getattr(accelerator, "scaler", None) is not None:
            _write_json(folder / GRAD_SCALER_FILE, accelerator.scaler.state_dict())
    _save_rng(folder, accelerator.process_index)
    accelerator.wait_for_everyone()
    if main:  # last: only now is the checkpoint complete
        state.save(folder / STATE_FILE)
    accelerator.wait_for_everyone()


def load(folder: Path, accelerator, model, optimizer, scheduler, *, deepspeed: bool) -> TrainerState:
    """Restore a checkpoint written by ``save`` into the prepared model / optimizer / scheduler and this process's
    random generators; returns its trainer state. Nothing is unpickled (see the module's docstring)."""
    folder = Path(folder)
    state = TrainerState.load(folder / STATE_FILE) if (folder / STATE_FILE).is_file() else None
    if state is None:
        raise CheckpointError(f"{folder}: no {STATE_FILE} (not a checkpoint of this trainer, or an incomplete one)")
    if deepspeed:
        if not (folder / DEEPSPEED_TAG).is_dir():
            raise CheckpointError(f"{folder / DEEPSPEED_TAG} is missing: not a checkpoint of a DeepSpeed run")
        with torch_load_weights_only(_deepspeed_safe_globals()):
            path, _ = model.load_checkpoint(str(folder), DEEPSPEED_TAG, load_module_strict=False,
                                            load_optimizer_states=True, load_lr_scheduler_states=False)
        if path is None:
            raise CheckpointError(f"DeepSpeed could not load {folder / DEEPSPEED_TAG}")
    else:
        weights = _read_tensors(folder / WEIGHTS_FILE)
        unwrapped = accelerator.unwrap_model(model)
        trainable = {n for n, p in unwrapped.named_parameters() if p.requires_grad}
        if set(weights) != trainable:
            raise CheckpointError(f"{folder / WEIGHTS_FILE}: its weights are not this model's trainable ones "
                                  f"(missing {sorted(trainable - set(weights))[:3]}, "
                                  f"unexpected {sorted(set(weights) - trainable)[:3]}): a different config?")
        unwrapped.load_state_dict(weights, strict=False)
        optimizer.load_state_dict(_optimizer_state(folder))
    scheduler.load_state_dict(_read_json(folder / SCHEDULER_FILE))
    if getattr(accelerator, "scaler", None) is not None:
        accelerator.scaler.load_state_dict(_read_json(folder / GRAD_SCALER_FILE))
    _load_rng(folder, accelerator.process_index)
    return state
