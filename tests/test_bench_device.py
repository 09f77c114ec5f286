"""Benchmarks that choose their device and keep partial tables: rbm-mnist, vae-vs-iwae, translation,
dcgan-throughput's precisions, and the suite engine's seed-major start order (scripts/gpu-evidence.sh)."""

from __future__ import annotations

import json

import pytest

from genzoo.bench import run as run_bench
from genzoo.errors import GenzooError


def test_parallel_cells_start_seed_by_seed_and_keep_model_order_within_a_seed():
    from genzoo.bench.engine import Cell, order

    todo = [Cell(f"{m}_s{s}", {}, seed=s, priority=s) for m in ("a", "b", "c") for s in (0, 1, 2)]
    assert [c.id for c in order(todo)] == ["a_s0", "b_s0", "c_s0", "a_s1", "b_s1", "c_s1", "a_s2", "b_s2", "c_s2"]
    assert order(todo[1:2]) == todo[1:2] and order([]) == []


def test_vae_vs_iwae_takes_device_and_ks_and_writes_one_row_per_model(tmp_path):
    out = run_bench("vae-vs-iwae", out=str(tmp_path), quick=True,
                    sets=["device=cpu", "ks=1,5", "steps=2", "seeds=1", "eval_k=3", "n_test=20"])
    table = json.loads((out / "vae_vs_iwae.json").read_text())
    assert table["complete"] is True and table["options"]["device"] == "cpu"
    rows = [r for r in table["rows"] if r["seed"] == 0]
    assert [(r["model"], r["k_train"], r["device"]) for r in rows] == [("vae", 1, "cpu"), ("iwae", 5, "cpu")]
    assert [r["model"] for r in table["rows"] if r["seed"] == "mean"] == ["vae k=1", "iwae k=5"]


@pytest.mark.parametrize("sets, needle", [(["ks=0"], "every k must be ≥ 1"), (["ks=a"], "expected a comma-separated list"),
                                          (["device=cuda:7"], "device=.cuda:7.")])
def test_vae_vs_iwae_bad_options_are_one_line_errors(tmp_path, sets, needle):
    with pytest.raises(GenzooError, match=needle):
        run_bench("vae-vs-iwae", out=str(tmp_path), quick=True, sets=sets)


def test_rbm_mnist_takes_device_and_marks_its_table_complete(tmp_path):
    out = run_bench("rbm-mnist", out=str(tmp_path), quick=True,
                    sets=["device=cpu", "updates=3", "seeds=1", "hidden=6", "small_hidden=0", "betas=10", "methods=CD-1"])
    table = json.loads((out / "rbm_mnist.json").read_text())
    assert table["complete"] is True and table["device"] == "cpu"
    assert [(r["method"], r["n_hidden"], r["device"]) for r in table["rows"]] == [("CD-1", 6, "cpu")]


@pytest.mark.parametrize("precisions, needle", [("64", "valid: 32, bf16-mixed, 16-mixed"), ("16-mixed", "needs a CUDA device")])
def test_throughput_precisions_are_checked_before_anything_runs(tmp_path, precisions, needle):
    with pytest.raises(GenzooError, match=needle):
        run_bench("dcgan-throughput", out=str(tmp_path), sets=["device=cpu", f"precisions={precisions}"])


def test_translation_accepts_a_device():
    from genzoo.bench.translation import DEFAULTS

    assert DEFAULTS["device"] == ("auto", "auto")


def test_rbm_mnist_labels_impossible_ais_estimates_unusable(tmp_path):
    """An AIS estimate above the certain upper bound (Z ≥ Σ over distinct test images) is a failed
    estimator, never a result; every row carries the verdict of both estimates."""
    from genzoo.bench.rbm_mnist import ais_verdict

    assert ais_verdict(-90.0, -89.5) == "usable"
    assert ais_verdict(-89.0, -89.5).startswith("unusable: 0.50 nats above")
    out = run_bench("rbm-mnist", out=str(tmp_path), quick=True,
                    sets=["device=cpu", "updates=3", "seeds=1", "hidden=6", "small_hidden=0", "betas=10", "methods=CD-1"])
    row = json.loads((out / "rbm_mnist.json").read_text())["rows"][0]
    for key, estimate in (("ais_verdict", "test_ll_ais"), ("conservative_verdict", "test_ll_conservative")):
        assert row[key] == ais_verdict(row[estimate], row["test_ll_certain_upper"])
