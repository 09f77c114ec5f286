"""``genzoo sample RUN --sampler NAME``: which registered samplers draw from which trained runs, and how.

The samplers of :mod:`genzoo.sampling` know energies, conditionals and latent spaces, never model
classes or data sets (that layer sits below the models). This module sits above both: it maps a
run's model to the samplers that apply to it, builds each from the loaded model, and names what
it drew (file tag and picture title), so that samples of one run by different samplers or
settings never overwrite each other. ``genzoo list`` prints the same table (:func:`families`),
so the list shows exactly what ``genzoo sample`` accepts.

| sampler | runs of | what it does |
|---|---|---|
| ``ddls`` | unconditional GANs | Langevin on E(z) = ‖z‖²/2 − d(G(z)), then G(z) (Che et al. 2020) |
| ``langevin`` | ``ebm``, ``ddgm``, ``meg`` | Langevin (``metropolis=true``: MALA) on E_θ(x) in data space, from noise, data or the model's own samples |
| ``gibbs-block`` | ``rbm`` | long block-Gibbs chains from the base-rate model (noise) or from data |
| ``gibbs-single-site`` | ``bm`` | long single-site Gibbs chains (the BM's own conditional) from uniform bits or from data |
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable, Literal, NamedTuple

import torch
from torch import Tensor

from genzoo import config as cfg
from genzoo.config import check
from genzoo.errors import GenzooError


class Drawn(NamedTuple):
    """Samples and what drew them: ``tag`` goes into the file name, ``title`` onto the picture."""

    x: Tensor
    tag: str
    title: str


@dataclass(frozen=True)
class RunSampler:
    """How a registered sampler samples a trained run: for which models, with which ``--set`` keys."""

    name: str  # the sampler's name in genzoo.sampling.SAMPLERS
    config: Callable[[], type]  # the dataclass of its --set keys (imported when asked for)
    applies: Callable[[type], bool]  # the model classes it samples
    draw: Callable[[Any, Any, int, "Tensor | None", str], Drawn]  # (model, config, n, data, run name) → Drawn
    needs_data: Callable[[Any], bool]  # whether this config needs the run's training data


def _g(value: float) -> str:
    """A number for titles: short, no trailing zeros."""
    return f"{value:.3g}"


def _tag(value: float) -> str:
    """A number for file names: no dot (the CLI adds .png/.npy with Path.with_suffix), 0.001 → 0p001."""
    return f"{value:g}".replace(".", "p")


def _data_rows(data: Tensor, n: int) -> Tensor:
    """n training examples (drawn with replacement when the data set is smaller), for chains started at data."""
    idx = torch.randint(data.shape[0], (n,)) if n > data.shape[0] else torch.randperm(data.shape[0])[:n]
    return data[idx]


# ---- ddls: GAN runs --------------------------------------------------------------------------


def _is_gan(cls: type) -> bool:
    from genzoo.models.adversarial import AdversarialModel
    from genzoo.models.ali import ALI
    from genzoo.models.infogan import InfoGAN

    # ALI/BiGAN's discriminator scores (x, z) pairs, so it is no energy on x; InfoGAN's G takes (z, codes),
    # not the prior's z alone; conditional GANs need a label
    return (issubclass(cls, AdversarialModel) and not issubclass(cls, (ALI, InfoGAN))
            and not getattr(cls, "uses_labels", False))


def _draw_ddls(model: Any, config: Any, n: int, data: Tensor | None, name: str) -> Drawn:
    from genzoo.sampling.ddls import DDLS

    ddls = DDLS.from_model(model, config, data, name=name)
    x = ddls.sample(n)
    sigma = math.sqrt(2 * config.step_size) if config.noise is None else config.noise
    mala = "-mala" if config.metropolis else ""
    tag = f"ddls{mala}-k{config.steps}-eta{_tag(config.step_size)}"
    title = (f"DDLS{' (MALA)' if config.metropolis else ''}: {config.steps} Langevin steps in z, "
             f"η {_g(config.step_size)}, σ {_g(sigma)}")
    if ddls.calibration != (1.0, 0.0):
        title += ", critic calibrated"
    return Drawn(x, tag, title)


# ---- langevin: energy-based runs ----------------------------------------------------------------


@dataclass
class LangevinRunConfig:
    """``--set`` keys of ``genzoo sample RUN --sampler langevin`` (ebm, ddgm, meg runs); None: the run's own value."""

    steps: int | None = None  # K; None: 4 × the run's training chains (negatives.steps), longer than training
    step_size: float | None = None  # η
    noise: float | None = None  # σ
    metropolis: bool = False  # MALA: accept/reject each step (then no clamping to [0, 1] on images)
    grad_clip: float | None = None  # clip ∇E elementwise; 0: off
    start: Literal["noise", "data", "model"] = "noise"  # uniform noise, training examples, or the model's own samples

    def __post_init__(self) -> None:
        check(self.steps is None or self.steps >= 0, "steps", self.steps, "must be ≥ 0")
        check(self.step_size is None or (self.step_size > 0 and math.isfinite(self.step_size)), "step_size",
              self.step_size, "must be > 0")
        check(self.noise is None or self.noise >= 0, "noise", self.noise, "must be ≥ 0")
        check(self.grad_clip is None or self.grad_clip >= 0, "grad_clip", self.grad_clip, "must be ≥ 0 (0: off)")
        check(self.start in ("noise", "data", "model"), "start", self.start, "valid: noise, data, model")


def _is_ebm(cls: type) -> bool:
    from genzoo.models.ebm import EBM

    return issubclass(cls, EBM)


def _training_chain(model: Any) -> Any:
    """The run's Langevin settings: its negatives' chain, or (generator negatives) the chain defaults for its data."""
    from dataclasses import fields as dataclass_fields

    from genzoo.sampling.langevin import ChainConfig, ShortRunLangevin

    names = {f.name for f in dataclass_fields(ChainConfig)}
    chain = ChainConfig(**{k: v for k, v in model.config.negatives.options.items() if k in names})
    ShortRunLangevin.resolve(chain, model.negatives.target)
    return chain


def _draw_langevin(model: Any, config: LangevinRunConfig, n: int, data: Tensor | None, name: str) -> Drawn:
    c = _training_chain(model)
    steps = 4 * c.steps if config.steps is None else config.steps
    eta = c.step_size if config.step_size is None else config.step_size
    sigma = c.noise if config.noise is None else config.noise
    clip = c.grad_clip if config.grad_clip is None else (config.grad_clip or None)
    # MALA's proposal density has no clamp in it (genzoo.sampling.langevin refuses the pair)
    clamp = (0.0, 1.0) if model.data.kind == "images" and not config.metropolis else None
    if config.metropolis:
        check(sigma is not None and sigma > 0, "noise", sigma, "must be > 0 for metropolis=true")
    model.eval()
    with torch.no_grad():
        if config.start == "data":
            assert data is not None
            x0 = _data_rows(data, n).to(model.device).float()
        elif config.start == "model":
            x0 = model.sample(n)
        else:
            x0 = model.noise(n)
    from genzoo.sampling.langevin import langevin

    x, stats = langevin(model.energy, x0, steps, eta, sigma, config.metropolis, clip, clamp)
    kind = "mala" if config.metropolis else "langevin"
    tag = f"{kind}-k{steps}-eta{_tag(eta)}-from-{config.start}"
    title = (f"{'MALA' if config.metropolis else 'Langevin'} on E(x): {steps} steps, η {_g(eta)}, "
             f"σ {_g(sigma if sigma is not None else math.sqrt(2 * eta))}, from {config.start}")
    if config.metropolis:
        title += f", acceptance {stats.acceptance:.2f}"
    return Drawn(x, tag, title)


# ---- gibbs-block: RBM runs --------------------------------------------------------------------


@dataclass
class GibbsRunConfig:
    """``--set`` keys of ``genzoo sample RUN --sampler gibbs-block`` (rbm runs)."""

    steps: int = 1000  # block-Gibbs steps h → v (the run's own sample() uses sample_burn_in)
    start: Literal["noise", "data"] = "noise"  # noise: the base-rate model's draws (as sample()); data: training examples
    mean: bool = False  # return E[v | h] of the last step instead of a draw of v (smoother pictures)

    def __post_init__(self) -> None:
        check(self.steps >= 1, "steps", self.steps, "must be ≥ 1")
        check(self.start in ("noise", "data"), "start", self.start, "valid: noise, data")


def _is_rbm(cls: type) -> bool:
    from genzoo.models.rbm import RBM

    return issubclass(cls, RBM)


def _draw_gibbs(model: Any, config: GibbsRunConfig, n: int, data: Tensor | None, name: str) -> Drawn:
    model.eval()
    with torch.no_grad():
        if config.start == "data":
            assert data is not None
            v0 = _data_rows(data, n).reshape(n, -1).to(model.W)
            v, v_mean, _, _ = model.gibbs.from_visible(v0, config.steps)
        else:
            v, v_mean = model.gibbs_chain(n, config.steps)
    x = (v_mean if config.mean else v).reshape(n, *model.data.shape)
    what = "E[v|h]" if config.mean else "draws of v"
    tag = f"gibbs-block-k{config.steps}-from-{config.start}" + ("-mean" if config.mean else "")
    title = f"block Gibbs: {config.steps} steps from {config.start}, {what}"
    return Drawn(x, tag, title)


# ---- gibbs-single-site: fully visible BM runs ---------------------------------------------------


@dataclass
class SingleSiteRunConfig:
    """``--set`` keys of ``genzoo sample RUN --sampler gibbs-single-site`` (bm runs)."""

    sweeps: int = 1000  # full sweeps x_1..x_M (the run's own sample() uses sample_sweeps)
    start: Literal["noise", "data"] = "noise"  # noise: uniform bits (as sample()); data: training examples

    def __post_init__(self) -> None:
        check(self.sweeps >= 1, "sweeps", self.sweeps, "must be ≥ 1")
        check(self.start in ("noise", "data"), "start", self.start, "valid: noise, data")


def _is_bm(cls: type) -> bool:
    from genzoo.models.bm import BoltzmannMachine

    return issubclass(cls, BoltzmannMachine)


def _draw_single_site(model: Any, config: SingleSiteRunConfig, n: int, data: Tensor | None, name: str) -> Drawn:
    model.eval()
    with torch.no_grad():
        if config.start == "data":
            assert data is not None
            x0 = _data_rows(data, n).reshape(n, -1).to(model.W)
        else:
            x0 = torch.bernoulli(torch.full((n, model.M), 0.5, device=model.W.device, dtype=model.W.dtype))
        # the BM's own conditional p(x_i = 1 | x_∖i) = σ(b_i + Σ_j W_ij x_j), swept i = 1..M
        x = model.gibbs(x0, model.W, model.b, sweeps=config.sweeps)
    tag = f"gibbs-single-site-k{config.sweeps}-from-{config.start}"
    title = f"single-site Gibbs: {config.sweeps} sweeps from {config.start}"
    return Drawn(x.reshape(n, *model.data.shape), tag, title)


def _ddls_config() -> type:
    from genzoo.sampling.ddls import DDLSConfig  # DDLS's keys live beside its sampler

    return DDLSConfig


#: name → how it samples runs. Each name is a registered sampler of genzoo.sampling.
RUN_SAMPLERS: dict[str, RunSampler] = {
    "ddls": RunSampler("ddls", _ddls_config, _is_gan, _draw_ddls,
                       needs_data=lambda c: getattr(c, "calibration", "none") != "none"),
    "langevin": RunSampler("langevin", lambda: LangevinRunConfig, _is_ebm, _draw_langevin,
                           needs_data=lambda c: c.start == "data"),
    "gibbs-block": RunSampler("gibbs-block", lambda: GibbsRunConfig, _is_rbm, _draw_gibbs,
                              needs_data=lambda c: c.start == "data"),
    "gibbs-single-site": RunSampler("gibbs-single-site", lambda: SingleSiteRunConfig, _is_bm, _draw_single_site,
                                    needs_data=lambda c: c.start == "data"),
}


def families(sampler: str) -> list[str]:
    """The registered models whose runs ``sampler`` samples (empty: not a ``genzoo sample`` option)."""
    from genzoo.models import MODELS

    entry = RUN_SAMPLERS.get(sampler)
    return [] if entry is None else [name for name, cls in MODELS.items() if entry.applies(cls)]


def options(sampler: str) -> list[str]:
    """The ``--set`` keys of ``sampler`` on runs."""
    entry = RUN_SAMPLERS.get(sampler)
    return [] if entry is None else [f.name for f in fields(entry.config())]


def samplers_for(model: Any) -> list[str]:
    """The samplers that apply to a loaded model (conditional models: none)."""
    if getattr(model, "uses_labels", False):
        return []
    return [name for name, entry in RUN_SAMPLERS.items() if entry.applies(type(model))]


def run_samplers() -> list[str]:
    """Every sampler that samples some trained run."""
    return list(RUN_SAMPLERS)


def draw_run(run_dir: str | Path, model: Any, run_config: dict[str, Any], n: int,
             sampler: str | None = None, sets: list[str] | None = None) -> Drawn:
    """``genzoo sample RUN [--sampler NAME --set k=v ...]``: n samples of a loaded run, and what drew them.

    Without a sampler: the model's own ``sample(n)`` (tag ``""``). With one: unknown names list
    every sampler; a sampler that does not apply to this run's model names the model and the
    samplers that do; ``--set`` keys are that sampler's config fields.
    """
    model_name = run_config.get("model", getattr(model, "name", type(model).__name__))
    if sampler is None:
        if sets:
            raise GenzooError(f"--set {sets[0]!r} needs --sampler NAME (samplers for this run: "
                              f"{', '.join(samplers_for(model)) or 'none'})")
        return Drawn(model.sample(n), "", f"{n} samples (model {model_name}'s own sampler)")
    from genzoo.sampling import SAMPLERS

    SAMPLERS.get(sampler)  # unknown name → lists every sampler
    entry = RUN_SAMPLERS.get(sampler)
    if entry is None:
        raise GenzooError(f"sampler {sampler!r} does not sample trained runs; valid: {', '.join(RUN_SAMPLERS)}")
    if sampler not in samplers_for(model):
        fits = samplers_for(model)
        raise GenzooError(f"sampler {sampler!r} samples runs of {', '.join(families(sampler))}; run {str(run_dir)!r} "
                          f"holds model {model_name!r}"
                          + (f" (samplers for it: {', '.join(fits)})" if fits else " (no --sampler applies to it)"))
    config = cfg.build(entry.config(), cfg.parse_sets(sets or []))
    data = None
    if entry.needs_data(config):
        from genzoo import data as data_module

        data = data_module.load(run_config["data"]["name"], **run_config["data"]["params"]).x
    drawn = entry.draw(model, config, n, data, f"run {str(run_dir)!r}")
    return Drawn(drawn.x.detach(), drawn.tag, f"{n} samples · {drawn.title}")


def sample_run(run_dir: str | Path, model: Any, run_config: dict[str, Any], n: int,
               sampler: str | None = None, sets: list[str] | None = None) -> Tensor:
    """The samples of :func:`draw_run` alone."""
    return draw_run(run_dir, model, run_config, n, sampler, sets).x
