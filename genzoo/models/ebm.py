"""Energy-based models trained by contrastive divergence, negatives from an interchangeable sampler.

p_θ(x) = exp(−E_θ(x)) / Z(θ), and the log-likelihood gradient is a difference of two
expectations (Hinton 2002; LeCun et al. 2006):

    ∇_θ E_data[−log p_θ(x)] = E_data[∇_θ E_θ(x)] − E_{x⁻~p_θ}[∇_θ E_θ(x⁻)].

Each iteration (the algorithm box shared by every row of the table below):

    for k = 1..energy_steps:
        x⁺ ~ data;  x⁻ ← negatives(n)                          # detached
        L_E = mean E(x⁺) − mean E(x⁻)
              + α · mean(E(x⁺)² + E(x⁻)²)                        # energy_reg (Du & Mordatch)
              + λ · mean ‖∇_x E(x⁺)‖²                            # gp_weight (MEG)
        θ ← θ − Adam(∇_θ L_E)   (optionally ‖∇_θ‖ clipped to clip_grad_norm)
    if negatives == "generator":                                # G minimises KL(q_G ‖ p_θ)
        L_G = mean E(G(z)) − w · Ĥ(q_G)                          # entropy_weight w
        φ ← φ − Adam(∇_φ L_G)

Where the negatives come from is the only difference between the GAN with the −log D trick
(E = −log D, negatives G(z)) and an EBM (slide 13, negatives from Langevin):

| configuration | paper |
|---|---|
| ``negatives=short-run`` (K Langevin steps from uniform noise, every iteration) | Nijkamp et al. 2019 |
| ``negatives=replay`` (K steps from a replay buffer, 5 % restarts) — the default | Du & Mordatch 2019 |
| ``negatives=generator, entropy=batchnorm, energy_head=kim-bengio`` | Kim & Bengio 2016 (= model ``ddgm``) |
| ``negatives=generator, entropy=jsd-mi, gp_weight=0.1, energy_steps=5`` (+ MALA in z when sampling) | Kumar et al. 2019 (= model ``meg``) |

Langevin: x ← x − η ∇_x E(x) + σ ξ with step size η and noise σ set **independently** (as Du &
Mordatch and Nijkamp et al. do; the chains are then short-run samplers, not exact samplers of
p_θ). Defaults (``None`` = by data kind): images η = 10, σ = 0.005, K = 60, ∇_x E clipped to
±0.01, α = 1, Adam(1e-4, β = (0, 0.999)), buffer 10 000 — Du & Mordatch 2019; points (genzoo,
stated): η = 0.01 with the *tied* σ = √(2η) ≈ 0.141, K = 40, no clipping, α = 0.01,
Adam(3e-3, β = (0, 0.999)). The tie matters for density estimation: untied chains sample
exp(−E/T) with T = σ²/(2η) (T = 1.25·10⁻⁶ for the image defaults), so the learned E is a
sharpened −T·log p and exp(−E) normalised on a grid is far too flat (measured in docs/ebm.md).
Noise for chain starts: uniform on [0, 1] for images, on the box [−b, b]^D for points with
b = 1.2 · max |x| of the first batch (kept in a buffer).
``sample(n)`` runs ``sample_steps`` (default K) Langevin steps from the same start
distribution as training (noise, or the replay buffer without writing to it); with a generator
it returns G(z), after ``latent_steps`` Langevin/MALA steps on E_θ(G(z)) in latent space if set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from genzoo.config import check
from genzoo.estimators.entropy import batchnorm_entropy
from genzoo.estimators.mutual_information import jsd_mi
from genzoo.models.base import DataSpec, Model, register_model
from genzoo.nn.energy import EnergyNet, StatisticsNetwork, bn_generator
from genzoo.optim import adam
from genzoo.sampling.ddls import latent_energy
from genzoo.sampling.langevin import langevin
from genzoo.sampling.replay import ReplayBuffer
from genzoo.nn.context import evaluating, frozen

NEGATIVES = ("short-run", "replay", "generator")
ENTROPIES = ("none", "batchnorm", "jsd-mi")


@dataclass
class EBMConfig:
    """Defaults: Du & Mordatch 2019 (replay buffer) for images; ``None`` fields resolve by data kind."""

    negatives: str = "replay"  # short-run | replay | generator
    # energy network
    arch: Literal["auto", "mlp", "conv"] = "auto"  # auto: conv for images, mlp for points
    hidden: int = 128
    depth: int = 3
    width: int = 32
    energy_head: Literal["linear", "kim-bengio"] = "linear"
    energy_sigma: float = 1.0  # σ of the kim-bengio head's Gaussian term
    lr: float | None = None  # None: 1e-4 images (Du & Mordatch), 3e-3 points
    beta1: float = 0.0
    beta2: float = 0.999
    energy_steps: int = 1  # energy updates per iteration (MEG: 5)
    energy_reg: float | None = None  # α; None: 1.0 images, 0.01 points
    gp_weight: float = 0.0  # λ of the ‖∇_x E(x_data)‖² penalty (MEG)
    clip_grad_norm: float | None = None  # clip ‖∇_θ L_E‖
    # Langevin chains (short-run, replay)
    langevin_steps: int | None = None  # K; None: 60 images, 40 points
    step_size: float | None = None  # η; None: 10 images, 0.01 points
    noise: float | None = None  # σ; None: 0.005 images, √(2η) points
    tied_noise: bool = False  # σ = √(2η) whatever ``noise`` says
    metropolis: bool = False  # MALA chains
    langevin_clip: float | None = None  # clip ∇_x E elementwise; None: 0.01 images, off for points
    sample_steps: int | None = None  # steps used by sample(); None: langevin_steps
    buffer_size: int = 10_000
    reinit: float = 0.05
    # generator negatives (ddgm, meg)
    z_dim: int | None = None  # None: 100 images, 2 points
    gen_hidden: int = 128
    gen_depth: int = 2
    gen_width: int = 64  # DCGAN generator base width (images)
    lr_g: float | None = None  # None: lr
    entropy: str = "none"  # none | batchnorm (Kim & Bengio) | jsd-mi (MEG)
    entropy_weight: float = 1.0
    latent_steps: int = 0  # Langevin/MALA steps on E(G(z)) in z when sampling (MEG)
    latent_step_size: float = 0.01
    latent_metropolis: bool = True
    latent_prior: bool = False  # add ‖z‖²/2 to the latent energy (DDLS's form); MEG samples E(G(z)) alone

    def __post_init__(self) -> None:
        check(self.negatives in NEGATIVES, "negatives", self.negatives, f"valid: {', '.join(NEGATIVES)}")
        check(self.entropy in ENTROPIES, "entropy", self.entropy, f"valid: {', '.join(ENTROPIES)}")
        check(self.entropy == "none" or self.negatives == "generator", "entropy", self.entropy,
              "only applies with negatives=generator")
        for name in ("hidden", "width", "energy_steps", "buffer_size", "gen_hidden", "gen_width"):
            check(getattr(self, name) >= 1, name, getattr(self, name), "must be ≥ 1")
        check(self.depth >= 1, "depth", self.depth, "must be ≥ 1")
        check(self.gen_depth >= 0, "gen_depth", self.gen_depth, "must be ≥ 0")
        for name in ("lr", "lr_g", "step_size", "clip_grad_norm", "langevin_clip"):
            v = getattr(self, name)
            check(v is None or (v > 0 and math.isfinite(v)), name, v, "must be > 0")
        for name in ("langevin_steps", "sample_steps", "noise", "energy_reg"):
            v = getattr(self, name)
            check(v is None or v >= 0, name, v, "must be ≥ 0")
        for name in ("gp_weight", "entropy_weight", "latent_steps"):
            check(getattr(self, name) >= 0, name, getattr(self, name), "must be ≥ 0")
        check(self.latent_step_size > 0, "latent_step_size", self.latent_step_size, "must be > 0")
        check(self.energy_sigma > 0, "energy_sigma", self.energy_sigma, "must be > 0")
        check(0 <= self.reinit <= 1, "reinit", self.reinit, "must be in [0, 1]")
        check(self.z_dim is None or self.z_dim >= 1, "z_dim", self.z_dim, "must be ≥ 1")
        for name in ("beta1", "beta2"):
            check(0 <= getattr(self, name) < 1, name, getattr(self, name), "must be in [0, 1)")


def resolve(c: EBMConfig, data: DataSpec) -> None:
    """Fill the ``None``/``auto`` fields in place, so the saved config states what ran."""
    images = data.kind == "images"
    if c.arch == "auto":
        c.arch = "conv" if images else "mlp"
    defaults = dict(lr=1e-4 if images else 3e-3, energy_reg=1.0 if images else 0.01,
                    langevin_steps=60 if images else 40, step_size=10.0 if images else 0.01,
                    langevin_clip=0.01 if images else None, z_dim=100 if images else 2)
    for name, value in defaults.items():
        if getattr(c, name) is None:
            setattr(c, name, value)
    if c.tied_noise or (c.noise is None and not images):
        c.noise = math.sqrt(2 * c.step_size)
    elif c.noise is None:
        c.noise = 0.005
    if c.sample_steps is None:
        c.sample_steps = c.langevin_steps
    if c.lr_g is None:
        c.lr_g = c.lr


@register_model("ebm")
class EBM(Model):
    """Energy-based model by contrastive divergence; negatives from short-run Langevin, a replay buffer or a generator."""

    Config = EBMConfig
    contract_overrides = {"hidden": 16, "depth": 2, "width": 4, "langevin_steps": 3, "buffer_size": 64,
                          "gen_hidden": 16, "gen_width": 8, "z_dim": 4}

    def __init__(self, config: EBMConfig, data: DataSpec) -> None:
        super().__init__(config, data)
        resolve(config, data)
        c = config
        self.E = EnergyNet(data.shape, c.arch, c.hidden, c.depth, c.width, c.energy_head, c.energy_sigma)
        self.opt_e = adam(self.E.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
        self.register_buffer("box", torch.tensor(-1.0))  # half-width of the points' noise box; set on the first batch
        self.clamp = (0.0, 1.0) if data.kind == "images" and not c.metropolis else None
        if c.negatives == "replay":
            self.buffer = ReplayBuffer(c.buffer_size, data.shape, self.noise, c.reinit)
        if c.negatives == "generator":
            self.G = bn_generator(c.z_dim, data.shape, data.kind, c.gen_hidden, c.gen_depth, c.gen_width)
            params = list(self.G.parameters())
            if c.entropy == "jsd-mi":
                self.T = StatisticsNetwork(data.shape, c.z_dim, c.gen_hidden)
                params += list(self.T.parameters())
            self.opt_g = adam(params, lr=c.lr_g, betas=(c.beta1, c.beta2))

    # ---- the protocol -----------------------------------------------------------------------
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        opts = {"energy": self.opt_e}
        if self.config.negatives == "generator":
            opts["generator"] = self.opt_g
        return opts

    @property
    def batches_per_step(self) -> int:
        return self.config.energy_steps

    def energy(self, x: Tensor) -> Tensor:
        """E_θ(x), shape (N,): p_θ(x) ∝ exp(−E_θ(x))."""
        return self.E(x)

    # ---- negatives --------------------------------------------------------------------------
    def noise(self, n: int) -> Tensor:
        """Chain starts: uniform on [0, 1] (images) or on the box [−b, b]^D (points)."""
        u = torch.rand(n, *self.data.shape, device=self.box.device)
        if self.data.kind == "images":
            return u
        return (2 * u - 1) * (self.box if float(self.box) > 0 else 1.0)

    def prior(self, n: int) -> Tensor:
        return torch.randn(n, self.config.z_dim, device=self.box.device)

    def chain(self, x0: Tensor, steps: int) -> Tensor:
        """K Langevin (or MALA) steps on E_θ from x0 (η, σ independent; see the module docstring)."""
        c = self.config
        x, self.last_chain = langevin(self.energy, x0, steps, c.step_size, c.noise, c.metropolis, c.langevin_clip,
                                      self.clamp)
        return x

    def negatives(self, n: int) -> Tensor:
        """x⁻ for the energy update, detached."""
        c = self.config
        if c.negatives == "short-run":
            return self.chain(self.noise(n), c.langevin_steps)
        if c.negatives == "replay":
            x = self.chain(self.buffer.draw(n), c.langevin_steps)
            self.buffer.push(x)
            return x
        with torch.no_grad():
            return self.G(self.prior(n))

    # ---- one iteration ----------------------------------------------------------------------
    def energy_step(self, x: Tensor) -> dict[str, Tensor]:
        c = self.config
        neg = self.negatives(x.shape[0])
        if c.gp_weight > 0:
            x = x.detach().requires_grad_(True)
        e_pos, e_neg = self.E(x), self.E(neg)
        loss = e_pos.mean() - e_neg.mean()
        logs = {"e_data": e_pos.mean().detach(), "e_neg": e_neg.mean().detach(), "cd": loss.detach()}
        if c.energy_reg > 0:
            loss = loss + c.energy_reg * (e_pos.pow(2) + e_neg.pow(2)).mean()
        if c.gp_weight > 0:
            (g,) = torch.autograd.grad(e_pos.sum(), x, create_graph=True)
            penalty = g.flatten(1).pow(2).sum(1).mean()
            loss = loss + c.gp_weight * penalty
            logs["grad_penalty"] = penalty.detach()
        self.opt_e.zero_grad(set_to_none=True)
        loss.backward()
        if c.clip_grad_norm is not None:
            nn.utils.clip_grad_norm_(self.E.parameters(), c.clip_grad_norm)
        self.opt_e.step()
        logs["loss_e"] = loss.detach()
        return logs

    def entropy_estimate(self, x: Tensor, z: Tensor) -> Tensor:
        """Ĥ(q_G): batch-norm scales (Kim & Bengio) or the JSD mutual information I(z; G(z)) (MEG)."""
        if self.config.entropy == "batchnorm":
            return batchnorm_entropy(self.G)
        if self.config.entropy == "jsd-mi":
            # H(G(z)) = I(z; G(z)) for deterministic G; marginal pairs use a fresh z̄ ~ p(z)
            return jsd_mi(self.T(x, z), self.T(x, self.prior(z.shape[0])))
        return x.new_zeros(())

    def generator_step(self, n: int) -> dict[str, Tensor]:
        """φ ← φ − Adam ∇_φ [mean E(G(z)) − w Ĥ(q_G)] through a frozen E (T, if any, ascends Ĥ too)."""
        c = self.config
        z = self.prior(n)
        x = self.G(z)
        with frozen(self.E):
            e_fake = self.E(x).mean()
        h = self.entropy_estimate(x, z)
        loss = e_fake - c.entropy_weight * h
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        return {"loss_g": loss.detach(), "e_gen": e_fake.detach(), "entropy": h.detach()}

    def step(self, batch: Tensor) -> dict[str, Tensor]:
        if float(self.box) < 0:  # the points' noise box, fixed once from the first batch
            self.box.fill_(1.2 * float(batch.abs().max()) if self.data.kind == "points" else 1.0)
        for x in batch.chunk(self.config.energy_steps):
            logs = self.energy_step(x)
        if self.config.negatives == "generator":
            logs.update(self.generator_step(x.shape[0]))
        return logs

    # ---- sampling ---------------------------------------------------------------------------
    def latent_chain(self, z0: Tensor) -> Tensor:
        """``latent_steps`` Langevin/MALA steps on E_θ(G(z)) (+ ‖z‖²/2 with ``latent_prior``) in z."""
        c = self.config
        u = latent_energy(self.G, self.energy, prior=c.latent_prior)
        z, self.last_chain = langevin(u, z0, c.latent_steps, c.latent_step_size, None, c.latent_metropolis)
        return z

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        c = self.config
        with evaluating(self):
            if c.negatives == "generator":
                z = self.prior(n)
                if c.latent_steps > 0:
                    z = self.latent_chain(z)
                return self.G(z)
            start = self.buffer.draw(n) if c.negatives == "replay" else self.noise(n)
            return self.chain(start, c.sample_steps)
