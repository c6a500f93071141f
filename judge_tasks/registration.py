"""Registers this package with lm-eval's registry, task manager and stderr logic (called by the start-up hook)."""
from __future__ import annotations

import functools

MODELS = {
    "phudge": "judge_models.phudge:PhudgeJudge",
    "judgelm": "judge_models.judgelm:JudgeLMJudge",
    "pandalm": "judge_models.pandalm:PandaLMJudge",
    "prometheus": "judge_models.prometheus:PrometheusJudge",
    "autoj": "judge_models.autoj:AutoJJudge",
    "replay": "judge_models.replay:ReplayJudge",
    "longer": "judge_models.longer:LongerJudge",
}


def register_models() -> None:
    """Lazy placeholders, added when ``lm_eval.models`` has registered the built-in models: the judge modules
    (and torch) load only when a judge is asked for."""
    from lm_eval.api.registry import model_registry as reg

    for name, target in MODELS.items():
        if name not in reg:
            reg.register(name, target=target)


def add_task_folder(manager_module) -> None:
    from judge_tasks import TASKS_DIR

    cls = manager_module.TaskManager
    if getattr(cls.__init__, "_judge_tasks", False):
        return
    original = cls.__init__

    @functools.wraps(original)
    def __init__(self, *args, include_path=None, **kwargs):
        paths = [] if include_path is None else (
            list(include_path) if isinstance(include_path, (list, tuple)) else [include_path])
        if not any(str(p).rstrip("/") == str(TASKS_DIR) for p in paths):
            paths.insert(0, str(TASKS_DIR))  # user paths come later and may override ours
        original(self, *args, include_path=paths, **kwargs)

    __init__._judge_tasks = True
    cls.__init__ = __init__


#: resamples for the stderr of a corpus-level judge metric (lm-eval caps its own bleu / chrf / ter at 100): enough
#: for a stderr to about +-5 %, and sklearn's macro scores cost milliseconds per resample
BOOTSTRAP_CAP = 200


def add_bootstrap_stderr(evaluator_utils_module) -> None:
    """Corpus-level judge metrics carry a ``bootstrap`` attribute; give them a stderr in the results."""
    original = evaluator_utils_module.stderr_for_metric
    if getattr(original, "_judge_tasks", False):
        return

    def stderr_for_metric(metric, bootstrap_iters):
        bootstrap = getattr(metric, "bootstrap", None)
        if bootstrap is not None and bootstrap_iters and bootstrap_iters > 0:
            return functools.partial(bootstrap, iters=min(int(bootstrap_iters), BOOTSTRAP_CAP))
        return original(metric, bootstrap_iters)

    stderr_for_metric._judge_tasks = True
    evaluator_utils_module.stderr_for_metric = stderr_for_metric


def after_import(name: str, module) -> None:
    if name == "lm_eval.models":
        register_models()
    elif name == "lm_eval.tasks.manager":
        add_task_folder(module)
    elif name == "lm_eval.evaluator_utils":
        add_bootstrap_stderr(module)
