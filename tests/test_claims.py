"""The claims ledger is rendered from stored records, is up to date, and its verdict rules can fail."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from genzoo.bench import claims

REPORTS = Path(__file__).resolve().parents[1] / "docs" / "reports"
DOCS = REPORTS.parent


def test_every_claim_has_a_row_with_the_issue_schema():
    rows = claims.ledger(REPORTS)
    assert [r.claim for r in rows] == [str(i) for i in range(1, 13)] + ["M2", "zoo"]
    for r in rows:
        assert r.verdict in ("supported", "not supported", "not decided")
        assert r.command.startswith("genzoo ") and r.budget and r.paper_budget and r.paper
        for rel in r.records:  # every record a row cites is committed
            assert (REPORTS / rel).is_file(), rel
        if r.records:
            assert r.ours != "—"


def test_committed_ledger_is_rendered_from_the_committed_records(tmp_path):
    """docs/claims.md and docs/reports/claims.json equal what `genzoo claims` renders now."""
    reports = tmp_path / "reports"
    shutil.copytree(REPORTS, reports)
    claims.render(reports, tmp_path / "claims.md")
    assert (tmp_path / "claims.md").read_text() == (DOCS / "claims.md").read_text(), "run `genzoo claims` and commit"
    assert json.loads((reports / "claims.json").read_text()) == json.loads((REPORTS / "claims.json").read_text())
    keys = {"claim", "budget", "paper_budget", "ours", "paper", "null", "verdict"}
    assert all(keys <= set(row) for row in json.loads((REPORTS / "claims.json").read_text()))


def _optimal_d_records(tmp_path: Path, error: float) -> Path:
    rows = []
    for case, null_err in (("shifted Gaussians", 0.2), ("p = q", 0.0)):
        rows += [{"case": case, "seed": s, "mean_abs_error": error, "value_trained_d": -1.0,
                  "two_js_minus_log4": -1.0} for s in range(3)]
        rows.append({"case": case, "seed": "null: D = 1/2", "mean_abs_error": null_err,
                     "value_trained_d": -1.386, "two_js_minus_log4": -1.0})
    (tmp_path / "optimal-d").mkdir()
    (tmp_path / "optimal-d" / "optimal_d.json").write_text(json.dumps({"steps": 3000, "rows": rows}))
    return tmp_path


@pytest.mark.parametrize("error, verdict", [(0.01, "supported"), (0.15, "not supported")])
def test_claim_1_verdict_follows_its_rule(tmp_path, error, verdict):
    assert claims.LEDGER.get("1")(_optimal_d_records(tmp_path, error)).verdict == verdict


def test_an_rbm_estimate_above_its_certain_bound_is_named_unusable(tmp_path):
    row = {"method": "PCD-1", "n_hidden": 500, "seed": 0, "updates": 100, "test_ll_ais": -80.0,
           "test_ll_conservative": -90.0, "test_ll_certain_upper": -85.0, "independent_bernoulli": -205.0}
    (tmp_path / "rbm-mnist" / "s0").mkdir(parents=True)
    (tmp_path / "rbm-mnist" / "s0" / "rbm_mnist.json").write_text(json.dumps({"rows": [row]}))
    r = claims.LEDGER.get("7")(tmp_path)
    assert "(unusable): PCD-1 s0" in r.why and r.verdict == "not decided"
    assert "-80.00" not in r.ours and "1 unusable" in r.ours  # never reported as a result
    assert "-90.00" in r.ours  # the conservative value is below the bound, so it stands


def test_a_bad_verdict_is_refused():
    with pytest.raises(ValueError, match="verdict"):
        claims.Row("1", "t", "genzoo x", [], "b", "p", "o", "n", "paper", "probably", "why")
