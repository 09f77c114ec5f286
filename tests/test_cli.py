"""Command line: listing, a tiny end-to-end run, and every kind of bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from genzoo.cli import main

TINY = ["--set", "steps=20", "--set", "log_every=10", "--set", "sample_every=0", "--set", "hidden=16",
        "--set", "depth=1", "--set", "n_eval=100", "--set", "data.n=1000"]


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_models_objectives_data_and_benchmarks(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    for word in ("gan", "capabilities: sample", "minimax", "nonsaturating", "ring8", "grid25", "mnist",
                 "stacked_mnist", "dcgan-throughput"):
        assert word in out, word


def test_train_sample_eval_end_to_end(tmp_path, capsys):
    code, out, err = run_cli(capsys, "train", "gan", "--data", "ring8", "--runs", str(tmp_path), "--name", "r", *TINY)
    assert code == 0, err
    run_dir = tmp_path / "r"
    assert (run_dir / "checkpoint.safetensors").exists() and (run_dir / "config.json").exists()
    code, out, err = run_cli(capsys, "sample", str(run_dir), "-n", "16")
    assert code == 0, err
    x = np.load(run_dir / "samples" / "sample_seed0.npy")
    assert x.shape == (16, 2) and np.isfinite(x).all()
    assert (run_dir / "samples" / "sample_seed0.png").stat().st_size > 1000
    code, out, err = run_cli(capsys, "eval", str(run_dir), "-n", "300", "--json")
    assert code == 0, err
    metrics = json.loads(out)
    assert {"w1", "modes", "hq_share"} <= set(metrics) and metrics["w1"] > 0


def test_resume_via_cli_extends_a_run(tmp_path, capsys):
    assert run_cli(capsys, "train", "gan", "--data", "ring8", "--runs", str(tmp_path), "--name", "r", *TINY)[0] == 0
    code, _, err = run_cli(capsys, "train", "--resume", str(tmp_path / "r"), "--set", "train.steps=30")
    assert code == 0, err
    steps = [json.loads(l)["step"] for l in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [10, 20, 30]


def write(path, array):
    np.save(path, array)
    return str(path)


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["train", "gann", "--data", "ring8"], "unknown model 'gann'; did you mean 'gan'"),
        (["train", "gan", "--data", "rign8"], "unknown dataset 'rign8'; did you mean 'ring8'?"),
        (["train", "gan", "--data", "/no/such/file.npy"], "/no/such/file.npy"),
        (["train", "gan", "--data", "ring8", "--set", "lr_gg=1"], "unknown config key 'lr_gg'; did you mean 'lr_g'"),
        (["train", "gan", "--data", "ring8", "--set", "train.stepz=1"], "unknown config key 'train.stepz'; did you mean 'train.steps'"),
        (["train", "gan", "--data", "ring8", "--set", "lr_g=-1"], "lr_g=-1.0"),
        (["train", "gan", "--data", "ring8", "--set", "steps=abc"], "steps='abc'"),
        (["train", "gan", "--data", "ring8", "--set", "objective=wasserstien"], "unknown objective 'wasserstien'; did you mean 'wasserstein'?"),
        (["train", "gan", "--data", "ring8", "--set", "data.radiuss=2"], "radiuss"),
        (["train", "gan", "--data", "ring8", "--set", "batch_size=999999"], "batch_size=999999"),
        (["train", "gan", "--data", "ring8", "--set", "nokey"], "expected key=value"),
        (["train", "gan", "--data", "ring8", "--config", "/no/such.toml"], "/no/such.toml"),
        (["sample", "/no/such/run"], "/no/such/run"),
        (["eval", "/no/such/run"], "/no/such/run"),
        (["bench", "no-such-bench"], "unknown benchmark 'no-such-bench'"),
        (["bench", "dcgan-througput"], "did you mean 'dcgan-throughput'"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, argv, needle):
    code, out, err = run_cli(capsys, *argv, *(["--runs", str(tmp_path)] if argv[0] == "train" else []))
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_user_data_files(tmp_path, capsys):
    nan = np.random.default_rng(0).normal(size=(100, 2)).astype(np.float32)
    nan[17, 1] = np.nan
    cases = {
        write(tmp_path / "nan.npy", nan): "NaN",
        write(tmp_path / "shape.npy", np.zeros((4, 3, 2, 2, 2), np.float32)): "(4, 3, 2, 2, 2)",
    }
    (tmp_path / "x.xyz").write_text("1 2\n")
    cases[str(tmp_path / "x.xyz")] = "x.xyz"
    for path, needle in cases.items():
        code, _, err = run_cli(capsys, "train", "gan", "--data", path, "--runs", str(tmp_path / "runs"))
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "runs").exists()  # nothing written for bad input


@pytest.mark.parametrize("model,shape", [("vae", (40, 1, 30, 30)), ("vqvae", (40, 3, 28, 28)), ("ali", (40, 3, 28, 28))])
def test_small_user_image_sets_train(tmp_path, capsys, model, shape):
    # 40 images hold out 4: fewer than a row of 8 for the reconstruction picture (a reshape crash once)
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    code, out, err = run_cli(capsys, "train", model, "--data", write(tmp_path / "small.npy", x), "--runs",
                             str(tmp_path / "runs"), "--name", "r", "--set", "steps=2", "--set", "batch_size=16",
                             "--set", "sample_every=0", "--set", "n_eval=50", "--set", "width=8")
    assert code == 0, err
    assert (tmp_path / "runs" / "r" / "samples" / "recon_step_0000002.png").exists()


@pytest.mark.parametrize("n", [1, 4, 8, 13, 40])
def test_reconstruction_picture_of_any_number_of_images(tmp_path, n):
    from PIL import Image

    from genzoo.viz.autoencoder import save_reconstructions

    class Identity:
        encode = decode = staticmethod(lambda t: t)

    path = save_reconstructions(Identity(), torch.rand(n, 1, 30, 30), tmp_path / "r.png")
    assert Image.open(path).size[0] > 0


def test_user_points_file_trains(tmp_path, capsys):
    pts = np.random.default_rng(0).normal(size=(600, 2)).astype(np.float32)
    code, out, err = run_cli(capsys, "train", "gan", "--data", write(tmp_path / "pts.npy", pts),
                             "--runs", str(tmp_path), "--name", "u", *TINY[:-2])
    assert code == 0, err
    assert "W1" in out and "trained gan on pts.npy" in out


def test_existing_run_is_never_overwritten(tmp_path, capsys):
    assert run_cli(capsys, "train", "gan", "--data", "ring8", "--runs", str(tmp_path), "--name", "r", *TINY)[0] == 0
    before = (tmp_path / "r" / "checkpoint.safetensors").read_bytes()
    code, _, err = run_cli(capsys, "train", "gan", "--data", "ring8", "--runs", str(tmp_path), "--name", "r", *TINY)
    assert code == 2 and "already exists" in err
    assert (tmp_path / "r" / "checkpoint.safetensors").read_bytes() == before
    # without --name a fresh directory is chosen
    assert run_cli(capsys, "train", "gan", "--data", "ring8", "--runs", str(tmp_path), *TINY)[0] == 0
    assert (tmp_path / "gan_ring8").exists()


def test_console_script_help():
    for cmd in ([], ["train"], ["sample"], ["eval"], ["bench"], ["list"], ["data"]):
        res = subprocess.run([sys.executable, "-m", "genzoo", *cmd, "--help"], capture_output=True, text=True)
        assert res.returncode == 0 and "usage: genzoo" in res.stdout


def test_version_case_insensitive_data_and_readable_summary(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    from genzoo import __version__

    assert capsys.readouterr().out.strip() == f"genzoo {__version__}"
    code, out, err = run_cli(capsys, "train", "gan", "--data", "RING8", "--runs", str(tmp_path), "--name", "r", *TINY)
    assert code == 0, err
    assert out.startswith("trained gan on RING8 for 20 steps")
    assert "modes covered" in out and "of 8" in out and "high-quality samples" in out
    assert str(tmp_path / "r" / "samples" / "step_0000020.png") in out
    assert not out.lstrip().startswith("{")


def test_export_writes_plain_weights(tmp_path, capsys):
    from safetensors.torch import load_file

    assert run_cli(capsys, "train", "gan", "--data", "ring8", "--runs", str(tmp_path), "--name", "r", *TINY)[0] == 0
    code, out, err = run_cli(capsys, "export", str(tmp_path / "r"))
    assert code == 0, err
    weights = load_file(str(tmp_path / "r" / "weights.safetensors"))
    from genzoo import run

    model, _ = run.load(tmp_path / "r")
    assert set(weights) == set(model.state_dict())
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())


def test_only_rank_zero_prints(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    code = main(["train", "gann", "--data", "ring8", "--runs", str(tmp_path)])
    out, err = capsys.readouterr()
    monkeypatch.setattr(sys, "stdout", sys.__stdout__)
    monkeypatch.setattr(sys, "stderr", sys.__stderr__)
    assert code == 2 and out == "" and err == ""


def test_doctor_prints_the_speed_facts_and_autos_choice(capsys):
    from genzoo import hardware
    from genzoo.train.trainer import resolve_device

    code, out, err = run_cli(capsys, "doctor")
    assert code == 0, err
    cpu = hardware.cpu_facts()
    for fact in ("AVX2", "AVX-512", "AVX512-BF16", "AMX", torch.__version__, cpu.capability, "threads", "GPU"):
        assert fact in out, fact
    assert ("CPU only" in out) == (not torch.version.cuda and not torch.version.hip)
    device = resolve_device("auto")
    assert "precision=auto:" in out
    line = next(line for line in out.splitlines() if "precision=auto:" in line)
    assert line.split("precision=auto:")[1].split()[0] == hardware.auto_precision(device)


HEAVY = ("scipy", "scipy.optimize", "sklearn", "matplotlib", "ot", "tensorboard", "torch.utils.tensorboard",
         "torchvision", "pandas", "PIL")


@pytest.mark.parametrize("argv", [["list"], ["--help"]])
def test_fast_start_imports_nothing_heavy(argv):
    # A fresh interpreter: this test process has long imported everything. Every module genzoo
    # registers (models, benchmarks, data sets) is imported by `list`, so a module-level import of
    # scipy & co. anywhere in them would show up here.
    code = ("import contextlib, io, sys\nfrom genzoo.cli import main\n"
            f"with contextlib.redirect_stdout(io.StringIO()):\n    try:\n        main({argv!r})\n"
            "    except SystemExit:\n        pass\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"`genzoo {' '.join(argv)}` imported {out.stdout.strip()}"
    if argv == ["--help"]:  # help needs no torch at all
        out = subprocess.run([sys.executable, "-c", code.replace(f"{HEAVY!r}", "('torch',)")], capture_output=True,
                             text=True, timeout=300)
        assert out.stdout.strip() == ""


def test_quick_results_never_overwrite_full_ones(tmp_path, capsys, monkeypatch):
    # every benchmark and suite: bench/NAME for a full run, bench/NAME-quick for --quick (as --help says)
    from genzoo import bench
    seen: list[tuple[str, str]] = []

    def fake(out, quick=False, jobs=1, options=None):
        seen.append((str(out), "quick" if quick else "full"))
        return out

    from genzoo.bench import engine

    def fake_run(exp, out, sets, quick=False, jobs=1, **kw):
        fake(out, quick)
        return {"failed": [], "cells": 1}

    monkeypatch.setattr(engine, "run", fake_run)
    monkeypatch.chdir(tmp_path)
    names = [*bench.BENCHES, *bench.suites()]
    for name in names:
        for flags in ([], ["--quick"]):
            assert run_cli(capsys, "bench", name, *flags)[0] == 0
    expected = [(f"bench/{name}{suffix}", kind)
                for name in names for suffix, kind in (("", "full"), ("-quick", "quick"))]
    assert seen == expected


def test_throughput_does_not_time_emulated_bf16(tmp_path, monkeypatch):
    # an AVX2-only CPU emulates bf16: its 2048² matmul peak alone took 10 minutes in a --quick run
    from genzoo import hardware
    from genzoo.bench import run as run_bench
    import genzoo.bench.throughput as throughput

    facts = hardware.cpu_facts()
    monkeypatch.setattr(hardware, "cpu_facts", lambda: hardware.CpuFacts(
        facts.model, avx2=True, avx512=False, avx512_bf16=False, amx=False, capability="AVX2", mkldnn_bf16=True))
    dtypes = []
    monkeypatch.setattr(throughput, "matmul_peak_gflops", lambda **kw: dtypes.append(kw.get("dtype", torch.float32)) or 1.0)
    out = run_bench("dcgan-throughput", out=str(tmp_path), quick=True,
                    sets=["device=cpu", "data=digits", "batch_size=4", "steps=1", "rounds=1", "variants=plain"])
    table = json.loads((out / "throughput.json").read_text())
    assert torch.bfloat16 not in dtypes and table["precisions"] == ["32"]
    assert [r["variant"] for r in table["rows"]] == ["plain fp32"]


def test_eval_and_sample_set_threads_as_train_does(tmp_path, capsys, monkeypatch):
    # one rule (run.set_threads): an RBM eval once ran 14x slower at torch's default on a shared machine
    from genzoo import run

    rule = run._DEFAULT_THREADS + 1  # a count nothing else sets
    monkeypatch.setattr(run, "threads_for", lambda kind: rule)
    sets = ["steps=4", "log_every=2", "checkpoint_every=4", "sample_every=0", "progress=false", "hidden=8", "depth=1",
            "n_eval=50", "data.n=200"]
    for command in ("train", "sample", "eval"):
        torch.set_num_threads(run._DEFAULT_THREADS)  # a fresh process: nobody chose a count yet
        argv = (["train", "gan", "--data", "ring8", "--runs", str(tmp_path), "--name", "g",
                 *sum((["--set", s] for s in sets), [])] if command == "train" else [command, str(tmp_path / "g")])
        code, _, err = run_cli(capsys, *argv)
        assert code == 0, err
        assert torch.get_num_threads() == rule, command
