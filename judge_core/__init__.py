"""The shared rules of lm-eval-judges, written once and imported by tasks, judges, training and tools:
``records`` (normalised documents), ``labels`` (how benchmarks encode verdicts), ``scales`` (score scales,
rescaling, verdict from two scores), ``prompts`` (every judge prompt), ``parsers`` (one per output format) and
``metrics`` (scipy / sklearn + bootstrap). Nothing here imports ``judge_tasks``, ``judge_models`` or ``training``.
"""
