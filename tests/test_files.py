"""The one atomic writer and the one reader of metrics.jsonl (genzoo/files.py)."""

import json
import os
import re
from pathlib import Path

import pytest

import genzoo
from genzoo.files import (atomic_path, last_metrics, metric_curves, read_metrics, write_bytes_atomic,
                          write_json_atomic, write_text_atomic)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "cell.json"
    write_json_atomic(path, {"ok": True})
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_text('{"ok": fa')  # half a file, then the writer dies
            raise RuntimeError("killed")
    assert json.loads(path.read_text()) == {"ok": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cell.json"]


def test_writes_replace_whole_files_with_ordinary_permissions(tmp_path):
    write_text_atomic(tmp_path / "a" / "b.txt", "old")  # the directory is created
    write_text_atomic(tmp_path / "a" / "b.txt", "new")
    write_bytes_atomic(tmp_path / "c.bin", b"\x00\x01")
    write_json_atomic(tmp_path / "d.json", {"x": 1.5})
    (tmp_path / "plain.txt").write_text("x")
    assert (tmp_path / "a" / "b.txt").read_text() == "new"
    assert (tmp_path / "c.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "d.json").read_text() == '{\n  "x": 1.5\n}\n'
    plain = (tmp_path / "plain.txt").stat().st_mode & 0o777
    assert all((p.stat().st_mode & 0o777) == plain for p in (tmp_path / "a" / "b.txt", tmp_path / "c.bin"))


def test_metrics_reader_skips_a_half_written_line_and_every_view_agrees(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 10, "loss": 2.0, "w1": 0.5}\n\n{"step": 20, "loss": 1.0}\n{"step": 30, "lo')
    records, bad = read_metrics(path)
    assert [r["step"] for r in records] == [10, 20] and bad == 1
    assert last_metrics(path) == {"loss": 1.0, "w1": 0.5}
    assert metric_curves(path) == {"loss": [(10, 2.0), (20, 1.0)], "w1": [(10, 0.5)]}
    assert read_metrics(tmp_path / "missing.jsonl") == ([], 0) and last_metrics(tmp_path / "missing.jsonl") == {}


def test_no_other_module_writes_by_rename_or_parses_metrics_jsonl():
    """One mechanism each: a new os.replace or a new parse of metrics.jsonl belongs in genzoo/files.py."""
    root = Path(genzoo.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "files.py" and path.parent == root:
            continue
        text = path.read_text()
        if re.search(r"os\.replace\(|os\.rename\(|\.rename\(", text) or '/ "metrics.jsonl"' in text:
            offenders.append(str(path.relative_to(root)))
    assert offenders == []
