"""Training recipes for the judges of lm-eval-judges (run from a checkout: ``python -m training <config.yaml>``).

Not part of the installed packages. It builds on ``judge_core`` (records, prompts, parsers, metrics, scales) and
``judge_tasks`` (loaders, registry); the judges' tokenisation (``judge_core.chat``, ``judge_core.padding``,
``judge_core.backbones``) is core too, so that training and judging encode a document identically; nothing here
imports ``judge_models``. Module map: ``training/README.md``.
"""
