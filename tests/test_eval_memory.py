"""`genzoo eval --full` streams its heavy steps in chunks sized to a memory budget, with unchanged results.

The budget is a fraction of the free memory (genzoo.resources.memory_budget); here the free
memory is monkeypatched down to a few MiB, so every step must choose small chunks — asserted on
the chunk sizes chosen (tracemalloc does not see torch's CPU allocator) — and give exactly the
numbers of the unconstrained run. A step whose single item cannot fit is refused in one line.
"""

from __future__ import annotations

import pytest
import torch

from genzoo.errors import GenzooError
from genzoo import resources

MiB = 2**20


def _free(monkeypatch: pytest.MonkeyPatch, n_bytes: int | None) -> None:
    monkeypatch.setattr(resources, "available_memory", lambda device="cpu": n_bytes)


def test_chunk_sizes_follow_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    from genzoo.metrics.image import distance_rows, kid_chunk

    _free(monkeypatch, 64 * MiB)  # budget: a quarter, 16 MiB
    budget = resources.memory_budget()
    assert budget == 16 * MiB
    rows = distance_rows(10_000, 10_000)  # the --full protocol's 10 000 × 10 000 feature distances
    assert 1 <= rows < 1024 and rows * 16 * 10_000 <= budget
    assert kid_chunk(1000, 128, 100) == 1  # one 1000-subset's kernels (24 MB) exceed the budget: one at a time
    _free(monkeypatch, 64 * 2**30)
    assert distance_rows(10_000, 10_000) == 1024 and kid_chunk(1000, 128, 100) == 10  # the former fixed sizes


def test_a_step_that_cannot_fit_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from genzoo.metrics.image import distance_rows

    _free(monkeypatch, 1 * MiB)
    with pytest.raises(GenzooError, match=r"pairwise feature distances .* needs at least 1.53 MiB .* more than the 1 MiB of free RAM") as e:
        distance_rows(100_000, 100_000)
    assert "\n" not in str(e.value)


def test_unknown_free_memory_gets_a_modest_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    _free(monkeypatch, None)
    assert resources.memory_budget() == resources.UNKNOWN_MEMORY_BUDGET
    assert resources.fit_chunk(10.0, 5, "x") == 5


def test_kid_and_manifold_metrics_equal_unchunked(monkeypatch: pytest.MonkeyPatch) -> None:
    from genzoo.metrics import image

    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(300, 16, generator=g), torch.randn(280, 16, generator=g) + 0.3
    expected_kid = image.kid_estimates(real, fake, n_subsets=12, subset_size=50)
    expected = image.manifold_metrics(real, fake)
    _free(monkeypatch, 4 * 16 * 300 * 7)  # budget: 7 distance rows; KID: one subset at a time
    assert image.distance_rows(300, 280) == 7 and image.kid_chunk(50, 16, 12) == 1
    assert torch.equal(image.kid_estimates(real, fake, n_subsets=12, subset_size=50), expected_kid)
    assert image.manifold_metrics(real, fake) == expected


def test_image_metrics_and_stacked_modes_equal_unchunked(monkeypatch: pytest.MonkeyPatch) -> None:
    from genzoo.metrics.features import load_classifier
    from genzoo.metrics.image import feature_batch, image_metrics
    from genzoo.metrics.stacked import stacked_mnist_modes

    net = load_classifier()
    g = torch.Generator().manual_seed(1)
    real, fake = torch.rand(24, 1, 28, 28, generator=g), torch.rand(20, 1, 28, 28, generator=g)
    stacked = torch.rand(16, 3, 28, 28, generator=g)
    expected, expected_modes = image_metrics(real, fake, net=net), stacked_mnist_modes(stacked, net)
    per_image = net._genzoo_bytes_per_image  # measured once per network
    _free(monkeypatch, 4 * 5 * per_image)  # budget: 5 images per batch of the feature network
    assert feature_batch(net, 48) == 5
    assert image_metrics(real, fake, net=net) == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert stacked_mnist_modes(stacked, net)["counts"] == expected_modes["counts"]


def test_iw_likelihood_streams_within_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    from genzoo.metrics import likelihood
    from genzoo.models import MODELS, DataSpec

    torch.manual_seed(0)
    cls = MODELS.get("vae")
    model = cls(cls.Config(arch="mlp", hidden=16, latent_dim=4, observation="bernoulli"), DataSpec("images", (1, 8, 8))).eval()
    x = (torch.rand(30, 1, 8, 8) > 0.5).float()
    torch.manual_seed(1)
    with torch.no_grad():
        expected = likelihood.iw_log_likelihood(model, x, k=40, chunk=16, memory=2**40)
    calls: list[int] = []
    log_joint = model.log_joint
    monkeypatch.setattr(model, "log_joint", lambda x, z: (calls.append(z.shape[0]), log_joint(x, z))[1])
    monkeypatch.setattr(resources, "available_memory", lambda device="cpu": 4 * 200_000)  # budget 200 kB
    torch.manual_seed(1)
    with torch.no_grad():
        got = likelihood.iw_log_likelihood(model, x, k=40, chunk=16)
    assert torch.equal(got, expected)
    assert 1 < max(calls) < 16  # sub-chunks of samples, smaller than the draw chunk
