"""PixelGAN autoencoder (Makhzani & Frey 2017, "PixelGAN Autoencoders").

The VAE's average rate splits into the mutual information between x and z and the divergence
of the aggregate posterior from the prior (Hoffman & Johnson 2016):

    E_{p(x)} KL(q(z|x) ‖ p(z)) = I_q(x; z) + KL(q(z) ‖ p(z))

PixelGAN drops the I(x; z) term — the one that tells a VAE to forget x — and keeps only the
aggregate match, which has no closed form and is imposed adversarially (§2, as in the adversarial
autoencoder): a discriminator D tells prior draws z ~ p(z) from codes z ~ q(z|x), and the encoder
is trained to fool it. One iteration:

    z ~ q(z|x)   (reparameterised)
    θ, φ ← Adam step on  −E_q[log p(x|z)] + λ·mean[−log D(z)]       # D frozen; non-saturating
    ψ ← Adam step on  −mean[log D(z_p)] − mean[log(1 − D(z))],  z_p ~ p(z), z detached

Differences from the paper: the decoder is the VAE family's factorised decoder, not a PixelCNN
(so the split of information between z and the decoder that the paper studies does not arise;
the model is the paper's objective on genzoo's networks); λ = 1 weights the adversarial term;
D is an MLP (2 × 256, LeakyReLU 0.2); both players use Adam lr 2e-4, β₁ = 0.5 (genzoo's choices,
the usual GAN settings). ``elbo(x)`` still reports the β = 1 bound of the trained encoder and
decoder (a bound for any q), although the loss does not optimise it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genzoo.config import at_least, check, nonnegative, option, positive
from genzoo.models.base import DataSpec, register_model
from genzoo.models.vae import VAE, Terms, VAEConfig
from genzoo.nn.context import frozen
from genzoo.optim import adam, descend


@dataclass
class PixelGANAEConfig(VAEConfig):
    latent_dim: int | None = 10
    lambda_: float = option(1.0, nonnegative, "weight of the adversarial aggregate-posterior term")
    disc_hidden: int = option(256, at_least(1), "units per hidden layer of the code discriminator")
    disc_layers: int = option(2, at_least(1), "hidden layers of the code discriminator")
    lr: float = 2e-4
    beta1: float = 0.5
    disc_lr: float = option(2e-4, positive, "Adam learning rate of the code discriminator")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.prior == "normal", "prior", self.prior, "the adversarial match draws from N(0, I)")


def code_discriminator(dim: int, hidden: int, layers: int) -> nn.Sequential:
    """MLP z → one logit (prior draw vs code), LeakyReLU(0.2)."""
    mods: list[nn.Module] = []
    width = dim
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
        width = hidden
    return nn.Sequential(*mods, nn.Linear(width, 1))


@register_model("pixelgan-ae")
class PixelGANAE(VAE):
    """PixelGAN autoencoder (Makhzani & Frey 2017): reconstruction + adversarial q(z) ≈ p(z), no I(x; z) penalty."""

    Config = PixelGANAEConfig
    contract_overrides = {**VAE.contract_overrides, "disc_hidden": 16, "disc_layers": 1}

    def __init__(self, config: PixelGANAEConfig, data: DataSpec) -> None:
        super().__init__(config, data)
        self.discriminator = code_discriminator(self.latent_dim, config.disc_hidden, config.disc_layers)
        self.opt_d = adam(self.discriminator.parameters(), lr=config.disc_lr, betas=(config.beta1, config.beta2))

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {**super().optimizers(), "discriminator": self.opt_d}

    def rate_penalty(self, terms: Terms) -> tuple[Tensor, dict[str, Tensor]]:
        """No KL(q(z|x) ‖ p(z)): its I(x; z) part is what PixelGAN removes."""
        return terms.kl.new_zeros(()), {}

    def regularizer(self, x: Tensor, terms: Terms) -> tuple[Tensor, dict[str, Tensor]]:
        """λ·mean[−log D(z)] (non-saturating) on the codes; D frozen."""
        with frozen(self.discriminator):
            g_loss = F.softplus(-self.discriminator(terms.z)).mean()
        return self.config.lambda_ * g_loss, {"g_adv": g_loss}

    def after_update(self, batch: Tensor | tuple[Tensor, Tensor], terms: Terms) -> dict[str, Tensor]:
        z = terms.z.detach()
        prior = torch.randn_like(z)
        d_loss = F.softplus(-self.discriminator(prior)).mean() + F.softplus(self.discriminator(z)).mean()
        descend(self.opt_d, d_loss)
        return {"d_loss": d_loss.detach()}
