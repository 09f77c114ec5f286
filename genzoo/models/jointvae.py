"""JointVAE: continuous and discrete latents with controlled capacities (Dupont 2018,
"Learning Disentangled Joint Continuous and Discrete Representations").

Latents: continuous z ∈ R^d with q(z|x) = N(μ, diag σ²), p(z) = N(0, I), and a discrete code
c ∈ {1..K} (one-hot) with q(c|x) = Cat(α(x)), p(c) = Cat(1/K), relaxed for training by the
Gumbel-softmax at temperature τ = 0.67 (reparameterised). The decoder sees [z, c]. Objective (eq. 5):

    min  −E_{q(z,c|x)}[log p(x|z, c)] + γ |KL(q(z|x) ‖ p(z)) − C_z| + γ |KL(q(c|x) ‖ p(c)) − C_c|,

where the capacities C_z and C_c grow linearly from 0 to C_max over N iterations; C_c is capped at
log K, the most information a K-way code can carry. The paper's MNIST settings: d = 10, one
10-way code, γ = 30, C_z and C_c: 0 → 5 nats over 25 000 iterations, τ = 0.67, Adam lr 5e-4,
batch 64. Defaults follow them except the networks (the VAE family's) and ``anneal_steps`` (the
paper's 25 000; set it to your run length).

The β = 1 ``elbo`` (reported every step and by ``elbo(x)``) uses an exact one-hot c ~ q(c|x):
E_{q(z|x) q(c|x)}[log p(x|z, c)] − KL_z − KL_c, an unbiased one-sample estimate of a true bound
(the relaxed code would not give one). The training loss is not a bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.distributions import kl_divergence

from genzoo.config import at_least, check, nonnegative, option, positive
from genzoo.distributions.heads import categorical, diagonal_gaussian, gumbel_softmax
from genzoo.distributions.priors import standard_normal, uniform_categorical
from genzoo.models.base import DataSpec, register_model
from genzoo.models.vae import VAE, VAEConfig
from genzoo.nn.vae_nets import build_decoder, build_encoder
from genzoo.optim import descend


@dataclass
class JointVAEConfig(VAEConfig):
    latent_dim: int | None = option(10, at_least(1), "continuous latents")
    categories: int = option(10, at_least(2), "K of the discrete code")
    temperature: float = option(0.67, positive, "τ of the Gumbel-softmax")
    gamma: float = option(30.0, nonnegative, "γ, weight of |KL − C| for both codes")
    capacity_z: float = option(5.0, nonnegative, "C_z max (nats)")
    capacity_c: float = option(5.0, nonnegative, "C_c max (nats; capped at log K)")
    anneal_steps: int = option(25_000, at_least(1), "iterations over which the capacities grow from 0")
    lr: float = 5e-4

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.prior == "normal", "prior", self.prior, "JointVAE uses the normal prior")


@register_model("jointvae")
class JointVAE(VAE):
    """JointVAE (Dupont 2018): Gaussian z + Gumbel-softmax c, capacities C_z and C_c annealed linearly, γ = 30."""

    Config = JointVAEConfig
    contract_overrides = {**VAE.contract_overrides, "categories": 3}
    # The joint posterior over (z, c) is not one torch Distribution; no importance weighting.
    log_joint = None  # type: ignore[assignment]
    proposal = None  # type: ignore[assignment]

    def __init__(self, config: JointVAEConfig, data: DataSpec) -> None:
        super().__init__(config, data)
        self.register_buffer("iteration", torch.zeros((), dtype=torch.long))

    def build_networks(self) -> None:
        c, d, k = self.config, self.latent_dim, self.config.categories
        self.encoder = build_encoder(c.arch, self.data.shape, 2 * d + k, c.hidden, c.depth, c.width, c.activation)
        self.decoder = build_decoder(c.arch, d + k, self.data.shape, self.obs.n_params, c.hidden, c.depth, c.width, c.activation)

    def posteriors(self, x: Tensor) -> tuple[torch.distributions.Distribution, Tensor]:
        """(q(z|x), logits of q(c|x))."""
        h = self.encoder(x)
        return diagonal_gaussian(h[:, : 2 * self.latent_dim]), h[:, 2 * self.latent_dim :]

    def encode(self, x: Tensor) -> torch.distributions.Distribution:
        """q(z|x), the continuous part (the code's logits: :meth:`posteriors`)."""
        return self.posteriors(x)[0]

    def decode(self, z: Tensor, c: Tensor | None = None) -> Tensor:
        """E[x | z, c]; c defaults to the first category."""
        if c is None:
            c = F.one_hot(torch.zeros(z.shape[0], dtype=torch.long, device=z.device), self.config.categories).to(z.dtype)
        return self.obs.mean(self.decoder(torch.cat([z, c], -1)))

    def capacities(self) -> tuple[float, float]:
        """(C_z, C_c) at the current iteration: linear from 0 to their maxima over ``anneal_steps``."""
        frac = min(1.0, float(self.iteration) / self.config.anneal_steps)
        cap_c = min(self.config.capacity_c, float(torch.log(torch.tensor(float(self.config.categories)))))
        return frac * self.config.capacity_z, frac * cap_c

    def parts(self, x: Tensor, relaxed: bool) -> tuple[Tensor, Tensor, Tensor]:
        """(log p(x|z, c), KL_z, KL_c) per example, c relaxed (training) or an exact one-hot draw."""
        self.obs.check_range(x)
        qz, logits = self.posteriors(x)
        z = qz.rsample()
        c = gumbel_softmax(logits, self.config.temperature).rsample() if relaxed else categorical(logits).sample()
        log_px = self.obs.log_prob(self.decoder(torch.cat([z, c], 1)), x)
        kl_z = kl_divergence(qz, standard_normal(self.latent_dim, x.device))
        kl_c = kl_divergence(categorical(logits), uniform_categorical(self.config.categories, x.device))
        return log_px, kl_z, kl_c

    def elbo(self, x: Tensor) -> Tensor:
        log_px, kl_z, kl_c = self.parts(x, relaxed=False)
        return log_px - kl_z - kl_c

    def rate_distortion(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(KL_z + KL_c, −log p(x|z, c)) per example with an exact one-hot c."""
        log_px, kl_z, kl_c = self.parts(x, relaxed=False)
        return kl_z + kl_c, -log_px

    def step(self, batch: Tensor | tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        x = self.inputs(batch)
        cap_z, cap_c = self.capacities()
        log_px, kl_z, kl_c = self.parts(x, relaxed=True)
        g = self.config.gamma
        loss = -log_px.mean() + g * (kl_z.mean() - cap_z).abs() + g * (kl_c.mean() - cap_c).abs()
        descend(self.opt, loss)
        self.iteration += 1
        with torch.no_grad():
            exact_px, _, _ = self.parts(x, relaxed=False)
        rate = (kl_z + kl_c).mean().detach()
        return {"loss": loss.detach(), "elbo": exact_px.mean() - rate, "rate": rate, "distortion": -exact_px.mean(),
                "kl_z": kl_z.mean().detach(), "kl_c": kl_c.mean().detach(), "capacity_z": torch.tensor(cap_z),
                "capacity_c": torch.tensor(cap_c)}

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        """x ~ p(x|z, c), z ~ N(0, I), c ~ Cat(1/K)."""
        z = torch.randn(n, self.latent_dim, device=self.device)
        c = uniform_categorical(self.config.categories, self.device).sample((n,))
        out = self.decoder(torch.cat([z, c], 1))
        return self.obs.mean(out) if self.config.sample_mean else self.obs.sample(out)
