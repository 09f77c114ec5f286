"""The dSprites-like renderer reproduces the factor grid exactly; the fairness set's labels are as documented."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from genzoo.data import load
from genzoo.data.dsprites import FACTOR_NAMES, dsprites_grid, load_npz, small_grid
from genzoo.errors import GenzooError


def test_original_grid_counts_and_values():
    g = dsprites_grid()
    assert g.factor_names == FACTOR_NAMES == ("shape", "scale", "orientation", "pos_x", "pos_y")
    assert g.factor_sizes == (3, 6, 40, 32, 32) and g.n_images == 737_280
    v = g.values
    assert np.allclose(v[1], np.linspace(0.5, 1, 6)) and np.allclose(v[3], np.linspace(0, 1, 32))
    assert v[2][0] == 0.0 and v[2][-1] == pytest.approx(2 * math.pi) and len(np.unique(v[2])) == 40
    f = g.all_factors()
    assert f.shape == (737_280, 5)
    assert np.array_equal(g.index(f), np.arange(737_280))  # grid order = the original file's row order
    assert np.array_equal(f[1], [0, 0, 0, 0, 1])  # pos_y fastest


def test_orientation_zero_and_two_pi_render_identically():
    g = dsprites_grid()
    rng = np.random.default_rng(0)
    f0 = g.sample_factors(60, rng)
    f0[:, 2] = 0
    f39 = f0.copy()
    f39[:, 2] = 39
    assert torch.equal(g.observations(f0), g.observations(f39))
    # every other orientation of the heart (no rotational symmetry) is a different image
    hearts = np.array([[2, 5, o, 16, 16] for o in range(39)])
    x = g.observations(hearts).flatten(1)
    assert len({tuple(r.tolist()) for r in x.bool()}) == 39


def test_small_grid_has_no_duplicate_orientation_and_every_image_once():
    ds = load("dsprites_small")
    gt = ds.ground_truth
    assert gt.factor_sizes == (3, 3, 8, 8, 8) and gt.n_images == 4608
    assert len(ds.x) + len(ds.test_x) == 4608
    allf = torch.cat([ds.factors, ds.test_factors])
    assert len(set(map(tuple, allf.tolist()))) == 4608
    assert np.allclose(gt.orientations, 2 * math.pi * np.arange(8) / 8)
    # the stored images are the rendering of their factors
    assert torch.equal(ds.x[:50], gt.observations(ds.factors[:50]))
    assert load("dsprites_small", **ds.params).x.equal(ds.x)


def test_images_binary_inside_frame_and_factors_act_as_named():
    g = dsprites_grid()
    ext = np.array([[s, 5, o, px, py] for s in range(3) for o in (0, 5, 13) for px in (0, 31) for py in (0, 31)])
    x = g.observations(ext)[:, 0]
    assert set(x.unique().tolist()) == {0.0, 1.0}
    border = torch.cat([x[:, 0], x[:, -1], x[:, :, 0], x[:, :, -1]], 1)
    assert border.sum() == 0 and (x.sum((1, 2)) > 0).all()  # the largest sprites at the corners stay inside
    for s in range(3):
        area = g.observations(np.array([[s, k, 0, 16, 16] for k in range(6)])).sum((1, 2, 3))
        assert (area[1:] > area[:-1]).all()  # scale grows the sprite
        xs = g.observations(np.array([[s, 3, 0, k, 16] for k in (0, 10, 20, 31)]))[:, 0]
        ys = g.observations(np.array([[s, 3, 0, 16, k] for k in (0, 10, 20, 31)]))[:, 0]
        cx = (xs.sum(1) * torch.arange(64)).sum(1) / xs.sum((1, 2))
        cy = (ys.sum(2) * torch.arange(64)).sum(1) / ys.sum((1, 2))
        assert (cx[1:] > cx[:-1]).all() and (cy[1:] > cy[:-1]).all()  # pos_x → right, pos_y → down


def test_sample_factors_and_errors():
    g = small_grid()
    f = g.sample_factors(5000, np.random.default_rng(1))
    assert f.shape == (5000, 5) and f.dtype == np.int64
    assert all(len(np.unique(f[:, i])) == s for i, s in enumerate(g.factor_sizes))
    with pytest.raises(GenzooError, match="orientation=8 out of range"):
        g.observations(np.array([[0, 0, 8, 0, 0]]))
    with pytest.raises(GenzooError, match=r"shape \(N, 5\)"):
        g.observations(np.zeros((2, 4)))
    with pytest.raises(GenzooError, match="not found"):
        load_npz("/nonexistent/dsprites.npz")


def test_npz_loader_rejects_wrong_arrays(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, imgs=np.zeros((3, 64, 64), np.uint8), latents_classes=np.zeros((3, 6), np.int64))
    with pytest.raises(GenzooError, match="not the dSprites grid"):
        load_npz(p)


def test_fair_dataset_sensitive_attribute_balanced_and_independent_of_task():
    ds = load("dsprites_fair")
    s = torch.cat([ds.y, ds.test_y])
    t = torch.cat([ds.task, ds.test_task])
    table = torch.zeros(2, 3)
    for a, b in zip(s.tolist(), t.tolist()):
        table[a, b] += 1
    assert (table == 4608 / 6).all()  # a full product: s ⟂ t, both balanced
    f = ds.factors
    assert torch.equal(ds.y, (f[:, 3] >= 4).long()) and torch.equal(ds.task, f[:, 0])
