"""Fully visible Boltzmann machine (Ackley, Hinton & Sejnowski 1985), the model deep generative models are built up from.

Model, on binary x ∈ {0, 1}^M:

    p(x | θ) = exp(−Φ(x, θ)) / Z(θ),    Φ(x, θ) = −Σ_i b_i x_i − Σ_{i<j} W_ij x_i x_j,
    Z(θ) = Σ_{x_1=0,1} … Σ_{x_M=0,1} exp(−Φ(x, θ)),

W symmetric with a zero diagonal (each pair once, so that p(x_i = 1 | x_∖i) = σ(b_i + Σ_j W_ij x_j)).

Learning: the log-likelihood gradient is data statistics minus model statistics,

    (1/N) ∂ log L / ∂W_ij = ⟨x_i x_j⟩_data − ⟨x_i x_j⟩_model,
    (1/N) ∂ log L / ∂b_i  = ⟨x_i⟩_data − ⟨x_i⟩_model,

and the slides' loop is plain gradient ascent, W ← W + η ∇_W, b ← b + η ∇_b, with the model
average ⟨·⟩_model taken

* ``statistics = "exact"``: by enumerating all 2^M states (feasible to M ≈ 20), or
* ``statistics = "gibbs"``: from ``n_chains`` persistent single-site Gibbs chains advanced by
  ``sweeps`` sweeps per update (the slides' "Gibbs sampling の手続き"; persistent across
  updates as in Tieleman 2008, state in a buffer so a resumed run continues the same chains),
* ``"auto"`` (default): exact up to ``exact_max_units`` = 16 units, Gibbs beyond.

Exact log Z (and so ``log_prob``) by enumeration up to ``max_enumeration_bits`` = 20 units; a
larger machine has no ``log_prob`` (the attribute is ``None``) and ``log_partition`` refuses
with a message naming 2^M. ``sample(n)`` runs n fresh single-site Gibbs chains for
``sample_sweeps`` = 1000 sweeps from uniform random states. Non-binary data is refused (one
line naming the bad value), never silently binarised.

Defaults: the slides give no values; η = 0.1 with no momentum and no weight decay (both
available) — our choice, not a paper's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from genzoo.config import Config, at_least, half_open_unit_interval, integer_interval, nonnegative, option, positive
from genzoo.errors import GenzooError
from genzoo.models.base import DataSpec, Model, register_model
from genzoo.sampling.enumerate import MAX_ENUMERATION_BITS, check_feasible, log_sum_states
from genzoo.sampling.gibbs import SingleSiteGibbs
from genzoo.sampling.persistent import PersistentChains
from genzoo.sampling.units import binary_rows


@dataclass
class BMConfig(Config):
    """The slides' gradient ascent; η and the chain settings are genzoo's choices."""

    lr: float = option(0.1, positive, "η, the gradient-ascent step")
    momentum: float = option(0.0, half_open_unit_interval, "momentum of the updates")
    weight_decay: float = option(0.0, nonnegative, "L2 penalty on the weights")
    statistics: Literal["auto", "exact", "gibbs"] = option(
        "auto", None, "model statistics by enumeration or persistent Gibbs chains; auto: exact up to exact_max_units")
    exact_max_units: int = option(16, None, "auto enumerates up to this many units")
    n_chains: int = option(100, at_least(1), "persistent Gibbs chains for the model statistics")
    sweeps: int = option(1, at_least(1), "single-site Gibbs sweeps per update")
    sample_sweeps: int = option(1000, at_least(1), "burn-in sweeps of sample(n)'s fresh chains")
    max_enumeration_bits: int = option(MAX_ENUMERATION_BITS, integer_interval(1, 30),
                                       "largest number of units summed over exactly (2^bits states)")


#: Too many units for enumeration means Gibbs statistics, and an AIS likelihood from genzoo eval.
BM_ADVICE = ("train with Gibbs-chain statistics instead (--set statistics=gibbs); genzoo eval then gives an "
             "AIS estimate of the test log-likelihood ± its error (genzoo.metrics.energy_likelihood), not an exact one")


@register_model("bm")
class BoltzmannMachine(Model):
    """Fully visible Boltzmann machine: Φ(x) = −bᵀx − Σ_{i<j} W_ij x_i x_j; ⟨x_i x_j⟩_data − ⟨x_i x_j⟩_model by enumeration or Gibbs."""

    Config = BMConfig
    contract_overrides = {"sample_sweeps": 20, "n_chains": 16}
    contract_data = {"images": ("binary_digits", {"size": 4}), "points": ("bars_stripes", {"n": 200, "n_test": 100})}

    def __init__(self, config: BMConfig, data: DataSpec) -> None:
        super().__init__(config, data)
        m = data.dim
        self.M = m
        if config.statistics == "exact":
            check_feasible(m, "units (statistics=exact)", config.max_enumeration_bits, BM_ADVICE)
        self.exact_statistics = config.statistics == "exact" or (config.statistics == "auto" and m <= config.exact_max_units)
        self.W = nn.Parameter(torch.zeros(m, m))
        self.b = nn.Parameter(torch.zeros(m))
        self.chains = PersistentChains(config.n_chains, (m,))
        self.gibbs = SingleSiteGibbs(config.sweeps)
        self.opt = torch.optim.SGD(self.parameters(), lr=config.lr, momentum=config.momentum)
        self.register_buffer("off_diagonal", 1 - torch.eye(m))
        if m > config.max_enumeration_bits:
            self.log_prob = None  # type: ignore[assignment]  # no exact likelihood: see log_partition

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"sgd": self.opt}

    # ---- the model -------------------------------------------------------------------------------
    def phi(self, x: Tensor) -> Tensor:
        """Φ(x) = −bᵀx − ½ xᵀWx for rows x (N, M)."""
        return -(x @ self.b) - 0.5 * ((x @ self.W) * x).sum(-1)

    def energy(self, x: Tensor) -> Tensor:
        """Φ(x) with p(x) ∝ exp(−Φ(x)), shape (N,)."""
        return self.phi(binary_rows(x, self.name))

    def log_partition(self) -> Tensor:
        """log Z by enumerating all 2^M states (float64, chunked); refuses beyond 2^max_enumeration_bits."""
        check_feasible(self.M, "units", self.config.max_enumeration_bits, BM_ADVICE)
        with torch.no_grad():
            return log_sum_states(self.M, lambda s: -self.phi(s).double(), dtype=self.W.dtype, device=self.W.device)

    def log_prob(self, x: Tensor) -> Tensor:
        """Exact log p(x) = −Φ(x) − log Z (nats), shape (N,)."""
        with torch.no_grad():
            return -self.energy(x).double() - self.log_partition()

    @torch.no_grad()
    def exact_statistics_of_model(self) -> tuple[Tensor, Tensor]:
        """(⟨x⟩_model (M,), ⟨x xᵀ⟩_model (M, M)) by enumeration, float64."""
        log_z = self.log_partition()
        mean = torch.zeros(self.M, dtype=torch.float64, device=self.W.device)
        second = torch.zeros(self.M, self.M, dtype=torch.float64, device=self.W.device)
        from genzoo.sampling.enumerate import binary_states

        total, step = 2**self.M, 2 ** min(self.M, 14)
        for start in range(0, total, step):
            s = binary_states(self.M, start, min(total, start + step), dtype=torch.float64, device=self.W.device)
            p = torch.exp(-self.phi(s.to(self.W.dtype)).double() - log_z)
            mean += p @ s
            second += (s * p.unsqueeze(1)).T @ s
        return mean, second

    # ---- learning ---------------------------------------------------------------------------------
    def check_data(self, x: Tensor, y: Tensor | None = None) -> None:
        binary_rows(x, self.name)  # the step's own check, on the whole data before anything is written

    def step(self, batch: Tensor) -> dict[str, Tensor]:
        x = binary_rows(batch, self.name).to(self.W.dtype)
        data_mean, data_second = x.mean(0), x.T @ x / x.shape[0]  # ⟨x_i⟩_data, ⟨x_i x_j⟩_data
        if self.exact_statistics:
            model_mean, model_second = (t.to(self.W.dtype) for t in self.exact_statistics_of_model())
        else:
            init = lambda n: torch.bernoulli(torch.full((n, self.M), 0.5))  # noqa: E731
            s = self.chains.advance(lambda state: self.gibbs(state, self.W.detach(), self.b.detach()), init)
            model_mean, model_second = s.mean(0), s.T @ s / s.shape[0]
        gap_w = (data_second - model_second) * self.off_diagonal
        self.opt.zero_grad(set_to_none=False)
        # ascent on log L: the optimiser descends, so it is handed the negated statistics gap
        self.W.grad = -gap_w + self.config.weight_decay * self.W.detach()
        self.b.grad = -(data_mean - model_mean)
        self.opt.step()
        out = {"stat_gap": gap_w.abs().mean().detach()}
        if self.M <= self.config.max_enumeration_bits and self.exact_statistics:
            out["nll"] = (self.phi(x).double().mean() + self.log_partition()).float().detach()
        return out

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        x = torch.bernoulli(torch.full((n, self.M), 0.5, device=self.W.device))
        x = self.gibbs(x, self.W, self.b, sweeps=self.config.sample_sweeps)
        return x.reshape(n, *self.data.shape)
