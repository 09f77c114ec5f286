"""Annealed importance sampling (Neal 2001) of an RBM's partition function, after Salakhutdinov & Murray (2008).

A base model p_A with a known Z_A is annealed into the RBM p_B through the geometric path

    f_β(v) = f_A(v)^{1−β} f_B(v)^β,        0 = β_0 < β_1 < … < β_K = 1,

whose unnormalised marginal over v (the hidden units summed out) is, for Bernoulli hidden units,

    log f_β(v) = (1−β) log f_A(v) + β (visible terms of −E_B) + Σ_j softplus(β x_j(v)),
    x_j(v) = b_j + Σ_i (v_i/σ_i) W_ij.

S&M's base-rate model p_A is independent visible units matched to the training data's visible
marginals (a_A,i = logit p̂_i for Bernoulli visibles; for Gaussian visibles we use the data's
mean and standard deviation per unit) plus H hidden units with no weights, so Z_A is a product
and p_A can be sampled exactly. One run:

    v_1 ~ p_A;  for k = 1..K:  log w += log f_{β_k}(v_k) − log f_{β_{k−1}}(v_k);  v_{k+1} ~ T_k(· | v_k)

with T_k one block-Gibbs step (h ~ p_k(h|v), v ~ p_k(v|h)) that leaves p_k invariant. Then
E[w] = Z_B / Z_A, and over R runs

    Ẑ_B = Z_A · (1/R) Σ_r w_r,    se(log Ẑ_B) ≈ sd(w) / (√R · mean(w))   (delta method).

Ẑ_B is unbiased, so by Jensen E[log Ẑ_B] ≤ log Z_B: AIS tends to *underestimate* log Z and so
to overstate test log-likelihoods log p(v) = −F(v) − log Z.

The conservative counterpart is reverse AIS: start from exact samples of the RBM and anneal
back to p_A; the weights then have E[w] = Z_A / Z_B, giving log Ẑ_rev = log Z_A − log mean w
with E[log Ẑ_rev] ≥ log Z_B — an estimate from the other side. The pair brackets log Z only in
expectation, E[log Ẑ] ≤ log Z_B ≤ E[log Ẑ_rev]: both are stochastic bounds, and one pair of runs can
land with both values on the same side of the true log Z (Burda, Grosse & Salakhutdinov 2015
discuss this pair). Averaging log w instead of w
gives bounds that hold run by run in expectation and concentrate over runs (Grosse, Ghahramani &
Adams 2015, "sandwiching"): log Z_A + mean log w ≤ log Z (forward) and log Z_A − mean log w_rev ≥
log Z (reverse), each in expectation; :class:`AISResult` carries it as ``log_z_bound``. The guarantee needs exact
samples of the RBM: :meth:`RBMPath.exact_samples` draws them by enumerating the hidden layer
when it is small; for larger models the samples come from long Gibbs chains, and the bound
then holds only as far as those chains have mixed (the callers say so).

Defaults are S&M's: β spaced uniformly by 1e-3 on [0, 0.5], 1e-4 on [0.5, 0.9] and 1e-5 on
[0.9, 1] (14 500 intermediate distributions) and 100 runs. Log weights are accumulated in
float64; the matrix products stay in the model's dtype.

Cost: the loop converts nothing per β (the parameters are cast once, in :class:`RBMPath`) and,
for Bernoulli visibles, draws the uniforms of ``BLOCK_BETAS`` transitions at once — the same
numbers in the same order as one draw per step, so a seed gives bit-identical weights to the
plain per-step loop (tests/test_ais.py keeps that loop as the reference). That buys 1.16× on one
thread (docs/speed.md): the two matrix products and the uniforms themselves are ≈ 85 % of the
loop, and cutting either (sparse products of the binary states, a faster generator) would change
the values for a seed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from genzoo.config import check
from genzoo.errors import GenzooError
from genzoo.progress import bar
from genzoo.sampling import register_sampler
from genzoo.sampling.units import UNITS, Units, units

#: Salakhutdinov & Murray (2008): intermediate distributions per segment of [0, 1].
SM2008_SEGMENTS = ((0.0, 0.5, 500), (0.5, 0.9, 4000), (0.9, 1.0, 10000))
SM2008_BETAS = sum(n for _, _, n in SM2008_SEGMENTS)  # 14 500
SM2008_RUNS = 100
#: Transitions whose uniforms are drawn in one call (Bernoulli visibles): runs × (H + D) floats each,
#: so 16 × 100 × (500 + 784) float32 ≈ 8 MB for S&M's MNIST RBM.
BLOCK_BETAS = 16


def sm2008_betas(n: int = SM2008_BETAS, dtype: torch.dtype = torch.float64) -> Tensor:
    """The β schedule of S&M 2008 with n transitions (n + 1 points from 0 to 1), segments scaled in proportion."""
    check(n >= 3, "ais_betas", n, "must be ≥ 3")
    counts = [max(1, round(n * m / SM2008_BETAS)) for _, _, m in SM2008_SEGMENTS]
    counts[-1] = n - sum(counts[:-1])
    parts = [torch.linspace(lo, hi, m + 1, dtype=torch.float64)[:-1] for (lo, hi, _), m in zip(SM2008_SEGMENTS, counts)]
    return torch.cat(parts + [torch.ones(1, dtype=torch.float64)]).to(dtype)


#: Up to this many hidden states, exact samples draw from the whole table of p(h) at once (8 bytes
#: a state); beyond it they stream chunk by chunk.
EXACT_SAMPLES_IN_MEMORY = 2**20


@dataclass
class AISResult:
    """log Ẑ with its standard error; ``low``/``high`` = log(Ẑ ∓ 3 se(Ẑ)) as S&M report (nan when Ẑ − 3 se ≤ 0)."""

    log_z: float
    log_z_std: float
    low: float
    high: float
    log_w: Tensor  # (R,) float64 log importance weights
    runs: int
    betas: int
    reverse: bool = False
    #: log Z_A ± mean_r log w_r: a stochastic lower (forward) / upper (reverse, exact starts) bound on
    #: log Z — Jensen per run, so unlike log Ẑ its mean over runs concentrates on the bound's side
    log_z_bound: float = float("nan")


def _summarise(log_w: Tensor, log_z_base: float, betas: int, reverse: bool) -> AISResult:
    r = log_w.numel()
    m = float(log_w.max())
    w = torch.exp(log_w - m)
    mean = float(w.mean())
    sd = float(w.std(unbiased=True)) if r > 1 else float("nan")
    log_mean = m + math.log(mean)
    rel = sd / (math.sqrt(r) * mean)  # se(mean w) / mean w = se(log mean w) to first order
    sign = -1.0 if reverse else 1.0
    log_z = log_z_base + sign * log_mean

    def shifted(c: float) -> float:  # log of (mean w)(1 + c·rel), mapped to log Z
        return log_z_base + sign * (log_mean + math.log(1 + c * rel)) if 1 + c * rel > 0 else float("nan")

    lo, hi = (shifted(-3.0), shifted(3.0)) if not reverse else (shifted(3.0), shifted(-3.0))
    bound = log_z_base + sign * float(log_w.mean())
    return AISResult(log_z, rel, lo, hi, log_w, r, betas, reverse, bound)


class RBMPath:
    """The annealing path between the base-rate model and an RBM with Bernoulli hidden units.

    ``visible`` is the visible unit type (a :class:`~genzoo.sampling.units.Units` or its name,
    "bernoulli" or "gaussian"); parameters follow :mod:`genzoo.models.rbm`: a (D,) visible biases,
    b (H,) hidden biases, W (D, H), sigma (D,) visible standard deviations (ones for Bernoulli).
    The base model is given by ``base_mean`` (D,), the data's visible marginals p̂_i (Bernoulli)
    or means (Gaussian), and ``base_std`` (D,) for Gaussian: independent visible units of the same
    type (bias c_A, σ_A) and H hidden units with no weights or biases.
    """

    def __init__(self, visible: str | Units, a: Tensor, b: Tensor, W: Tensor, sigma: Tensor, base_mean: Tensor, base_std: Tensor | None = None) -> None:
        try:
            self.units = units(visible)
        except GenzooError:
            raise GenzooError(f"invalid value visible={visible!r}: AIS supports bernoulli or gaussian visible units") from None
        self.visible = self.units.name
        self.a, self.b, self.W, self.sigma = a.detach(), b.detach(), W.detach(), sigma.detach()
        self.H = int(b.shape[0])
        # the base model's visible layer (float64): log Z_A = Σ_i log ∫ e^{−e_A(v_i)} dv_i + H log 2
        self.base = self.units.base_layer(base_mean, base_std)
        zero = torch.zeros_like(self.base[0])
        self.log_z_base = float(self.units.log_integral(*self.base, zero).sum()) + self.H * math.log(2.0)
        # casts made once here, not at every β: the loop's per-step conversions were ≈ 6 % of its time
        dtype, device = self.W.dtype, self.W.device
        self._a64 = self.a.to(torch.float64)
        self._s64 = None if self.units.binary else self.sigma.to(torch.float64)
        self._unit_sigma = bool((self.sigma == 1).all())  # v / 1 is exact: skip the division (Bernoulli visibles)
        self._base_dt = tuple(None if t is None else t.to(dtype=dtype, device=device) for t in self.base)

    # ---- pieces of log f_β(v) ------------------------------------------------------------------
    def _x(self, v: Tensor) -> Tensor:
        # b + v @ W, not addmm: addmm rounds differently, and the values must match the plain loop's
        return self.b + (v if self._unit_sigma else v / self.sigma) @ self.W

    def _visible_terms(self, v: Tensor) -> tuple[Tensor, Tensor]:
        """(log f_A(v) without the hidden 2^H, visible part of −E_B(v, ·)) in float64."""
        v64 = v.to(torch.float64)
        return -self.units.energy(v64, *self.base), -self.units.energy(v64, self._a64, self._s64)

    def log_f(self, v: Tensor, beta: float) -> Tensor:
        """log f_β(v) (float64, shape (N,))."""
        base, target = self._visible_terms(v)
        return (1 - beta) * base + beta * target + F.softplus(beta * self._x(v).to(torch.float64)).sum(-1)

    def log_ratio(self, v: Tensor, beta_from: float, beta_to: float, x: Tensor | None = None) -> Tensor:
        """log f_{β_to}(v) − log f_{β_from}(v), float64; ``x`` = x(v) if already computed."""
        base, target = self._visible_terms(v)
        x = self._x(v) if x is None else x
        # softplus(βx + δx) − softplus(βx) = log1p(σ(βx)·expm1(δx)): no cancellation, so the model's
        # dtype suffices for each (tiny) term; the sum over units and steps is float64
        hidden = torch.log1p(torch.sigmoid(beta_from * x) * torch.expm1((beta_to - beta_from) * x))
        # out-of-place unary ops on purpose: torch's in-place sigmoid_/expm1_/log1p_ measured ≈ 10 %
        # slower here; the float64 sum reads the float32 terms directly (no converted copy)
        return (beta_to - beta_from) * (target - base) + hidden.sum(-1, dtype=torch.float64)

    # ---- sampling -------------------------------------------------------------------------------
    def base_sample(self, n: int) -> Tensor:
        """n exact draws of the base model's visible units (its mean given zero input, then the unit's sampler)."""
        c, s = self.base
        zero = torch.zeros(n, 0, dtype=torch.float64, device=c.device)
        mean = self.units.mean(c, s, self.units, zero, torch.zeros(0, c.shape[0], dtype=torch.float64, device=c.device))
        return self.units.sample(mean.to(dtype=self.W.dtype, device=self.W.device),
                                 None if s is None else s.to(dtype=self.W.dtype, device=self.W.device))

    def transition(self, v: Tensor, beta: float, x: Tensor | None = None, uniforms: Tensor | None = None) -> Tensor:
        """One block-Gibbs step leaving p_β invariant: h ~ σ(β x(v)), then v ~ p_β(v | h).

        ``uniforms`` (Bernoulli visibles): the step's runs·(H + D) uniforms, h's first, as
        ``rand_like(p_h)`` then ``rand_like(p_v)`` would draw them; drawn here when None.
        """
        x = self._x(v) if x is None else x
        n = v.shape[0]
        p_h = torch.sigmoid(beta * x)
        u_h = torch.rand_like(p_h) if uniforms is None else uniforms[: n * self.H].view(n, self.H)
        h = torch.lt(u_h, p_h).to(v.dtype)
        drive = h @ self.W.T  # Σ_j W_ij h_j
        u_v = None if uniforms is None else uniforms[n * self.H :].view(n, -1)
        return self.units.annealed_sample(beta, self._base_dt, self.a, self.sigma, drive, u_v)

    def uniform_blocks(self, runs: int, steps: int, block: int | None = None) -> Iterator[Tensor | None]:
        """Per transition, its uniforms (runs·(H + D),) drawn ``block`` transitions at a time; None for Gaussian visibles.

        uniform_ consumes the generator element by element in order, so one (block, runs·(H + D))
        draw yields exactly the numbers of ``block`` steps each drawing h's and then v's. Gaussian
        visibles interleave normals (drawn and transformed in blocks of 16 by torch) with h's
        uniforms, which a bulk draw cannot reproduce: they keep per-step draws. So do CUDA tensors,
        whose Philox offsets advance per call, not per number.
        """
        if not self.units.binary or self.W.device.type != "cpu":
            for _ in range(steps):
                yield None
            return
        block = block or BLOCK_BETAS
        width = runs * (self.H + self.W.shape[0])
        for start in range(0, steps, block):
            u = torch.rand(min(block, steps - start), width, dtype=self.W.dtype, device=self.W.device)
            yield from u

    def _log_p_hidden(self, H: Tensor) -> Tensor:
        """−F(h) + const for hidden states H (m, H), float64: the RBM's marginal over h."""
        drive = H @ self.W.T  # per-unit terms in the model's dtype, their sums in float64
        visible = self.units.log_integral(self.a, None if self.units.binary else self.sigma, drive)
        return H.to(torch.float64) @ self.b.to(torch.float64) + visible.sum(-1, dtype=torch.float64)

    def exact_samples(self, n: int, max_hidden: int = 20) -> Tensor:
        """n exact samples of the RBM: h from p(h) ∝ e^{−F(h)} by enumerating 2^H states, then v ~ p(v|h)."""
        if self.H > max_hidden:
            raise GenzooError(f"exact RBM samples need 2^{self.H} hidden states (more than 2^{max_hidden}); use Gibbs chains")
        from genzoo.sampling.enumerate import binary_states

        total, step = 2**self.H, 2 ** min(self.H, 12)  # chunks keep the (states × D) products small

        def log_ph(start: int) -> Tensor:
            return self._log_p_hidden(binary_states(self.H, start, min(total, start + step), dtype=self.W.dtype, device=self.W.device))

        if total <= EXACT_SAMPLES_IN_MEMORY:  # the whole table is small (≤ 8 MiB): one draw over it
            idx = torch.multinomial(torch.softmax(torch.cat([log_ph(s) for s in range(0, total, step)]), 0), n, replacement=True)
        else:
            # Streamed, still exact: draw a chunk by its total mass, then a state within the chunk by
            # its mass there. Memory is one chunk plus a mass per chunk (2 MiB at 2^30 states) instead
            # of 8 bytes per state — and multinomial takes at most 2^24 categories anyway.
            starts = range(0, total, step)
            masses = torch.empty(len(starts), dtype=torch.float64, device=self.W.device)
            for i, s in enumerate(starts):
                masses[i] = torch.logsumexp(log_ph(s), 0)
            chunk = torch.multinomial(torch.softmax(masses, 0), n, replacement=True)
            idx = torch.empty_like(chunk)
            for c in chunk.unique().tolist():
                picked = (chunk == c).nonzero().squeeze(1)
                within = torch.multinomial(torch.softmax(log_ph(c * step), 0), len(picked), replacement=True)
                idx[picked] = c * step + within
        h = ((idx.unsqueeze(1) >> torch.arange(self.H, device=idx.device)) & 1).to(self.W.dtype)
        scale = None if self.units.binary else self.sigma
        return self.units.sample(self.units.mean(self.a, scale, UNITS["bernoulli"], h, self.W.T), scale)


@register_sampler("ais")
class AnnealedImportanceSampling:
    """Annealed importance sampling of log Z (Neal 2001; S&M 2008 base-rate path): log Ẑ ± se, and reverse AIS for the other side."""

    applies_to = "RBM with Bernoulli hidden units (visible bernoulli or gaussian), via RBMPath"

    def __init__(self, betas: int = SM2008_BETAS, runs: int = SM2008_RUNS) -> None:
        check(runs >= 2, "ais_runs", runs, "must be ≥ 2 (the standard error needs two runs)")
        self.schedule = sm2008_betas(betas)
        self.runs = runs

    @torch.no_grad()
    def log_partition(self, path: RBMPath) -> AISResult:
        """Forward AIS from the base model: a stochastic estimate that underestimates log Z on average."""
        betas = self.schedule.tolist()
        v = path.base_sample(self.runs)
        log_w = torch.zeros(self.runs, dtype=torch.float64, device=v.device)
        noise = path.uniform_blocks(self.runs, len(betas) - 2)  # exactly the transitions' draws: no more
        for k in bar(range(1, len(betas)), desc="AIS", unit="β"):
            x = path._x(v)
            log_w += path.log_ratio(v, betas[k - 1], betas[k], x)
            if k < len(betas) - 1:
                v = path.transition(v, betas[k], x, next(noise))
        return _summarise(log_w.cpu(), path.log_z_base, len(betas) - 1, reverse=False)

    @torch.no_grad()
    def reverse_log_partition(self, path: RBMPath, samples: Tensor) -> AISResult:
        """Reverse AIS from samples of the RBM (one run per sample): overestimates log Z on average if they are exact."""
        betas = self.schedule.tolist()
        v = samples.to(path.W)
        log_w = torch.zeros(v.shape[0], dtype=torch.float64, device=v.device)
        noise = path.uniform_blocks(v.shape[0], len(betas) - 2)
        for k in bar(range(len(betas) - 1, 0, -1), desc="reverse AIS", unit="β"):
            x = path._x(v)
            log_w += path.log_ratio(v, betas[k], betas[k - 1], x)
            if k > 1:
                v = path.transition(v, betas[k - 1], x, next(noise))
        return _summarise(log_w.cpu(), path.log_z_base, len(betas) - 1, reverse=True)
