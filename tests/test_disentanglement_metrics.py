"""Known answers for the disentanglement metrics: perfect codes ≈ 1, random codes ≈ 0 / chance, mixing penalised."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genzoo.errors import GenzooError
from genzoo.metrics.disentanglement import (
    beta_vae_score,
    dci,
    discrete_mutual_info,
    discretize,
    factor_vae_score,
    mig,
    sap,
)


class Grid:
    """A ground truth whose observations are the factor indices themselves."""

    factor_names = ("a", "b", "c")
    factor_sizes = (4, 5, 6)

    def sample_factors(self, n, rng):
        return np.stack([rng.integers(0, s, n) for s in self.factor_sizes], 1)

    def observations(self, f):
        return torch.as_tensor(np.asarray(f), dtype=torch.float32)


GT = Grid()
PERM = [2, 0, 1]
SCALE = torch.tensor([3.0, -0.5, 7.0])


def perfect(x):  # a permutation and rescaling (with a shift) of the factors
    return x[:, PERM] * SCALE + 1.0


def rotated(x):  # two codes each mixing factors a and b
    a, b = x[:, 0] / 3, x[:, 1] / 4
    return torch.stack([a + b, a - b, x[:, 2]], 1)


class Noise:
    def __init__(self):
        self.g = torch.Generator().manual_seed(0)

    def __call__(self, x):
        return torch.randn(x.shape[0], 3, generator=self.g)


def _factors(n=1500, seed=0):
    f = GT.sample_factors(n, np.random.default_rng(seed))
    return f, torch.as_tensor(f, dtype=torch.float32)


def test_discrete_information_known_values():
    a = np.repeat([0, 1], 500)
    assert discrete_mutual_info(a, a) == pytest.approx(np.log(2))
    assert discrete_mutual_info(a, np.tile([0, 1], 500)) == pytest.approx(0.0, abs=1e-12)
    # 20 equal-width bins, values on the left edges map to bins 1..20 (np.digitize on the left edges)
    z = np.linspace(0, 1, 21)[:, None]
    assert discretize(z).ravel().tolist() == list(range(1, 21)) + [20]


def test_mig_perfect_random_and_mixed():
    f, x = _factors()
    assert mig(perfect(x), f)["mig"] == pytest.approx(1.0, abs=0.02)
    assert mig(Noise()(x), f)["mig"] < 0.05
    mixed = mig(rotated(x), f)
    assert mixed["mig"] < 0.75 and mixed["per_factor"][2] == pytest.approx(1.0, abs=0.02)
    with pytest.raises(GenzooError, match="factors must have shape"):
        mig(perfect(x), f[:10])


def test_dci_perfect_random_and_mixed():
    f, x = _factors(600)
    p = dci(perfect(x), f)
    assert p["disentanglement"] > 0.95 and p["completeness"] > 0.95 and p["informativeness"] > 0.98
    r = dci(Noise()(x), f, model="forest")
    assert r["disentanglement"] < 0.2 and r["completeness"] < 0.2
    assert r["informativeness"] < 0.45  # chance: 1/4, 1/5, 1/6
    m = dci(rotated(x), f)
    assert m["disentanglement"] < p["disentanglement"] - 0.2 and m["informativeness"] > 0.9  # mixed but informative


def test_sap_perfect_random_and_mixed():
    f, x = _factors(900)
    p, r, m = sap(perfect(x), f)["sap"], sap(Noise()(x), f)["sap"], sap(rotated(x), f)["sap"]
    assert p > 0.15 and abs(r) < 0.05 and m < p


def test_beta_vae_score():
    kw = dict(n_train=400, n_eval=300, batch=16)
    assert beta_vae_score(perfect, GT, **kw)["eval_accuracy"] > 0.97
    assert beta_vae_score(Noise(), GT, **kw)["eval_accuracy"] < 0.45  # chance 1/3


def test_factor_vae_score():
    kw = dict(n_train=400, n_eval=300, batch=16, n_variance=2000)
    assert factor_vae_score(perfect, GT, **kw)["eval_accuracy"] == 1.0
    assert factor_vae_score(Noise(), GT, **kw)["eval_accuracy"] < 0.45
    assert factor_vae_score(rotated, GT, **kw)["eval_accuracy"] < 0.85
    collapsed = factor_vae_score(lambda x: torch.zeros(x.shape[0], 3), GT, **kw)
    assert collapsed["eval_accuracy"] == 0.0 and collapsed["active_dims"] == 0


def test_encoder_returning_a_distribution_uses_its_mean():
    enc = lambda x: torch.distributions.Normal(perfect(x), 1e3)  # noqa: E731
    f, x = _factors(800)
    from genzoo.metrics.disentanglement import codes_of

    assert np.allclose(codes_of(enc, x), perfect(x).double().numpy())
    with pytest.raises(GenzooError, match="ground truth"):
        beta_vae_score(perfect, object())


def test_evaluation_group_applies_to_encoders_on_data_with_factors():
    from genzoo.data import load
    from genzoo.metrics.disentanglement import Budget, disentanglement_metrics
    from genzoo.metrics.evaluate import EVALUATIONS
    from genzoo.models import MODELS, DataSpec

    import genzoo.metrics.disentanglement  # noqa: F401  (registers the group)

    ds = load("dsprites_small")
    model = MODELS.get("vae")(MODELS.get("vae").Config(latent_dim=3, width=4, hidden=16), DataSpec.of(ds))
    group = EVALUATIONS.get("disentanglement")
    assert group.applies(model, ds) and not group.applies(model, load("ring8", n=64))
    scores = disentanglement_metrics(model.encode, ds.ground_truth, Budget(10, 10, 200, 90, 200))
    assert set(scores) == {"beta_vae", "factor_vae", "mig", "dci_disentanglement", "dci_completeness",
                           "dci_informativeness", "sap"}
    assert all(-1.0 <= v <= 1.0 for v in scores.values())


def test_codes_of_factors_equals_rendering_and_encoding_every_row():
    # the plain computation, codes_of(encoder, observations(f)), against the deduplicated one: equal arrays
    from genzoo.metrics.disentanglement import codes_of, codes_of_factors

    rng = np.random.default_rng(0)
    f1, f2 = GT.sample_factors(700, rng), GT.sample_factors(300, rng)  # 120 grid points: many repeats
    net = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Tanh(), torch.nn.Linear(16, 4))
    for enc in (net, perfect):
        z1, z2 = codes_of_factors(enc, GT, f1, f2)
        assert np.array_equal(z1, codes_of(enc, GT.observations(f1))) and np.array_equal(z2, codes_of(enc, GT.observations(f2)))
    # a random encoder is called per row as before: its draws (and so its codes) are unchanged
    z1, z2 = codes_of_factors(Noise(), GT, f1, f2)
    plain = Noise()
    assert np.array_equal(z1, codes_of(plain, GT.observations(f1))) and np.array_equal(z2, codes_of(plain, GT.observations(f2)))
