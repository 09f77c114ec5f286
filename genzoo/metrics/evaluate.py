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
  bound and IWAE estimate (group ``likelihood-iw``; :mod:`genzoo.metrics.likelihood`) on
  held-out data: 500 examples and K = 64 by default, the whole test set (at most 10 000) and
  K = 1000 with ``full=True``.

What training scores (``Evaluation.tier``, declared where each group is registered): ``genzoo
eval`` scores every group that applies. Inside :func:`training_stage` (which the trainer sets
around its sample step) the sample metrics and the exact likelihood/ELBO above are always
scored; of the registered groups, tier ``"periodic"`` at every evaluation (cheap: one pass over
500 held-out examples), tier ``"final"`` only at the end-of-training evaluation (sized for the
trainer's evaluation budget: IWAE with K = ``IW_K_TRAIN``, AIS on its cheap schedule), and tier
``"eval"`` (disentanglement: thousands of encoder calls and boosted trees) only when named in
``train.eval_groups`` (docs/runs.md).
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Literal

import torch

from genzoo.metrics.modes import STANDARD_N_SAMPLES, mode_coverage  # noqa: F401 (re-exported)
from genzoo.metrics.wasserstein import wasserstein1_exact
from genzoo.registry import Registry


#: When training scores a group; ``genzoo eval`` scores every group that applies, whatever its tier.
#: "periodic": at every evaluation during training; "final": at the end-of-training evaluation;
#: "eval": only by ``genzoo eval`` (during training only when named in ``train.eval_groups``).
Tier = Literal["periodic", "final", "eval"]
TIERS: tuple[str, ...] = ("periodic", "final", "eval")


@dataclass(frozen=True)
class Evaluation:
    """An extra group of metrics: ``fn(model, dataset, seed, full) -> dict`` where ``applies(model, dataset)``.

    ``tier`` (:data:`TIERS`) says when training scores it: the one place that sets a group's cost
    during training, so the trainer's evaluation budget holds for every model alike.
    """

    name: str
    applies: Callable[[Any, Any], bool]
    fn: Callable[..., dict[str, float]]
    tier: Tier = "periodic"


#: Metric groups beyond the built-in ones (VAE rate/distortion, AIS likelihoods, disentanglement,
#: translation, …), registered by modules of :mod:`genzoo.metrics` and run by :func:`evaluate`
#: wherever they apply. A metric sees a model only through its capabilities.
EVALUATIONS: Registry[Evaluation] = Registry("evaluation", package="genzoo.metrics")  # discovered on first lookup


def evaluation(name: str, applies: Callable[[Any, Any], bool], tier: Tier = "periodic") -> Callable:
    """Register ``fn(model, dataset, seed: int, full: bool) -> dict[str, float]`` run when ``applies(model, dataset)``.

    ``tier``: when training scores it — "periodic" (cheap: every evaluation), "final" (moderate:
    the end-of-training evaluation) or "eval" (costly: only ``genzoo eval`` unless asked for).
    """
    if tier not in TIERS:
        raise ValueError(f"evaluation {name!r}: tier {tier!r} is not one of {', '.join(TIERS)}")

    def add(fn: Callable[..., dict[str, float]]) -> Callable[..., dict[str, float]]:
        EVALUATIONS.register(name)(Evaluation(name, applies, fn, tier))
        return fn

    return add


@dataclass
class Stage:
    """A training-time evaluation in progress: which one (``periodic`` or ``final``), the groups
    asked for beyond the tiers (``train.eval_groups``; "all": every group), and what was scored."""

    name: Literal["periodic", "final"]
    asked: frozenset[str] = frozenset()
    scored: list[str] = field(default_factory=list)

    def wants(self, group: Evaluation) -> bool:
        if "all" in self.asked or group.name in self.asked:
            return True
        return group.tier == "periodic" or (group.tier == "final" and self.name == "final")


# A context variable rather than an argument: the trainer sets the stage around whatever
# on_sample callback it was given, and evaluate() called inside it (however deep) sizes itself.
_STAGE: ContextVar[Stage | None] = ContextVar("genzoo_evaluation_stage", default=None)


@contextlib.contextmanager
def training_stage(name: Literal["periodic", "final"], asked: Iterable[str] = ()) -> Iterator[Stage]:
    """Evaluations inside score only the groups training scores at this stage (:meth:`Stage.wants`)."""
    stage = Stage(name, frozenset(asked))
    token = _STAGE.set(stage)
    try:
        yield stage
    finally:
        _STAGE.reset(token)


def current_stage() -> Stage | None:
    """The training-time evaluation in progress; None outside training (``genzoo eval``: every group)."""
    return _STAGE.get()


N_IMAGES_W1 = 500
#: Samples per side for FID/KID/PR in the full protocol.
N_FEATURES_FULL = 10_000
#: Fewest samples for the feature metrics (density/coverage need k + 1 = 6 real points); fewer: skipped.
MIN_FEATURE_SAMPLES = 10
#: Held-out examples for likelihoods: default and full (the full one is capped by the test set).
N_LIKELIHOOD = 500
#: Held-out examples of the IWAE estimate at the end of training (with K = IW_K_TRAIN).
N_LIKELIHOOD_TRAIN = 100
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


def _likelihood_x(dataset: Any, seed: int, full: bool) -> torch.Tensor:
    """The held-out draw of the likelihoods (exact, ELBO and IWAE score the same examples)."""
    n = n_evaluation_samples(dataset, N_LIKELIHOOD_FULL if full else N_LIKELIHOOD)
    return dataset.fresh(n, torch.Generator().manual_seed(seed + 2))


def _likelihood_metrics(model: Any, dataset: Any, seed: int, full: bool) -> dict[str, float]:
    """Exact log-likelihood and ELBO: one pass over the examples, scored at every evaluation."""
    from genzoo.metrics.likelihood import likelihood_metrics

    return likelihood_metrics(model, _likelihood_x(dataset, seed, full), which=("exact", "bound"))


def _has_iw(model: Any, dataset: Any) -> bool:
    from genzoo.metrics.likelihood import has_iw

    return has_iw(model)


# K passes over the examples: at K = 64 on 500 examples this alone took 40 % of a 300-step MNIST
# VAE's run and 70 % of a 100-step VFAE's (docs/speed.md), so training scores it once, at the end,
# on K × n = IW_K_TRAIN × N_LIKELIHOOD_TRAIN (a 40th of that; iw_k and iw_n report the size).
@evaluation("likelihood-iw", applies=_has_iw, tier="final")
def _iw_metrics(model: Any, dataset: Any, seed: int = 0, full: bool = False) -> dict[str, float]:
    from genzoo.metrics.likelihood import IW_K, IW_K_FULL, IW_K_TRAIN, likelihood_metrics

    x = _likelihood_x(dataset, seed, full)
    if current_stage() is None or full:
        return likelihood_metrics(model, x, k=IW_K_FULL if full else IW_K, which=("iw",))
    x = x[:N_LIKELIHOOD_TRAIN]  # a prefix of the ELBO's examples
    return {**likelihood_metrics(model, x, k=IW_K_TRAIN, which=("iw",)), "iw_n": float(x.shape[0])}


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
    keeps a call on 500 images cheap. Inside :func:`training_stage` only the groups training
    scores at that stage run, and their names are added to the stage's ``scored``.
    """
    from genzoo.metrics.likelihood import has_bound, has_exact
    from genzoo.progress import bar

    stage = current_stage()
    # the IWAE group first: its keys follow the ELBO's, as when it was part of the built-in likelihood
    extras = [extra for _, extra in sorted(EVALUATIONS.items(), key=lambda item: item[0] != "likelihood-iw")
              if extra.applies(model, dataset) and (stage is None or stage.wants(extra))]
    generator = torch.Generator().manual_seed(seed)
    n = n_evaluation_samples(dataset, n)
    images = uses_feature_net(dataset)
    likelihood = has_exact(model) or has_bound(model)
    # one bar over the steps (named as each starts), so a W1 or a group without a bar of its own still shows
    steps = bar(total=2 + (dataset.density is not None) + images + likelihood + len(extras), desc="evaluate",
                unit="step")
    with steps:
        steps.set_postfix_str("samples")
        if samples is None:
            samples = model.sample(n)
        drawn = samples.detach().float().cpu()
        samples = drawn[:n]
        reference = dataset.fresh(samples.shape[0], generator).cpu()
        steps.update()
        steps.set_postfix_str("W1")
        out: dict[str, float] = {"w1": wasserstein1_exact(samples, reference)}
        steps.update()
        if dataset.density is not None:
            steps.set_postfix_str("modes")
            cov = mode_coverage(samples, dataset.density.means, dataset.density.std)
            out.update(modes=float(cov["modes"]), hq_share=float(cov["hq_share"]))
            steps.update()
        if images:
            steps.set_postfix_str("image metrics")
            if samples.shape[0] >= MIN_FEATURE_SAMPLES:
                out.update(_image_metrics(model, dataset, drawn if full else samples, reference, seed, full))
            steps.update()
        if likelihood:
            steps.set_postfix_str("likelihood")
            out.update(_likelihood_metrics(model, dataset, seed, full))
            steps.update()
        for extra in extras:
            steps.set_postfix_str(extra.name)
            out.update(extra.fn(model, dataset, seed=seed, full=full))
            steps.update()
    if stage is not None:
        stage.scored.extend(["w1"] + ["modes"] * (dataset.density is not None) + ["image-features"] * images
                            + ["likelihood"] * likelihood
                            + [extra.name for extra in extras])
    return out
