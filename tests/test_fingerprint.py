"""``judge_core.fingerprint``: the weights fingerprint ``judge-score`` checks before it resumes a graded file.

Same files, same fingerprint; one changed byte (in a file read whole, or in a sampled block of a large one), a
renamed file or another file set: another fingerprint. A judge folder's weight files are its safetensors and JSON
files; a torch judge's include its local base model's; a replay's are its predictions files."""
from __future__ import annotations

from judge_core import fingerprint as fp


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_same_files_same_fingerprint_and_any_change_shows(tmp_path):
    a = _write(tmp_path / "adapter_model.safetensors", bytes(range(256)) * 64)
    b = _write(tmp_path / "judge_config.json", b'{"judge": "phudge"}')
    first = fp.fingerprint([a, b])
    assert first.startswith("sha256:") and first == fp.fingerprint([a, b])
    _write(a, bytes(range(256)) * 63 + bytes(range(1, 256)) + b"\0")  # same size, a few bytes changed
    assert fp.fingerprint([a, b]) != first
    renamed = _write(tmp_path / "other.safetensors", a.read_bytes())
    assert fp.fingerprint([renamed, b]) != fp.fingerprint([a, b])
    assert fp.fingerprint([a]) != fp.fingerprint([a, b])


def test_a_large_file_is_sampled_from_its_first_byte_to_its_last(tmp_path):
    sampling = {"full_hash_bytes": 1000, "block_bytes": 10, "sampled_blocks": 4}  # blocks at 0, 330, 660, 990
    data = bytearray(1000 + 1)
    path = _write(tmp_path / "w.safetensors", bytes(data))
    first = fp.file_digest(path, **sampling)
    for offset, seen in ((0, True), (335, True), (1000, True), (500, False)):
        changed = bytearray(data)
        changed[offset] = 7
        _write(path, bytes(changed))
        assert (fp.file_digest(path, **sampling) != first) is seen, offset


def test_weight_files_are_the_safetensors_and_json_of_a_folder(tmp_path):
    for name in ("model.safetensors", "config.json", "README.md", "tokenizer.model", "adapter_model.safetensors"):
        _write(tmp_path / name, b"x")
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub" / "more.safetensors", b"x")
    assert [p.name for p in fp.weight_files(tmp_path)] == ["adapter_model.safetensors", "config.json",
                                                          "model.safetensors"]


def test_the_embedded_judge_fingerprints_its_merged_weights_and_its_base(monkeypatch):
    from judge_models.adapters import resolve_adapter

    resolved = resolve_adapter("phudge-mini", judge="phudge")
    names = [p.name for p in resolved.weight_files()]
    assert names[:2] == ["judge_config.json", "merged_weights.safetensors"]  # the judge folder first
    assert "model.safetensors" in names[2:] and "config.json" in names[2:]  # then the MiniLM base folder


def test_replay_fingerprints_its_predictions_files(tmp_path):
    from judge_models.replay import ReplayJudge

    preds = _write(tmp_path / "preds.jsonl", b'{"v": 1}\n{"v": 2}\n')
    judge = ReplayJudge(path=str(preds), field="v")
    first = judge.weights_identity
    assert first == fp.fingerprint([preds])
    _write(preds, b'{"v": 2}\n{"v": 1}\n')
    assert ReplayJudge(path=str(preds), field="v").weights_identity != first
