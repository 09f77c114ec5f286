"""A user's first hour: eval's labelled table and --json, samplers on every run they apply to,
pictures that fit the data (with titles), and refusals that advise what exists."""

import ast
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genzoo import cli, config, progress, run
from genzoo.errors import GenzooError
from genzoo.models import MODELS, DataSpec

QUIET = ["sample_every=0", "n_eval=32", "n_picture=16", "progress=false"]


def run_cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def png_text(path) -> dict:
    with Image.open(path) as im:
        return dict(im.text)


def tiny_run(root, model, data, *sets, name=None):
    cfg = run.resolve(model, data, sets=[*sets, *QUIET])
    run_dir, _ = run.train(cfg, root, name=name or model)
    return run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    pts = ["data.n=128", "data.n_test=64", "batch_size=16"]
    return {
        "gan": tiny_run(root, "gan", "ring8", "steps=3", "hidden=8", *pts),
        "ebm": tiny_run(root, "ebm", "ring8", "steps=2", "hidden=8", "negatives.steps=2", *pts),
        "ddgm": tiny_run(root, "ddgm", "ring8", "steps=2", "hidden=8", "negatives.hidden=8", *pts),
        "meg": tiny_run(root, "meg", "ring8", "steps=2", "hidden=8", "negatives.hidden=8", *pts),
        "rbm": tiny_run(root, "rbm", "bars_stripes", "steps=3", "n_hidden=4", "batch_size=16",
                        "data.n=64", "data.n_test=32"),
    }


# ---- 1. eval: a labelled table for people, one JSON line for scripts ------------------------------


def test_eval_prints_a_labelled_table_with_nulls_and_json_gives_the_same_numbers(runs, capsys):
    code, table, err = run_cli(capsys, "eval", runs["gan"], "-n", "64", "--no-progress")
    assert code == 0, err
    for label in ("metric", "value", "what it is", "modes covered", "of 8", "high-quality samples", "W1",
                  "exact optimal transport", "null baselines", "uniform-box", "gaussian", "uniform-circle"):
        assert label in table, label
    assert not table.lstrip().startswith("{")
    code, line, err = run_cli(capsys, "eval", runs["gan"], "-n", "64", "--json")
    assert code == 0, err
    record = json.loads(line)
    assert line.count("\n") == 1
    assert f"{record['w1']:.4g}" in table and f"{100 * record['hq_share']:.1f} %" in table
    assert f"uniform-box {100 * record['nulls']['uniform-box']['hq_share']:.1f} %" in table
    assert json.loads((Path(runs["gan"]) / "eval.json").read_text()) == record  # the file is kept


def test_eval_labels_likelihoods_exact_estimate_and_bound(runs, capsys):
    code, table, err = run_cli(capsys, "eval", runs["rbm"], "-n", "32", "--no-progress")
    assert code == 0, err
    record = json.loads(run_cli(capsys, "eval", runs["rbm"], "-n", "32", "--json")[1])
    assert "exact (log Z by enumeration)" in table and f"{record['log_likelihood']:.4g} nats" in table
    assert "estimate ± se (AIS" in table and f"{record['log_likelihood_ais']:.4g} ± " in table
    assert "certain upper bound" in table
    from genzoo.metric_table import table as render

    text = render({"elbo": -90.0, "log_likelihood_iw": -88.5, "log_likelihood_iw_se": 0.3, "iw_k": 64.0}, "vae")
    assert "bound (lower)" in text and "-88.5 ± 0.3 nats" in text and "IWAE, K = 64" in text


def test_train_summary_and_eval_table_share_labels():
    from genzoo.metric_table import LABELS, headline

    items = headline({"modes": 7.0, "hq_share": 0.5, "log_likelihood_ais": -80.0}, lambda: 8)
    assert items == ["modes covered 7 of 8", "high-quality samples 50.0 %",
                     f"{LABELS['log_likelihood_ais'].short} -80"]
    assert LABELS["log_likelihood_ais"].short == "test log-likelihood (AIS estimate, nats)"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bars_only_when_asked_and_on_a_terminal(monkeypatch):
    from genzoo import data
    from genzoo.metrics.evaluate import evaluate

    model = MODELS.get("gan")(config.build(MODELS.get("gan").Config, {"hidden": 8}), DataSpec("points", (2,)))
    ring = data.load("ring8", n=64, n_test=32)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    evaluate(model, ring, n=16)
    assert terminal.getvalue() == ""  # a library call: no bars
    with progress.shown(True):
        evaluate(model, ring, n=16)
    assert "evaluate" in terminal.getvalue()
    plain = io.StringIO()  # not a terminal: no bar even when asked
    monkeypatch.setattr(sys, "stderr", plain)
    with progress.shown(True):
        evaluate(model, ring, n=16)
    assert plain.getvalue() == ""


# ---- 2. samplers on every run they apply to -----------------------------------------------------


@pytest.mark.parametrize("family, sampler, sets", [
    ("gan", "ddls", ["steps=2", "step_size=0.001"]),
    ("ebm", "langevin", ["steps=3"]),
    ("ebm", "langevin", ["steps=3", "metropolis=true", "start=data"]),
    ("ddgm", "langevin", ["steps=2", "start=model"]),
    ("meg", "langevin", ["steps=2", "start=data"]),
    ("rbm", "gibbs-block", ["steps=5"]),
    ("rbm", "gibbs-block", ["steps=5", "start=data", "mean=true"]),
])
def test_sample_run_with_each_sampler_that_applies(runs, capsys, family, sampler, sets):
    run_dir = Path(runs[family])
    args = ["sample", run_dir, "-n", "12", "--sampler", sampler, "--seed", "3"]
    for s in sets:
        args += ["--set", s]
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    made = sorted(p.name for p in (run_dir / "samples").glob("sample_*seed3.npy"))
    ours = [m for m in made if m.startswith(f"sample_{'mala' if 'metropolis=true' in sets else sampler}")]
    assert ours, made
    assert "sample_seed3.npy" not in made  # never the plain sample file's name
    for name in ours:
        x = np.load(run_dir / "samples" / name)
        assert x.shape[0] == 12 and np.isfinite(x).all()
        title = png_text((run_dir / "samples" / name).with_suffix(".png"))["Title"]
        assert ("mala" if "metropolis=true" in sets else sampler.split("-")[0]) in title.lower()


def test_sampler_file_names_differ_by_sampler_and_settings(runs, capsys):
    run_dir = Path(runs["ebm"])
    for sets in ([], ["--set", "steps=4"], ["--set", "start=data"]):
        assert run_cli(capsys, "sample", run_dir, "-n", "4", "--seed", "9", "--sampler", "langevin", *sets)[0] == 0
    assert run_cli(capsys, "sample", run_dir, "-n", "4", "--seed", "9")[0] == 0
    names = sorted(p.name for p in (run_dir / "samples").glob("sample_*seed9.png"))
    assert len(names) == 4 and "sample_seed9.png" in names, names


def test_samplers_refuse_runs_they_do_not_apply_to_and_list_matches(runs, capsys):
    from genzoo.run_sampling import families, samplers_for

    code, _, err = run_cli(capsys, "sample", runs["gan"], "--sampler", "langevin")
    assert code == 2 and "langevin" in err and "ebm" in err and "'gan'" in err and "ddls" in err
    code, _, err = run_cli(capsys, "sample", runs["ebm"], "--sampler", "gibbs-block")
    assert code == 2 and "runs of rbm" in err
    assert set(families("langevin")) == {"ebm", "ddgm", "meg"} and families("gibbs-block") == ["rbm"]
    assert "gan" in families("ddls") and "cgan" not in families("ddls") and "ali" not in families("ddls")
    for family in ("gan", "ebm", "rbm"):
        model, _ = run.load(runs[family])
        assert samplers_for(model) == [{"gan": "ddls", "ebm": "langevin", "rbm": "gibbs-block"}[family]]
    code, out, _ = run_cli(capsys, "list")
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ") and line.split()}
    assert "runs of ddgm, ebm, meg" in lines["langevin"] and "runs of rbm" in lines["gibbs-block"]
    assert "genzoo sample: no" in lines["replay"]


def test_the_sampling_layer_imports_no_models_or_data():
    root = Path(__file__).resolve().parents[1] / "genzoo" / "sampling"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                assert not name.startswith(("genzoo.models", "genzoo.data")), (path.name, name)


# ---- 3. pictures that fit the data ---------------------------------------------------------------


def test_binary_vectors_are_drawn_as_image_grids_with_titles(tmp_path):
    from genzoo import data
    from genzoo.viz import save_samples
    from genzoo.viz.plots import picture_kind

    bars = data.load("bars_stripes")
    assert picture_kind(bars.x[:16]) == "binary-grid"
    assert picture_kind(torch.rand(16, 9), reference=bars.x[:16]) == "binary-grid"  # an RBM's means over binary data
    assert picture_kind(torch.randn(16, 2)) == "points" and picture_kind(torch.rand(4, 1, 8, 8)) == "image-grid"
    path = save_samples(bars.x[:16], tmp_path / "bars.png", title="bars: 16 samples")
    text = png_text(path)
    assert text == {"Title": "bars: 16 samples", "genzoo:kind": "binary-grid"}
    path = save_samples(torch.randn(50, 2), tmp_path / "pts.png", title="points: 50 samples")
    assert png_text(path)["Title"] == "points: 50 samples" and png_text(path)["genzoo:kind"] == "points"


def test_rbm_run_pictures_are_grids(runs):
    pictures = sorted((Path(runs["rbm"]) / "samples").glob("step_*.png"))
    assert pictures and png_text(pictures[-1])["genzoo:kind"] == "binary-grid"
    assert "samples" in png_text(pictures[-1])["Title"]


def test_translations_are_drawn_beside_their_inputs(tmp_path):
    from genzoo.viz.autoencoder import save_translations

    class Flip:
        def translate(self, x, direction):
            return 1 - x

    u, v = torch.zeros(5, 1, 6, 6), torch.ones(5, 1, 6, 6)
    path = save_translations(Flip(), u, v, tmp_path / "t.png", k=4)
    text = png_text(path)
    assert text["genzoo:kind"] == "translations" and "A → A→B → A→B→A" in text["Title"]
    with Image.open(path) as im:
        grid = np.asarray(im)
    from genzoo.viz.images import TITLE_BAND_PX, auto_scale

    scale = auto_scale(4 * 8 + 2)
    assert grid.shape[0] == TITLE_BAND_PX + scale * (6 * 8 + 2)  # six rows of 6-px images with 2-px padding


# ---- 4. small promises ----------------------------------------------------------------------------


def test_bm_refusal_advises_gibbs_statistics_not_ais():
    cls = MODELS.get("bm")
    with pytest.raises(GenzooError) as e:
        cls(config.build(cls.Config, {"statistics": "exact"}), DataSpec("points", (25,)))
    assert "statistics=gibbs" in str(e.value) and "log_likelihood_ais" not in str(e.value)


def test_a_text_file_named_npy_is_not_called_pickled(tmp_path):
    from genzoo import data

    path = tmp_path / "points.npy"
    path.write_text("1.0,2.0\n3.0,4.0\n")
    with pytest.raises(GenzooError) as e:
        data.load(str(path))
    assert "not a NumPy .npy file" in str(e.value) and "pickled" not in str(e.value)
