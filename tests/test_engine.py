"""The experiment engine: declared options, campaigns in pieces (time limit, shards, launchers), verify.

The smoke suite (2 objectives × 2 seeds × 150 steps, seconds on one core) is the experiment run
here; what is asserted is that every way of cutting a campaign gives the same records as one
uninterrupted run, bit for bit, and that a mistyped option stops before anything is written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from genzoo.bench import BENCHES, SPECS, engine
from genzoo.cli import main
from genzoo.errors import GenzooError

SMOKE = str(SPECS / "smoke.toml")


def metrics(out: Path) -> dict[str, dict]:
    """Every finished cell's non-timing metrics, by id."""
    found = {}
    for path in sorted((out / engine.CELLS).glob("*.json")):
        if not path.name.endswith(".failed.json"):
            record = json.loads(path.read_text())
            found[record["id"]] = engine.compared(record["metrics"])
    return found


def exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # argparse's own errors
        return int(e.code)


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> Path:
    """The smoke suite run in one piece, in this process."""
    out = tmp_path_factory.mktemp("engine") / "whole"
    summary = engine.run(SMOKE, out, progress=False)
    assert summary["done"] == 4 and summary["left"] == 0
    return out


@pytest.mark.parametrize("name", sorted(BENCHES))
def test_every_benchmark_rejects_an_unknown_option_before_writing(name, tmp_path, capsys):
    out = tmp_path / "out"
    assert exit_code(["bench", name, "--set", "no_such_option=1", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "no_such_option" in err and len(err.splitlines()) == 1, err
    assert not out.exists()


def test_a_near_miss_gets_a_suggestion(tmp_path, capsys):
    assert exit_code(["bench", "smoke", "--set", "stpes=3", "--out", str(tmp_path / "o")]) == 2
    assert "did you mean 'steps'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_every_benchmark_declares_its_options_and_cells():
    for name in BENCHES:
        exp, o, ident, grid = engine.plan(name, {}, quick=True)
        assert grid and len({c.id for c in grid}) == len(grid), name
        assert exp.describe() and "\n" not in exp.describe(), name
        assert ident["experiment"] == exp.name and len(ident["spec_sha256"]) == 64, name


def test_time_limit_then_resume_equals_one_run(whole, tmp_path):
    out = tmp_path / "pieces"
    calls, interrupted = 0, 0
    while True:  # a second's budget per call: cells stop at a trainer checkpoint and continue from it
        summary = engine.run(SMOKE, out, time_limit=1.0, progress=False)
        calls += 1
        interrupted += summary["interrupted"]
        if summary["left"] == 0:
            break
        assert calls < 60, "the campaign makes no progress under a time limit"
    assert calls > 1 and interrupted > 0, "the time limit never cut a cell: the test proves nothing"
    assert metrics(out) == metrics(whole)
    assert len(json.loads((out / "timing.json").read_text())["invocations"]) == calls


def test_shards_merged_equal_one_run(whole, tmp_path, capsys):
    halves = [tmp_path / "a", tmp_path / "b"]
    for k, half in enumerate(halves):
        engine.run(SMOKE, half, shard=f"{k}/2", progress=False)
        assert len(metrics(half)) == 2
    assert set(metrics(halves[0])).isdisjoint(metrics(halves[1]))
    assert main(["bench", "merge", str(tmp_path / "merged"), *map(str, halves)]) == 0
    assert "merged 4 new record(s)" in capsys.readouterr().out
    assert metrics(tmp_path / "merged") == metrics(whole)
    assert (tmp_path / "merged" / "summary.csv").read_text() == (whole / "summary.csv").read_text()


def test_merge_refuses_other_identities(whole, tmp_path):
    other = tmp_path / "other"
    engine.run(SMOKE, other, sets={"steps": "50"}, shard="0/4", progress=False)
    with pytest.raises(GenzooError, match="different experiment identities"):
        engine.merge(tmp_path / "m", [whole, other])


def test_verify_reruns_cells_and_catches_a_changed_record(whole, tmp_path, capsys):
    out = tmp_path / "v"
    shutil.copytree(whole, out)
    assert main(["bench", "verify", str(out), "--cells", "2"]) == 0
    assert "2 of 2 re-run cell(s) equal their stored records exactly" in capsys.readouterr().out
    for path in (out / engine.CELLS).glob("*.json"):
        record = json.loads(path.read_text())
        record["metrics"]["w1"] += 1e-9
        path.write_text(json.dumps(record))
    assert main(["bench", "verify", str(out), "--cells", "1"]) == 1
    printed = capsys.readouterr().out
    assert "DIFFERS" in printed and "w1: stored" in printed


def test_report_rewrites_from_records_without_training(whole, tmp_path, capsys):
    out = tmp_path / "r"
    shutil.copytree(whole, out, ignore=shutil.ignore_patterns("runs", "report.*"))
    assert main(["report", str(out)]) == 0
    assert (out / "report.md").is_file() and not (out / "runs").exists()
    assert exit_code(["report", str(tmp_path / "nothing")]) == 2


def test_worker_processes_give_the_same_records(whole, tmp_path):
    out = tmp_path / "pool"
    summary = engine.run(SMOKE, out, jobs=2, progress=False)
    assert summary["done"] == 4
    assert metrics(out) == metrics(whole)


def test_ray_tasks_give_the_same_records(whole, tmp_path):
    import ray  # the `ray` extra is part of the test install (.ci/run)

    out = tmp_path / "ray"
    try:
        summary = engine.run(SMOKE, out, jobs=2, launcher="ray", shard="1/2", progress=False)
    finally:
        ray.shutdown()
    assert summary["done"] == 2
    ours = metrics(out)
    assert ours == {cid: m for cid, m in metrics(whole).items() if cid in ours}
    assert json.loads((out / "timing.json").read_text())["invocations"][-1]["launcher"] == "ray"


class _TrainsAndNull(engine.Experiment):
    """One trained cell and one cheaper null baseline (scored without training)."""

    name = "verify-order-probe"

    def cells(self, o: engine.Options, quick: bool) -> list[engine.Cell]:
        return [engine.Cell("null", {"null": True}, seed=0, cost=0.01, baseline=True), engine.Cell("trained", {}, seed=0, cost=5)]

    def run_cell(self, cell: engine.Cell, o: engine.Options, ctx: engine.CellContext) -> dict:
        import torch

        torch.manual_seed(cell.seed)
        net = torch.nn.Linear(3, 1)
        if not cell.params.get("null"):
            opt = torch.optim.SGD(net.parameters(), lr=0.1)
            for _ in range(20):
                opt.zero_grad()
                (net(torch.ones(4, 3)) - 1).pow(2).mean().backward()
                opt.step()
        return {"output": float(net(torch.ones(1, 3)).detach())}

    def report(self, records: list[dict], o: engine.Options, out: Path, quick: bool) -> None:
        pass


def test_verify_re_runs_trained_cells_before_null_baselines(tmp_path, monkeypatch):
    exp = _TrainsAndNull()
    monkeypatch.setitem(BENCHES._items, exp.name, exp)
    out = tmp_path / "probe"
    assert engine.run(exp.name, out, progress=False)["done"] == 2
    stored = {r["id"]: r["seconds"] for r in map(json.loads, (p.read_text() for p in (out / engine.CELLS).glob("*.json")))}
    assert set(stored) == {"null", "trained"}
    first = engine.verify(out, n=1)
    assert [r["id"] for r in first] == ["trained"] and first[0]["equal"]  # not the null, whatever the stored seconds
    assert [r["id"] for r in engine.verify(out, n=2)] == ["trained", "null"]
