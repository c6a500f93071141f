"""Judges as lm-eval models: ``phudge`` (score head), ``judgelm``, ``pandalm``, ``prometheus`` (generative) and
``replay`` (saved predictions). All share ``base.JudgeModel``; the start-up hook registers the names."""
