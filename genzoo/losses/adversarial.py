"""Adversarial objectives as functions of the discriminator's outputs.

Every GAN objective in genzoo is one function ``f(d_real, d_fake) -> AdversarialLoss`` where
``d_real = d(x)`` and ``d_fake = d(G(z))`` are the discriminator's raw outputs (logits for the
probabilistic objectives, critic values for integral-probability-metric ones). It returns
both players' losses, each to be *minimised*. An adversarial model calls it twice per iteration:

* discriminator phase: with ``G(z)`` detached, minimise ``.discriminator``;
* generator phase: with gradient through ``G``, minimise ``.generator``.

Registering the function with :func:`objective` makes it available to every adversarial model,
the command line (``--set objective=NAME``) and the benchmarks.

Registered here (equations in each docstring and in docs/objectives.md): ``minimax``,
``nonsaturating`` (Goodfellow et al. 2014), ``wasserstein`` (Arjovsky et al. 2017), ``hinge``,
``lsgan`` and ``lsgan-abc`` (Mao et al. 2017, (a, b, c) = (0, 1, 1) and (−1, 1, 0)); every row
of the f-divergence table in :mod:`genzoo.losses.fgan` adds ``fgan-NAME`` (Nowozin et al. 2016),
and any module of ``genzoo.losses`` may register more. Losses that need more than (d_real, d_fake) are
plain functions used by their models: :func:`least_squares` with any (a, b, c) (model ``lsgan``),
:func:`gradient_penalty` (``wgan-gp``), :func:`ebgan_margin` and :func:`pulling_away` (``ebgan``),
:func:`began_losses` (``began``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from genzoo.registry import Registry


class AdversarialLoss(NamedTuple):
    discriminator: Tensor
    generator: Tensor


@dataclass(frozen=True)
class Objective:
    name: str
    fn: Callable[[Tensor | None, Tensor], AdversarialLoss]
    summary: str
    #: Whether the generator loss needs d_real; if not, the generator phase skips D on real data.
    generator_uses_real: bool = False

    def __call__(self, d_real: Tensor | None, d_fake: Tensor) -> AdversarialLoss:
        return self.fn(d_real, d_fake)


#: Every module of ``genzoo.losses`` is imported on the first lookup: a new objective is one new file.
OBJECTIVES: Registry[Objective] = Registry("objective", package="genzoo.losses")


def objective(name: str, generator_uses_real: bool = False) -> Callable:
    """Register ``fn(d_real, d_fake) -> AdversarialLoss``; its docstring's first line is its summary."""

    def add(fn: Callable[[Tensor | None, Tensor], AdversarialLoss]) -> Callable:
        summary = (fn.__doc__ or name).strip().splitlines()[0]
        OBJECTIVES.register(name)(Objective(name, fn, summary, generator_uses_real))
        return fn

    return add


def _zero_if_none(d_real: Tensor | None, d_fake: Tensor) -> Tensor:
    return d_fake.new_zeros(()) if d_real is None else d_real


def discriminator_cross_entropy(d_real: Tensor | None, d_fake: Tensor) -> Tensor:
    """−E_p[log D(x)] − E_q[log(1 − D(G(z)))] with D = sigmoid(d); log σ(d) = −softplus(−d)."""
    real = 0.0 if d_real is None else F.softplus(-d_real).mean()
    return real + F.softplus(d_fake).mean()


@objective("minimax")
def minimax(d_real: Tensor | None, d_fake: Tensor) -> AdversarialLoss:
    """Goodfellow et al. 2014: min_G max_D E_p[log D(x)] + E_z[log(1 − D(G(z)))]; G minimises log(1 − D(G(z)))."""
    # log(1 − σ(d)) = −softplus(d): the generator minimises it, i.e. maximises softplus(d_fake).
    return AdversarialLoss(discriminator_cross_entropy(d_real, d_fake), -F.softplus(d_fake).mean())


@objective("nonsaturating")
def nonsaturating(d_real: Tensor | None, d_fake: Tensor) -> AdversarialLoss:
    """Goodfellow et al. 2014, −log D trick: D as in minimax; G maximises E_z[log D(G(z))]."""
    # −log σ(d) = softplus(−d).
    return AdversarialLoss(discriminator_cross_entropy(d_real, d_fake), F.softplus(-d_fake).mean())


# ----------------------------------------------------------------------------- Wasserstein, hinge


@objective("wasserstein")
def wasserstein(d_real: Tensor | None, d_fake: Tensor) -> AdversarialLoss:
    """Arjovsky et al. 2017: critic maximises E_p[d(x)] − E_z[d(G(z))] (≈ W1 for a 1-Lipschitz d); G minimises −E_z[d(G(z))]."""
    # Lipschitz constraint: weight clipping (model ``wgan``) or gradient penalty (model ``wgan-gp``).
    critic = d_fake.mean() - _zero_if_none(d_real, d_fake).mean()
    return AdversarialLoss(critic, -d_fake.mean())


@objective("hinge")
def hinge(d_real: Tensor | None, d_fake: Tensor) -> AdversarialLoss:
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018): D minimises E_p[relu(1 − d(x))] + E_z[relu(1 + d(G(z)))]; G minimises −E_z[d(G(z))]."""
    real = 0.0 if d_real is None else F.relu(1 - d_real).mean()
    return AdversarialLoss(real + F.relu(1 + d_fake).mean(), -d_fake.mean())


# ----------------------------------------------------------------------------- least squares


def least_squares(d_real: Tensor | None, d_fake: Tensor, a: float, b: float, c: float) -> AdversarialLoss:
    """LSGAN (Mao et al. 2017, eq. 2) with codes a (fake), b (real), c (the value G wants D to give fakes).

    min_D ½ E_p[(d(x) − b)²] + ½ E_z[(d(G(z)) − a)²],    min_G ½ E_z[(d(G(z)) − c)²]

    d is the discriminator's raw (linear) output. With b − c = 1 and b − a = 2 (e.g. a = −1, b = 1,
    c = 0) the generator minimises the Pearson χ² divergence χ²(p + q ‖ 2q) (the paper's eq. 8);
    a = 0, b = c = 1 is the 0-1 coding of eq. 9.
    """
    real = 0.0 if d_real is None else 0.5 * ((d_real - b) ** 2).mean()
    return AdversarialLoss(real + 0.5 * ((d_fake - a) ** 2).mean(), 0.5 * ((d_fake - c) ** 2).mean())


#: The LSGAN paper's two settings of (a, b, c).
LSGAN_01 = (0.0, 1.0, 1.0)  # eq. 9: 0-1 binary coding
LSGAN_CHI2 = (-1.0, 1.0, 0.0)  # eq. 8: b − c = 1, b − a = 2 → Pearson χ²


@objective("lsgan")
def lsgan(d_real: Tensor | None, d_fake: Tensor) -> AdversarialLoss:
    """Mao et al. 2017, least squares with (a, b, c) = (0, 1, 1) (eq. 9): D → 1 on data, 0 on fakes; G wants 1."""
    return least_squares(d_real, d_fake, *LSGAN_01)


@objective("lsgan-abc")
def lsgan_abc(d_real: Tensor | None, d_fake: Tensor) -> AdversarialLoss:
    """Mao et al. 2017, least squares with (a, b, c) = (−1, 1, 0) (eq. 8): G minimises Pearson χ²(p + q ‖ 2q)."""
    return least_squares(d_real, d_fake, *LSGAN_CHI2)


# ----------------------------------------------------------------------------- WGAN-GP


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """Gulrajani et al. 2017: E_x̂[(‖∇_x̂ d(x̂)‖₂ − 1)²] on x̂ = ε x + (1 − ε) x̃, ε ~ U[0, 1] per sample.

    ``real`` and ``fake`` are detached (the critic update must not reach G); the interpolates x̂
    are leaves that require gradient, and ∇_x̂ d(x̂) is taken with ``create_graph=True`` so that the
    penalty is differentiable in the critic's parameters (ports that detach the interpolates train no penalty).
    """
    real, fake = real.detach(), fake.detach()
    eps = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), device=real.device, dtype=real.dtype)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


# ----------------------------------------------------------------------------- EBGAN, BEGAN


def ebgan_margin(energy_real: Tensor, energy_fake: Tensor, margin: float | Tensor) -> AdversarialLoss:
    """Zhao et al. 2017, eqs. 1–2: L_D = D(x) + [m − D(G(z))]⁺,  L_G = D(G(z)), with D the energy."""
    return AdversarialLoss(energy_real.mean() + F.relu(margin - energy_fake).mean(), energy_fake.mean())


def pulling_away(codes: Tensor) -> Tensor:
    """Zhao et al. 2017, eq. 5: f_PT(S) = 1/(N(N−1)) Σ_{i≠j} (s_iᵀ s_j / (‖s_i‖ ‖s_j‖))² (cosine *squared*).

    ``codes`` is (N, ...) — the encoder's codes of a generated batch, flattened per sample.
    0 for mutually orthogonal codes, 1 for parallel (or anti-parallel) ones.
    """
    s = F.normalize(codes.flatten(1), dim=1)
    n = s.shape[0]
    cos2 = (s @ s.T) ** 2
    return (cos2.sum() - cos2.diagonal().sum()) / (n * (n - 1))


def began_losses(loss_real: Tensor, loss_fake_d: Tensor, loss_fake_g: Tensor, k: Tensor | float) -> AdversarialLoss:
    """Berthelot et al. 2017, eq. 4: L_D = L(x) − k_t L(G(z_D)),  L_G = L(G(z_G)), L the AE reconstruction loss."""
    return AdversarialLoss(loss_real.mean() - k * loss_fake_d.mean(), loss_fake_g.mean())
