"""The benchmark registry (``tasks.yaml`` read by ``judge_tasks.registry``) is the one place for a benchmark's facts.

- No Python file outside the task folders names a benchmark, except the registry module (the count below; tests
  are left out of it: they may name what they test).
- The tables other modules used to keep (pinned files, evaluation files, metric extras, loader dispatch) are
  derived from it.
- A new benchmark in a known format needs only its spec, its data file and a task YAML of a few lines: added
  here through ``JUDGE_CATALOGS`` and ``--include_path`` and run with the stock CLI (``python -m lm_eval``).
"""
from __future__ import annotations

import io
import json
import re
import sys
import tokenize
from pathlib import Path

import pytest
import yaml
from conftest import REPO, metric, run_lm_eval

from judge_core.records import RecordError
from judge_tasks import TASKS_DIR, harness, loaders, registry, sources

#: folders that are not the package's Python code
SKIPPED_DIRS = {".git", ".venv", "venv", "build", "dist", "__pycache__", "tests", "runs", "shared"}
#: files of other owners that still name benchmarks, with what has to happen there (the lead removes a line when
#: its file is clean; the test fails both when a file not listed here names a benchmark and when a listed file no
#: longer names the benchmarks listed for it, so this list can only shrink)
PENDING_REMOVAL: dict[str, set[str]] = {}


def _python_files() -> list[Path]:
    task_folders = {TASKS_DIR / name for name in registry.benchmarks()}
    out = []
    for path in sorted(REPO.rglob("*.py")):
        rel = path.relative_to(REPO)
        if SKIPPED_DIRS & set(rel.parts[:-1]) or any(f in path.parents for f in task_folders):
            continue
        out.append(path)
    return out


def _names_in(path: Path, names: list[str]) -> set[str]:
    """Benchmarks ``path`` names as an identifier or inside a string (docstrings included; comments not), also
    as their ``_swap`` task."""
    words = []
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
        if tok.type in (tokenize.NAME, tokenize.STRING) or tok.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
            words.append(tok.string)
    text = "\n".join(words)
    return {n for n in names if re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?:_swap)?(?![A-Za-z0-9_])", text)}


def test_every_benchmark_is_named_in_at_most_one_python_file_outside_its_folder():
    names = list(registry.benchmarks())
    files = _python_files()
    assert REPO / "judge_tasks" / "registry.py" in files and len(files) > 20, "the scan found too few files"
    named_by: dict[str, list[str]] = {n: [] for n in names}
    pending_seen: dict[str, set[str]] = {}
    for path in files:
        rel = str(path.relative_to(REPO))
        found = _names_in(path, names)
        if rel in PENDING_REMOVAL:
            pending_seen[rel] = found
            found = found - PENDING_REMOVAL[rel]
        for n in found:
            named_by[n].append(rel)
    too_many = {n: where for n, where in named_by.items() if len(where) > 1}
    assert not too_many, f"benchmarks named in more than one Python file outside their folders: {too_many}"
    outside_registry = {n: where for n, where in named_by.items() if where and where != ["judge_tasks/registry.py"]}
    assert not outside_registry, f"benchmark names outside the registry: {outside_registry}"
    stale = {f: sorted(PENDING_REMOVAL[f] - pending_seen.get(f, set())) for f in PENDING_REMOVAL}
    stale = {f: v for f, v in stale.items() if v}
    assert not stale, f"PENDING_REMOVAL lists names these files no longer use (remove them from the list): {stale}"


def test_the_count_sees_identifiers_and_strings_but_not_comments(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text('x = "hhh_alignment_swap"\nfeedback_bench = 1\n# pandalm_test\ny = "judgelm_value"\n')
    assert _names_in(probe, ["hhh_alignment", "feedback_bench", "pandalm_test", "judgelm_val"]) == {
        "hhh_alignment", "feedback_bench"}


def test_tables_derive_from_the_registry():
    entries = registry.benchmarks()
    assert sources.FILES == registry.files()
    assert set(registry.files()) <= registry.evaluation_files()
    for name, entry in entries.items():
        loader = entry["loader"]
        assert loader["format"] in loaders.FORMATS, name
        for key in registry.FILE_ARGUMENTS:
            if loader.get(key):
                assert name in registry.evaluation_file_benchmarks()[loader[key]], (name, key)
    assert harness.SOURCE_METRICS == {n: e["source_metrics"] for n, e in entries.items() if e.get("source_metrics")}
    assert set(harness.CLASS_BENCHMARKS) == {n for n, e in entries.items() if e.get("classes")}
    assert harness.FILTERING_BENCHMARKS == {n for n, e in entries.items() if e.get("filtered_rows")}
    assert sources.PANDALM_COMMIT == registry.revision_of("WeOpenML/PandaLM")
    from training import guard

    assert guard.FILES == registry.evaluation_files()
    assert guard.KNOWN_SHA256 == registry.file_sha256() and len(guard.KNOWN_SHA256) >= 1
    assert set(guard.EVAL_HUB_DATASETS) == set(registry.evaluation_hub_datasets())
    assert len(registry.published_rows()) == sum(len(e.get("published") or []) for e in entries.values())


def _spec(name="probe_pairs", **changes) -> dict:
    spec = {"name": name, "kind": "pairwise", "label_encoding": "autoj",
            "loader": {"format": "autoj_pairs", "file": f"{name}.jsonl"},
            "metrics": list(harness.PAIRWISE_METRICS), "swap": None, "published": []}
    spec.update(changes)
    return spec


@pytest.mark.parametrize("change, field", [
    ({"kind": "ranking"}, "kind"),
    ({"loader": {"format": "csv_of_pairs", "file": "x.csv"}}, "loader.format"),
    ({"classes": "stars"}, "classes"),
    ({"metrics": "accuracy"}, "metrics"),
    ({"source": {"files": [{"name": "x.json"}]}}, "source.files"),
])
def test_a_bad_spec_names_file_entry_and_field(tmp_path, change, field):
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(yaml.safe_dump({"tasks": [_spec(), _spec("bad_one", **change)]}))
    with pytest.raises(RecordError) as err:
        registry.benchmarks(catalog)
    assert err.value.file == str(catalog) and err.value.field == field and "bad_one" in str(err.value.row)
    with pytest.raises(RecordError, match="'label_encoding': missing"):
        registry.register({k: v for k, v in _spec().items() if k != "label_encoding"})


def test_register_and_catalogs_env(tmp_path, monkeypatch):
    (tmp_path / "probe_pairs.jsonl").write_text("".join(  # two rows: one JSON Lines row would read as one object
        json.dumps({"prompt": "q", "response 1": "x", "response 2": "y", "label": label}) + "\n" for label in (2, 0)))
    registry.register(_spec())
    try:
        assert "probe_pairs" in registry.benchmarks() and "probe_pairs.jsonl" in registry.evaluation_files()
        with sources.using_data_dir(tmp_path):
            rec, second = loaders.load("probe_pairs")
        assert second["gold"] == "a" and rec["gold"] == "tie" and rec["label_encoding"] == "autoj" and rec["benchmark"] == "probe_pairs"
    finally:
        registry.unregister("probe_pairs")
    assert "probe_pairs" not in registry.benchmarks()
    monkeypatch.setenv(registry.CATALOGS_ENV, str(tmp_path / "absent.yaml"))
    with pytest.raises(FileNotFoundError, match="absent.yaml"):
        registry.benchmarks()


# --------------------------------------------------------------------------- a new benchmark, end to end
GOLD = [0, 1, 2, 0, 1, 0]            # Auto-J codes: 0 = response 1 better, 1 = response 2 better, 2 = tie
PREDICTED = [0, 1, 2, 1, "maybe", 0]  # row 3 wrong, row 4 unparseable (-> tie, wrong)


def test_new_benchmark_from_a_spec_and_a_fixture_file_runs_through_the_cli(tmp_path):
    data, tasks = tmp_path / "data", tmp_path / "tasks" / "tiny_pairs"
    data.mkdir()
    tasks.mkdir(parents=True)
    with (data / "tiny_pairs.jsonl").open("w") as fh:  # the benchmark's file, in Auto-J's pairwise format
        for i, label in enumerate(GOLD):
            fh.write(json.dumps({"prompt": f"question {i}", "response 1": f"first {i}", "response 2": f"second {i}",
                                 "label": label, "scenario": "probe"}) + "\n")
    catalog = tmp_path / "catalog.yaml"  # its spec
    catalog.write_text(yaml.safe_dump({"tasks": [_spec("tiny_pairs")]}))
    (tasks / "tiny_pairs.yaml").write_text(  # its task YAML: the shared pairwise settings + its name
        f"include: {TASKS_DIR / '_pairwise.yaml'}\ntask: tiny_pairs\ndataset_kwargs: {{benchmark: tiny_pairs}}\n")
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text("".join(json.dumps({"row": i, "verdict": v}) + "\n" for i, v in enumerate(PREDICTED)))

    results = run_lm_eval(
        "--model", "replay", "--model_args", f"path={predictions},field=verdict",
        "--tasks", "tiny_pairs", "--include_path", str(tasks.parent),
        data_dir=data, output_path=tmp_path / "out", extra_env={registry.CATALOGS_ENV: str(catalog)},
        launcher=[sys.executable, "-m", "lm_eval"])
    assert metric(results, "tiny_pairs", "accuracy") == pytest.approx(4 / 6)
    assert metric(results, "tiny_pairs", "accuracy_no_tie") == pytest.approx(3 / 5)
    assert metric(results, "tiny_pairs", "parse_failures") == 1
    assert results["n-samples"]["tiny_pairs"]["effective"] == len(GOLD)


def test_the_wheel_ships_the_catalog_where_the_registry_looks_first():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    force = project["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert force["tasks.yaml"] == "judge_tasks/tasks.yaml"
    assert registry.CATALOG_CANDIDATES[0] == TASKS_DIR / "tasks.yaml"  # the installed copy wins over a checkout's
    assert registry.catalog_path() in registry.CATALOG_CANDIDATES
