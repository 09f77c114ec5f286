"""A generator as an energy-based model's negative sampler (Kim & Bengio 2016; Kumar et al. 2019).

Instead of MCMC a generator G_φ supplies the negatives, x⁻ = G(z), z ~ N(0, I), and after each
energy update G is trained to *be* p_θ by minimising

    KL(q_G ‖ p_θ) = E_z[E_θ(G(z))] − H(q_G) + log Z(θ),

whose φ-gradient needs no Z: one Adam step on mean E_θ(G(z)) − w·Ĥ(q_G) through a frozen E_θ.
Without the entropy G would collapse onto the energy's minima (a GAN's mode collapse). The
entropy of the implicit q_G is estimated

* ``entropy=batchnorm`` from the generator's batch-norm scales, Ĥ = Σ_a ½ log(2πe γ_a²)
  (Kim & Bengio 2016, §3), or
* ``entropy=jsd-mi`` as the mutual information I(z; G(z)) (= H(G(z)) for a deterministic G),
  by the Jensen–Shannon bound with a statistics network T that G and T both ascend (MEG;
  Kumar et al. 2019, §3).

``sample(n)`` returns G(z), after ``latent_steps`` Langevin/MALA steps on E_θ(G(z)) in z
(+ ‖z‖²/2 with ``latent_prior``, DDLS's form) when set — MEG's sampler. The generator's Adam
shares the energy's β and, unless ``lr`` is set, its learning rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from genzoo.config import check
from genzoo.estimators.entropy import batchnorm_entropy
from genzoo.estimators.mutual_information import jsd_mi
from genzoo.nn.context import evaluating, frozen
from genzoo.nn.energy import StatisticsNetwork, bn_generator
from genzoo.optim import adam, descend
from genzoo.sampling import register_sampler
from genzoo.sampling.ddls import latent_energy
from genzoo.sampling.langevin import LangevinStats, langevin
from genzoo.sampling.negatives import EnergyTarget, NegativeSampler


@dataclass
class GeneratorConfig:
    """Options of generator negatives (``--set negatives.OPTION=value``)."""

    z_dim: int | None = None  # None: 100 images, 2 points
    hidden: int = 128  # MLP hidden units (points); also T's
    depth: int = 2  # MLP hidden layers (points)
    width: int = 64  # DCGAN generator base width (images)
    lr: float | None = None  # G's Adam learning rate; None: the energy's
    entropy: Literal["none", "batchnorm", "jsd-mi"] = "none"  # Ĥ(q_G): none, Kim & Bengio's, MEG's
    entropy_weight: float = 1.0  # w
    latent_steps: int = 0  # Langevin/MALA steps on E(G(z)) in z when sampling (MEG)
    latent_step_size: float = 0.01
    latent_metropolis: bool = True
    latent_prior: bool = False  # add ‖z‖²/2 to the latent energy (DDLS's form); MEG samples E(G(z)) alone

    def __post_init__(self) -> None:
        check(self.z_dim is None or self.z_dim >= 1, "z_dim", self.z_dim, "must be ≥ 1")
        for name in ("hidden", "width"):
            check(getattr(self, name) >= 1, name, getattr(self, name), "must be ≥ 1")
        check(self.depth >= 0, "depth", self.depth, "must be ≥ 0")
        check(self.lr is None or self.lr > 0, "lr", self.lr, "must be > 0")
        for name in ("entropy_weight", "latent_steps"):
            check(getattr(self, name) >= 0, name, getattr(self, name), "must be ≥ 0")
        check(self.latent_step_size > 0, "latent_step_size", self.latent_step_size, "must be > 0")


@register_sampler("generator")
class GeneratorNegatives(NegativeSampler):
    """A generator G(z) as the negative sampler, trained on E_θ(G(z)) − Ĥ(q_G) (Kim & Bengio 2016; MEG's MI entropy)."""

    applies_to = "an energy E(x): ebm --set negatives=generator (models ddgm, meg)"
    Config = GeneratorConfig
    contract_options = {"hidden": 16, "width": 8, "z_dim": 4}

    def __init__(self, config: GeneratorConfig, target: EnergyTarget) -> None:
        super().__init__(config, target)
        c = config
        self.G = bn_generator(c.z_dim, target.shape, target.kind, c.hidden, c.depth, c.width)
        params = list(self.G.parameters())
        if c.entropy == "jsd-mi":
            self.T = StatisticsNetwork(target.shape, c.z_dim, c.hidden)
            params += list(self.T.parameters())
        self.opt = adam(params, lr=c.lr, betas=target.betas)
        self.last: LangevinStats | None = None

    @staticmethod
    def resolve(c: GeneratorConfig, target: EnergyTarget) -> None:
        if c.z_dim is None:
            c.z_dim = 100 if target.kind == "images" else 2
        if c.lr is None:
            c.lr = target.lr

    def prior(self, n: int) -> Tensor:
        return torch.randn(n, self.config.z_dim, device=next(self.G.parameters()).device)

    @torch.no_grad()
    def forward(self, n: int) -> Tensor:
        return self.G(self.prior(n))

    def entropy(self, x: Tensor, z: Tensor) -> Tensor:
        """Ĥ(q_G): batch-norm scales (Kim & Bengio) or the JSD mutual information I(z; G(z)) (MEG)."""
        if self.config.entropy == "batchnorm":
            return batchnorm_entropy(self.G)
        if self.config.entropy == "jsd-mi":
            # H(G(z)) = I(z; G(z)) for deterministic G; marginal pairs use a fresh z̄ ~ p(z)
            return jsd_mi(self.T(x, z), self.T(x, self.prior(z.shape[0])))
        return x.new_zeros(())

    def update(self, n: int) -> dict[str, Tensor]:
        """φ ← φ − Adam ∇_φ [mean E(G(z)) − w Ĥ(q_G)] through a frozen E (T, if any, ascends Ĥ too)."""
        z = self.prior(n)
        x = self.G(z)
        with frozen(self.target.energy):
            e_fake = self.target.energy(x).mean()
        h = self.entropy(x, z)
        loss = e_fake - self.config.entropy_weight * h
        descend(self.opt, loss)
        return {"loss_g": loss.detach(), "e_gen": e_fake.detach(), "entropy": h.detach()}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generator": self.opt}

    def latent_chain(self, z0: Tensor) -> Tensor:
        """``latent_steps`` Langevin/MALA steps on E_θ(G(z)) (+ ‖z‖²/2 with ``latent_prior``) in z."""
        c = self.config
        u = latent_energy(self.G, self.target.energy, prior=c.latent_prior)
        z, self.last = langevin(u, z0, c.latent_steps, c.latent_step_size, None, c.latent_metropolis)
        return z

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        with evaluating(self.G):
            z = self.prior(n)
            if self.config.latent_steps > 0:
                z = self.latent_chain(z)
            return self.G(z)
