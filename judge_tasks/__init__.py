"""lm-eval-judges: judge benchmarks as lm-eval tasks (this package) and judges as lm-eval models (judge_models).

The task folders beside this file are found by the harness through the start-up hook. The facts of every
benchmark live in the registry (``tasks.yaml``, read by ``registry``); the shared code lives here once:
``sources`` and ``loaders`` (upstream files, one loader per format), ``harness`` and ``aggregation`` (the functions
the task YAMLs name: per document, per corpus), ``registration`` (the start-up hook's work). Records, prompts, parsers and metrics are in ``judge_core``.
"""
from pathlib import Path

TASKS_DIR = Path(__file__).resolve().parent
__version__ = "0.1.0"
