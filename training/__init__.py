"""Training recipes for the judges of lm-eval-judges (run from a checkout: ``python -m training <config.yaml>``).

Not part of the installed packages. It builds on ``judge_core`` (records, prompts, parsers, metrics, scales) and
``judge_tasks`` (loaders, registry); the judges' own tokenisation is reached through ``training.judge_encoding``
only, so that training and judging encode a document identically. Module map: ``training/README.md``.
"""
