"""Known answers for the Gibbs samplers and persistent chains: exact enumeration of small machines."""

import itertools

import torch

from genzoo.sampling import SAMPLERS
from genzoo.sampling.enumerate import binary_states
from genzoo.sampling.gibbs import BlockGibbs, SingleSiteGibbs
from genzoo.sampling.persistent import PersistentChains


def _random_bm(m: int, seed: int, scale: float = 0.7) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(m, m, generator=g, dtype=torch.float64) * scale
    W = torch.triu(W, 1)
    W = W + W.T
    return W, torch.randn(m, generator=g, dtype=torch.float64) * 0.5


def _exact_moments(W: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    s = binary_states(b.shape[0], dtype=torch.float64)
    logits = s @ b + 0.5 * ((s @ W) * s).sum(-1)  # −Φ(x)
    p = torch.softmax(logits, 0)
    return p @ s, (s * p[:, None]).T @ s


def test_binary_states_enumerates_every_state_once():
    s = binary_states(5)
    assert s.shape == (32, 5)
    assert len({tuple(r.tolist()) for r in s}) == 32
    assert set(itertools.product([0.0, 1.0], repeat=5)) == {tuple(r.tolist()) for r in s}


def test_single_site_gibbs_matches_exact_marginals_and_pairs():
    torch.manual_seed(0)
    m = 10
    W, b = _random_bm(m, seed=1)
    mean, second = _exact_moments(W, b)
    gibbs = SingleSiteGibbs()
    x = torch.bernoulli(torch.full((4000, m), 0.5, dtype=torch.float64))
    x = gibbs(x, W, b, sweeps=30)  # burn-in
    acc_mean, acc_second, n = torch.zeros(m, dtype=torch.float64), torch.zeros(m, m, dtype=torch.float64), 0
    for _ in range(10):
        x = gibbs(x, W, b, sweeps=2)
        acc_mean += x.sum(0)
        acc_second += x.T @ x
        n += x.shape[0]
    # 40 000 correlated draws: statistics of a ±0.5 variable have sd ≤ 0.0025 per draw-set; 0.02 is ~8 sd
    assert (acc_mean / n - mean).abs().max() < 0.02
    assert (acc_second / n - second).abs().max() < 0.02
    # and the check can fail: a wrong conditional (the sum counted twice) is far off
    wrong = gibbs(torch.bernoulli(torch.full((4000, m), 0.5, dtype=torch.float64)), 2 * W, b, sweeps=30)
    assert (wrong.T @ wrong / wrong.shape[0] - second).abs().max() > 0.05


def test_block_gibbs_matches_exact_rbm_marginals():
    torch.manual_seed(0)
    D, H = 6, 4
    g = torch.Generator().manual_seed(3)
    W = torch.randn(D, H, generator=g, dtype=torch.float64)
    a, bh = torch.randn(D, generator=g, dtype=torch.float64) * 0.3, torch.randn(H, generator=g, dtype=torch.float64) * 0.3

    def sample_h(v):
        p = torch.sigmoid(bh + v @ W)
        return torch.bernoulli(p), p

    def sample_v(h):
        p = torch.sigmoid(a + h @ W.T)
        return torch.bernoulli(p), p

    v_all = binary_states(D, dtype=torch.float64)
    log_p = v_all @ a + torch.nn.functional.softplus(bh + v_all @ W).sum(-1)
    exact = torch.softmax(log_p, 0) @ v_all
    v, _, _, _ = BlockGibbs(sample_h, sample_v).from_visible(torch.zeros(20000, D, dtype=torch.float64), k=50)
    assert (v.mean(0) - exact).abs().max() < 0.02


def test_persistent_chains_live_in_buffers_and_resume():
    torch.manual_seed(0)
    chains = PersistentChains(5, (3,))
    assert "state" in dict(chains.named_buffers())
    flip = lambda s: 1 - s  # noqa: E731
    first = chains.advance(flip, init=lambda n: torch.zeros(n, 3))
    assert first.eq(1).all()
    copy = PersistentChains(5, (3,))
    copy.load_state_dict(chains.state_dict())
    assert copy.advance(flip).equal(chains.advance(flip))


def test_samplers_registered_with_docs():
    for name in ("gibbs-single-site", "gibbs-block", "persistent", "ais"):
        cls = SAMPLERS.get(name)
        assert cls.__doc__ and cls.applies_to
