"""Console tools over lm-eval results: ``judge-score`` (grade a run's generations: ``score``, ``grading``),
``judge-leaderboard`` (tables beside the published rows, submission files: ``leaderboard``, ``board``,
``submission``, layout in ``tables.yaml``) and ``judge-report`` (plots: ``report``). All read lm-eval's files
through ``results`` and use only public functions of ``judge_core``, ``judge_tasks`` and ``judge_models``; no
benchmark is named here (facts come from ``judge_tasks.registry``)."""
