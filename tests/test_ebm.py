"""Energy-based models: learning on a 2-D mixture, the EBM ↔ Kim & Bengio bridge, MEG, bad input."""

import pytest
import torch

from genzoo import config
from genzoo.bench.ebm_density import density_kl
from genzoo.data.synthetic import GaussianMixture, ring_means
from genzoo.errors import GenzooError
from genzoo.models import MODELS, DataSpec

MIX = GaussianMixture(ring_means(4, 1.5), 0.3)
POINTS = DataSpec("points", (2,))


def build(name, **sets):
    torch.manual_seed(0)
    cls = MODELS.get(name)
    return cls(config.build(cls.Config, sets), POINTS)


def fit(model, steps, batch=128, seed=1):
    x = MIX.sample(4000, torch.Generator().manual_seed(seed))
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        out = model.step(x[torch.randint(0, len(x), (batch * model.batches_per_step,), generator=g)])
    return out


@pytest.mark.parametrize("negatives", ["short-run", "replay"])
def test_ebm_learns_a_2d_mixture(negatives):
    model = build("ebm", negatives=negatives, hidden=32, **{"negatives.steps": 15})
    kl0 = density_kl(model.energy, MIX.log_prob, -3.5, 3.5, bins=80)
    fit(model, 100)
    kl = density_kl(model.energy, MIX.log_prob, -3.5, 3.5, bins=80)
    data = MIX.sample(2000, torch.Generator().manual_seed(5))
    noise = torch.rand(2000, 2, generator=torch.Generator().manual_seed(6)) * 7 - 3.5
    with torch.no_grad():
        gap = (model.energy(noise).mean() - model.energy(data).mean()).item()
    assert gap > 2.0  # data's energy lowered relative to noise
    assert kl[0] < 0.6 * kl0[0] and kl[1] < 0.6 * kl0[1]  # closer to the truth, both ways


def test_ebm_with_a_generator_sampler_is_ddgm_bit_for_bit():
    """The GAN↔EBM bridge (Kim & Bengio 2016): ebm whose negatives come from a generator with BN entropy IS Kim & Bengio."""
    kb = {"negatives": "generator", "negatives.entropy": "batchnorm", "energy_head": "kim-bengio", "energy_reg": 0.0,
          "beta1": 0.5, "hidden": 16, "negatives.hidden": 16}
    a = build("ebm", **kb)
    fit(a, 5)
    b = build("ddgm", hidden=16, **{"negatives.hidden": 16})
    fit(b, 5)
    assert type(a).Config is not type(b).Config
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_ddgm_generator_update_descends_energy_minus_bn_entropy():
    from genzoo.estimators.entropy import batchnorm_entropy

    model = build("ddgm", hidden=16, **{"negatives.hidden": 16})
    fit(model, 3)
    before = batchnorm_entropy(model.negatives.G).item()
    out = model.negatives.update(64)
    assert abs(out["entropy"].item() - before) < 1e-5  # Ĥ is the batch-norm entropy of G
    # the entropy term widens G: with it the BN entropy ends higher than without it
    fit(model, 20)
    without = build("ddgm", hidden=16, **{"negatives.hidden": 16, "negatives.entropy_weight": 0.0})
    fit(without, 24)
    assert batchnorm_entropy(model.negatives.G).item() > batchnorm_entropy(without.negatives.G).item() + 0.5


def test_meg_trains_and_samples_with_mala_in_latent_space():
    model = build("meg", hidden=16, **{"negatives.hidden": 16, "negatives.latent_steps": 10})
    out = fit(model, 3)
    assert {"grad_penalty", "entropy", "loss_g"} <= set(out)
    x = model.sample(64)
    assert x.shape == (64, 2) and torch.isfinite(x).all()
    assert 0.0 < model.last_chain.acceptance <= 1.0


def test_bad_ebm_config_is_named():
    with pytest.raises(GenzooError, match="negatives='bogus'.*valid: .*generator, .*replay, .*short-run"):
        build("ebm", negatives="bogus")
    with pytest.raises(GenzooError, match="unknown config key 'negatives.entropy'.*valid: negatives.steps"):
        build("ebm", **{"negatives.entropy": "batchnorm"})  # an option of the generator, not of the replay chains
    with pytest.raises(GenzooError, match="negatives.step_size=-1"):
        build("ebm", **{"negatives.step_size": -1.0})
    with pytest.raises(GenzooError, match="negatives.reinit=1.5"):
        build("ebm", **{"negatives.reinit": 1.5})
    with pytest.raises(GenzooError, match="negatives.entropy='bogus'.*valid: none, batchnorm, jsd-mi"):
        build("ddgm", **{"negatives.entropy": "bogus"})
