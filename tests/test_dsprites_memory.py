"""Disentanglement on the full dSprites-like grid streams its images within the memory budget (issue 24).

The full grid is 737 280 images of 64 × 64 float32: 12 GB rendered at once, which a full β-VAE score's
votes nearly reach. The free memory is faked (as in tests/test_eval_memory.py): the rendering must
choose chunks within the budget, give exactly the unchunked codes, and refuse in one line where
even one image (or a requested data set) cannot fit.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genzoo import data
from genzoo.data.dsprites import dsprites_grid, small_grid
from genzoo.errors import GenzooError
from genzoo.metrics import disentanglement as dis
from genzoo import resources

GiB = 2**30


def _free(monkeypatch: pytest.MonkeyPatch, n_bytes: int | None) -> None:
    monkeypatch.setattr(resources, "available_memory", lambda device="cpu": n_bytes)


def test_full_grid_rendering_fits_a_24_gb_machine(monkeypatch):
    gt = dsprites_grid()
    every = gt.all_factors()
    per_image = 2 * 64 * 64 * 4
    assert len(every) * per_image / 2 > 12 * 10**9  # what one unchunked rendering held
    _free(monkeypatch, 20 * GiB)  # what a 24 GB machine has free
    chunk = dis.render_chunk(gt, every)
    assert 1 <= chunk < len(every) and chunk * per_image <= resources.memory_budget()


def test_chunked_codes_equal_the_unchunked_ones(monkeypatch):
    gt = small_grid(scales=2, orientations=4, positions=4, size=16)
    rng = np.random.default_rng(0)
    f1, f2 = gt.sample_factors(700, rng), gt.sample_factors(300, rng)
    encoder = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(256, 3))
    expected = dis.codes_of_factors(encoder, gt, f1, f2)

    def random_codes(x: torch.Tensor) -> torch.Tensor:  # not deterministic: called in the same batches, same draws
        return torch.randn(len(x), 2) + x.flatten(1).mean(1, keepdim=True)

    torch.manual_seed(1)
    expected_random = dis.codes_of_factors(random_codes, gt, f1, f2, batch=64)
    unique = np.unique(np.concatenate([f1, f2]), axis=0)
    small = 40 * 2 * 16 * 16 * 4  # a budget of 40 images
    assert dis.render_chunk(gt, unique, budget=small) == 40 < len(unique)
    got = dis.codes_of_factors(encoder, gt, f1, f2, budget=small)
    torch.manual_seed(1)
    got_random = dis.codes_of_factors(random_codes, gt, f1, f2, batch=64, budget=small)
    for a, b in zip(expected + expected_random, got + got_random):
        assert np.array_equal(a, b)


def test_an_image_that_cannot_fit_is_refused_in_one_line(monkeypatch):
    _free(monkeypatch, 1024)
    gt = dsprites_grid()
    with pytest.raises(GenzooError, match=r"rendering the ground truth's images .* needs at least .* more than the 1 KiB") as e:
        dis.render_chunk(gt, gt.all_factors()[:10])
    assert "\n" not in str(e.value)


def test_the_whole_dsprites_grid_as_data_is_refused_up_front(monkeypatch):
    _free(monkeypatch, 8 * GiB)
    with pytest.raises(GenzooError, match=r"dsprites with n=735280, n_test=2000 .* needs at least 11.2 GiB") as e:
        data.load("dsprites", n=735_280)
    assert "\n" not in str(e.value) and "smaller data.n" in str(e.value)
