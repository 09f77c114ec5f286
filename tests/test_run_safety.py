"""Run directories cannot be lost or corrupted: one test per fault class.

Each test damages or races a run the way a user, a crash or a second process would, and checks
that genzoo answers with one line (exit code 2) or repairs safely — and that nothing else in the
run directory changed.
"""

import json
import multiprocessing
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from genzoo import run
from genzoo.cli import main
from genzoo.errors import GenzooError
from genzoo.train.checkpoint import load_checkpoint

TINY = ["steps=20", "batch_size=32", "log_every=10", "checkpoint_every=10", "sample_every=0", "progress=false",
        "hidden=16", "depth=1", "data.n=500", "n_eval=100"]


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code, err, needle):
    assert code == 2, err
    assert needle in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished 20-step run, copied fresh for each test that damages it."""
    root = tmp_path_factory.mktemp("template")
    run_dir, _ = run.train(run.resolve("gan", "ring8", sets=TINY), root, name="r")
    return run_dir


@pytest.fixture
def run_dir(trained, tmp_path):
    dest = tmp_path / "runs" / "r"
    shutil.copytree(trained, dest)
    return dest


def snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file() and p.name != ".lock"}


# ---- validation before creation ------------------------------------------------------------
@pytest.mark.parametrize("sets,needle", [
    (["batch_size=100000"], "batch_size=100000"),
    ([f"device=cuda:{torch.cuda.device_count() + 7}"], "device"),  # no such device, with or without CUDA
    (["precision=16-mixed", "device=cpu"], "16-mixed"),
])
def test_failed_validation_leaves_nothing_behind(tmp_path, capsys, sets, needle):
    root = tmp_path / "deep" / "runs"
    code, _, err = cli(capsys, "train", "gan", "--data", "ring8", "--runs", root, "--name", "x",
                       *sum((["--set", s] for s in TINY + sets), []))
    one_line_error(code, err, needle)
    assert not (tmp_path / "deep").exists()


@pytest.mark.parametrize("model,data,sets,needle", [
    # one step would decode k·batch = 6.4·10^10 draws at once: refused by the memory estimate
    ("iwae", "ring8", ["k=1000000000"], "iwae k=1000000000 at batch_size=64 needs at least"),
    # 2^30 hidden states per evaluation: memory streams, but the time does not fit (once: killed, out of memory)
    ("rbm", "binary_digits", ["n_hidden=30", "max_enumeration_bits=30", "device=cpu"], "exact enumeration of 2^30 states"),
])
def test_unaffordable_configuration_is_refused_before_creation(tmp_path, capsys, monkeypatch, model, data, sets, needle):
    import genzoo.sampling.enumerate as enumerate_module

    # 60 s: far below any machine's 2^30-state time, so a fast many-core CPU refuses it too
    monkeypatch.setattr(enumerate_module, "ENUMERATION_SECONDS_LIMIT", 60.0)
    root = tmp_path / "deep" / "runs"
    code, _, err = cli(capsys, "train", model, "--data", data, "--runs", root, "--name", "x",
                       *sum((["--set", s] for s in sets), []))
    one_line_error(code, err, needle)
    assert not (tmp_path / "deep").exists()


def test_affordable_enumeration_is_not_refused():
    from genzoo.models import MODELS, DataSpec

    rbm = MODELS.get("rbm")(MODELS.get("rbm").Config(n_hidden=16, max_enumeration_bits=16),
                            DataSpec("images", (1, 8, 8)))
    rbm.check_resources(64)  # 2^16 states: well under a second


def test_streamed_exact_samples_match_the_whole_table(monkeypatch):
    # beyond EXACT_SAMPLES_IN_MEMORY states exact_samples streams (chunk by mass, then state in chunk)
    import genzoo.sampling.ais as ais
    from genzoo.models import MODELS, DataSpec

    torch.manual_seed(0)
    rbm = MODELS.get("rbm")(MODELS.get("rbm").Config(n_hidden=14, init_std=0.5), DataSpec("points", (6,)))
    path = rbm.annealing_path()
    torch.manual_seed(1)
    whole = path.exact_samples(20000)
    monkeypatch.setattr(ais, "EXACT_SAMPLES_IN_MEMORY", 2**12)
    torch.manual_seed(2)
    streamed = path.exact_samples(20000)
    se = (whole.var(0) / 20000 + streamed.var(0) / 20000).sqrt()
    assert ((whole.mean(0) - streamed.mean(0)).abs() < 4 * se + 1e-3).all()


@pytest.mark.parametrize("out,needle", [
    ("/nonexistent/dir/w.safetensors", "directory '/nonexistent/dir' does not exist"),
    ("{tmp}", "it is a directory"),
])
def test_export_to_an_unwritable_path_is_one_line(run_dir, tmp_path, capsys, out, needle):
    before = snapshot(run_dir)
    code, _, err = cli(capsys, "export", run_dir, "--out", out.format(tmp=tmp_path))
    one_line_error(code, err, needle)
    assert snapshot(run_dir) == before


# ---- names: atomic reservation, confinement --------------------------------------------------
def _reserve(args):
    root, name = args
    try:
        run_dir, lock = run._reserve(Path(root), name, "gan_ring8")
    except GenzooError as e:
        return "error: " + str(e)
    (run_dir / "config.json").write_text("{}")  # what train() writes next, under the lock
    lock.release()
    return str(run_dir)


def test_concurrent_reservations_never_share_a_directory(tmp_path):
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(6) as pool:
        default = pool.map(_reserve, [(tmp_path, None)] * 12)
        named = pool.map(_reserve, [(tmp_path, "same")] * 6)
    assert len(set(default)) == 12 and not any(d.startswith("error") for d in default)
    assert sum(not n.startswith("error") for n in named) == 1
    assert all("already exists" in n for n in named if n.startswith("error"))


def test_directory_left_empty_by_a_killed_process_can_be_created_again(tmp_path, capsys):
    (tmp_path / "r").mkdir()  # killed between mkdir and writing config.json
    (tmp_path / "r" / ".lock").write_text("12345\n")
    code, _, err = cli(capsys, "train", "gan", "--data", "ring8", "--runs", tmp_path, "--name", "r",
                       *sum((["--set", s] for s in TINY), []))
    assert code == 0, err
    assert load_checkpoint(tmp_path / "r" / "checkpoint.safetensors")["step"] == 20


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", "/tmp/abs", " padded"])
def test_name_is_confined_to_runs(tmp_path, capsys, name):
    root = tmp_path / "runs"
    code, _, err = cli(capsys, "train", "gan", "--data", "ring8", "--runs", root, "--name", name,
                       *sum((["--set", s] for s in TINY), []))
    one_line_error(code, err, "invalid --name")
    assert not any(tmp_path.iterdir())


# ---- the lock: a second process is refused ---------------------------------------------------
def test_second_trainer_of_a_locked_run_is_refused(run_dir, capsys):
    before = snapshot(run_dir)
    with run.RunLock(run_dir):  # another process training it (flock conflicts across open files)
        code, _, err = cli(capsys, "train", "--resume", run_dir, "--set", "train.steps=40")
    one_line_error(code, err, "being trained by another process")
    assert snapshot(run_dir) == before
    assert cli(capsys, "train", "--resume", run_dir, "--set", "train.steps=30")[0] == 0  # released: fine again
    steps = [json.loads(l)["step"] for l in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == [10, 20, 30]


# ---- damaged metadata ------------------------------------------------------------------------
CONFIG_DAMAGE = {
    "truncated": lambda text: text[: len(text) // 2],
    "not an object": lambda text: "[1, 2]",
    "missing model": lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "model"}),
    "bad field": lambda text: text.replace('"hidden": 16', '"hidden": "wide"'),
    "unknown model": lambda text: text.replace('"model": "gan"', '"model": "nosuch"'),
}


@pytest.mark.parametrize("damage", sorted(CONFIG_DAMAGE))
def test_damaged_config_is_one_line_for_every_command(run_dir, capsys, damage):
    path = run_dir / "config.json"
    path.write_text(CONFIG_DAMAGE[damage](path.read_text()))
    before = snapshot(run_dir)
    for argv in (["train", "--resume", run_dir, "--set", "train.steps=30"], ["sample", run_dir, "-n", "4"],
                 ["eval", run_dir, "-n", "50"]):
        code, _, err = cli(capsys, *argv)
        one_line_error(code, err, "config.json")
    assert snapshot(run_dir) == before


def rewrite_checkpoint(path: Path, edit_structure=None, edit_tensors=None):
    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    if edit_structure:
        meta["genzoo.structure"] = edit_structure(meta["genzoo.structure"])
    if edit_tensors:
        edit_tensors(tensors)
    save_file(tensors, str(path), metadata=meta)


def _first_key(tensors, part):
    return next(k for k in tensors if part in k)


CHECKPOINT_DAMAGE = {
    "structure not JSON": dict(edit_structure=lambda s: s[:-7]),
    "structure names a missing tensor": dict(edit_structure=lambda s: s.replace('"__tensor__": "/model/', '"__tensor__": "/gone/', 1)),
    "structure drops the optimisers": dict(edit_structure=lambda s: s.replace('"optimizers"', '"optimisers"')),
    "weight of the wrong shape": dict(edit_tensors=lambda t: t.update({_first_key(t, "/model/"): torch.zeros(3, 3)})),
    "optimiser state of the wrong shape": dict(edit_tensors=lambda t: t.update({_first_key(t, "exp_avg"): torch.zeros(5)})),
    "stream of the wrong length": dict(edit_tensors=lambda t: t.update({_first_key(t, "/stream/permutation"): torch.arange(7)})),
}


@pytest.mark.parametrize("damage", sorted(CHECKPOINT_DAMAGE))
def test_damaged_checkpoint_is_one_line_and_changes_nothing(run_dir, capsys, damage):
    rewrite_checkpoint(run_dir / "checkpoint.safetensors", **CHECKPOINT_DAMAGE[damage])
    before = snapshot(run_dir)
    code, _, err = cli(capsys, "train", "--resume", run_dir, "--set", "train.steps=30")
    one_line_error(code, err, "checkpoint")
    assert snapshot(run_dir) == before  # config.json in particular is not rewritten by a failed resume


def test_torn_checkpoint_file_is_one_line(run_dir, capsys):
    path = run_dir / "checkpoint.safetensors"
    path.write_bytes(path.read_bytes()[:200])
    for argv in (["train", "--resume", run_dir, "--set", "train.steps=30"], ["sample", run_dir]):
        one_line_error(*cli(capsys, *argv)[::2], "checkpoint")


def test_half_written_metrics_line_is_dropped_on_resume(run_dir, capsys):
    metrics = run_dir / "metrics.jsonl"
    with open(metrics, "a") as f:
        f.write('{"step": 30, "loss_d": 1.2')  # killed mid-write
    code, _, err = cli(capsys, "train", "--resume", run_dir, "--set", "train.steps=30")
    assert code == 0, err
    assert "dropped 1 unreadable line" in err
    steps = [json.loads(l)["step"] for l in metrics.read_text().splitlines()]
    assert steps == [10, 20, 30]


def test_stale_temporary_checkpoints_are_removed(run_dir, capsys):
    stale = run_dir / "checkpoint.safetensors.a1b2c3.tmp"
    stale.write_bytes(b"half a checkpoint")
    assert cli(capsys, "train", "--resume", run_dir, "--set", "train.steps=30")[0] == 0
    assert not stale.exists()
    assert not list(run_dir.glob("*.tmp"))


def test_resume_with_nothing_to_do_says_so(run_dir, capsys):
    before = snapshot(run_dir)
    code, out, err = cli(capsys, "train", "--resume", run_dir)
    assert code == 0
    assert "nothing to do" in err and "step 20" in err
    assert snapshot(run_dir) == before


def test_run_stopped_before_its_first_checkpoint_can_be_resumed(run_dir, capsys):
    (run_dir / "checkpoint.safetensors").unlink()
    (run_dir / "metrics.jsonl").write_text('{"step": 10, "loss_d": 1.0}\n')
    code, _, err = cli(capsys, "train", "--resume", run_dir)
    assert code == 0 and "no checkpoint yet" in err and "step 0" in err  # said, not silent
    assert load_checkpoint(run_dir / "checkpoint.safetensors")["step"] == 20
    steps = [json.loads(l)["step"] for l in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == [10, 20]


# ---- data and paths --------------------------------------------------------------------------
@pytest.mark.parametrize("value,needle", [(1e39, "beyond float32"), (1e25, "overflow float32")])
def test_data_overflowing_float32_is_an_input_error(tmp_path, capsys, value, needle):
    x = np.random.default_rng(0).normal(size=(600, 2))
    x[3, 1] = value
    np.save(tmp_path / "big.npy", x)
    code, _, err = cli(capsys, "train", "gan", "--data", tmp_path / "big.npy", "--runs", tmp_path / "runs",
                       *sum((["--set", s] for s in TINY[:-2]), []))
    one_line_error(code, err, needle)
    assert "diverged" not in err and "step -1" not in err
    assert not (tmp_path / "runs").exists()


def test_runs_that_is_a_file_or_unwritable_is_one_line(tmp_path, capsys, monkeypatch):
    (tmp_path / "afile").write_text("x")
    argv = ["train", "gan", "--data", "ring8", *sum((["--set", s] for s in TINY), [])]
    one_line_error(*cli(capsys, *argv, "--runs", tmp_path / "afile")[::2], "afile")
    one_line_error(*cli(capsys, *argv, "--runs", tmp_path / "afile" / "sub")[::2], "afile")

    def denied(self, *a, **k):  # a read-only runs directory (tests may run as root, where chmod does not bite)
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", denied)
    one_line_error(*cli(capsys, *argv, "--runs", tmp_path / "ro")[::2], "Permission denied")


def test_checkpoints_are_world_readable(run_dir):
    mask = os.umask(0)
    os.umask(mask)
    assert (run_dir / "checkpoint.safetensors").stat().st_mode & 0o777 == 0o666 & ~mask


def _grey_images(tmp_path):
    path = tmp_path / "grey.npy"
    np.save(path, np.random.default_rng(0).random((60, 1, 8, 8), dtype=np.float32))
    return str(path)


@pytest.mark.parametrize("model,data,sets,needle", [
    # the model's step or evaluation refuses these data values: now before the run directory exists
    ("rbm", "ring8", [], "model 'rbm' has binary (Bernoulli) units but the data contains"),
    ("rbm", "GREY", [], "model 'rbm' has binary (Bernoulli) units but the data contains"),  # MNIST-like grey images
    ("bm", "ring8", [], "model 'bm' has binary (Bernoulli) units"),
    ("vae", "ring8", ["observation=bernoulli"], "observation 'bernoulli' needs data in [0, 1]"),
    ("vae", "ring8", ["observation=logistic"], "observation 'logistic' needs data in [0, 1]"),
    ("vae", "ring8", ["observation=categorical"], "observation 'categorical' needs data in [0, 1]"),
    ("dualgan", "two_domain_digits", ["batch_size=1"], "train.batch_size=1 holds one image"),
])
def test_data_the_model_refuses_leaves_no_run_behind(tmp_path, capsys, model, data, sets, needle):
    data = _grey_images(tmp_path) if data == "GREY" else data
    root = tmp_path / "runs"
    argv = ["train", model, "--data", data, "--runs", root, *sum((["--set", s] for s in sets), [])]
    for _ in range(2):  # a retry is refused the same way, not silently trained as NAME-2
        one_line_error(*cli(capsys, *argv)[::2], needle)
        assert not root.exists()


def test_data_is_checked_to_its_last_example(tmp_path):
    # one grey value after many binary rows: refused up front, not at the batch that happens to draw it
    from genzoo import data as data_module
    from genzoo.models import MODELS, DataSpec

    x = np.random.default_rng(0).integers(0, 2, (9000, 6)).astype(np.float32)
    x[-1, 3] = 0.5
    np.save(tmp_path / "b.npy", x)
    ds = data_module.load(str(tmp_path / "b.npy"))
    rbm = MODELS.get("rbm")(MODELS.get("rbm").Config(n_hidden=4), DataSpec.of(ds))
    with pytest.raises(GenzooError, match="contains 0.5"):
        run.check_data(rbm, ds)


def test_a_run_needs_its_data_file_for_eval_only(tmp_path, capsys):
    x = np.random.default_rng(0).normal(size=(300, 2)).astype(np.float32)
    np.save(tmp_path / "pts.npy", x)
    sets = sum((["--set", s] for s in ["steps=4", "log_every=2", "checkpoint_every=4", "sample_every=0",
                                       "progress=false", "hidden=8", "depth=1", "n_eval=50"]), [])
    code, _, err = cli(capsys, "train", "gan", "--data", tmp_path / "pts.npy", "--runs", tmp_path / "runs",
                       "--name", "g", *sets)
    assert code == 0, err
    (tmp_path / "pts.npy").rename(tmp_path / "moved.npy")
    run_dir = tmp_path / "runs" / "g"
    code, out, err = cli(capsys, "sample", run_dir, "-n", 16)
    assert code == 0, err
    assert np.load(run_dir / "samples" / "sample_seed0.npy").shape == (16, 2)
    code, _, err = cli(capsys, "eval", run_dir)
    one_line_error(code, err, str(tmp_path / "pts.npy"))
    assert "--data PATH" in err
    code, out, err = cli(capsys, "eval", run_dir, "--data", tmp_path / "moved.npy", "--json")
    assert code == 0, err
    assert "w1" in json.loads(out)
    np.save(tmp_path / "other.npy", np.zeros((40, 3), np.float32))
    one_line_error(*cli(capsys, "eval", run_dir, "--data", tmp_path / "other.npy")[::2], "trained on points of shape (2,)")


def test_a_dualgan_step_of_one_domain_is_skipped_not_fatal():
    # small batches can draw one domain only at random: no generator update that step, never a crash mid-run
    from genzoo.models import MODELS, DataSpec

    cls = MODELS.get("dualgan")
    torch.manual_seed(0)
    model = cls(cls.Config(width=8, memory=4), DataSpec("images", (1, 16, 16), 2))
    out = model.step((torch.rand(4, 1, 16, 16), torch.zeros(4, dtype=torch.long)))
    assert "loss_g" not in out
    with pytest.raises(GenzooError, match="train.batch_size=1 holds one image"):
        model.check_resources(1)
    model.check_resources(2)
