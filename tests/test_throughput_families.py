"""`genzoo bench throughput`: one ratio per family (tiny networks, random data: a few seconds)."""

from __future__ import annotations

import json
import math

from genzoo.bench import run as run_bench


def test_quick_throughput_reports_a_ratio_per_family(tmp_path):
    doc = tmp_path / "speed.md"
    doc.write_text("before\n<!-- throughput:begin -->\nold\n<!-- throughput:end -->\nafter\n")
    out = run_bench("throughput", out=str(tmp_path / "out"), quick=True,
                    sets=["small=true", "data=random", "rounds=1", f"doc={doc}"])
    rows = json.loads((out / "throughput.json").read_text())["rows"]
    ratios = {r["family"]: r["ratio"] for r in rows}
    assert set(ratios) == {"vae", "rbm", "rbm-fp32", "gan2d", "dcgan"}  # no bf16 in --quick
    assert all(math.isfinite(v) and v > 0 for v in ratios.values())
    text = doc.read_text()
    assert text.startswith("before\n") and text.endswith("after\n") and "old" not in text
    assert all(f"| {family} |" in text for family in ratios)
