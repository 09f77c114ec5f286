"""Suite harness and report: the smoke suite end to end, resumption, refusal of other specs, report."""

from __future__ import annotations

import csv
import json
import shutil
import statistics
from html.parser import HTMLParser
from pathlib import Path

import pytest

from genzoo import run
from genzoo.bench import SPECS, report, suite
from genzoo.cli import main
from genzoo.errors import GenzooError

SMOKE = SPECS / "smoke.toml"
METRICS = ("modes", "hq_share", "w1", "loss_d", "loss_g")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "smoke"
    suite.run_suite(SMOKE, out, jobs=1)
    return out


def cell_results(out: Path) -> dict[str, dict]:
    """Each finished cell's record, flat: its parameters, metrics and seconds."""
    records = [json.loads(p.read_text()) for p in (out / "cells").glob("*.json") if not p.name.endswith(".failed.json")]
    return {r["id"]: {**r["params"], **r["metrics"], "seconds": r["seconds"]} for r in records}


def test_smoke_suite_writes_one_row_per_cell_and_correct_mean_std(smoke):
    spec = suite.load_spec(SMOKE)
    grid = suite.cells(spec, False, {})
    assert len(grid) == 4  # 2 objectives × 1 data set × 2 seeds
    with open(smoke / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["id"] for r in rows) == sorted(c["id"] for c in grid)
    ident = json.loads((smoke / "suite.json").read_text())
    assert ident["version"] == 1 and ident["suite_sha256"] == suite.spec_hash(spec)
    assert {r["spec_sha256"] for r in rows} == {ident["spec_sha256"]}

    cells = cell_results(smoke)
    summary = json.loads((smoke / "summary.json").read_text())
    assert summary["spec_sha256"] == ident["spec_sha256"] and len(summary["rows"]) == 2
    for entry in summary["rows"]:
        mine = [c for c in cells.values() if c["label"] == entry["label"]]
        assert sorted(c["seed"] for c in mine) == [0, 1] and entry["n_seeds"] == 2
        for m in spec["metrics"]:
            values = [c[m] for c in mine]
            assert entry[m] == pytest.approx(statistics.mean(values), abs=1e-12)
            assert entry[f"{m}_std"] == pytest.approx(statistics.stdev(values), abs=1e-12)  # n − 1
    # each cell's numbers are the last evaluation logged by its run (n_eval = 500 samples from the spec)
    for c in cells.values():
        last = [json.loads(l) for l in (smoke / c["run"] / "metrics.jsonl").read_text().splitlines()][-1]
        assert last["step"] == 150 and last["w1"] == c["w1"] and 0.0 <= c["hq_share"] <= 1.0
        config = json.loads((smoke / c["run"] / "config.json").read_text())
        assert config["train"]["n_eval"] == 500 and config["data"]["params"]["std"] == 0.01


def _partial_run(out: Path, cell: dict, steps: int) -> None:
    """What an interrupted suite leaves behind: a run checkpointed part of the way."""
    config = run.resolve(cell["model"], cell["data"], sets=[*cell["sets"], f"train.steps={steps}"])
    run.train(config, runs_root=out / "runs", name=cell["id"])


def test_resume_runs_only_unfinished_cells_and_reproduces_them(smoke, tmp_path, capsys):
    out = tmp_path / "smoke"
    shutil.copytree(smoke, out)
    before = cell_results(smoke)
    ids = sorted(before)
    fresh, partial, kept = ids[0], ids[1], ids[2:]
    for cid in (fresh, partial):
        (out / "cells" / f"{cid}.json").unlink()
        shutil.rmtree(out / "runs" / cid)
    grid = {c["id"]: c for c in suite.cells(suite.load_spec(SMOKE), False, {})}
    _partial_run(out, grid[partial], steps=50)  # checkpoint at step 50 of 150
    capsys.readouterr()

    suite.run_suite(SMOKE, out, jobs=1)
    printed = capsys.readouterr().out
    assert "4 cells, 2 already done, 2 to run with 1 job(s)" in printed
    assert f"done   {partial} in" in printed and "(resumed)" in printed
    after = cell_results(out)
    for cid in kept:  # untouched: same file, same recorded training time
        assert (out / "cells" / f"{cid}.json").read_text() == (smoke / "cells" / f"{cid}.json").read_text()
    assert after[partial]["resumed"] is True and after[fresh]["resumed"] is False
    steps = [json.loads(l)["step"] for l in (out / "runs" / partial / "metrics.jsonl").read_text().splitlines()]
    assert steps == [25, 50, 75, 100, 125, 150]
    for cid in (fresh, partial):  # same seeds, one thread per cell: the same numbers, bit for bit
        for m in METRICS:
            assert after[cid][m] == before[cid][m], (cid, m)
    with open(out / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == 4


def test_parallel_workers_write_the_same_results(smoke, tmp_path, capsys):
    out = tmp_path / "smoke"
    shutil.copytree(smoke, out)
    ids = sorted(cell_results(smoke))
    for cid in ids[:2]:  # complete runs: each worker process re-reads its run and writes the cell
        (out / "cells" / f"{cid}.json").unlink()
    capsys.readouterr()
    suite.run_suite(SMOKE, out, jobs=2)
    printed = capsys.readouterr().out
    assert "2 already done, 2 to run with 2 job(s)" in printed and printed.count("done   ") == 2
    after = cell_results(out)
    for cid in ids[:2]:
        assert after[cid]["resumed"] is True and after[cid]["threads"] == 1
        assert all(after[cid][m] == cell_results(smoke)[cid][m] for m in METRICS)
    assert (out / "summary.csv").read_text() == (smoke / "summary.csv").read_text()


def test_interrupt_and_failure_keep_finished_cells(smoke, tmp_path, monkeypatch, capsys):
    out = tmp_path / "smoke"
    shutil.copytree(smoke, out)
    ids = sorted(cell_results(smoke))
    for cid in ids[:2]:  # their runs are complete: redoing them only re-reads the checkpoint
        (out / "cells" / f"{cid}.json").unlink()
    real = suite.run_cell
    calls = []

    def interrupted(cell, out_dir, threads):
        calls.append(cell["id"])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(cell, out_dir, threads)

    monkeypatch.setattr(suite, "run_cell", interrupted)
    with pytest.raises(KeyboardInterrupt):
        suite.run_suite(SMOKE, out, jobs=1)
    assert (out / "cells" / f"{ids[0]}.json").is_file() and not (out / "cells" / f"{ids[1]}.json").exists()
    assert json.loads((out / "timing.json").read_text())["invocations"][-1]["cells_run"] == 1

    def broken(cell, out_dir, threads):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(suite, "run_cell", broken)
    capsys.readouterr()
    with pytest.raises(GenzooError, match=r"1 of 4 cell\(s\) failed.*simulated crash"):
        suite.run_suite(SMOKE, out, jobs=1)
    assert "3 already done, 1 to run" in capsys.readouterr().out
    failed = json.loads((out / "cells" / f"{ids[1]}.failed.json").read_text())
    assert failed["kind"] == "RuntimeError" and "Traceback" in failed["traceback"]
    assert json.loads((out / "summary.json").read_text())["failed"] == [ids[1]]
    report.render(out, ("md",))
    assert "## Failed cells" in (out / "report.md").read_text()

    monkeypatch.setattr(suite, "run_cell", real)
    suite.run_suite(SMOKE, out, jobs=1)
    assert not (out / "cells" / f"{ids[1]}.failed.json").exists()
    assert cell_results(out)[ids[1]]["w1"] == cell_results(smoke)[ids[1]]["w1"]


def test_results_of_another_spec_are_never_mixed(smoke, tmp_path, capsys):
    text = SMOKE.read_text()
    changed = tmp_path / "smoke.toml"
    changed.write_text(text.replace("steps = 150", "steps = 151"))
    with pytest.raises(GenzooError, match="never mixed"):
        suite.run_suite(changed, smoke)
    with pytest.raises(GenzooError, match="quick=False"):
        suite.run_suite(SMOKE, smoke, quick=True)
    code = main(["bench", str(changed), "--out", str(smoke)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("genzoo: error:") and err.count("\n") == 1 and "sha256" in err
    # comments and layout are not part of the pinned protocol: same hash, nothing re-run
    commented = tmp_path / "commented.toml"
    commented.write_text("# an extra comment\n" + text)
    suite.run_suite(commented, smoke)
    assert "4 already done, 0 to run" in capsys.readouterr().out
    # an unrelated non-empty directory is not taken over
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("x")
    with pytest.raises(GenzooError, match="not an experiment's output"):
        suite.run_suite(SMOKE, tmp_path / "other")


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_spec_is_valid_and_pins_its_protocol(path):
    spec = suite.load_spec(path)
    for quick in (False, True):
        grid = suite.cells(spec, quick, {})
        suite.validate(spec, grid)  # every model/train/data value and the stated [protocol]
        seeds = spec.get("quick", {}).get("seeds", spec["seeds"]) if quick else spec["seeds"]
        assert len(grid) == len(spec["models"]) * len(spec["data"]) * len(seeds)
    for p in spec.get("published", []):
        assert p["source"].strip() and p["metric"] in spec["metrics"]


@pytest.mark.parametrize("edit,needle", [
    (lambda t: t.replace("n_eval = 500\n", ""), "train.n_eval"),
    (lambda t: t.replace('source = "Srivastava et al. 2017 (VEEGAN), Table 1, 2D Ring"\nnote = "printed as 99.3 %"', ""),
     "source"),
    (lambda t: t.replace('metric = "hq_share"', 'metric = "fid"', 1), "published.metric"),
    (lambda t: "bogus = 1\n" + t, "unknown key 'bogus'"),
    (lambda t: t + "bogus = 1\n", "unknown key 'published.bogus'"),
    (lambda t: t.replace('label = "GAN (non-saturating)"', 'label = "GAN (minimax)"'), "unique"),
    (lambda t: t.replace("seeds = [0, 1]", "seeds = [0, 0]"), "seeds"),
    (lambda t: t.replace("version = 1", 'version = "one"'), "version"),
])
def test_bad_specs_fail_with_one_line_naming_the_value(tmp_path, edit, needle):
    path = tmp_path / "spec.toml"
    path.write_text(edit(SMOKE.read_text()))
    with pytest.raises(GenzooError, match=needle.replace("(", r"\(").replace(")", r"\)")) as info:
        suite.load_spec(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("old,new,needle", [
    ('set = { objective = "minimax" }', 'set = { objective = "nope" }', "unknown objective 'nope'"),
    ("std = 0.01", "sigma = 0.01", "unknown parameter 'sigma'"),
    ("hq_threshold = 3.0", "hq_threshold = 2.0", r"protocol\.hq_threshold=2\.0"),
])
def test_validation_happens_before_training(tmp_path, old, new, needle):
    spec = tmp_path / "s.toml"
    spec.write_text(SMOKE.read_text().replace(old, new, 1))
    with pytest.raises(GenzooError, match=needle):
        suite.run_suite(spec, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_errors_are_one_line(tmp_path, capsys):
    for argv in (["bench", "no-such-suite"], ["bench", str(tmp_path / "missing.toml")],
                 ["report", str(tmp_path / "missing")], ["report", str(tmp_path), "--format", "pdf"]):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("genzoo: error:") and err.count("\n") == 1, (argv, err)


def test_final_evaluation_is_genzoo_eval_of_the_trained_run(smoke, capsys):
    run_dir = smoke / "runs" / sorted(cell_results(smoke))[0]
    result = suite.final_evaluation(run_dir, {"seed": 0, "n": 300})
    assert main(["eval", str(run_dir), "-n", "300", "--seed", "0", "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    expected.pop("nulls", None)  # genzoo eval adds the 2-D null baselines beside the run's metrics
    assert {k: result[k] for k in expected} == expected and result["eval_protocol"] == "default"
    assert json.loads((run_dir / "eval_final.json").read_text())["metrics"] == expected


class _Html(HTMLParser):
    """Tables (class, rows of (text, cell class)) and image sources of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[list[tuple[str, str]]]]] = []
        self.images: list[str] = []
        self.scripts = 0
        self._cell: list[str] | None = None
        self._cls = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append((a.get("class", ""), []))
        elif tag == "tr":
            self.tables[-1][1].append([])
        elif tag in ("td", "th"):
            self._cell, self._cls = [], a.get("class", "")
        elif tag == "img":
            self.images.append(a["src"])
        elif tag == "script":
            self.scripts += 1

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][1][-1].append(("".join(self._cell), self._cls))
            self._cell = None


def test_report_tables_published_rows_figures_and_self_contained_html(smoke, capsys):
    import base64

    assert main(["report", str(smoke)]) == 0
    assert "report.html" in capsys.readouterr().out
    page = _Html()
    page.feed((smoke / "report.html").read_text())
    tables = dict((cls, rows) for cls, rows in page.tables if cls in ("ours", "published", "nulls"))
    ours, published, nulls = tables["ours"], tables["published"], tables["nulls"]
    header = [t for t, _ in ours[0]]
    assert header[:5] == ["model", "seeds", "modes ↑", "hq_share ↑", "w1 ↓"]
    # null baselines beside our rows, scored by the same rule over the same seeds
    assert [r[0][0] for r in nulls[1:]] == ["data", "gaussian", "uniform-box", "uniform-circle"]
    stored = json.loads((smoke / "summary.json").read_text())["nulls"]["ring8"]
    bar = max(e["hq_share"] for e in stored if e["label"] != "data")
    assert next(e for e in stored if e["label"] == "data")["hq_share"] > 0.9 > bar
    column = header.index("HQ above every null")
    rows = {e["label"]: e for e in json.loads((smoke / "summary.json").read_text())["rows"]}
    for r in ours[1:]:
        assert r[column][0] == ("yes" if rows[r[0][0]]["hq_share"] > bar else "no")
    assert [r[0][0] for r in ours[1:]] == ["GAN (minimax)", "GAN (non-saturating)"]
    # the highlighted w1 entry is the lowest mean (w1: lower is better)
    summary = {e["label"]: e for e in json.loads((smoke / "summary.json").read_text())["rows"]}
    best = min(summary, key=lambda label: summary[label]["w1"])
    marked = [r[0][0] for r in ours[1:] if r[4][1] == "best"]
    assert marked == [best]
    assert ours[1 + list(summary).index(best)][4][0].startswith(report.fmt(summary[best]["w1"]) + " ± ")
    # published numbers: their own table, each row cited, never among our rows
    assert {r[0][0] for r in published[1:]} == {"GAN", "Unrolled GAN", "VEEGAN"}
    assert all("Srivastava et al. 2017 (VEEGAN), Table 1" in r[-1][0] for r in published[1:])
    assert not any("VEEGAN" in t for r in ours for t, _ in r)
    # figures: 2 sample pictures (seed 0 of each model) + 4 curves, embedded, no script
    assert len(page.images) == 6 and page.scripts == 0
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    md = (smoke / "report.md").read_text()
    assert "| GAN (minimax) | 2/2 |" in md and "Published numbers" in md and "```toml" in md
    for link in [l.split("](")[1].rstrip(")") for l in md.splitlines() if l.startswith("![")]:
        assert (smoke / link).is_file(), link
    seed0 = sorted(p for p in (smoke / "runs").iterdir() if p.name.startswith("GAN_minimax") and p.name.endswith("s0"))[0]
    assert (smoke / "figures" / "samples" / f"{seed0.name}.png").read_bytes() == \
        (seed0 / "samples" / "step_0000150.png").read_bytes()


def test_spec_hash_covers_pinned_values_not_citations_or_prose():
    spec = suite.load_spec(SPECS / "mode-collapse.toml")
    base = suite.spec_hash(spec)
    cited = {**spec, "published": spec["published"][:1], "notes": "rewritten"}
    assert suite.spec_hash(cited) == base  # a citation or a sentence must not orphan finished cells
    for key, value in (("train", {**spec["train"], "steps": 4999}), ("seeds", [0, 1]), ("version", 3),
                       ("models", spec["models"][:-1]), ("protocol", {**spec["protocol"], "hq_threshold": 2.0})):
        assert suite.spec_hash({**spec, key: value}) != base, key


@pytest.mark.parametrize("name", ["ebm-modes", "ali-modes", "mode-collapse-remedies"])
def test_derived_mode_suites_keep_the_mode_collapse_protocol(name):
    """The energy and ALI rows of claim 3 are only comparable if their data, budget and rule are the GANs'."""
    from genzoo.bench import lookup

    derived, base = lookup(name).spec, suite.load_spec(SPECS / "mode-collapse.toml")
    for key in ("train", "data", "protocol", "seeds", "metrics"):
        assert derived[key] == base[key], key
    assert derived["notes"].split("\n\n")[0] == base["notes"].split("\n\n")[0]  # geometry and evaluation rule
    if name != "mode-collapse-remedies":
        assert {m["model"] for m in derived["models"]}.isdisjoint({"wgan", "fgan", "lsgan"})
    suite.validate(derived, suite.cells(derived, False, {}))  # every model/value resolves before anything runs


def test_stacked_bridges_keep_the_stacked_mnist_protocol_and_cite_veegan(tmp_path):
    from genzoo.bench import engine, lookup

    exp = lookup("stacked-mnist-bridges")
    derived, base = exp.spec, suite.load_spec(SPECS / "stacked-mnist.toml")
    for key in ("train", "data", "protocol", "evaluate", "metrics"):
        assert derived[key] == base[key], key
    assert [m["label"] for m in derived["models"]] == ["ALI", "BiGAN", "MEG"]
    assert {(p["label"], p["metric"], p["value"]) for p in derived["published"]} == {
        ("ALI", "stacked_modes", 16), ("ALI", "stacked_kl", 5.4)}  # VEEGAN, Table 2
    _, _, _, grid = engine.plan(exp, {"models": "ALI,BiGAN", "steps": "1000"}, False)
    assert {c.params["label"] for c in grid} == {"ALI", "BiGAN"} and len(grid) == 6
    assert all("train.steps=1000" in c.params["sets"] for c in grid)
    with pytest.raises(GenzooError, match="models='ALI,VAE'"):
        engine.plan(exp, {"models": "ALI,VAE"}, False)


def test_placement_overrides_keep_a_report_a_result():
    """device/threads (and float32, the committed cells' precision) say where cells ran, not what they
    ran; any other override, or precision=bf16-mixed, changes the protocol and the report says so."""
    from genzoo.bench.report import _placement_only

    assert _placement_only({"device": "cuda", "precision": "32"}) and _placement_only({"threads": "1"})
    assert not _placement_only({"device": "cuda", "steps": "10"})
    assert not _placement_only({"precision": "bf16-mixed"}) and not _placement_only({"seeds": "0"})


def test_suite_cells_train_in_float32_unless_the_spec_or_a_set_says_otherwise():
    """precision=auto would make a cell's protocol depend on the machine (bf16 on GPUs and AMX CPUs)."""
    spec = suite.load_spec(SMOKE)
    assert all("train.precision=32" in c["sets"] for c in suite.cells(spec, False, {}))
    chosen = suite.cells(spec, False, {"precision": "bf16-mixed"})
    assert all("train.precision=bf16-mixed" in c["sets"] and "train.precision=32" not in c["sets"] for c in chosen)
