"""ALI (Dumoulin et al. 2017) and BiGAN (Donahue, Krähenbühl & Darrell 2017): a GAN on joint pairs (x, z).

Besides the generator G: z → x, an encoder E: x → z is trained, and the discriminator sees
pairs. The "real" joint is q(x, z) = p_data(x) q(z | x) (data with its code), the "fake" joint
p(x, z) = p(z) p(x | z) (a prior draw with its image):

    min_{G,E} max_D  V(D, E, G) = E_{x~p_data, ẑ~q(z|x)}[log D(x, ẑ)] + E_{z~p(z), x̃~p(x|z)}[log(1 − D(x̃, z))]

At the optimum the two joints match, so E inverts G (BiGAN, Theorem 2: E = G⁻¹ almost
everywhere). Each iteration (both papers' algorithm, with the adversarial core's schedule):

    for k steps (d_steps):
        x ~ p_data, ẑ = E(x);   z ~ p(z), x̃ = G(z)                       (detached)
        descend the objective's discriminator loss of d(x, ẑ) [real] and d(x̃, z) [fake]
    descend, for G and E jointly (one optimiser), the generator loss of d(G(z), z)
        plus the same loss of −d(x, E(x))

The last line is the "−log D trick" applied to both players by swapping the labels, as both
papers' code do: with ``objective="nonsaturating"`` G minimises −log D(G(z), z) and E minimises
−log(1 − D(x, E(x))). Writing E's term as the generator loss of −d makes this the label swap for
every objective symmetric under (real, fake, d) → (fake, real, −d): ``minimax``, ``nonsaturating``,
``wasserstein`` and ``hinge`` (others are refused).

ALI's encoder is stochastic, ẑ = μ(x) + σ(x) ⊙ ε (reparametrised so gradients reach E); BiGAN's
is deterministic, ẑ = E(x). The discriminator D(x, z) embeds x (the configured architecture's
discriminator with a ``hidden``-sized output: DCGAN for images, MLP for points) and z (MLP)
separately and joins them in an MLP — the structure of ALI's D(x), D(z), D(x, z). The encoder is
the same architecture's discriminator with a code-sized output. The schedule is the adversarial
core's Algorithm 1; the fakes it passes around are joint pairs (G(z), z).

Defaults vs the papers: ALI — Gaussian prior, stochastic encoder, Adam with β1 = 0.5 ✓;
BiGAN — uniform prior on [−1, 1]^d, deterministic encoder, z ∈ R^50 (its MNIST setting) ✓.
Networks (DCGAN for images, MLPs for points) and learning rates come from genzoo's adversarial
core rather than each paper's per-dataset architecture tables.

Capabilities: ``encode(x)`` (ALI: the mean μ(x); BiGAN: E(x)), ``decode(z)`` = G(z);
``reconstruct(x)`` = G(encode(x)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from genzoo.config import check, one_of, option
from genzoo.errors import GenzooError
from genzoo.models.adversarial import AdversarialConfig, AdversarialModel
from genzoo.models.base import DataSpec, register_model
from genzoo.nn import MLP, architectures
from genzoo.nn.architectures import NetConfig
from genzoo.nn.context import evaluating

#: Objectives whose label swap is d → −d (see the module docstring).
SYMMETRIC_OBJECTIVES = ("minimax", "nonsaturating", "wasserstein", "hinge")


@dataclass
class ALIConfig(AdversarialConfig):
    """Dumoulin et al. 2017: Gaussian prior, stochastic (reparametrised) encoder."""

    stochastic: bool = option(True, None, "ALI: ẑ ~ N(μ(x), σ(x)²); false (BiGAN): ẑ = E(x)")
    prior: Literal["normal", "uniform"] = option("normal", one_of("normal", "uniform"), "p(z): N(0, I) or U(−1, 1)")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.objective in SYMMETRIC_OBJECTIVES, "objective", self.objective,
              f"must be one of {', '.join(SYMMETRIC_OBJECTIVES)} (the label swap of ALI/BiGAN needs a symmetric objective)")
        check(not self.reuse_fakes, "reuse_fakes", self.reuse_fakes, "is not supported: the fakes are pairs (G(z), z)")


@dataclass
class BiGANConfig(ALIConfig):
    """Donahue et al. 2017: uniform prior on [−1, 1]^50 (MNIST), deterministic encoder."""

    z_dim: int | None = 50
    stochastic: bool = False
    prior: Literal["normal", "uniform"] = "uniform"


class JointDiscriminator(nn.Module):
    """d(x, z) = D_xz([D_x(x), D_z(z)]): separate embeddings of x and z joined by an MLP."""

    def __init__(self, x_net: nn.Module, x_features: int, z_dim: int, hidden: int) -> None:
        super().__init__()
        self.x_net = x_net
        self.z_net = nn.Sequential(MLP(z_dim, hidden, hidden, 1, activation="leaky_relu"), nn.LeakyReLU(0.2))
        self.joint = MLP(x_features + hidden, 1, hidden, 1, activation="leaky_relu")

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        return self.joint(torch.cat([self.x_net(x).flatten(1), self.z_net(z)], 1))


@register_model("ali")
class ALI(AdversarialModel):
    """ALI (Dumoulin et al. 2017): G, stochastic encoder E, discriminator on joint pairs D(x, z)."""

    Config = ALIConfig
    contract_overrides = {"width": 8, "hidden": 16, "z_dim": 4}

    def __init__(self, config: ALIConfig, data: DataSpec) -> None:
        super().__init__(config, data)  # G, D (make_discriminator below), their optimisers
        out = 2 * config.z_dim if config.stochastic else config.z_dim
        self.E = architectures.discriminator(NetConfig.of(config), data.shape, out)  # the architecture's D body, z-sized head
        self.opt_g = self.make_optimizer([*self.G.parameters(), *self.E.parameters()], config.lr_g)  # G and E jointly

    def make_discriminator(self) -> nn.Module:
        cfg = self.config
        x_net = nn.Sequential(architectures.discriminator(NetConfig.of(cfg), self.data.shape, cfg.hidden), nn.LeakyReLU(0.2))
        return JointDiscriminator(x_net, cfg.hidden, cfg.z_dim, cfg.hidden)

    def prior(self, n: int) -> Tensor:
        if self.config.prior == "uniform":
            return torch.rand(n, self.config.z_dim, device=self.device) * 2 - 1
        return torch.randn(n, self.config.z_dim, device=self.device)

    def fakes(self, n: int, c: Tensor | None = None) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        """The fake joint pair (G(z), z), z ~ p(z)."""
        z = self.prior(n)
        return self.G(z), z

    def d(self, x: Tensor, z: Tensor | None = None) -> Tensor:  # type: ignore[override]
        if z is None:
            raise GenzooError(f"the {self.name} discriminator scores pairs: d(x, z)")
        return self.D(x, z).squeeze(-1)

    def encoder_params(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """(μ, log σ) of q(z|x) for ALI; (E(x), None) for BiGAN."""
        h = self.E(x)
        if not self.config.stochastic:
            return h, None
        mu, log_sigma = h.chunk(2, 1)
        return mu, log_sigma.clamp(-10, 5)

    def encode_sample(self, x: Tensor) -> Tensor:
        """ẑ ~ q(z|x): μ + σ ⊙ ε (ALI) or E(x) (BiGAN), differentiable in E."""
        mu, log_sigma = self.encoder_params(x)
        return mu if log_sigma is None else mu + log_sigma.exp() * torch.randn_like(mu)

    # ---- the game: the core's Algorithm 1 with joint pairs ------------------------------------
    def discriminator_loss(self, x: Tensor, fake: tuple[Tensor, Tensor], c: Tensor | None = None) -> tuple[Tensor, dict[str, Tensor]]:  # type: ignore[override]
        """The objective's D loss with real pairs (x, ẑ) and fake pairs (x̃, z), all detached."""
        x_tilde, z = fake
        with torch.no_grad():
            z_hat = self.encode_sample(x)
        return self.objective(self.d(x, z_hat), self.d(x_tilde, z)).discriminator, {}

    def generator_loss(self, x: Tensor, fake: tuple[Tensor, Tensor], c: Tensor | None = None) -> tuple[Tensor, dict[str, Tensor]]:  # type: ignore[override]
        """G's loss on d(G(z), z) plus E's label-swapped loss on −d(x, E(x)) (D frozen by the core)."""
        x_tilde, z = fake
        loss_g = self.objective(None, self.d(x_tilde, z)).generator
        loss_e = self.objective(None, -self.d(x, self.encode_sample(x))).generator
        return loss_g + loss_e, {"loss_e": loss_e.detach()}

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        return self.decode(self.prior(n))

    # ---- capabilities ----------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, x: Tensor) -> Tensor:
        """The code of x: μ(x) (ALI's posterior mean) or E(x) (BiGAN)."""
        if tuple(x.shape[1:]) != tuple(self.data.shape):
            raise GenzooError(f"encode needs data of shape (N, {', '.join(map(str, self.data.shape))}), got {tuple(x.shape)}")
        with evaluating(self):
            return self.encoder_params(x.to(self.device).float())[0]

    @torch.no_grad()
    def decode(self, z: Tensor) -> Tensor:
        """G(z)."""
        if z.ndim != 2 or z.shape[1] != self.config.z_dim:
            raise GenzooError(f"decode needs codes of shape (N, {self.config.z_dim}), got {tuple(z.shape)}")
        with evaluating(self):
            return self.G(z.to(self.device).float())

    def reconstruct(self, x: Tensor) -> Tensor:
        """G(encode(x))."""
        return self.decode(self.encode(x))


@register_model("bigan")
class BiGAN(ALI):
    """BiGAN (Donahue et al. 2017): deterministic encoder E(x), uniform prior, D(x, z) on joint pairs."""

    Config = BiGANConfig
