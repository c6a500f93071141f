"""Console tools over lm-eval results: ``judge-score`` (grade a run's generations), ``judge-leaderboard``
(tables beside the published rows, submission files) and ``judge-report`` (plots). They use only public
functions of ``judge_core``, ``judge_tasks`` and ``judge_models``."""
