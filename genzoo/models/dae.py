"""Denoising autoencoder (Vincent, Larochelle, Bengio & Manzagol 2008), sampled as a generative
model by the Markov chain of Bengio et al. (2013, "Generalized Denoising Auto-Encoders as
Generative Models").

Training (Vincent et al. 2008, §2.3): corrupt x̃ ~ q_D(x̃|x), encode y = f_θ(x̃), reconstruct
z = g_θ'(y), and minimise the reconstruction loss against the *clean* x,

    min E_{x, x̃ ~ q_D(x̃|x)} [ −log p(x | g(f(x̃))) ]       (cross-entropy for x ∈ [0, 1]),

with one of the stated corruptions (``corruption``, level ν = ``noise``):

* ``masking`` — each input dimension is set to 0 with probability ν (the paper's choice, ν up to
  50 %);
* ``salt-and-pepper`` — each dimension, with probability ν, is set to 0 or 1 at random;
* ``gaussian`` — x̃ = x + ν ε, ε ~ N(0, I) (for real-valued data).

Sampling (Bengio et al. 2013, Alg. 1): start x_0 from the data's range at random and iterate
x_{t+1} ~ p(x | g(f(C(x_t)))) for ``chain_steps`` steps; the chain's stationary distribution
estimates the data distribution when the reconstruction distribution is a consistent estimator.
The DAE has no likelihood or bound: it reports only ``loss`` (the denoising reconstruction).

Defaults vs the paper: masking ν = 0.25 (the paper sweeps 0–50 %); the VAE family's networks and
Adam lr 1e-3 (the paper: SGD, sigmoid units, tied weights); observation as in the VAE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from genzoo.config import at_least, check, one_of, option
from genzoo.models.base import DataSpec, Model, register_model
from genzoo.models.vae import VAEConfig, make_observation, resolve_vae
from genzoo.nn.vae_nets import build_decoder, build_encoder
from genzoo.optim import adam, descend


@dataclass
class DAEConfig(VAEConfig):
    corruption: Literal["masking", "salt-and-pepper", "gaussian"] = option(
        "masking", one_of("masking", "salt-and-pepper", "gaussian"), "how the input is corrupted before encoding")
    noise: float = option(0.25, None, "ν: the masking / salt-and-pepper probability, or the Gaussian σ")
    chain_steps: int = option(30, at_least(1), "Markov-chain steps per sample")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.corruption == "gaussian":
            check(self.noise > 0, "noise", self.noise, "must be > 0 for gaussian corruption")
        else:
            check(0 < self.noise < 1, "noise", self.noise, "must be in (0, 1) for masking / salt-and-pepper")


@register_model("dae")
class DAE(Model):
    """Denoising autoencoder (Vincent et al. 2008): masking / salt-and-pepper / Gaussian corruption; samples by the denoising chain."""

    Config = DAEConfig
    contract_overrides = {"latent_dim": 2, "hidden": 32, "width": 8, "chain_steps": 3}

    def __init__(self, config: DAEConfig, data: DataSpec) -> None:
        super().__init__(config, data)
        resolve_vae(config, data)
        self.obs = make_observation(config, data)
        c = config
        self.encoder = build_encoder(c.arch, data.shape, int(c.latent_dim), c.hidden, c.depth, c.width, c.activation)
        self.decoder = build_decoder(c.arch, int(c.latent_dim), data.shape, self.obs.n_params, c.hidden, c.depth, c.width, c.activation)
        self.opt = adam(self.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
        self.register_buffer("low", torch.zeros(data.shape))
        self.register_buffer("high", torch.ones(data.shape))
        self.register_buffer("seen", torch.zeros((), dtype=torch.long))

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"dae": self.opt}

    def corrupt(self, x: Tensor) -> Tensor:
        """x̃ ~ q_D(x̃|x)."""
        nu = self.config.noise
        if self.config.corruption == "gaussian":
            return x + nu * torch.randn_like(x)
        hit = torch.rand_like(x) < nu
        if self.config.corruption == "masking":
            return x.masked_fill(hit, 0.0)
        salt = (torch.rand_like(x) < 0.5).to(x.dtype)
        return torch.where(hit, salt, x)

    def encode(self, x: Tensor) -> Tensor:
        """The code f(x), (N, latent_dim) (no corruption)."""
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        """E[x | code], (N, *data shape)."""
        return self.obs.mean(self.decoder(z))

    def step(self, batch: Tensor | tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        self.obs.check_range(x)
        with torch.no_grad():  # the data's range, for starting the sampling chain inside it
            lo, hi = x.min(0).values, x.max(0).values
            first = self.seen == 0
            self.low.copy_(torch.where(first, lo, torch.minimum(self.low, lo)))
            self.high.copy_(torch.where(first, hi, torch.maximum(self.high, hi)))
            self.seen += 1
        loss = -self.obs.log_prob(self.decoder(self.encoder(self.corrupt(x))), x).mean()
        descend(self.opt, loss)
        return {"loss": loss.detach()}

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        """x_T of the chain x_{t+1} ~ p(x | g(f(C(x_t)))), x_0 uniform in the data's range."""
        x = self.low + (self.high - self.low) * torch.rand(n, *self.data.shape, device=self.device)
        for _ in range(self.config.chain_steps):
            x = self.obs.sample(self.decoder(self.encoder(self.corrupt(x))))
        return x
