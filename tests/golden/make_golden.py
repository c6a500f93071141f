"""Builds tests/golden/expected.json: the prompt text each judge family's authors' code makes for two documents
written by this project (stored in full) and two real documents of ../shared/data (stored as SHA-256 + length,
so no benchmark text is copied into the repository).

The upstream code is imported from checkouts at the commits in tests/golden/README.md (the exact command is
there): JudgeLM ``judgelm/llm_judge/common.py`` (Conversation templates, ``copy(answer_num)``) with the one-line
assembly of ``gen_model_judgement*.py``; PHUDGE ``scripts/data_utils.py`` ``create_prometheus_prompt`` (run on the
benchmark file's stored prompt); prometheus-eval ``prompts.py``; Auto-J ``codes/usage/constants_prompt.py``
``build_autoj_input``; PandaLM ``pandalm/utils/pandalm_inference.py`` ``build_pandalm_prompt``. Nothing of this
package's prompt code is used to build the expected texts.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).parent
SYNTHETIC = json.loads((HERE / "documents.json").read_text())


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def real_documents() -> dict:
    """Two records of each kind from the real files (the loaders only pick the fields apart)."""
    sys.path.insert(0, str(HERE.parents[1]))
    from judge_tasks import loaders

    pairs = loaders.load("hhh_alignment")[:2] + loaders.load("pandalm_test")[:2]
    return {"pairwise": pairs, "absolute": loaders.load("mt_bench_absolute")[:2],
            "mmvet": loaders.load("mm_vet_text")[:2]}


def cases(docs: dict, up: dict) -> dict:
    jl, ph, pe, aj, pl = up["judgelm"], up["phudge"], up["prometheus"], up["autoj"], up["pandalm"]
    panda = pl.PandaLMBatchInferenceProvider.__new__(pl.PandaLMBatchInferenceProvider)  # no model: the prompt only
    panda.pattern = pl.re.compile(
        r"<unk>|<pad>|<s>|</s>|\[PAD\]|<\|endoftext\|>|\[UNK\]|\[CLS\]|\[MASK\]|<\|startofpiece\|>|<\|endofpiece\|>|"
        r"\[gMASK\]|\[sMASK\]")  # the pattern of PandaLMBatchInferenceProvider.__init__, which loads the model

    def judgelm(conv, **fields):  # gen_model_judgement*.py: the prompt the judge is fed
        return conv.system + "\n" + conv.prompt_template.format(prompt=conv.prompt, **fields) + conv.appendix

    out = {}
    for i, d in enumerate(docs["pairwise"]):
        q, a, b, ref = d["instruction"], d["response_a"], d["response_b"], d["reference"] or "Reference answer."
        out[f"judgelm_pair/{i}"] = judgelm(jl.conv_judge_pair, question=q, answer_1=a, answer_2=b)
        out[f"judgelm_pair_reference/{i}"] = judgelm(jl.conv_judge_pair_w_reference, question=q, reference=ref,
                                                     answer_1=a, answer_2=b)
        conv = jl.conv_judge_multi.copy(3)
        more = conv.answer_format.format(answer_id=3, answer=ref)
        out[f"judgelm_multi/{i}"] = judgelm(conv, question=q, answer_1=a, answer_2=b, answer_more=more)
        out[f"autoj_pairwise/{i}"] = aj.build_autoj_input(q, a, b, "pairwise_tie")
        meta = d.get("meta") or {}
        out[f"pandalm/{i}"] = panda.build_pandalm_prompt(meta.get("task_instruction") or q, meta.get("input"),
                                                         a + "</s>", "<s>" + b)
        rubric = f"[{d['rubric']['criteria']}]" if d.get("rubric") else "[criteria]"
        template = pe.RELATIVE_PROMPT if d["reference"] is not None else pe.RELATIVE_PROMPT_WO_REF
        out[f"prometheus_relative/{i}"] = template.format(instruction=q, response_A=a, response_B=b,
                                                          reference_answer=d["reference"], rubric=rubric)
    for i, d in enumerate(docs["absolute"]):
        q, r, ref = d["instruction"], d["response"], d["reference"]
        out[f"judgelm_single/{i}"] = judgelm(jl.conv_judge_single_w_reference, question=q, reference=ref,
                                             answer_1=ref, answer_2=r)
        out[f"autoj_single/{i}"] = aj.build_autoj_input(q, r, None, "single")
        rub = d["rubric"]
        rubric = pe.SCORE_RUBRIC_TEMPLATE.format(criteria=rub["criteria"], **{
            f"score{k}_description": t for k, t in enumerate(rub["score_descriptions"], start=1)})
        out[f"prometheus_absolute_library/{i}"] = pe.ABSOLUTE_PROMPT.format(
            instruction=q, response=r, reference_answer=ref, rubric=rubric)
        # PHUDGE cuts the stored prompt from "###The instruction to evaluate" on: any Prometheus prompt will do
        stored = d["meta"]["prompt"] or pe.ABSOLUTE_PROMPT.format(instruction=q, response=r, reference_answer=ref,
                                                                  rubric=rubric)
        for variant, (use_rubric, use_ref) in {"plain": (False, False), "reference": (False, True),
                                               "rubric": (True, False), "rubric_reference": (True, True)}.items():
            out[f"phudge_{variant}/{i}"] = ph.create_prometheus_prompt(stored, "", use_rubric, use_ref, "REG")
    for i, d in enumerate(docs["mmvet"]):
        gt = d["reference"]
        placeholder = gt.split("<OR>")[0] if "<OR>" in gt else gt.replace("<AND>", " and ")  # theirs: random
        out[f"judgelm_mmvet/{i}"] = judgelm(jl.conv_judge_vqa_single_answer, question=d["instruction"],
                                            reference=gt, answer_1=placeholder, answer_2=d["response"])
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name in ("judgelm", "phudge", "prometheus", "autoj", "pandalm"):
        parser.add_argument(f"--{name}", required=True, type=Path, help=f"checkout of the {name} repository")
    args = parser.parse_args()
    up = {"judgelm": load(args.judgelm / "judgelm/llm_judge/common.py", "judgelm_common"),
          "phudge": load(args.phudge / "scripts/data_utils.py", "phudge_data_utils"),
          "prometheus": load(args.prometheus / "libs/prometheus-eval/prometheus_eval/prompts.py", "pe_prompts"),
          "autoj": load(args.autoj / "codes/usage/constants_prompt.py", "autoj_constants"),
          "pandalm": load(args.pandalm / "pandalm/utils/pandalm_inference.py", "pandalm_inference")}
    expected = {"synthetic": cases(SYNTHETIC, up), "real": {}}
    os.environ.setdefault("JUDGE_DATA_DIR", str(HERE.parents[2] / "shared" / "data"))
    for key, text in cases(real_documents(), up).items():
        expected["real"][key] = {"sha256": hashlib.sha256(text.encode()).hexdigest(), "chars": len(text)}
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"{len(expected['synthetic'])} synthetic and {len(expected['real'])} real cases written")


if __name__ == "__main__":
    main()
