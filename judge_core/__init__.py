"""The shared rules of lm-eval-judges, written once and imported by tasks, judges, training and tools:
``records`` (normalised documents), ``labels`` (how benchmarks encode verdicts), ``scales`` (score scales,
rescaling, verdict from two scores), ``prompts`` (every judge prompt), ``parsers`` (one per output format),
``metrics`` (scipy / sklearn + bootstrap), and the tokenisation judges and training share: ``chat`` (chat template,
the PHUDGE input and its truncation), ``padding`` (pad-token rule, padded batches), ``backbones`` (``pypi:`` models). Nothing here imports ``judge_tasks``, ``judge_models`` or ``training``.
"""
