"""Evaluate a model with every metric that applies to its data and its capabilities.

The rules are fixed so numbers are comparable across models and runs:

* points with a known mixture density: 2 500 samples; modes covered and high-quality share by
  the Euclidean 3σ rule of :func:`~genzoo.metrics.modes.mode_coverage`; exact W1 between the
  2 500 samples and 2 500 fresh data points (optimal assignment);
* other points: exact W1 between 2 500 samples and as many held-out points (fewer if the
  held-out set is smaller);
* images: exact W1 in pixel space (Euclidean distance between flattened images), 500 vs 500.
* 28×28 images with 1 or 3 channels (any data set of that shape — MNIST, a user's digits; other
  image shapes get pixel-space W1 only, since genzoo's feature network is trained on 28×28 digits):
  samples clipped to [0, 1], then FID, KID, precision/recall (k = 3), density/coverage (k = 5)
  on genzoo's own classifier features (:mod:`genzoo.metrics.image`; channels embedded
  separately and concatenated) against held-out images, and for 1-channel images the
  classifier score. Default: the same 500 vs 500 images as W1 (cheap enough for every sample
  step of training); ``full=True``: 10 000 vs 10 000 (``N_FEATURES_FULL``, capped by the
  held-out set), the protocol for reported numbers. FID on 500 images is biased upward
  relative to 10 000 — compare numbers only at equal sample counts (``fid_n`` is reported).
  Skipped below ``MIN_FEATURE_SAMPLES`` = 10 samples (tiny held-out sets).
* Stacked-MNIST: modes covered and KL to the uniform 1000 classes
  (:mod:`genzoo.metrics.stacked`) as ``stacked_modes``/``stacked_kl``; on the evaluation
  samples by default (``stacked_n`` of them — at 500 at most 500 modes), on 26 000 samples
  with ``full=True`` (the standard protocol).
* extra metric groups registered with :func:`evaluation` by modules of :mod:`genzoo.metrics`
  (VAE rate/distortion/active units, AIS likelihoods, disentanglement scores), wherever their
  ``applies(model, dataset)`` holds;
* models with ``log_prob`` / ``elbo`` / ``proposal``+``log_joint``: mean test log-likelihood,
  bound and IWAE estimate (:mod:`genzoo.metrics.likelihood`) on held-out data: 500 examples
  and K = 64 by default, the whole test set (at most 10 000) and K = 1000 with ``full=True``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from genzoo.metrics.modes import STANDARD_N_SAMPLES, mode_coverage  # noqa: F401 (re-exported)
from genzoo.metrics.wasserstein import wasserstein1_exact
from genzoo.registry import Registry


@dataclass(frozen=True)
class Evaluation:
    """An extra group of metrics: ``fn(model, dataset, seed, full) -> dict`` where ``applies(model, dataset)``."""

    name: str
    applies: Callable[[Any, Any], bool]
    fn: Callable[..., dict[str, float]]


#: Metric groups beyond the built-in ones (VAE rate/distortion, AIS likelihoods, disentanglement,
#: translation, …), registered by modules of :mod:`genzoo.metrics` and run by :func:`evaluate`
#: wherever they apply. A metric sees a model only through its capabilities.
EVALUATIONS: Registry[Evaluation] = Registry("evaluation")


def evaluation(name: str, applies: Callable[[Any, Any], bool]) -> Callable:
    """Register ``fn(model, dataset, seed: int, full: bool) -> dict[str, float]`` run when ``applies(model, dataset)``."""

    def add(fn: Callable[..., dict[str, float]]) -> Callable[..., dict[str, float]]:
        EVALUATIONS.register(name)(Evaluation(name, applies, fn))
        return fn

    return add

N_IMAGES_W1 = 500
#: Samples per side for FID/KID/PR in the full protocol.
N_FEATURES_FULL = 10_000
#: Fewest samples for the feature metrics (density/coverage need k + 1 = 6 real points); fewer: skipped.
MIN_FEATURE_SAMPLES = 10
#: Held-out examples for likelihoods: default and full (the full one is capped by the test set).
N_LIKELIHOOD = 500
N_LIKELIHOOD_FULL = 10_000


def n_evaluation_samples(dataset: Any, n: int | None = None) -> int:
    """The protocol's sample count for ``dataset`` (or ``n``), capped by the held-out set's size."""
    if n is None:
        n = STANDARD_N_SAMPLES if dataset.kind == "points" else N_IMAGES_W1
    if dataset.density is None:
        held_out = dataset.test_x if dataset.test_x is not None else dataset.x
        n = min(n, held_out.shape[0])
    return n


def uses_feature_net(dataset: Any) -> bool:
    """Whether the MNIST feature network applies: any 28×28 images with 1 or 3 channels (decided by
    the images' shape, not the data set's name, so a user's own 28×28 digits get FID/KID/PR)."""
    shape = tuple(dataset.x.shape[1:])
    return dataset.kind == "images" and shape[0] in (1, 3) and shape[1:] == (28, 28)


def _draw(model: Any, samples: torch.Tensor, n: int) -> torch.Tensor:
    """``samples`` topped up to n rows with fresh model samples."""
    if samples.shape[0] >= n:
        return samples[:n]
    extra = [samples]
    have = samples.shape[0]
    while have < n:  # sample in chunks so a 26 000-sample draw does not hold every activation at once
        more = model.sample(min(5000, n - have)).detach().float().cpu()
        extra.append(more)
        have += more.shape[0]
    return torch.cat(extra)[:n]


def _image_metrics(model: Any, dataset: Any, samples: torch.Tensor, reference: torch.Tensor, seed: int, full: bool) -> dict[str, float]:
    from genzoo.metrics.features import load_classifier
    from genzoo.metrics.image import image_metrics
    from genzoo.metrics.stacked import STACKED_N_SAMPLES, stacked_mnist_modes

    net = load_classifier()
    if full:
        n_feat = min(N_FEATURES_FULL, n_evaluation_samples(dataset, N_FEATURES_FULL))
        reference = dataset.fresh(n_feat, torch.Generator().manual_seed(seed + 1))
        fakes = _draw(model, samples, n_feat)
    else:
        fakes = samples
    out = image_metrics(reference, fakes.clamp(0, 1), seed=seed, net=net)
    out["fid_n"] = float(fakes.shape[0])
    if dataset.name == "stacked_mnist" and dataset.x.shape[1] == 3:
        stacked = _draw(model, samples, STACKED_N_SAMPLES) if full else samples
        counted = stacked_mnist_modes(stacked.clamp(0, 1), net)
        out.update(stacked_modes=float(counted["modes"]), stacked_kl=counted["kl_to_uniform"], stacked_n=float(counted["n_samples"]))
    return out


def _likelihood_metrics(model: Any, dataset: Any, seed: int, full: bool) -> dict[str, float]:
    from genzoo.metrics.likelihood import IW_K, IW_K_FULL, likelihood_metrics

    n = n_evaluation_samples(dataset, N_LIKELIHOOD_FULL if full else N_LIKELIHOOD)
    x = dataset.fresh(n, torch.Generator().manual_seed(seed + 2))
    return likelihood_metrics(model, x, k=IW_K_FULL if full else IW_K)


def evaluate(
    model: Any,
    dataset: Any,
    seed: int = 0,
    samples: torch.Tensor | None = None,
    n: int | None = None,
    full: bool = False,
) -> dict[str, float]:
    """Metrics of ``model`` against ``dataset``; ``samples`` may be passed to reuse a draw.

    ``full=True`` switches the image metrics to 10 000 samples (Stacked-MNIST modes to 26 000)
    and likelihoods to the whole test set — the protocol for reported numbers; the default
    keeps a call on 500 images cheap enough for every sample step of training.
    """
    from genzoo.metrics.likelihood import has_bound, has_exact, has_iw

    generator = torch.Generator().manual_seed(seed)
    n = n_evaluation_samples(dataset, n)
    if samples is None:
        samples = model.sample(n)
    drawn = samples.detach().float().cpu()
    samples = drawn[:n]
    reference = dataset.fresh(samples.shape[0], generator).cpu()
    out: dict[str, float] = {"w1": wasserstein1_exact(samples, reference)}
    if dataset.density is not None:
        cov = mode_coverage(samples, dataset.density.means, dataset.density.std)
        out.update(modes=float(cov["modes"]), hq_share=float(cov["hq_share"]))
    if uses_feature_net(dataset) and samples.shape[0] >= MIN_FEATURE_SAMPLES:
        out.update(_image_metrics(model, dataset, drawn if full else samples, reference, seed, full))
    if has_exact(model) or has_bound(model) or has_iw(model):
        out.update(_likelihood_metrics(model, dataset, seed, full))
    from genzoo.discovery import import_submodules

    import_submodules("genzoo.metrics")  # modules register their evaluations on import
    for _, extra in EVALUATIONS.items():
        if extra.applies(model, dataset):
            out.update(extra.fn(model, dataset, seed=seed, full=full))
    return out
