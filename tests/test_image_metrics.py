"""Image metrics on genzoo's own feature network: known answers for FID, KID, precision/recall,
density/coverage, the classifier score, Stacked-MNIST modes; the shipped classifier's accuracy;
the Inception option's error paths."""

from __future__ import annotations

import hashlib
import math

import pytest
import scipy.linalg
import torch
from torch import nn

from genzoo import data
from genzoo.data.mnist import stack_digits
from genzoo.errors import GenzooError
from genzoo.metrics.evaluate import evaluate
from genzoo.metrics.features import WEIGHTS_PATH, WEIGHTS_SHA256, channel_features, check_images, embed, probabilities
from genzoo.metrics.image import (
    classifier_score,
    density_coverage,
    fid,
    frechet_distance,
    kid,
    kid_estimates,
    mmd2_unbiased,
    polynomial_kernel,
    precision_recall,
)
from genzoo.metrics.stacked import STACKED_N_SAMPLES, count_modes, kl_floor, stacked_mnist_modes

# ----------------------------------------------------------------------------- FID


def _random_cov(d: int, g: torch.Generator) -> torch.Tensor:
    a = torch.randn(d, d, generator=g, dtype=torch.float64)
    return a @ a.T / d + 0.1 * torch.eye(d, dtype=torch.float64)


def test_frechet_distance_matches_the_closed_form_for_known_gaussians():
    g = torch.Generator().manual_seed(0)
    # 2-D, non-commuting covariances: Tr √M = √(tr M + 2√det M) for a 2×2 matrix M with real, non-negative spectrum
    s1, s2 = _random_cov(2, g), _random_cov(2, g)
    assert not torch.allclose(s1 @ s2, s2 @ s1)
    mu1, mu2 = torch.tensor([0.0, 1.0], dtype=torch.float64), torch.tensor([2.0, -1.0], dtype=torch.float64)
    m = s1 @ s2
    tr_sqrt = math.sqrt(float(torch.trace(m)) + 2 * math.sqrt(float(torch.det(s1) * torch.det(s2))))
    exact = 8.0 + float(torch.trace(s1) + torch.trace(s2)) - 2 * tr_sqrt
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(exact, rel=1e-10)
    # diagonal covariances: Σ_i (√a_i − √b_i)²
    a, b = torch.rand(6, generator=g, dtype=torch.float64) + 0.1, torch.rand(6, generator=g, dtype=torch.float64) + 0.1
    z = torch.zeros(6, dtype=torch.float64)
    assert frechet_distance(z, a.diag(), z, b.diag()) == pytest.approx(float(((a.sqrt() - b.sqrt()) ** 2).sum()), rel=1e-10)
    # a generic 20-d pair against scipy's sqrtm
    s1, s2 = _random_cov(20, g), _random_cov(20, g)
    ref = float(torch.trace(s1 + s2)) - 2 * float(scipy.linalg.sqrtm((s1 @ s2).numpy()).real.trace())
    assert frechet_distance(torch.zeros(20), s1, torch.zeros(20), s2) == pytest.approx(ref, rel=1e-8)


def test_fid_of_samples_is_zero_on_itself_and_converges_to_the_population_value():
    g = torch.Generator().manual_seed(1)
    d = 4
    s1, s2 = _random_cov(d, g), _random_cov(d, g)
    mu2 = torch.full((d,), 0.5, dtype=torch.float64)
    n = 40_000
    x = torch.randn(n, d, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(s1).T
    y = mu2 + torch.randn(n, d, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(s2).T
    assert abs(fid(x, x)) < 1e-9
    exact = frechet_distance(torch.zeros(d), s1, mu2, s2)
    assert fid(x, y) == pytest.approx(exact, rel=0.03)


# ----------------------------------------------------------------------------- KID


def test_unbiased_mmd2_has_mean_zero_on_equal_distributions_and_the_v_statistic_does_not():
    g = torch.Generator().manual_seed(2)
    repeats, m, d = 300, 100, 16
    x = torch.randn(repeats, m, d, generator=g, dtype=torch.float64)
    y = torch.randn(repeats, m, d, generator=g, dtype=torch.float64)
    u = mmd2_unbiased(x, y)  # batched over the 300 repeats
    se = u.std().item() / math.sqrt(repeats)
    assert abs(u.mean().item()) < 3 * se
    k = polynomial_kernel
    biased = k(x, x).mean((1, 2)) + k(y, y).mean((1, 2)) - 2 * k(x, y).mean((1, 2))
    assert biased.mean().item() > 30 * se  # diagonal terms bias the V-statistic upwards by O(1/m)
    # unbiased also when the distributions differ: small-sample mean ≈ large-sample value
    y_shift = y + 0.3
    big = mmd2_unbiased(torch.randn(2000, d, generator=g, dtype=torch.float64), torch.randn(2000, d, generator=g, dtype=torch.float64) + 0.3)
    small = mmd2_unbiased(x, y_shift)
    assert abs(small.mean().item() - big.item()) < 4 * small.std().item() / math.sqrt(repeats) + 0.003


def test_kid_uses_subsets_without_replacement():
    g = torch.Generator().manual_seed(3)
    a, b = torch.randn(300, 8, generator=g), torch.randn(200, 8, generator=g) + 0.5
    # subsets as large as both sets: one estimate, the U-statistic of the whole sets
    assert kid_estimates(a[:200], b, subset_size=1000).shape == (1,)
    assert kid(a[:200], b) == pytest.approx(float(mmd2_unbiased(a[:200].double(), b.double())), rel=1e-12)
    est = kid_estimates(a, b, n_subsets=7, subset_size=50, seed=4)
    assert est.shape == (7,) and len(set(est.tolist())) == 7
    assert torch.equal(est, kid_estimates(a, b, n_subsets=7, subset_size=50, seed=4))  # seeded


# ----------------------------------------------------------------------------- k-NN manifolds


def _two_blobs(n: int, modes: list[int], g: torch.Generator, d: int = 8) -> torch.Tensor:
    centre = torch.tensor(modes)[torch.randint(len(modes), (n,), generator=g)]
    return torch.randn(n, d, generator=g, dtype=torch.float64) + 10.0 * centre[:, None]


def test_precision_recall_density_coverage_known_answers():
    g = torch.Generator().manual_seed(5)
    real, same, half = _two_blobs(1000, [0, 1], g), _two_blobs(1000, [0, 1], g), _two_blobs(1000, [0], g)
    assert precision_recall(real, real) == {"precision": 1.0, "recall": 1.0}
    assert density_coverage(real, real)["coverage"] == 1.0
    dc = density_coverage(real, same)
    assert 0.85 < dc["density"] < 1.15 and dc["coverage"] > 0.9  # Naeem et al.: E[density] ≈ 1 on equal distributions
    pr_same, pr_half = precision_recall(real, same), precision_recall(real, half)
    assert pr_half["precision"] > 0.9 * pr_same["precision"]  # the half that is generated is realistic
    assert pr_half["recall"] < 0.55 * pr_same["recall"]  # but only half of the real manifold is covered
    assert 0.4 < density_coverage(real, half)["coverage"] < 0.6
    far = real + 100.0
    assert precision_recall(real, far) == {"precision": 0.0, "recall": 0.0}
    assert density_coverage(real, far) == {"density": 0.0, "coverage": 0.0}


def test_classifier_score_extremes():
    eye = torch.eye(10)
    assert classifier_score(eye.repeat(50, 1)) == pytest.approx(10.0)  # confident and balanced
    assert classifier_score(eye[3].repeat(500, 1)) == pytest.approx(1.0)  # one class
    assert classifier_score(torch.full((100, 10), 0.1)) == pytest.approx(1.0)  # no confidence
    assert classifier_score(eye.repeat(50, 1), splits=5) == pytest.approx(10.0)


def test_bad_input_is_refused():
    with pytest.raises(GenzooError, match="dimensions differ"):
        fid(torch.randn(10, 3), torch.randn(10, 4))
    with pytest.raises(GenzooError, match="non-finite"):
        kid(torch.randn(10, 3), torch.full((10, 3), float("nan")))
    with pytest.raises(GenzooError, match="at least 4 rows"):
        precision_recall(torch.randn(3, 2), torch.randn(10, 2))
    with pytest.raises(GenzooError, match=r"\[0, 1\]"):
        check_images(torch.full((2, 1, 28, 28), 2.0))
    with pytest.raises(GenzooError, match="28, 28"):
        check_images(torch.rand(2, 1, 8, 8))
    with pytest.raises(GenzooError, match="sum to 1"):
        classifier_score(torch.rand(5, 10))
    with pytest.raises(GenzooError, match="0..999"):
        count_modes(torch.tensor([0, 1000]))


# ----------------------------------------------------------------------------- the shipped classifier


@pytest.fixture(scope="module")
def mnist_test():
    ds = data.load("mnist")
    feats = channel_features(ds.test_x)  # (10 000, 1, 128), one batched pass shared by the tests below
    return ds, feats, probabilities(feats)[:, 0]


def test_shipped_weights_are_small_pinned_and_reach_99_percent(mnist_test):
    assert WEIGHTS_PATH.stat().st_size < 2_000_000
    assert hashlib.sha256(WEIGHTS_PATH.read_bytes()).hexdigest() == WEIGHTS_SHA256
    ds, _, probs = mnist_test
    accuracy = (probs.argmax(1) == ds.test_y).double().mean().item()
    assert accuracy >= 0.99


def test_classifier_score_is_about_10_on_real_mnist_and_1_on_one_digit(mnist_test):
    ds, _, probs = mnist_test
    assert 9.5 < classifier_score(probs) <= 10.0
    assert classifier_score(probs[ds.test_y == 1]) < 1.1


def test_fid_and_kid_are_zero_on_a_set_itself_and_grow_with_added_noise(mnist_test):
    ds, feats, _ = mnist_test
    perm = torch.randperm(len(ds.test_x), generator=torch.Generator().manual_seed(0))
    x, f = ds.test_x[perm[:1000]], feats[perm[:1000], 0]
    other = feats[perm[1000:2000], 0]  # 1000 other real images, drawn at random (the test split's halves differ)
    assert abs(fid(f, f)) < 1e-4  # rounding only: Tr Σ ≈ 400, FID between two real sets ≈ 3
    assert precision_recall(f, f) == {"precision": 1.0, "recall": 1.0}
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(x.shape, generator=g)
    fids, kids = [fid(f, other)], [kid(f, other)]
    for s in (0.05, 0.1, 0.2, 0.4):
        fn = embed((x + s * noise).clamp(0, 1))
        fids.append(fid(f, fn))
        kids.append(kid(f, fn))
    assert all(a < b for a, b in zip(fids, fids[1:])), fids
    assert all(a < b for a, b in zip(kids, kids[1:])), kids
    assert abs(kids[0]) < 0.15 * kids[1]  # equal distributions: KID ≈ 0 (unbiased) next to the mildest noise


# ----------------------------------------------------------------------------- Stacked-MNIST


def test_stacked_mnist_counter_finds_all_1000_modes_on_real_data(mnist_test):
    """26 000 real Stacked-MNIST samples from the MNIST test digits, each channel classified.

    The channels of a stacked image are MNIST test images, so their classes are the shipped
    classifier's predictions for those images (computed once in the fixture; the pipeline on
    images is checked against this below). KL bound: for N = 26 000 samples exactly uniform over
    K = 1000 classes, 2N·KL ~ χ²_{999}, so KL ≈ 999/52 000 = 0.0192 ± 0.0009; the test digits'
    own imbalance adds 3·KL(p_digit ‖ U₁₀) ≈ 0.005; the classifier's < 1 % per-channel error
    barely moves it. Measured: 0.0245 (modes 1000).
    """
    ds, _, probs = mnist_test
    pred = probs.argmax(1)
    index = torch.arange(len(ds.test_x), dtype=torch.float32).reshape(-1, 1, 1)  # stack indices instead of pixels
    idx, labels = stack_digits(index, ds.test_y, STACKED_N_SAMPLES, torch.Generator().manual_seed(0))
    idx = idx.long().reshape(-1, 3)
    classes = pred[idx] @ torch.tensor([100, 10, 1])
    counted = count_modes(classes)
    assert counted["modes"] >= 990
    # The MNIST test digits are not exactly balanced (1135 ones, 892 fives, ...), so the stacked
    # classes follow p(d₀)p(d₁)p(d₂) and KL adds 3·KL(p_digit ‖ U₁₀) ≈ 0.005 to the floor.
    p_digit = torch.bincount(ds.test_y, minlength=10).double() / len(ds.test_y)
    expected = kl_floor(STACKED_N_SAMPLES) + 3 * float((p_digit * (10 * p_digit).log()).sum())
    assert abs(counted["kl_to_uniform"] - expected) < 0.004  # ≈ 4.5 sd of the χ² fluctuation
    assert (classes == labels).double().mean() > 0.97  # three channels right at ~99.x % each
    # the pipeline on images classifies each channel exactly as above
    images = ds.test_x[idx[:300], 0]  # (300, 3, 28, 28)
    assert stacked_mnist_modes(images)["counts"] == count_modes(classes[:300])["counts"]


def test_stacked_mnist_one_repeated_triple_is_one_mode_with_kl_log_1000(mnist_test):
    ds = mnist_test[0]
    triple = ds.test_x[:3, 0].unsqueeze(0).expand(200, -1, -1, -1)  # 200 copies of one stacked image
    counted = stacked_mnist_modes(triple)
    assert counted["modes"] == 1
    assert counted["kl_to_uniform"] == pytest.approx(math.log(1000))


# ----------------------------------------------------------------------------- evaluate on images


class Replay(nn.Module):
    """A "model" that samples stored images (real ones, or noise)."""

    def __init__(self, images: torch.Tensor) -> None:
        super().__init__()
        self.images = images
        self.w = nn.Parameter(torch.zeros(()))

    def sample(self, n: int) -> torch.Tensor:
        return self.images[:n]


def test_evaluate_gives_image_metrics_for_mnist_family_data():
    ds = data.load("mnist", n=1000)
    good = evaluate(Replay(ds.x), ds, n=300)
    bad = evaluate(Replay(torch.rand(300, 1, 28, 28, generator=torch.Generator().manual_seed(0))), ds, n=300)
    for key in ("fid", "kid", "precision", "recall", "density", "coverage", "classifier_score", "w1"):
        assert key in good and key in bad
    assert good["fid_n"] == 300
    assert good["fid"] < 0.05 * bad["fid"] and good["kid"] < 0.05 * bad["kid"]
    assert good["precision"] > 0.6 and bad["precision"] == 0.0
    assert good["classifier_score"] > 8.0 and bad["classifier_score"] < 3.0
    # Stacked-MNIST adds modes and KL to uniform over 1000 classes
    st = data.load("stacked_mnist", n=200, n_test=200)
    out = evaluate(Replay(st.x), st, n=200)
    assert out["stacked_n"] == 200 and 150 < out["stacked_modes"] <= 200
    assert "classifier_score" not in out


# ----------------------------------------------------------------------------- Inception option


def test_inception_refuses_to_run_without_local_weights(monkeypatch, tmp_path):
    from genzoo.metrics.inception import ENV_VAR, load_inception

    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(GenzooError, match=ENV_VAR):
        load_inception()
    with pytest.raises(GenzooError, match="not found"):
        load_inception(tmp_path / "missing.pth")
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing.safetensors"))
    with pytest.raises(GenzooError, match="not found"):
        load_inception()


class _Payload:
    def __reduce__(self):
        return (print, ("code ran",))


def test_inception_loads_only_tensors_and_checks_them(tmp_path):
    from safetensors.torch import save_file

    from genzoo.metrics.inception import FIDInceptionV3, inception_features, load_inception

    code = tmp_path / "code.pth"
    torch.save({"x": _Payload()}, code)
    with pytest.raises(GenzooError, match="weights_only"):
        load_inception(code)
    wrong = tmp_path / "wrong.safetensors"
    save_file({"fc.weight": torch.zeros(3, 3)}, str(wrong))
    with pytest.raises(GenzooError, match="do not match"):
        load_inception(wrong)
    # a complete state dict round-trips: the loaded network computes the same 2048-d pool3 features
    torch.manual_seed(0)
    net = FIDInceptionV3().eval()
    for m in net.modules():  # non-trivial BN statistics so a wrong mapping would show
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    path = tmp_path / "inception.pth"
    torch.save(net.state_dict(), path)
    x = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = net(x)
    got = inception_features(x, load_inception(path))
    assert got.shape == (1, 2048)
    assert torch.allclose(got, want, atol=1e-5)
