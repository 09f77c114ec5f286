"""The f-divergence table of f-GAN (Nowozin, Cseke & Tomioka 2016), one dataclass per row.

An f-divergence between the data p and the model q is, for a convex f with f(1) = 0,

    D_f(p ‖ q) = ∫ q(x) f(p(x) / q(x)) dx.

Every convex lower-semicontinuous f equals its biconjugate, f(u) = sup_{t ∈ dom f*} t·u − f*(t),
with the Fenchel conjugate f*(t) = sup_u t·u − f(u). Putting this inside the integral gives the
variational lower bound that f-GAN trains on (the paper's eq. 4),

    D_f(p ‖ q) ≥ sup_T  E_p[T(x)] − E_q[f*(T(x))],

tight at T*(x) = f'(p(x)/q(x)). The critic's raw output v = V_ω(x) ∈ R is mapped into dom f* by
an output activation, T_ω(x) = g_f(V_ω(x)), so that the f-GAN objective (the paper's eq. 6) is

    F(θ, ω) = E_{x~p}[g_f(V_ω(x))] + E_{x~q_θ}[−f*(g_f(V_ω(x)))],

maximised by the critic ω and minimised by the generator θ. The rows below are Table 1 (f) and
Table 6 (g_f, dom f*, f*) of the paper; ``conjugate_of_activation(v)`` is f*(g_f(v)) simplified
to a numerically stable form (e.g. softplus(v) for the GAN row), which the objectives use.

Notes on two rows:

* Jensen–Shannon: the paper's f(u) = −(u + 1) log((1 + u)/2) + u log u gives
  ∫ q f(p/q) = KL(p ‖ m) + KL(q ‖ m) with m = (p + q)/2, i.e. twice the Jensen–Shannon
  divergence JS = ½[KL(p‖m) + KL(q‖m)] (the ½ written in the paper's Table 1 is not in this f;
  the conjugate f*(t) = −log(2 − e^t) of Table 6 belongs to this f, so genzoo keeps f as printed).
* GAN: f(u) = u log u − (u + 1) log(u + 1), D_f = 2·JS(p ‖ q) − log 4, and with
  g_f(v) = −log(1 + e^{−v}) = log σ(v), f*(t) = −log(1 − e^t) the objective F is exactly the
  GAN value E_p[log D(x)] + E_q[log(1 − D(x))] with D = σ(v).

Generator loss. Minimising F over θ (the saddle point, ``generator="saddle"``) is the paper's
eq. 6. Section 3.2 of the paper instead maximises E_{x~q_θ}[g_f(V_ω(x))] (``"alternative"``),
the −log D trick of Goodfellow et al. generalised to every f, which it uses in its experiments;
it has the same fixed point p = q. When the model family cannot reach p (e.g. one Gaussian for a
mixture) only the saddle-point loss keeps the divergence minimiser as its fixed point, so the
1-D experiment (``genzoo bench fgan-1d``) uses ``"saddle"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from genzoo.losses.adversarial import AdversarialLoss, objective
from genzoo.registry import Registry

__all__ = ["Divergence", "DIVERGENCES", "register_divergence", "fgan_loss", "variational_bound"]

Fn = Callable[[Tensor], Tensor]
LOG2 = math.log(2.0)


@dataclass(frozen=True)
class Divergence:
    """One row of the f-GAN table.

    Attributes:
        name: registry name (also the objective ``fgan-NAME`` and ``--set divergence=NAME`` of model ``fgan``).
        title: the divergence's usual name.
        f: the generator function f(u), u = p/q > 0 (Table 1).
        f_prime: f'(u); the optimal critic is T*(x) = f'(p(x)/q(x)).
        conjugate: Fenchel conjugate f*(t) on dom f* (Table 6).
        activation: output activation g_f: R → dom f* (Table 6).
        conjugate_of_activation: f*(g_f(v)), simplified for numerical stability.
        in_domain: t ↦ whether t ∈ dom f*.
        domain: dom f* in words.
        f_prime_at_1: f'(1), the critic's value T* = f'(1) at p = q (Table 6's last column).
        integrand: (log p, log q) ↦ q·f(p/q), the same f written in log space so that it stays
            exact where q underflows (e.g. KL: p·(log p − log q)); tests check it against q·f(p/q).
    """

    name: str
    title: str
    f: Fn
    f_prime: Fn
    conjugate: Fn
    activation: Fn
    conjugate_of_activation: Fn
    in_domain: Fn
    domain: str
    f_prime_at_1: float
    integrand: Callable[[Tensor, Tensor], Tensor]

    def divergence(self, log_p: Tensor, log_q: Tensor, x: Tensor) -> Tensor:
        """D_f(p ‖ q) = ∫ q f(p/q) dx by the trapezoidal rule on the sorted grid ``x`` (log densities on x)."""
        return torch.trapezoid(self.integrand(log_p, log_q), x)

    def optimal_critic(self, log_p: Tensor, log_q: Tensor) -> Tensor:
        """T*(x) = f'(p(x)/q(x)), the maximiser of the variational bound (tight: F(T*) = D_f)."""
        return self.f_prime(torch.exp(log_p - log_q))


DIVERGENCES: Registry[Divergence] = Registry("f-divergence", package="genzoo.losses")


def register_divergence(row: Divergence) -> Divergence:
    """Register a row of the table, and with it the objective ``fgan-NAME`` (the paper's §3.2 generator loss)."""
    DIVERGENCES.register(row.name)(row)

    def fn(d_real: Tensor | None, d_fake: Tensor) -> AdversarialLoss:
        return AdversarialLoss(*fgan_loss(row, d_real, d_fake, generator="alternative"))

    fn.__doc__ = (
        f"f-GAN (Nowozin et al. 2016), {row.title}: critic maximises E_p[g_f(v)] − E_q[f*(g_f(v))]; "
        f"G maximises E_q[g_f(v)] (§3.2)."
    )
    objective(f"fgan-{row.name}")(fn)
    return row


def _xlogx(u: Tensor) -> Tensor:
    return torch.special.xlogy(u, u)


def _mixture_terms(log_p: Tensor, log_q: Tensor, shift: float) -> Tensor:
    """p (shift + log p/(p+q)) + q (shift + log q/(p+q)): shift = log 2 gives 2·JS, 0 gives the GAN row."""
    log_m = torch.logaddexp(log_p, log_q)
    return torch.exp(log_p) * (shift + log_p - log_m) + torch.exp(log_q) * (shift + log_q - log_m)


register_divergence(Divergence(
    name="kl", title="Kullback–Leibler KL(p‖q)",
    f=lambda u: _xlogx(u),
    f_prime=lambda u: 1 + torch.log(u),
    conjugate=lambda t: torch.exp(t - 1),
    activation=lambda v: v,
    conjugate_of_activation=lambda v: torch.exp(v - 1),
    in_domain=lambda t: torch.isfinite(t),
    domain="R", f_prime_at_1=1.0,
    integrand=lambda lp, lq: torch.exp(lp) * (lp - lq),
))
register_divergence(Divergence(
    name="reverse-kl", title="reverse Kullback–Leibler KL(q‖p)",
    f=lambda u: -torch.log(u),
    f_prime=lambda u: -1 / u,
    conjugate=lambda t: -1 - torch.log(-t),
    activation=lambda v: -torch.exp(-v),
    conjugate_of_activation=lambda v: v - 1,  # −1 − log(e^{−v})
    in_domain=lambda t: t < 0,
    domain="R₋ (t < 0)", f_prime_at_1=-1.0,
    integrand=lambda lp, lq: torch.exp(lq) * (lq - lp),
))
register_divergence(Divergence(
    name="pearson", title="Pearson χ²",
    f=lambda u: (u - 1) ** 2,
    f_prime=lambda u: 2 * (u - 1),
    conjugate=lambda t: t**2 / 4 + t,
    activation=lambda v: v,
    conjugate_of_activation=lambda v: v**2 / 4 + v,
    in_domain=lambda t: torch.isfinite(t),
    domain="R", f_prime_at_1=0.0,
    integrand=lambda lp, lq: torch.exp(2 * lp - lq) - 2 * torch.exp(lp) + torch.exp(lq),  # p²/q − 2p + q
))
register_divergence(Divergence(
    name="hellinger", title="squared Hellinger",
    f=lambda u: (torch.sqrt(u) - 1) ** 2,
    f_prime=lambda u: 1 - 1 / torch.sqrt(u),
    conjugate=lambda t: t / (1 - t),
    activation=lambda v: 1 - torch.exp(-v),
    conjugate_of_activation=lambda v: torch.expm1(v),  # (1 − e^{−v}) / e^{−v}
    in_domain=lambda t: t < 1,
    domain="t < 1", f_prime_at_1=0.0,
    integrand=lambda lp, lq: (torch.exp(lp / 2) - torch.exp(lq / 2)) ** 2,
))
register_divergence(Divergence(
    name="js", title="Jensen–Shannon (2·JS)",
    f=lambda u: _xlogx(u) - (u + 1) * torch.log((u + 1) / 2),
    f_prime=lambda u: torch.log(2 * u / (1 + u)),
    conjugate=lambda t: -torch.log(2 - torch.exp(t)),
    activation=lambda v: LOG2 - F.softplus(-v),
    conjugate_of_activation=lambda v: F.softplus(v) - LOG2,  # −log(2 − 2σ(v)) = −log 2 − log σ(−v)
    in_domain=lambda t: t < LOG2,
    domain="t < log 2", f_prime_at_1=0.0,
    integrand=lambda lp, lq: _mixture_terms(lp, lq, LOG2),
))
register_divergence(Divergence(
    name="gan", title="GAN (2·JS − log 4)",
    f=lambda u: _xlogx(u) - (u + 1) * torch.log(u + 1),
    f_prime=lambda u: torch.log(u / (1 + u)),
    conjugate=lambda t: -torch.log(1 - torch.exp(t)),
    activation=lambda v: -F.softplus(-v),  # −log(1 + e^{−v}) = log σ(v)
    conjugate_of_activation=lambda v: F.softplus(v),  # −log(1 − σ(v))
    in_domain=lambda t: t < 0,
    domain="R₋ (t < 0)", f_prime_at_1=-LOG2,
    integrand=lambda lp, lq: _mixture_terms(lp, lq, 0.0),
))
register_divergence(Divergence(
    name="tv", title="total variation",
    f=lambda u: 0.5 * (u - 1).abs(),
    f_prime=lambda u: 0.5 * torch.sign(u - 1),
    conjugate=lambda t: t,
    activation=lambda v: 0.5 * torch.tanh(v),
    conjugate_of_activation=lambda v: 0.5 * torch.tanh(v),
    in_domain=lambda t: t.abs() <= 0.5,
    domain="|t| ≤ ½", f_prime_at_1=0.0,
    integrand=lambda lp, lq: 0.5 * (torch.exp(lp) - torch.exp(lq)).abs(),
))


def variational_bound(div: Divergence, v_real: Tensor, v_fake: Tensor) -> Tensor:
    """F = E_p[g_f(v)] − E_q[f*(g_f(v))], the critic's estimate of D_f(p ‖ q) (maximised by the critic)."""
    return div.activation(v_real).mean() - div.conjugate_of_activation(v_fake).mean()


def fgan_loss(div: Divergence, v_real: Tensor | None, v_fake: Tensor, generator: str = "alternative") -> tuple[Tensor, Tensor]:
    """(critic loss, generator loss) of f-GAN, both to be minimised.

    critic:    −F = −E_p[g_f(v(x))] + E_q[f*(g_f(v(G(z))))]
    generator: ``"saddle"``: F's q-term, −E_q[f*(g_f(v(G(z))))] (the E_p term does not depend on θ);
               ``"alternative"`` (the paper's §3.2): −E_q[g_f(v(G(z)))].
    """
    fake_term = div.conjugate_of_activation(v_fake).mean()
    real_term = v_fake.new_zeros(()) if v_real is None else div.activation(v_real).mean()
    critic = fake_term - real_term
    if generator == "saddle":
        gen = -fake_term
    elif generator == "alternative":
        gen = -div.activation(v_fake).mean()
    else:
        from genzoo.errors import GenzooError

        raise GenzooError(f"invalid value generator_loss={generator!r}; valid: alternative, saddle")
    return critic, gen
