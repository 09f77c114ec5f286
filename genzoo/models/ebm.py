"""Energy-based models trained by contrastive divergence, negatives from any registered negative sampler.

p_θ(x) = exp(−E_θ(x)) / Z(θ), and the log-likelihood gradient is a difference of two
expectations (Hinton 2002; LeCun et al. 2006):

    ∇_θ E_data[−log p_θ(x)] = E_data[∇_θ E_θ(x)] − E_{x⁻~p_θ}[∇_θ E_θ(x⁻)].

Push data's energy down and the negatives' energy up; the negatives come from a sampler named
by ``negatives`` (:mod:`genzoo.sampling.negatives`). Each iteration:

    for k = 1..energy_steps:
        x⁺ ~ data;  x⁻ ← negatives(n)                          # detached
        L_E = mean E(x⁺) − mean E(x⁻)
              + α · mean(E(x⁺)² + E(x⁻)²)                        # energy_reg (Du & Mordatch)
              + λ · mean ‖∇_x E(x⁺)‖²                            # gp_weight (MEG)
        θ ← θ − Adam(∇_θ L_E)   (optionally ‖∇_θ‖ clipped to clip_grad_norm)
    negatives.update(n)                                         # the sampler's own step, if it learns

Where the negatives come from is the only difference between the GAN with the −log D trick
(E = −log D, negatives G(z)) and an EBM (slide 13, negatives from Langevin):

| configuration | paper |
|---|---|
| ``negatives=short-run`` (K Langevin steps from the noise below, every iteration) | Nijkamp et al. 2019 |
| ``negatives=replay`` (K steps from a replay buffer, 5 % restarts) — the default | Du & Mordatch 2019 |
| ``negatives=generator, negatives.entropy=batchnorm, energy_head=kim-bengio`` | Kim & Bengio 2016 (= model ``ddgm``) |
| ``negatives=generator, negatives.entropy=jsd-mi, gp_weight=0.1, energy_steps=5`` (+ MALA in z when sampling) | Kumar et al. 2019 (= model ``meg``) |

and any other registered negative sampler (``genzoo list`` marks them) with its own options,
``--set negatives.OPTION=value``. The Langevin samplers' defaults by data kind (η, σ set
**independently** as Du & Mordatch and Nijkamp et al. do; the tie matters for density
estimation, see :mod:`genzoo.sampling.langevin` and docs/ebm.md): images K = 60, η = 10,
σ = 0.005, ∇_x E clipped to ±0.01 — Du & Mordatch 2019; points (genzoo, stated): K = 40, η = 0.01
with the *tied* σ = √(2η). The energy's own defaults: α = 1, Adam(1e-4, β = (0, 0.999)) for images
(Du & Mordatch), α = 0.01, Adam(3e-3, β = (0, 0.999)) for points.
Noise for chain starts: uniform on [0, 1] for images, on the box [−b, b]^D for points with
b = 1.2 · max |x| of the first batch (kept in a buffer).
``sample(n)`` is the sampler's: Langevin chains from the training start distribution (noise,
or the replay buffer without writing to it), or G(z) after optional latent MCMC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from genzoo.config import Config, Part, at_least, half_open_unit_interval, nonnegative, option, positive
from genzoo.models.base import DataSpec, Model, register_model
from genzoo.nn.context import evaluating
from genzoo.nn.energy import EnergyNet
from genzoo.optim import adam, descend
from genzoo.sampling.langevin import LangevinStats
from genzoo.sampling.negatives import EnergyTarget, NegativeSampler, checked_part, make_negatives


@dataclass
class EBMConfig(Config):
    """Defaults: Du & Mordatch 2019 (replay buffer) for images; ``None`` fields resolve by data kind."""

    negatives: Part = option(Part(name="replay"), None,
                             "a registered negative sampler and its options (negatives.OPTION=value)")
    # energy network
    arch: Literal["auto", "mlp", "conv"] = option("auto", None, "energy network; auto: conv for images, mlp for points")
    hidden: int = option(128, at_least(1), "MLP width of the energy network")
    depth: int = option(3, at_least(1), "MLP hidden layers of the energy network")
    width: int = option(32, at_least(1), "conv base channels of the energy network")
    energy_head: Literal["linear", "kim-bengio"] = option("linear", None,
                                                          "the energy's last layer (kim-bengio: with a Gaussian term)")
    energy_sigma: float = option(1.0, positive, "σ of the kim-bengio head's Gaussian term")
    lr: float | None = option(None, positive, "Adam learning rate of E; none: 1e-4 images (Du & Mordatch), 3e-3 points")
    beta1: float = option(0.0, half_open_unit_interval, "Adam β1")
    beta2: float = option(0.999, half_open_unit_interval, "Adam β2")
    energy_steps: int = option(1, at_least(1), "energy updates per iteration (MEG: 5)")
    energy_reg: float | None = option(None, nonnegative, "α of α·mean(E(x⁺)² + E(x⁻)²); none: 1.0 images, 0.01 points")
    gp_weight: float = option(0.0, nonnegative, "λ of the ‖∇_x E(x_data)‖² penalty (MEG)")
    clip_grad_norm: float | None = option(None, positive, "clip ‖∇_θ L_E‖ to this norm; none: no clipping")

    def __post_init__(self) -> None:
        self.negatives = checked_part(self.negatives)  # the sampler's name and options, checked before anything runs
        super().__post_init__()


def resolve(c: EBMConfig, data: DataSpec) -> None:
    """Fill the energy's ``None``/``auto`` fields in place, so the saved config states what ran."""
    images = data.kind == "images"
    if c.arch == "auto":
        c.arch = "conv" if images else "mlp"
    if c.lr is None:
        c.lr = 1e-4 if images else 3e-3
    if c.energy_reg is None:
        c.energy_reg = 1.0 if images else 0.01


@register_model("ebm")
class EBM(Model):
    """Energy-based model by contrastive divergence: data's energy down, the negatives' up; negatives from any registered sampler."""

    Config = EBMConfig
    contract_overrides = {"hidden": 16, "depth": 2, "width": 4, "negatives.steps": 3, "negatives.buffer_size": 64}

    def __init__(self, config: EBMConfig, data: DataSpec) -> None:
        super().__init__(config, data)
        resolve(config, data)
        c = config
        self.E = EnergyNet(data.shape, c.arch, c.hidden, c.depth, c.width, c.energy_head, c.energy_sigma)
        self.opt_e = adam(self.E.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
        self.register_buffer("box", torch.tensor(-1.0))  # half-width of the points' noise box; set on the first batch
        target = EnergyTarget(self.E, self.noise, data.shape, data.kind, c.lr, (c.beta1, c.beta2))
        self.negatives: NegativeSampler
        self.negatives, c.negatives = make_negatives(c.negatives, target)

    # ---- the protocol -----------------------------------------------------------------------
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"energy": self.opt_e, **self.negatives.optimizers()}

    @property
    def batches_per_step(self) -> int:
        return self.config.energy_steps

    def energy(self, x: Tensor) -> Tensor:
        """E_θ(x), shape (N,): p_θ(x) ∝ exp(−E_θ(x))."""
        return self.E(x)

    def noise(self, n: int) -> Tensor:
        """Chain starts: uniform on [0, 1] (images) or on the box [−b, b]^D (points)."""
        u = torch.rand(n, *self.data.shape, device=self.box.device)
        if self.data.kind == "images":
            return u
        return (2 * u - 1) * (self.box if float(self.box) > 0 else 1.0)

    @property
    def last_chain(self) -> LangevinStats | None:
        """What the sampler's last Langevin chain did (acceptance, energies), if it runs chains."""
        return getattr(self.negatives, "last", None)

    # ---- one iteration ----------------------------------------------------------------------
    def energy_step(self, x: Tensor) -> dict[str, Tensor]:
        """Push data's energy down and the negatives' up: one Adam step on L_E."""
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
        descend(self.opt_e, loss, clip_norm=c.clip_grad_norm)
        logs["loss_e"] = loss.detach()
        return logs

    def step(self, batch: Tensor) -> dict[str, Tensor]:
        if float(self.box) < 0:  # the points' noise box, fixed once from the first batch
            self.box.fill_(1.2 * float(batch.abs().max()) if self.data.kind == "points" else 1.0)
        for x in batch.chunk(self.config.energy_steps):
            logs = self.energy_step(x)
        logs.update(self.negatives.update(x.shape[0]))  # a generator learns to be p_θ; chains do nothing
        return logs

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        with evaluating(self):
            return self.negatives.sample(n)
