"""The start-up hook: cheap at interpreter start, and registers models, tasks and stderr with the harness."""
import subprocess
import sys

from conftest import OFFLINE_ENV


def _py(code: str) -> str:
    import os

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, **OFFLINE_ENV}).stdout.strip()


def test_hook_loads_nothing_heavy_at_start():
    out = _py("import sys; print(any(type(f).__name__ == '_Finder' for f in sys.meta_path), "
              "'lm_eval' in sys.modules, 'torch' in sys.modules, 'judge_tasks' in sys.modules)")
    assert out == "True False False False"


def test_models_registered_beside_builtins():
    out = _py("from lm_eval.api.registry import get_model; "
              "print(get_model('replay').__name__, get_model('hf').__name__)")
    assert out == "ReplayJudge HFLM"


def test_task_manager_sees_judge_tasks_without_include_path():
    out = _py("from lm_eval.tasks import TaskManager; t = TaskManager().all_tasks; "
              "print(all(n in t for n in ['pandalm_test', 'hhh_alignment_swap', 'judge_bench', 'flask_human']))")
    assert out == "True"


def test_judge_metrics_get_bootstrap_stderr():
    out = _py("import lm_eval.evaluator_utils as eu; from judge_tasks import aggregation; "
              "f = eu.stderr_for_metric(aggregation.accuracy, 100); "
              "items = [{'pred': p, 'gold': 'a', 'parsed': True, 'pair': i, 'order': 'ab', 'source': ''} "
              "for i, p in enumerate('aabab')]; print(round(f(items), 6) > 0, eu.stderr_for_metric(aggregation.accuracy, 0))")
    assert out == "True None"
