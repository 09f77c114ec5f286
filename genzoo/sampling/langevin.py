"""Langevin dynamics on an energy E(x), with an optional Metropolis correction (MALA).

One update of the unadjusted Langevin algorithm (ULA) with step size η and noise scale σ,

    x' = x − η g(x) + σ ξ,    ξ ~ N(0, I),    g(x) = clip(∇_x E(x), −c, c),

samples p(x) ∝ exp(−E(x)) in the limit η → 0 when σ² = 2η (the "tied" textbook choice,
ε ~ N(0, 2ηI); Welling & Teh 2011). EBM practice sets η and σ independently (Du & Mordatch
2019: η = 10, σ = 0.005 on images; Nijkamp et al. 2019 likewise): the chains are then short-run
samplers of a tempered density, not of exp(−E). genzoo keeps the two separate and says which
is used; ``noise=None`` means the tied σ = √(2η).

MALA (``metropolis=True``) treats x' as a proposal from q(x'|x) = N(x − η g(x), σ² I) and accepts
it with probability min(1, α),

    log α = E(x) − E(x') + log q(x | x') − log q(x' | x),
    log q(a | b) = −‖a − b + η g(b)‖² / (2σ²),

the norm *squared* (MEG's public code uses the unsquared norm, which breaks detailed balance).
With the correction the chain leaves exp(−E) invariant for any η, σ and clip c (the clipped
gradient is a fixed function of the state, so the proposal density above is exact).

``langevin`` is the functional core shared by every gradient sampler in genzoo (data-space
EBM chains, the replay buffer, DDLS and MEG in latent space). It always runs with gradients
enabled — a sampler called under ``torch.no_grad`` (e.g. inside ``Model.sample``) still works —
and never accumulates gradients into the energy's parameters (it differentiates with respect to
x only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

from genzoo.config import check
from genzoo.sampling import register_sampler
from genzoo.sampling.negatives import EnergyTarget, NegativeSampler

#: An energy: a function of a batch (N, ...) returning one energy per example, shape (N,).
Energy = Callable[[Tensor], Tensor]


@dataclass
class LangevinStats:
    """What the last chain did: mean acceptance rate (1.0 without the correction) and final energies."""

    acceptance: float
    energy: Tensor


def energy_and_grad(energy: Energy, x: Tensor, clip: float | None = None) -> tuple[Tensor, Tensor]:
    """(E(x) detached, shape (N,); ∇_x E(x), clipped elementwise to [−clip, clip] when given)."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        e = energy(x)
        if e.shape != x.shape[:1]:
            raise ValueError(f"an energy must return shape ({x.shape[0]},), got {tuple(e.shape)}")
        (g,) = torch.autograd.grad(e.sum(), x)
    if clip is not None:
        g = g.clamp(-clip, clip)
    return e.detach(), g.detach()


def _log_q(to: Tensor, frm: Tensor, grad_frm: Tensor, step_size: float, noise: float) -> Tensor:
    """log q(to | from) up to a constant: −‖to − from + η g(from)‖² / (2σ²), squared norm per example."""
    d = (to - frm + step_size * grad_frm).flatten(1)
    return -(d * d).sum(1) / (2 * noise**2)


def langevin(
    energy: Energy,
    x0: Tensor,
    steps: int,
    step_size: float,
    noise: float | None = None,
    metropolis: bool = False,
    grad_clip: float | None = None,
    clamp: tuple[float, float] | None = None,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, LangevinStats]:
    """Run ``steps`` Langevin (or MALA) updates from ``x0``; returns (x_K detached, stats).

    Args:
        energy: E, mapping (N, ...) to (N,).
        x0: (N, ...) starting points.
        steps: K ≥ 0 updates (K = 0 returns ``x0`` unchanged).
        step_size: η > 0 multiplying the gradient.
        noise: σ ≥ 0 of the Gaussian noise; ``None`` = √(2η) (tied).
        metropolis: accept/reject each proposal (MALA); needs σ > 0.
        grad_clip: clip ∇E elementwise to [−c, c] (Du & Mordatch 2019 use c = 0.01 on images).
        clamp: keep x inside [lo, hi] after each ULA update (images in [0, 1]); not allowed with
            ``metropolis`` (clamping is not part of the proposal density).
        generator: optional ``torch.Generator`` for the noise and the acceptance draws.
    """
    check(steps >= 0, "steps", steps, "must be ≥ 0")
    check(step_size > 0, "step_size", step_size, "must be > 0")
    sigma = math.sqrt(2 * step_size) if noise is None else noise
    check(sigma >= 0, "noise", noise, "must be ≥ 0")
    check(not metropolis or sigma > 0, "noise", noise, "must be > 0 for the Metropolis correction")
    check(grad_clip is None or grad_clip > 0, "grad_clip", grad_clip, "must be > 0")
    check(not (metropolis and clamp is not None), "clamp", clamp, "cannot be combined with metropolis=true")
    x = x0.detach().clone()
    e, g = energy_and_grad(energy, x, grad_clip)
    accepted = torch.zeros((), device=x.device)
    for _ in range(steps):
        xi = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        proposal = x - step_size * g + sigma * xi
        if clamp is not None:
            proposal = proposal.clamp(*clamp)
        e_new, g_new = energy_and_grad(energy, proposal, grad_clip)
        if not metropolis:
            x, e, g = proposal, e_new, g_new
            accepted = accepted + 1.0
            continue
        log_alpha = (e - e_new + _log_q(x, proposal, g_new, step_size, sigma)
                     - _log_q(proposal, x, g, step_size, sigma))
        u = torch.rand(log_alpha.shape, generator=generator, device=x.device, dtype=log_alpha.dtype)
        accept = u.log() < log_alpha  # NaN proposals (log α = NaN) are rejected
        mask = accept.view(-1, *([1] * (x.ndim - 1)))
        x = torch.where(mask, proposal, x)
        g = torch.where(mask, g_new, g)
        e = torch.where(accept, e_new, e)
        accepted = accepted + accept.float().mean()
    rate = float(accepted / steps) if steps else 1.0
    return x.detach(), LangevinStats(rate, e)


@register_sampler("langevin")
class Langevin(nn.Module):
    """Langevin dynamics in data space, x ← x − η∇E(x) + σξ; η and σ independent; optional MALA and gradient clipping."""

    applies_to = "any energy E(x) (ebm, ddgm, meg, a GAN discriminator read as E = −d)"

    def __init__(
        self,
        steps: int = 60,
        step_size: float = 10.0,
        noise: float | None = 0.005,
        metropolis: bool = False,
        grad_clip: float | None = None,
        clamp: tuple[float, float] | None = None,
    ) -> None:
        super().__init__()
        # validate once here so a bad config fails at construction, not mid-training
        check(steps >= 0, "steps", steps, "must be ≥ 0")
        check(step_size > 0, "step_size", step_size, "must be > 0")
        check(noise is None or noise >= 0, "noise", noise, "must be ≥ 0")
        self.steps, self.step_size, self.noise = steps, step_size, noise
        self.metropolis, self.grad_clip, self.clamp = metropolis, grad_clip, clamp
        self.last: LangevinStats | None = None

    def forward(self, energy: Energy, x0: Tensor, steps: int | None = None) -> Tensor:
        """Run the chain from ``x0`` (``steps`` overrides the configured K); returns x_K."""
        x, self.last = langevin(energy, x0, self.steps if steps is None else steps, self.step_size, self.noise,
                                self.metropolis, self.grad_clip, self.clamp)
        return x


def discriminator_energy(d: Callable[[Tensor], Tensor]) -> Energy:
    """Read a GAN discriminator's logit d(x) as an energy, E(x) = −d(x) (so p(x) ∝ e^{d(x)}).

    The GAN↔EBM bridge made literal: with D = σ(d), the −log D trick's generator loss is
    E(G(z)) up to softplus, and the same :func:`langevin` that samples an EBM samples this.
    """

    def energy(x: Tensor) -> Tensor:
        return -d(x).reshape(x.shape[0])

    return energy


# ---- Langevin chains as an energy-based model's negatives ------------------------------------------


@dataclass
class ChainConfig:
    """Options of Langevin negatives (``--set negatives.OPTION=value``); ``None`` resolves by data kind."""

    steps: int | None = None  # K per energy update; None: 60 images (Du & Mordatch), 40 points
    step_size: float | None = None  # η; None: 10 images, 0.01 points
    noise: float | None = None  # σ; None: 0.005 images, the tied √(2η) points
    tied_noise: bool = False  # σ = √(2η) whatever ``noise`` says
    metropolis: bool = False  # MALA chains (then no clamping of images to [0, 1])
    grad_clip: float | None = None  # clip ∇_x E elementwise; None: 0.01 images, off for points
    sample_steps: int | None = None  # steps of the model's sample(); None: steps

    def __post_init__(self) -> None:
        for name in ("steps", "sample_steps", "noise"):
            check(getattr(self, name) is None or getattr(self, name) >= 0, name, getattr(self, name), "must be ≥ 0")
        for name in ("step_size", "grad_clip"):
            v = getattr(self, name)
            check(v is None or (v > 0 and math.isfinite(v)), name, v, "must be > 0")


@register_sampler("short-run")
class ShortRunLangevin(NegativeSampler):
    """Short-run Langevin negatives (Nijkamp et al. 2019): K steps on E_θ from the model's noise, fresh every update."""

    applies_to = "an energy E(x): ebm --set negatives=short-run"
    Config = ChainConfig
    contract_options = {"steps": 3}

    def __init__(self, config: ChainConfig, target: EnergyTarget) -> None:
        super().__init__(config, target)
        # MALA's proposal density has no clamp in it; without the correction images stay in [0, 1]
        self.clamp = (0.0, 1.0) if target.kind == "images" and not config.metropolis else None
        self.last: LangevinStats | None = None

    @staticmethod
    def resolve(c: ChainConfig, target: EnergyTarget) -> None:
        images = target.kind == "images"
        for name, value in dict(steps=60 if images else 40, step_size=10.0 if images else 0.01,
                                grad_clip=0.01 if images else None).items():
            if getattr(c, name) is None:
                setattr(c, name, value)
        if c.tied_noise or (c.noise is None and not images):
            c.noise = math.sqrt(2 * c.step_size)
        elif c.noise is None:
            c.noise = 0.005
        if c.sample_steps is None:
            c.sample_steps = c.steps

    def chain(self, x0: Tensor, steps: int) -> Tensor:
        """K Langevin (or MALA) steps on E_θ from x0."""
        c = self.config
        x, self.last = langevin(self.target.energy, x0, steps, c.step_size, c.noise, c.metropolis, c.grad_clip,
                                self.clamp)
        return x

    def forward(self, n: int) -> Tensor:
        return self.chain(self.target.noise(n), self.config.steps)

    def sample(self, n: int) -> Tensor:
        return self.chain(self.target.noise(n), self.config.sample_steps)
