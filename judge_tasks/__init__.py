"""lm-eval-judges: judge benchmarks as lm-eval tasks (this package) and judges as lm-eval models (judge_models).

The task folders beside this file are found by the harness through the start-up hook; the shared code
lives here once: ``records`` (normalised documents), ``sources`` and ``loaders`` (upstream files),
``prompts`` (every judge prompt), ``parsers`` (every judge output format), ``metrics`` (scipy / sklearn),
``harness`` (the functions the task YAMLs name).
"""
from pathlib import Path

TASKS_DIR = Path(__file__).resolve().parent
__version__ = "0.1.0"
