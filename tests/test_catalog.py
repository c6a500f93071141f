"""tasks.yaml (the catalog) and the task folders agree: folders, metric lists, upstream URLs, sizes, groups and
registration with the stock harness (a plain ``TaskManager()``, so the start-up hook is exercised too)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import REPO, SHARED_DATA

from judge_core import records
from judge_tasks import TASKS_DIR, harness, loaders, sources

CATALOG = REPO / "tasks.yaml"
GROUP_NAMES = ("judge_absolute", "judge_pairwise", "judge_bench")
PUBLISHED_KEYS = {"judge", "task", "metric", "value", "source"}


@pytest.fixture(scope="module")
def catalog() -> dict:
    return yaml.safe_load(CATALOG.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def entries(catalog) -> dict:
    names = [t["name"] for t in catalog["tasks"]]
    assert len(names) == len(set(names)), "a task is listed twice in tasks.yaml"
    return {t["name"]: t for t in catalog["tasks"]}


@pytest.fixture(scope="module")
def manager():
    from lm_eval.tasks import TaskManager

    return TaskManager()  # no include_path: our folder must come from the start-up hook


def _task_yamls() -> set[Path]:
    return {p for p in TASKS_DIR.glob("*/*.yaml") if p.parent.name != "groups"}


def _sample_doc(kind: str, benchmark: str, swap: bool) -> dict:
    """A representative normalised record of a benchmark (only ``kind``/``benchmark``/``swap`` decide metrics)."""
    if kind == "absolute":
        return records.absolute(benchmark=benchmark, id=0, row=0, instruction="q", response="r", gold_score=3.0)
    doc = records.pairwise(benchmark=benchmark, id=0, row=0, instruction="q", response_a="x", response_b="y",
                           gold="a", meta={"source": "helpful", "filtered_rows": 0})
    return dict(doc, swap=swap)


def test_catalog_matches_task_folders_and_yamls(entries, manager):
    index = manager.task_index
    listed = set()
    for name, e in entries.items():
        folder = TASKS_DIR / name
        swap = e["swap"]
        expected = {f"{name}.yaml", "README.md"} | ({f"{swap['name']}.yaml"} if swap else set())
        present = {p.name for p in folder.iterdir() if p.name != "__pycache__"} if folder.is_dir() else set()
        assert present == expected, f"{folder}: expected exactly {sorted(expected)}, found {sorted(present)}"
        assert e["kind"] in ("absolute", "pairwise"), name
        variants = [(name, e["metrics"], False)] + ([(swap["name"], swap["metrics"], True)] if swap else [])
        for task, metrics, is_swap in variants:
            listed.add(folder / f"{task}.yaml")
            assert task in index, f"{task} is not registered with lm-eval"
            entry = index[task]
            assert Path(entry.yaml_path).resolve() == (folder / f"{task}.yaml").resolve(), task
            cfg = entry.cfg  # parsed by lm-eval's own loader, includes resolved
            declared = [m["metric"] for m in cfg["metric_list"]]
            assert metrics == declared, f"{task}: tasks.yaml metrics {metrics} != YAML metric_list {declared}"
            kwargs = cfg.get("dataset_kwargs") or {}
            assert bool(kwargs.get("swap", False)) == is_swap, task
            doc = _sample_doc(e["kind"], kwargs["benchmark"], is_swap)
            assert harness.metric_names(doc) == declared, f"{task}: metric_names(doc) disagrees with the YAML"
    catalog = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))  # question-only tasks (tools area), own list
    listed |= {TASKS_DIR / q["folder"] / f"{q['name']}.yaml" for q in catalog.get("question_tasks") or []}
    unlisted = sorted(str(p.relative_to(TASKS_DIR)) for p in _task_yamls() - listed)
    assert not unlisted, f"task YAMLs missing from tasks.yaml: {unlisted}"


def test_catalog_sources_match_sources_py(entries):
    for name, e in entries.items():
        for f in e["source"]["files"]:
            assert f["name"] in sources.FILES, f"{name}: {f['name']} is not in judge_tasks.sources.FILES"
            assert sources.FILES[f["name"]] == f["url"], f"{name}: {f['name']} URL differs from sources.py"
        if e["source"].get("on_this_machine") and e["source"]["files"] and SHARED_DATA.is_dir():
            for f in e["source"]["files"]:
                assert list(SHARED_DATA.rglob(f["name"])), f"{name}: {f['name']} is marked on_this_machine"


def test_catalog_sizes_of_real_files(entries, monkeypatch):
    real = {n: e for n, e in entries.items() if e["size"]["basis"] in ("real_file", "bundled")}
    if any(e["size"]["basis"] == "real_file" for e in real.values()):
        if not SHARED_DATA.is_dir():
            pytest.skip(f"real benchmark files not found at {SHARED_DATA}")
        monkeypatch.setenv("JUDGE_DATA_DIR", str(SHARED_DATA))
    for name, e in real.items():
        recs = loaders.load(name)
        assert len(recs) == e["size"]["rows"], f"{name}: {len(recs)} rows, tasks.yaml says {e['size']['rows']}"
        gold = (e.get("labels") or {}).get("gold")
        if gold:
            counts = {v: sum(r["gold"] == v for r in recs) for v in records.VERDICTS}
            assert counts == gold, f"{name}: gold distribution {counts} != tasks.yaml {gold}"
        assert all(r["kind"] == e["kind"] for r in recs), name
        assert all(r["prompt_family"] == e["prompt_family"] for r in recs), name
        assert all(r["label_encoding"] == e["label_encoding"] for r in recs), name
        if e["kind"] == "absolute":
            assert all(list(r["scale"]) == e["scale"] for r in recs), f"{name}: scale"
        assert any(r["reference"] is not None for r in recs) == e["reference"], f"{name}: reference flag"
        assert any(r["rubric"] is not None for r in recs) == e["rubric"], f"{name}: rubric flag"


def test_catalog_published_entries_are_regular(entries):
    for name, e in entries.items():
        tasks = {name: e["metrics"]}
        if e["swap"]:
            tasks[e["swap"]["name"]] = e["swap"]["metrics"]
        for p in e["published"]:
            assert PUBLISHED_KEYS <= set(p) <= PUBLISHED_KEYS | {"note"}, f"{name}: irregular entry {p}"
            assert p["task"] in tasks, f"{name}: published entry names task {p['task']}"
            assert p["metric"] in tasks[p["task"]], f"{name}: {p['metric']} is not a metric of {p['task']}"
            assert isinstance(p["value"], float) and 0.0 <= p["value"] <= 1.0, f"{name}: {p}"


def test_catalog_groups_and_registration(catalog, entries, manager):
    from lm_eval.tasks._yaml_loader import load_yaml

    groups = {g["name"]: g["tasks"] for g in catalog["groups"]}
    assert sorted(groups) == sorted(GROUP_NAMES)
    for g, members in groups.items():
        cfg = load_yaml(TASKS_DIR / "groups" / f"{g}.yaml", resolve_func=False)
        assert cfg["group"] == g and cfg["task"] == members, f"groups/{g}.yaml differs from tasks.yaml"
    for name, e in entries.items():
        in_groups = [g for g, members in groups.items() if name in members]
        assert in_groups == ([e["group"]] if e["group"] else []), f"{name}: group {e['group']} vs {in_groups}"
    wanted = set(entries) | {e["swap"]["name"] for e in entries.values() if e["swap"]} | set(GROUP_NAMES)
    missing = sorted(wanted - set(manager.all_tasks))
    assert not missing, f"not in TaskManager().all_tasks: {missing}"
