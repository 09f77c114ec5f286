"""Discriminator Driven Latent Sampling (Che et al. 2020): any GAN is secretly an energy-based model.

With the optimal discriminator D*(x) = p(x) / (p(x) + q_G(x)) and its logit d = σ⁻¹(D),
p(x) = q_G(x) e^{d(x)} / Z: the data density is the generator's density re-weighted by the
discriminator. Sampling it in x needs q_G(x), which is intractable; in the latent space it is
not. Pulled back through x = G(z), the density over z is

    p_t(z) ∝ p(z) e^{d(G(z))} = exp(−E(z)),    E(z) = ‖z‖²/2 − d(G(z))     (prior N(0, I)),

and DDLS runs Langevin dynamics on E(z) from z ~ N(0, I), then returns G(z_K):

    z ← z − η ∇_z E(z) + σ ξ,    ξ ~ N(0, I).

The same :func:`~genzoo.sampling.langevin.langevin` code runs here, on ``ebm``'s data-space
chains and on ``meg``'s latent chains — the GAN↔EBM bridge made literal.

**Critics that are not logits** (WGAN, WGAN-GP, hinge, least squares, the reconstruction
energies of EBGAN/BEGAN): the density-ratio reading needs a logit. Che et al. calibrate such a
critic with a logistic regression on top of it, d̃(x) = a·d(x) + b, fitted (with G and D fixed)
to tell real data from G(z) by cross-entropy; d̃ is then a logit. ``calibration="auto"`` does
this for every objective except ``minimax`` and ``nonsaturating`` (whose d already is the
logit); ``"logistic"`` forces it, ``"none"`` uses d as it is.

Defaults (genzoo, stated): K = 100 steps, η = 0.01, σ = √(2η) (the tied textbook choice of the
seed deck, slide 40), no Metropolis correction (``metropolis=true`` gives MALA in z).
``genzoo sample RUN --sampler ddls --set steps=200 --set step_size=0.005`` runs it on a trained
GAN run (:mod:`genzoo.run_sampling` maps runs to the samplers that apply).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Literal

import torch
from torch import Tensor, nn

from genzoo.config import check
from genzoo.errors import GenzooError
from genzoo.sampling import register_sampler
from genzoo.sampling.langevin import Energy, LangevinStats, discriminator_energy, langevin

#: Objectives whose discriminator output is already the logit of D = σ(d).
LOGIT_OBJECTIVES = ("minimax", "nonsaturating")


def latent_energy(generator: Callable[[Tensor], Tensor], energy_x: Energy, prior: bool = True) -> Energy:
    """E(z) = ‖z‖²/2 · [prior] + E_x(G(z)): an energy on x pulled back to the latent space of G."""

    def energy(z: Tensor) -> Tensor:
        e = energy_x(generator(z))
        if prior:
            e = e + 0.5 * z.flatten(1).pow(2).sum(1)
        return e

    return energy


def fit_calibration(d: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, iters: int = 200) -> tuple[float, float]:
    """(a, b) of the logistic regression σ(a·d(x) + b) of real (label 1) against fake (label 0).

    Fitted by L-BFGS on the mean cross-entropy in float64; d is evaluated once, without gradient.
    """
    with torch.no_grad():
        s = torch.cat([d(real).reshape(-1), d(fake).reshape(-1)]).double().cpu()
    y = torch.cat([torch.ones(real.shape[0]), torch.zeros(fake.shape[0])]).double()
    scale = s.std().clamp_min(1e-12)  # the fit is better conditioned on a standardised score
    mu = s.mean()
    t = (s - mu) / scale
    w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=iters, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        opt.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(w[0] * t + w[1], y)
        loss.backward()
        return loss

    opt.step(closure)
    w = w.detach()
    a = float(w[0] / scale)
    b = float(w[1] - w[0] * mu / scale)
    return a, b


@dataclass
class DDLSConfig:
    """``--set`` keys of ``genzoo sample RUN --sampler ddls``."""

    steps: int = 100  # K Langevin steps in z (0: plain G(z))
    step_size: float = 0.01  # η
    noise: float | None = None  # σ; None: √(2η)
    metropolis: bool = False  # MALA in z
    calibration: Literal["auto", "logistic", "none"] = "auto"
    calibration_n: int = 5000  # real and generated samples for the logistic calibration

    def __post_init__(self) -> None:
        check(self.steps >= 0, "steps", self.steps, "must be ≥ 0")
        check(self.step_size > 0 and math.isfinite(self.step_size), "step_size", self.step_size, "must be > 0")
        check(self.noise is None or self.noise >= 0, "noise", self.noise, "must be ≥ 0")
        check(self.calibration in ("auto", "logistic", "none"), "calibration", self.calibration,
              "valid: auto, logistic, none")
        check(self.calibration_n >= 2, "calibration_n", self.calibration_n, "must be ≥ 2")


@register_sampler("ddls")
class DDLS(nn.Module):
    """Discriminator driven latent sampling (Che et al. 2020): Langevin on E(z) = ‖z‖²/2 − d(G(z)), then G(z)."""

    applies_to = "a trained GAN run (generator G, discriminator d): genzoo sample RUN --sampler ddls"
    Config = DDLSConfig

    def __init__(self, generator: nn.Module, d: Callable[[Tensor], Tensor], prior: Callable[[int], Tensor],
                 config: DDLSConfig | None = None, calibration: tuple[float, float] = (1.0, 0.0)) -> None:
        super().__init__()
        self.G, self.prior, self.config = generator, prior, config or DDLSConfig()
        self._d = d
        self.calibration = calibration
        self.last: LangevinStats | None = None

    def d(self, x: Tensor) -> Tensor:
        """The calibrated logit d̃(x) = a·d(x) + b."""
        a, b = self.calibration
        return a * self._d(x).reshape(x.shape[0]) + b

    def energy(self, z: Tensor) -> Tensor:
        """E(z) = ‖z‖²/2 − d̃(G(z)), shape (N,)."""
        return latent_energy(self.G, discriminator_energy(self.d))(z)

    def run(self, z0: Tensor, steps: int | None = None) -> Tensor:
        """z_K after K Langevin (or MALA) steps from z0."""
        c = self.config
        z, self.last = langevin(self.energy, z0, c.steps if steps is None else steps, c.step_size, c.noise,
                                c.metropolis)
        return z

    @torch.no_grad()
    def forward(self, z0: Tensor, steps: int | None = None) -> Tensor:
        """G(z_K) for chains started at z0."""
        return self.G(self.run(z0, steps))

    def sample(self, n: int, steps: int | None = None) -> Tensor:
        """n samples G(z_K), z_0 ~ N(0, I)."""
        return self(self.prior(n), steps)

    @classmethod
    def from_model(cls, model: Any, config: DDLSConfig | None = None, data: Tensor | None = None,
                   name: str = "this model") -> "DDLS":
        """DDLS on a trained adversarial model (eval mode); ``data`` feeds the logistic calibration."""
        config = config or DDLSConfig()
        # duck-typed: the sampling layer knows no model classes (genzoo.run_sampling picks the runs)
        if not all(callable(getattr(model, a, None)) for a in ("G", "d", "prior")) or getattr(model, "uses_labels", False):
            raise GenzooError(f"DDLS needs an unconditional GAN (generator G and discriminator d); "
                              f"{name} holds model {getattr(model, 'name', type(model).__name__)!r}")
        model.eval()
        ddls = cls(model.G, model.d, model.prior, config)
        objective = getattr(getattr(model, "objective", None), "name", None)
        if config.calibration == "logistic" or (config.calibration == "auto" and objective not in LOGIT_OBJECTIVES):
            if data is None:
                raise GenzooError(f"DDLS calibration of {name} (objective {objective!r}) needs data samples")
            real = data[torch.randperm(data.shape[0])[: config.calibration_n]].to(model.device)
            with torch.no_grad():
                fake = model.G(model.prior(real.shape[0]))
            ddls.calibration = fit_calibration(model.d, real, fake)
        return ddls
