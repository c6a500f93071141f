"""Training recipes for the judges of lm-eval-judges (run from a checkout: ``python -m training <config.yaml>``).

Not part of the installed packages: it imports ``judge_tasks`` (records, loaders, prompts, metrics) and
``judge_models`` (backbones, the PHUDGE prompt renderer) so that training and judging share one code path.
"""
