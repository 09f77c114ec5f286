"""Restricted Boltzmann machine (Smolensky 1986; Hinton 2002) trained by CD-k or persistent CD.

Energy, with the conventions of Hinton's practical guide (2010, §13) for Gaussian units
(visible standard deviations σ_i, hidden Gaussian units of unit variance):

    E(v, h) = Σ_i e_v(v_i) + Σ_j e_h(h_j) − Σ_ij (v_i/σ_i) W_ij h_j
    e_v(v_i) = −a_i v_i (bernoulli)        or  (v_i − a_i)² / (2σ_i²)  (gaussian)
    e_h(h_j) = −b_j h_j (bernoulli)        or  (h_j − b_j)² / 2        (gaussian)

(σ_i = 1 for Bernoulli visibles; the B-B case is the slides' Φ(v, h) = −Σ a_i v_i − Σ b_j h_j −
Σ W_ij v_i h_j). No edges inside a layer, so the conditionals factorise:

    p(h_j = 1 | v) = σ(b_j + Σ_i (v_i/σ_i) W_ij)        or  h_j | v ~ N(b_j + Σ_i (v_i/σ_i) W_ij, 1)
    p(v_i = 1 | h) = σ(a_i + Σ_j W_ij h_j)                or  v_i | h ~ N(a_i + σ_i Σ_j W_ij h_j, σ_i²)

and the free energy F(v) = −log Σ_h e^{−E(v,h)} is closed-form (softplus for Bernoulli hidden
units, a Gaussian integral for Gaussian ones). The log-likelihood gradient is again data minus
model statistics,

    ∂ log p(v) / ∂W_ij = ⟨(v_i/σ_i) h_j⟩_data − ⟨(v_i/σ_i) h_j⟩_model,

and contrastive divergence (Hinton 2002) replaces the model average by k steps of block Gibbs
sampling. One update (the guide's recipe; ``training = "pcd"`` is Tieleman 2008):

    v⁰ = data;  μ⁰ = E[h | v⁰]                                   # data statistics use probabilities
    h ← sample of p(h | v⁰)  (cd)   or  the persistent chains' h  (pcd)
    repeat k times:  v ~ p(v | h);  h ~ p(h | v)                 # block Gibbs
    v⁻ = E[v | h_{k−1}] (negative_visible = "mean") or the sample v;  μ⁻ = E[h | v⁻]
                                                                 # (sample + pcd: μ⁻ is the chain step's E[h | v])
    pcd: chains ← the last h sample (the chain itself never sees the mean-field v⁻)
    ΔW = m ΔW + η (⟨(v⁰/σ) μ⁰ᵀ⟩ − ⟨(v⁻/σ) μ⁻ᵀ⟩ − λ W);  W ← W + ΔW      (likewise a, b; no decay)

Defaults (Hinton's guide 2010 and the MNIST code of Hinton & Salakhutdinov 2006): W ~ N(0, 0.01²),
a_i = log p̂_i/(1 − p̂_i) from the data (here: the first minibatch), b = 0; η = 0.1 for
Bernoulli–Bernoulli and 0.001 as soon as a layer is Gaussian (the guide: one to two orders of
magnitude smaller); momentum 0.5, then 0.9 after ``momentum_switch`` = 2500 updates (the code
switches after 5 epochs of 500 minibatches); weight decay λ = 1e-4 on W only (the guide's range
is 1e-2 … 1e-5); CD-1; 500 hidden units (Salakhutdinov & Murray 2008's MNIST RBMs). The learning
rate is constant unless ``lr_decay_steps`` is set (then it falls linearly to 0, as in Tieleman
2008). torch's SGD folds η into the momentum buffer after the step (v = m v + g; θ −= η v),
which equals the guide's ΔW = m ΔW + η g while η is constant. Gaussian visible σ: fixed at
``sigma`` = 1 (the guide's advice: standardise the data) or learned (``learn_sigma``, as log σ_i).

Likelihoods (all in nats):

* ``log_prob`` — exact: log Z by enumerating the smaller binary layer (chunked, float64) up to
  2^``max_enumeration_bits`` = 2^20 states, or in closed form for Gaussian–Gaussian; a larger
  model has ``log_prob = None`` and ``log_partition("exact")`` refuses, naming the size.
* ``log_prob_estimate`` — AIS (S&M 2008: base-rate model from the training data's visible
  marginals, 14 500 β, 100 runs): (values, standard error of log Ẑ). Bernoulli hidden units only.
* ``pseudo_log_likelihood`` — an extra, *not a likelihood*: Σ_i log p(v_i | v_∖i) (the quantity
  scikit-learn's BernoulliRBM reports, there approximated by flipping one random bit).

Unit types are objects (:mod:`genzoo.sampling.units`): each of ``visible`` and ``hidden`` names a
Bernoulli or Gaussian unit type that defines its energy term, conditional, sampler and free-energy
term once, so the four visible × hidden variants share every method below.

Bad input: Bernoulli visible units on non-binary data are refused with a one-line error naming a
bad value; nothing is binarised silently (binarised data sets exist: ``binarized_mnist``,
``binary_digits``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genzoo.config import Config, at_least, half_open_unit_interval, integer_interval, nonnegative, option, positive
from genzoo.errors import GenzooError
from genzoo.models.base import DataSpec, Model, register_model
from genzoo.optim import sgd
from genzoo.sampling.ais import AISResult, AnnealedImportanceSampling, RBMPath, SM2008_BETAS, SM2008_RUNS
from genzoo.sampling.enumerate import MAX_ENUMERATION_BITS, check_enumeration_time, check_feasible, log_sum_states
from genzoo.sampling.gibbs import BlockGibbs, Uniform
from genzoo.sampling.persistent import PersistentChains
from genzoo.sampling.units import HALF_LOG_2PI, units


@dataclass
class RBMConfig(Config):
    """Hinton's practical guide (2010) defaults; 500 hidden units as Salakhutdinov & Murray (2008)."""

    n_hidden: int = option(500, at_least(1), "hidden units")
    visible: Literal["bernoulli", "gaussian"] = option("bernoulli", None, "visible unit type")
    hidden: Literal["bernoulli", "gaussian"] = option("bernoulli", None, "hidden unit type")
    training: Literal["cd", "pcd"] = option("cd", None, "contrastive divergence, or persistent CD")
    k: int = option(1, at_least(1), "Gibbs steps of CD-k / PCD-k")
    lr: float | None = option(None, positive, "η; none: 0.1 for Bernoulli–Bernoulli, 0.001 with a Gaussian layer")
    momentum_initial: float = option(0.5, half_open_unit_interval, "momentum before momentum_switch")
    momentum_final: float = option(0.9, half_open_unit_interval, "momentum after momentum_switch")
    momentum_switch: int = option(2500, at_least(0), "updates before the momentum rises")
    weight_decay: float = option(1e-4, nonnegative, "L2 on W only")
    lr_decay_steps: int | None = option(None, at_least(1), "linear decay of η to 0 over this many updates; none: constant η")
    init_std: float = option(0.01, positive, "σ of the initial weights N(0, σ²)")
    visible_bias_init: Literal["data", "zero"] = option("data", None, "visible biases from the data's base rates, or zero")
    # mean: the guide's noise-free v⁻; sample: scikit-learn's rule, and with PCD the faster one (one
    # batch×D×H product fewer per step: E[h | v⁻] is the chain step's own, see ``step``)
    negative_visible: Literal["mean", "sample"] = option("mean", None, "the negative phase's v⁻: its mean or a sample")
    n_chains: int = option(100, at_least(1), "persistent chains (pcd)")
    sigma: float = option(1.0, positive, "visible σ for Gaussian visible units")
    learn_sigma: bool = option(False, None, "learn the Gaussian visible σ")
    sample_burn_in: int = option(1000, at_least(1), "Gibbs steps of sample(n)'s chains, started from the base-rate model")
    max_enumeration_bits: int = option(MAX_ENUMERATION_BITS, integer_interval(1, 30),
                                       "largest hidden (or visible) layer whose states are summed over exactly")
    ais_betas: int = option(SM2008_BETAS, at_least(3), "intermediate distributions of the AIS path")
    ais_runs: int = option(SM2008_RUNS, at_least(2), "AIS runs whose weights are averaged")

    @property
    def learning_rate(self) -> float:
        if self.lr is not None:
            return self.lr
        return min(units(self.visible).default_lr, units(self.hidden).default_lr)


@register_model("rbm")
class RBM(Model):
    """Restricted Boltzmann machine, Bernoulli/Gaussian visible × Bernoulli/Gaussian hidden, CD-k or PCD (Hinton 2002; Tieleman 2008)."""

    Config = RBMConfig
    contract_overrides = {"n_hidden": 8, "n_chains": 16, "sample_burn_in": 20, "ais_betas": 60, "ais_runs": 8}
    contract_data = {"images": ("binary_digits", {}), "points": ("bars_stripes", {"n": 200, "n_test": 100})}

    def __init__(self, config: RBMConfig, data: DataSpec) -> None:
        super().__init__(config, data)
        D, H = data.dim, config.n_hidden
        self.D, self.H = D, H
        self.visible_units, self.hidden_units = units(config.visible), units(config.hidden)  # unit types (genzoo.sampling.units)
        self.W = nn.Parameter(torch.randn(D, H) * config.init_std)
        self.a = nn.Parameter(torch.zeros(D))  # visible biases (means for Gaussian units)
        self.b = nn.Parameter(torch.zeros(H))
        self.log_sigma = nn.Parameter(torch.full((D,), math.log(config.sigma)), requires_grad=config.learn_sigma)
        self.chains = PersistentChains(config.n_chains, (H,))
        self.register_buffer("t", torch.zeros((), dtype=torch.long))  # updates done
        # running statistics of the training data's visible units: the AIS base-rate model
        self.register_buffer("data_count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("data_sum", torch.zeros(D, dtype=torch.float64))
        self.register_buffer("data_sq", torch.zeros(D, dtype=torch.float64))
        params = [{"params": [self.W], "weight_decay": config.weight_decay}, {"params": [self.a, self.b], "weight_decay": 0.0}]
        if config.learn_sigma:
            params.append({"params": [self.log_sigma], "weight_decay": 0.0})
        self.opt = sgd(params, lr=config.learning_rate, momentum=config.momentum_initial)
        self.gibbs = BlockGibbs(self.sample_h, self.sample_v)
        self.uniform: Uniform | None = None  # source of U[0,1) for Bernoulli draws (tests inject numpy's)
        if not self.exact_feasible:
            self.log_prob = None  # type: ignore[assignment]  # too large to enumerate: use log_prob_estimate
        if not self.hidden_units.binary:
            self.log_prob_estimate = None  # type: ignore[assignment]  # the AIS path needs Bernoulli hidden units

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"sgd": self.opt}

    @property
    def sigma(self) -> Tensor:
        return self.visible_units.scale(self.log_sigma)

    # ---- conditionals: the unit types' own, with the other layer's input ----------------------------
    def scaled_visible(self, v: Tensor) -> Tensor:
        """v_i/σ_i: what the weights see of a visible unit (v itself for Bernoulli units)."""
        return self.visible_units.scaled(v, self.sigma)

    def mean_h(self, v: Tensor) -> Tensor:
        """E[h | v] with input b_j + Σ_i (v_i/σ_i) W_ij."""
        return self.hidden_units.mean(self.b, None, self.visible_units, self.scaled_visible(v), self.W)

    def mean_v(self, h: Tensor) -> Tensor:
        """E[v | h] with input Σ_j W_ij h_j."""
        return self.visible_units.mean(self.a, self.sigma, self.hidden_units, h, self.W.T)

    def sample_h(self, v: Tensor) -> tuple[Tensor, Tensor]:
        """(h ~ p(h|v), E[h|v])."""
        mean = self.mean_h(v)
        return self.hidden_units.sample(mean, None, self.uniform), mean

    def sample_v(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """(v ~ p(v|h), E[v|h])."""
        mean = self.mean_v(h)
        return self.visible_units.sample(mean, self.sigma, self.uniform), mean

    # ---- energies --------------------------------------------------------------------------------
    def joint_energy(self, v: Tensor, h: Tensor) -> Tensor:
        """E(v, h) for rows v (N, D), h (N, H)."""
        return (self.visible_units.energy(v, self.a, self.sigma) + self.hidden_units.energy(h, self.b, None)
                - ((self.scaled_visible(v) @ self.W) * h).sum(-1))

    def free_energy(self, v: Tensor) -> Tensor:
        """F(v) = −log Σ_h e^{−E(v,h)} (an integral for Gaussian hidden units), shape (N,)."""
        s = self.scaled_visible(v) @ self.W
        return self.visible_units.energy(v, self.a, self.sigma) - self.hidden_units.log_integral(self.b, None, s).sum(-1)

    def hidden_free_energy(self, h: Tensor) -> Tensor:
        """F(h) = −log Σ_v e^{−E(v,h)} (an integral for Gaussian visible units), shape (N,)."""
        s = h @ self.W.T
        return self.hidden_units.energy(h, self.b, None) - self.visible_units.log_integral(self.a, self.sigma, s).sum(-1)

    def energy(self, x: Tensor) -> Tensor:
        """The free energy F(v): p(v) ∝ exp(−F(v)), shape (N,)."""
        return self.free_energy(self._rows(x))

    def _rows(self, x: Tensor) -> Tensor:
        return self.visible_units.rows(x, self.name).to(self.W.dtype)

    def check_data(self, x: Tensor, y: Tensor | None = None) -> None:
        self._rows(x)  # Bernoulli visible units: the step's binary check, on the whole data before anything is written

    def check_resources(self, batch_size: int) -> None:
        """Refuse enumerations that would make every evaluation take too long (measured on this device).

        Each evaluation enumerates the smaller binary layer for the exact log Z (when within
        ``max_enumeration_bits``) and, for reverse AIS, the hidden layer for exact start samples.
        Both stream in chunks, so memory is bounded; the time doubles with every unit.
        """
        with torch.no_grad():
            enumerations = []
            layer = self.enumerated_layer
            if layer is not None and self.exact_feasible:
                n = self.D if layer == "visible" else self.H
                enumerations.append((n, (lambda s: -self.free_energy(s).double()) if layer == "visible"
                                     else (lambda s: -self.hidden_free_energy(s).double())))
            if self.hidden_units.binary and self.H <= self.config.max_enumeration_bits:
                enumerations.append((self.H, self.annealing_path()._log_p_hidden))
            bits = self.config.max_enumeration_bits
            check_enumeration_time(
                f"rbm n_hidden={self.H} max_enumeration_bits={bits}", enumerations, self.W.dtype, self.W.device,
                width=max(self.D, self.H),
                hint=f"set max_enumeration_bits below {max(n for n, _ in enumerations) if enumerations else bits} "
                     "to get AIS estimates instead of exact values, or use fewer units")

    # ---- partition function ------------------------------------------------------------------------
    @property
    def enumerated_layer(self) -> str | None:
        """The binary layer whose states an exact log Z sums over (None: closed form or none)."""
        v, h = self.visible_units.binary, self.hidden_units.binary
        if v and h:
            return "visible" if self.D < self.H else "hidden"
        return "visible" if v else "hidden" if h else None

    @property
    def exact_feasible(self) -> bool:
        layer = self.enumerated_layer
        return layer is None or (self.D if layer == "visible" else self.H) <= self.config.max_enumeration_bits

    @torch.no_grad()
    def log_partition(self, method: Literal["exact", "ais"] = "exact") -> Tensor:
        """log Z: ``"exact"`` (enumeration or closed form; refuses beyond the feasible size) or ``"ais"`` (an estimate)."""
        if method == "ais":
            return torch.tensor(self.ais().log_z, dtype=torch.float64)
        layer = self.enumerated_layer
        if layer is None:
            return self._gaussian_log_partition()
        n = self.D if layer == "visible" else self.H
        check_feasible(n, f"{layer} units", self.config.max_enumeration_bits)
        fn = (lambda s: -self.free_energy(s).double()) if layer == "visible" else (lambda s: -self.hidden_free_energy(s).double())
        return log_sum_states(n, fn, dtype=self.W.dtype, device=self.W.device)

    def _gaussian_log_partition(self) -> Tensor:
        """Gaussian–Gaussian: with u = v/σ the joint is Gaussian with precision J = [[I, −W], [−Wᵀ, I]]."""
        W = self.W.double()
        D, H = W.shape
        J = torch.eye(D + H, dtype=torch.float64, device=W.device)
        J[:D, D:], J[D:, :D] = -W, -W.T
        L, info = torch.linalg.cholesky_ex(J)
        if int(info) != 0:
            smax = float(torch.linalg.matrix_norm(W, ord=2))
            raise GenzooError(f"Gaussian–Gaussian RBM is improper (Z = ∞): W's largest singular value {smax:.4g} must be < 1")
        c = torch.cat([(self.a / self.sigma).double(), self.b.double()])
        quad = c @ torch.cholesky_solve(c.unsqueeze(1), L).squeeze(1)
        logdet = 2 * torch.log(torch.diagonal(L)).sum()
        return self.log_sigma.double().sum() + (D + H) * HALF_LOG_2PI - logdet / 2 + quad / 2 - (c @ c) / 2

    def log_prob(self, x: Tensor) -> Tensor:
        """Exact log p(v) = −F(v) − log Z (nats; a density for Gaussian visibles), shape (N,)."""
        with torch.no_grad():
            return -self.energy(x).double() - self.log_partition("exact")

    # ---- AIS ------------------------------------------------------------------------------------------
    def annealing_path(self) -> RBMPath:
        """S&M 2008's path from the base-rate model (the training data's visible marginals seen so far) to this RBM."""
        if not self.hidden_units.binary:
            raise GenzooError(f"AIS is implemented for Bernoulli hidden units; this RBM has hidden={self.hidden_units.name}")
        mean, std = self.visible_units.base_rate(self.data_sum, self.data_sq, float(self.data_count))
        return RBMPath(self.visible_units, self.a, self.b, self.W, self.sigma, mean, std)

    @torch.no_grad()
    def ais(self, betas: int | None = None, runs: int | None = None) -> AISResult:
        """Forward AIS estimate of log Z (underestimates on average)."""
        return AnnealedImportanceSampling(betas or self.config.ais_betas, runs or self.config.ais_runs).log_partition(self.annealing_path())

    @torch.no_grad()
    def reverse_ais(self, betas: int | None = None, runs: int | None = None) -> tuple[AISResult, bool]:
        """Reverse AIS estimate of log Z (overestimates on average when its start samples are exact).

        Returns (result, exact_start): the start samples are exact (hidden layer enumerated) when
        H ≤ max_enumeration_bits, otherwise draws of ``sample`` after ``sample_burn_in`` Gibbs steps.
        """
        path = self.annealing_path()
        runs = runs or self.config.ais_runs
        exact = self.H <= self.config.max_enumeration_bits
        start = path.exact_samples(runs, self.config.max_enumeration_bits) if exact else self.sample(runs).reshape(runs, -1)
        return AnnealedImportanceSampling(betas or self.config.ais_betas, runs).reverse_log_partition(path, start), exact

    def log_prob_estimate(self, x: Tensor, betas: int | None = None, runs: int | None = None) -> tuple[Tensor, float]:
        """AIS estimate of log p(v) = −F(v) − log Ẑ: (values (N,), standard error of log Ẑ)."""
        with torch.no_grad():
            result = self.ais(betas, runs)
            return -self.energy(x).double() - result.log_z, result.log_z_std

    @torch.no_grad()
    def pseudo_log_likelihood(self, x: Tensor) -> Tensor:
        """NOT a likelihood: Σ_i log p(v_i | v_∖i) = Σ_i log σ(F(v with bit i flipped) − F(v)) (Bernoulli visibles)."""
        if not self.visible_units.binary:
            raise GenzooError("pseudo_log_likelihood needs Bernoulli visible units")
        v = self._rows(x)
        f = self.free_energy(v)
        total = torch.zeros(v.shape[0], dtype=torch.float64, device=v.device)
        for i in range(self.D):
            flipped = v.clone()
            flipped[:, i] = 1 - flipped[:, i]
            total += F.logsigmoid(self.free_energy(flipped) - f).double()
        return total

    # ---- learning ---------------------------------------------------------------------------------------
    def _bias_statistics(self, v: Tensor, h_mean: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Sufficient statistics of the biases and log σ (∂(−E)/∂a, ∂/∂b, ∂/∂log σ) averaged over rows, with E[h|v] for h.

        The weights' statistic ⟨(v/σ) hᵀ⟩ is not here: :meth:`_set_gradients` multiplies it straight
        into W's gradient buffer, so no weight-sized temporaries are made.
        """
        sigma = self.sigma
        a = self.visible_units.bias_statistic(v, self.a, sigma).mean(0)
        b = self.hidden_units.bias_statistic(h_mean, self.b, None).mean(0)
        if not self.config.learn_sigma:
            return a, b, torch.zeros_like(a)
        return a, b, self.visible_units.scale_statistic(v, self.a, sigma, h_mean @ self.W.T).mean(0)

    def _set_gradients(self, v0: Tensor, mu0: Tensor, v_neg: Tensor, mu_neg: Tensor) -> None:
        """p.grad = −(data statistics − model statistics): the optimiser descends −log L.

        W's gradient ⟨u⁻μ⁻ᵀ⟩ − ⟨u⁰μ⁰ᵀ⟩ (u = v/σ) is the visible unit type's ``outer_gap``: two
        products into one persistent buffer, or for sparse 0/1 states sums of selected rows.
        """
        if self.W.grad is None:
            self.W.grad = torch.empty_like(self.W)
        gW = self.W.grad
        dt = gW.dtype
        # Gradients accumulate in the parameters' dtype even under mixed precision (precision=auto picks
        # bf16-mixed on AMX CPUs and GPUs): the out= buffer is float32, and autocast would hand mm bf16.
        with torch.autocast(gW.device.type, enabled=False):
            g = self.visible_units.outer_gap(self.scaled_visible(v_neg).to(dt), mu_neg.to(dt),
                                             self.scaled_visible(v0).to(dt), mu0.to(dt), out=gW)
        if g is not gW:
            self.W.grad = g
        pos, neg = self._bias_statistics(v0, mu0), self._bias_statistics(v_neg, mu_neg)
        for p, plus, minus in zip((self.a, self.b, self.log_sigma), pos, neg):
            if p.requires_grad:
                p.grad = (minus - plus).to(p.dtype)

    @torch.no_grad()
    def _first_batch(self, v: Tensor) -> None:
        if self.config.visible_bias_init == "data":
            self.a.copy_(self.visible_units.init_bias(v))  # Bernoulli: the guide's log p̂/(1 − p̂); Gaussian: the mean

    def _schedule(self) -> None:
        c, t = self.config, int(self.t)
        lr = c.learning_rate * (max(0.0, 1 - t / c.lr_decay_steps) if c.lr_decay_steps else 1.0)
        momentum = c.momentum_initial if t < c.momentum_switch else c.momentum_final
        for group in self.opt.param_groups:
            group["lr"], group["momentum"] = lr, momentum

    def step(self, batch: Tensor) -> dict[str, Tensor]:
        """One CD-k / PCD-k update: five batch×D×H products for k = 1 (two of them the statistics),
        six with PCD and ``negative_visible="mean"`` (the chain's h must be drawn given the sampled
        v, the statistics given the mean v). The reconstruction-error monitor costs a sixth/seventh
        product, so it is computed only when the step's logs are read (``will_log``). Products with
        sparse 0/1 visible states (data, sampled v⁻) are sums of selected rows of W, the statistics sums
        of selected rows of μ (:class:`~genzoo.sampling.units.BernoulliUnits`): on binarised MNIST
        (13 % ones) four of the five products cost a fraction of a dense one."""
        v0 = self._rows(batch)
        with torch.no_grad():
            if int(self.t) == 0:
                self._first_batch(v0)
            self.data_count += v0.shape[0]
            self.data_sum += v0.sum(0).double()
            self.data_sq += (v0.double() ** 2).sum(0)
            mu0 = self.mean_h(v0)  # positive phase: probabilities, not samples
            if self.config.training == "cd":
                h = self.hidden_units.sample(mu0, None, self.uniform)
            else:
                if not bool(self.chains.started):
                    self.chains.start(self.sample_h(v0[torch.arange(self.chains.n_chains) % v0.shape[0]])[0])
                h = self.chains.state
            pcd = self.config.training == "pcd"
            v, v_mean, h, h_mean = self.gibbs.from_hidden(h, self.config.k, last_hidden=pcd)
            if self.config.negative_visible == "mean":
                v_neg, mu_neg = v_mean, self.mean_h(v_mean)
            else:  # PCD's chain step already computed E[h | v] for the sampled v: reuse it
                v_neg, mu_neg = v, h_mean if pcd else self.mean_h(v)
            if pcd:
                self.chains.start(h)  # the chain continues from its own last sample h ~ p(h | v)
            self._schedule()
            self._set_gradients(v0, mu0, v_neg, mu_neg)
            self.opt.step()
            self.t += 1
            if not self.will_log:
                return {}
            recon = self.mean_v(mu0)  # the guide's monitor: squared reconstruction error (not a likelihood)
            return {"recon_error": ((v0 - recon) ** 2).sum(-1).mean()}

    @torch.no_grad()
    def gibbs_chain(self, n: int, steps: int) -> tuple[Tensor, Tensor]:
        """n chains started from the base-rate model, ``steps`` block-Gibbs steps: (last v samples, E[v | last h])."""
        if self.hidden_units.binary:  # the AIS base-rate model: the data's marginals
            v = self.annealing_path().base_sample(n).to(self.W)
        else:
            v = self.visible_units.initial_state((n, self.D), self.W)
        v, v_mean, _, _ = self.gibbs.from_visible(v, steps)
        return v, v_mean

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        """n draws of v after ``sample_burn_in`` block-Gibbs steps from the base-rate model."""
        v, _ = self.gibbs_chain(n, self.config.sample_burn_in)
        return v.reshape(n, *self.data.shape)
