"""Two-domain data, DualGAN and CVAE-GAN: equations, learning on 8×8 digits in seconds, bad input."""

import numpy as np
import pytest
import torch
from PIL import Image

from genzoo import config, data
from genzoo.data.two_domain import PAIRS, to_domain
from genzoo.errors import GenzooError
from genzoo.models import MODELS, DataSpec
from genzoo.models.cvae_gan import class_mean_feature_matching, kl_standard_normal, mean_feature_matching


def make(name, dataset, **sets):
    cls = MODELS.get(name)
    return cls(config.build(cls.Config, sets), DataSpec.of(dataset))


# ----------------------------------------------------------------------------- data
def _keys(x):
    return [bytes(row) for row in x.flatten(1).numpy()]


@pytest.mark.parametrize("pair", PAIRS)
def test_two_domain_digits_unpaired_disjoint_and_seeded(pair):
    ds = data.load("two_domain_digits", pair=pair)
    base = data.load("digits")
    assert ds.x.shape == base.x.shape and ds.n_classes == 2
    assert abs(int((ds.y == 0).sum()) - int((ds.y == 1).sum())) <= 1
    (u, du), (v, dv) = ds.domain(0), ds.domain(1)
    original = dict(zip(_keys(base.x), base.y.tolist()))
    source_of = dict(zip(_keys(to_domain(base.x, pair)), _keys(base.x)))
    # A holds originals with their digits; B holds T(x) of the *other* training images
    assert all(original.get(k) == d for k, d in zip(_keys(u), du.tolist()))
    b_sources = [source_of.get(k) for k in _keys(v)]
    assert None not in b_sources and [original[k] for k in b_sources] == dv.tolist()
    assert len(set(_keys(u)) & set(b_sources)) <= 2  # disjoint halves (a few 8×8 digits are exact duplicates)
    again = data.load("two_domain_digits", **ds.params)
    assert again.x.equal(ds.x) and again.digit.equal(ds.digit)
    assert not data.load("two_domain_digits", pair=pair, seed=1).x.equal(ds.x)


def test_transforms_are_what_the_docs_say():
    x = torch.rand(3, 1, 8, 8)
    torch.testing.assert_close(to_domain(x, "invert"), 1 - x)
    torch.testing.assert_close(to_domain(to_domain(x, "rotate"), "rotate", inverse=True), x)
    torch.testing.assert_close(to_domain(x, "rotate")[0, 0, 0, 0], x[0, 0, 0, -1])  # 90° counter-clockwise
    thick = to_domain(x, "thicken")
    assert (thick >= x).all() and thick[0, 0, 3, 3] == x[0, 0, 2:5, 2:5].max()
    with pytest.raises(GenzooError, match="no inverse"):
        to_domain(x, "thicken", inverse=True)
    with pytest.raises(GenzooError, match="pair='blur'"):
        data.load("two_domain_digits", pair="blur")


def _write(folder, n, size, value):
    folder.mkdir()
    for i in range(n):
        Image.fromarray(np.full((size, size), value + i, dtype=np.uint8)).save(folder / f"{i}.png")


def test_user_folders_as_domains(tmp_path):
    _write(tmp_path / "a", 6, 8, 10)
    _write(tmp_path / "b", 5, 8, 200)
    ds = data.load("two_domain_folders", a=str(tmp_path / "a"), b=str(tmp_path / "b"), test_fraction="0.2")
    assert ds.x.shape[1:] == (1, 8, 8) and sorted(ds.y.tolist() + ds.test_y.tolist()) == [0] * 6 + [1] * 5
    assert (ds.x[ds.y == 1] > 0.7).all() and (ds.x[ds.y == 0] < 0.1).all()
    _write(tmp_path / "big", 4, 12, 100)
    with pytest.raises(GenzooError, match="differ in image size.*12x12"):
        data.load("two_domain_folders", a=str(tmp_path / "a"), b=str(tmp_path / "big"))
    resized = data.load("two_domain_folders", a=str(tmp_path / "a"), b=str(tmp_path / "big"), resize="true")
    assert resized.x.shape[1:] == (1, 8, 8)
    with pytest.raises(GenzooError, match="needs both domains"):
        data.load("two_domain_folders", a=str(tmp_path / "a"))


# ----------------------------------------------------------------------------- DualGAN
@pytest.fixture(scope="module")
def two():
    return data.load("two_domain_digits", pair="invert")


def test_dualgan_refuses_one_domain_and_bad_translate(two):
    with pytest.raises(GenzooError, match="dualgan needs two domains.*10 value"):
        make("dualgan", data.load("digits"))
    one = data.Dataset("one", two.x[two.y == 0], "images", two.y[two.y == 0])
    with pytest.raises(GenzooError, match="dualgan needs two domains"):
        make("dualgan", one)
    model = make("dualgan", two, width=4)
    with pytest.raises(GenzooError, match="direction 'up'"):
        model.translate(two.x[:2], "up")
    with pytest.raises(GenzooError, match="shape"):
        model.translate(torch.rand(2, 1, 12, 12), "a2b")
    from genzoo.bench.translation import translate

    with pytest.raises(GenzooError, match="'gan' has no translate.*dualgan"):
        translate(make("gan", data.load("digits"), width=4, z_dim=4), two.x[:2], "a2b")


def test_dualgan_losses_match_the_paper(two):
    torch.manual_seed(0)
    m = make("dualgan", two, width=4).eval()  # eval: no dropout, so both sides see the same networks
    u, v = two.x[two.y == 0][:8], two.x[two.y == 1][:8]
    critic, gen = m.critic_loss(u, v), m.generator_loss(u, v)
    la = m.D_A(m.G_A(u)).mean() - m.D_A(v).mean()
    lb = m.D_B(m.G_B(v)).mean() - m.D_B(u).mean()
    torch.testing.assert_close(critic["loss_d"], la + lb)
    rec = 500 * (u - m.G_B(m.G_A(u))).abs().mean() + 500 * (v - m.G_A(m.G_B(v))).abs().mean()
    torch.testing.assert_close(gen["loss_g"], rec - m.D_A(m.G_A(u)).mean() - m.D_B(m.G_B(v)).mean())
    m.train()
    idx = torch.randperm(len(two.x), generator=torch.Generator().manual_seed(0))[:64]
    m.step((two.x[idx], two.y[idx]))
    assert max(p.abs().max() for p in m.D_A.parameters()) <= 0.01 + 1e-7  # clipped to c


def test_dualgan_cycle_error_falls(two):
    torch.manual_seed(0)
    m = make("dualgan", two, width=8, optimizer="adam", lr_g=2e-3, lr_d=2e-3)
    u, v = two.domain(0, test=True)[0], two.domain(1, test=True)[0]

    def cycle():
        return ((m.translate(m.translate(u, "a2b"), "b2a") - u).abs().mean()
                + (m.translate(m.translate(v, "b2a"), "a2b") - v).abs().mean()).item() / 2

    before = cycle()
    g = torch.Generator().manual_seed(0)
    for _ in range(40):
        idx = torch.randint(0, len(two.x), (64,), generator=g)
        m.step((two.x[idx], two.y[idx]))
    after = cycle()
    assert after < 0.75 * before, (before, after)
    s = m.sample(6)
    assert s.shape == (6, 1, 8, 8) and not s.equal(m.sample(6))


# ----------------------------------------------------------------------------- CVAE-GAN
def test_cvae_gan_terms_match_their_equations():
    torch.manual_seed(0)
    mu, logvar = torch.randn(5, 3), torch.randn(5, 3)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    exact = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(1)
    torch.testing.assert_close(kl_standard_normal(mu, logvar), exact)
    fr, ff, c = torch.randn(6, 4), torch.randn(6, 4), torch.tensor([0, 0, 1, 1, 1, 2])
    torch.testing.assert_close(mean_feature_matching(fr, ff), 0.5 * ((fr.mean(0) - ff.mean(0)) ** 2).sum())
    by_hand = sum(0.5 * ((fr[c == k].mean(0) - ff[c == k].mean(0)) ** 2).sum() for k in range(3))
    torch.testing.assert_close(class_mean_feature_matching(fr, ff, c), by_hand)


def test_cvae_gan_generator_sees_no_cross_entropy():
    """θ_G moves only by λ2 L_G + λ3 L_GD + λ4 L_GC: with those weights at 0 (and E fixed), G stays put."""
    ds = data.load("digits", n=64)
    torch.manual_seed(0)
    m = make("cvae-gan", ds, width=4, z_dim=4, lambda_rec=0.0, lambda_gd=0.0, lambda_gc=0.0)
    before_g, before_d = [p.clone() for p in m.G.parameters()], [p.clone() for p in m.D.parameters()]
    m.step((ds.x[:16], ds.y[:16]))
    assert all(p.equal(b) for p, b in zip(m.G.parameters(), before_g))
    assert not all(p.equal(b) for p, b in zip(m.D.parameters(), before_d))  # while D does learn


def test_cvae_gan_class_transfer_beats_chance():
    from sklearn.linear_model import LogisticRegression

    ds = data.load("digits")
    clf = LogisticRegression(max_iter=1000).fit(ds.x.flatten(1).numpy(), ds.y.numpy())
    torch.manual_seed(0)
    m = make("cvae-gan", ds, width=16, z_dim=16, lr=1e-3)
    g = torch.Generator().manual_seed(0)
    x, c = ds.test_x[:200], ds.test_y[:200]
    c_new = (c + 1 + torch.randint(0, 9, c.shape, generator=g)) % 10  # every target differs from the source

    def accuracy():
        return float((torch.from_numpy(clf.predict(m.transfer(x, c, c_new).flatten(1).numpy())) == c_new).float().mean())

    before = accuracy()
    for _ in range(80):
        idx = torch.randint(0, len(ds.x), (64,), generator=g)
        m.step((ds.x[idx], ds.y[idx]))
    after = accuracy()
    assert before < 0.3 and after > 0.5, (before, after)  # chance is 0.1
    with pytest.raises(GenzooError, match="c_new must lie in 0..9"):
        m.transfer(x[:2], c[:2], torch.tensor([3, 12]))
