"""Judges as lm-eval models: ``phudge`` (score head), ``judgelm``, ``pandalm``, ``prometheus`` (generative) and
``replay`` (saved predictions). All share ``base.JudgeModel``; the start-up hook registers the names.

The trained judges stand on ``torch_judge.TorchJudge`` (loading, adapters, batching, data parallelism); the
generative ones also on ``generation.GenerativeJudge`` (chat template, left padding, stopping, HF / vLLM)."""
