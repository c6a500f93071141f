"""Golden tests: the text each judge family is fed equals, byte for byte, the text its authors' code builds
(``expected.json``, made by ``make_golden.py`` from the upstream code at the commits in README.md)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from judge_core import prompts

HERE = Path(__file__).parent
EXPECTED = json.loads((HERE / "expected.json").read_text())
DOCUMENTS = json.loads((HERE / "documents.json").read_text())


def ours(docs: dict) -> dict:
    """The same cases built by this package."""
    out = {}
    for i, d in enumerate(docs["pairwise"]):
        q, a, b, ref = d["instruction"], d["response_a"], d["response_b"], d["reference"] or "Reference answer."
        out[f"judgelm_pair/{i}"] = prompts.judgelm_pair(q, a, b)
        out[f"judgelm_pair_reference/{i}"] = prompts.judgelm_pair(q, a, b, ref)
        out[f"judgelm_multi/{i}"] = prompts.judgelm_multi(q, [a, b, ref])
        out[f"autoj_pairwise/{i}"] = prompts.autoj(q, a, b)
        out[f"pandalm/{i}"] = prompts.pandalm_for({**d, "response_a": a + "</s>", "response_b": "<s>" + b})
        out[f"prometheus_relative/{i}"] = prompts.prometheus_relative(
            q, a, b, d.get("rubric") or {"criteria": "criteria"}, d["reference"])
    for i, d in enumerate(docs["absolute"]):
        q, r, ref, rub = d["instruction"], d["response"], d["reference"], d["rubric"]
        out[f"judgelm_single/{i}"] = prompts.judgelm_single_for({**d, "benchmark": "mt_bench_absolute"})
        out[f"autoj_single/{i}"] = prompts.autoj(q, r)
        out[f"prometheus_absolute_library/{i}"] = prompts.prometheus_absolute(q, r, rub, ref, library=True)
        for variant, (use_rubric, use_ref) in {"plain": (False, False), "reference": (False, True),
                                               "rubric": (True, False), "rubric_reference": (True, True)}.items():
            out[f"phudge_{variant}/{i}"] = prompts.phudge_phi3(q, r, rub if use_rubric else None,
                                                               ref if use_ref else None)
    for i, d in enumerate(docs["mmvet"]):
        out[f"judgelm_mmvet/{i}"] = prompts.judgelm_single_for(
            {**d, "meta": {**(d.get("meta") or {}), "judgelm_template": prompts.JUDGELM_MMVET_TEMPLATE}})
    return out


def test_every_family_and_variant_has_golden_cases():
    families = {key.split("/")[0] for key in EXPECTED["synthetic"]}
    assert families == {"judgelm_pair", "judgelm_pair_reference", "judgelm_multi", "judgelm_single",
                        "judgelm_mmvet", "autoj_pairwise", "autoj_single", "prometheus_relative",
                        "prometheus_absolute_library", "pandalm", "phudge_plain", "phudge_reference", "phudge_rubric",
                        "phudge_rubric_reference"}
    assert {k.split("/")[0] for k in EXPECTED["real"]} == families


@pytest.mark.parametrize("key", sorted(EXPECTED["synthetic"]))
def test_prompt_equals_the_authors_on_project_documents(key):
    assert ours(DOCUMENTS)[key] == EXPECTED["synthetic"][key]


def test_prompt_equals_the_authors_on_real_documents(data_dir_or_skip):
    from judge_tasks import loaders

    pairs = loaders.load("hhh_alignment")[:2] + loaders.load("pandalm_test")[:2]
    docs = {"pairwise": pairs, "absolute": loaders.load("mt_bench_absolute")[:2],
            "mmvet": loaders.load("mm_vet_text")[:2]}
    built = ours(docs)
    for key, want in EXPECTED["real"].items():
        text = built[key]
        assert (len(text), hashlib.sha256(text.encode()).hexdigest()) == (want["chars"], want["sha256"]), key


@pytest.fixture
def data_dir_or_skip(monkeypatch):
    real = HERE.parents[2] / "shared" / "data"
    if not real.is_dir():
        pytest.skip(f"the real benchmark files are not in {real}")
    monkeypatch.setenv("JUDGE_DATA_DIR", str(real))
    return real
