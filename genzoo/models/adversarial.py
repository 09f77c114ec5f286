"""The adversarial core shared by every GAN: networks chosen by data kind, optimisers, phases.

Variants (WGAN, LSGAN, f-GAN, EBGAN, Unrolled GAN, InfoGAN, …) reuse :class:`AdversarialConfig`
and the two phase methods; their objective is any function registered in
:mod:`genzoo.losses.adversarial`. A variant overrides only what its paper changes:

* construction hooks — ``make_objective`` (e.g. LSGAN binds its (a, b, c)), ``make_discriminator``
  (WGAN-GP's critic without batch norm, the autoencoders of EBGAN/BEGAN), ``make_optimizer``
  (``optimizer="rmsprop"`` for WGAN), ``replace_networks`` (custom G or D with fresh optimisers);
* update rules — ``discriminator_step`` / ``generator_step`` (the alternation of Goodfellow et
  al.), ``update(optimizer, loss)``, and ``simultaneous_step(loss_d, loss_g)``, which moves both
  players from one evaluation (f-GAN's single-step method, BEGAN).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

import torch
from torch import Tensor, nn

from genzoo.config import check
from genzoo.losses import OBJECTIVES, Objective
from genzoo.models.base import DataSpec, Model
from genzoo.nn import MLP, DCGANDiscriminator, DCGANGenerator
from genzoo.optim import adam


@dataclass
class AdversarialConfig:
    """Shared GAN hyper-parameters. Defaults: DCGAN paper (Adam, lr 2e-4, β1 = 0.5, z ∈ R^100)."""

    objective: str = "nonsaturating"
    z_dim: int | None = None  # None: 100 for images (DCGAN paper), 64 for points
    arch: Literal["auto", "mlp", "dcgan"] = "auto"  # auto: MLP for points, DCGAN for images
    hidden: int = 128  # MLP width
    depth: int = 2  # MLP hidden layers
    width: int = 64  # DCGAN base channel count
    lr_g: float | None = None  # None: 2e-4 for DCGAN (paper); 1e-3 for MLPs on points (genzoo's CPU budget)
    lr_d: float | None = None
    beta1: float = 0.5
    beta2: float = 0.999
    d_steps: int = 1  # k discriminator updates per generator update (Goodfellow et al., Alg. 1)
    optimizer: Literal["adam", "rmsprop"] = "adam"  # rmsprop: WGAN (Arjovsky et al.); it ignores beta1/beta2

    def __post_init__(self) -> None:
        self.check_objective()
        check(self.z_dim is None or self.z_dim >= 1, "z_dim", self.z_dim, "must be ≥ 1")
        check(self.hidden >= 1, "hidden", self.hidden, "must be ≥ 1")
        check(self.depth >= 0, "depth", self.depth, "must be ≥ 0")
        check(self.width >= 1, "width", self.width, "must be ≥ 1")
        for name in ("lr_g", "lr_d"):
            check(getattr(self, name) is None or getattr(self, name) > 0, name, getattr(self, name), "must be > 0")
        for name in ("beta1", "beta2"):
            check(0 <= getattr(self, name) < 1, name, getattr(self, name), "must be in [0, 1)")
        check(self.d_steps >= 1, "d_steps", self.d_steps, "must be ≥ 1")
        check(self.optimizer in ("adam", "rmsprop"), "optimizer", self.optimizer, "must be adam or rmsprop")

    def check_objective(self) -> None:
        """Validate ``objective``: a registered name (models with a built-in loss override this)."""
        OBJECTIVES.get(self.objective)  # unknown name → error listing the valid ones


def resolve_arch(config: AdversarialConfig, data: DataSpec) -> None:
    """Fill the ``auto``/``None`` fields in place, so the saved config states what was built."""
    if config.arch == "auto":
        config.arch = "dcgan" if data.kind == "images" else "mlp"
    if config.z_dim is None:
        config.z_dim = 100 if config.arch == "dcgan" else 64
    default_lr = 2e-4 if config.arch == "dcgan" else 1e-3
    if config.lr_g is None:
        config.lr_g = default_lr
    if config.lr_d is None:
        config.lr_d = default_lr


def build_generator(config: AdversarialConfig, data: DataSpec, z_dim: int | None = None) -> nn.Module:
    z_dim = z_dim or config.z_dim
    if config.arch == "dcgan":
        c, h, w = data.shape
        return DCGANGenerator(z_dim, c, h, config.width)
    return nn.Sequential(MLP(z_dim, data.dim, config.hidden, config.depth), nn.Unflatten(1, data.shape))


def build_discriminator(config: AdversarialConfig, data: DataSpec, out_dim: int = 1, batch_norm: bool = True) -> nn.Module:
    if config.arch == "dcgan":
        c, h, w = data.shape
        return DCGANDiscriminator(c, h, config.width, out_dim, batch_norm)
    return MLP(data.dim, out_dim, config.hidden, config.depth, activation="leaky_relu")


class AdversarialModel(Model):
    """Generator G, discriminator D, their Adam optimisers and the two phases of a GAN iteration."""

    def __init__(self, config: AdversarialConfig, data: DataSpec) -> None:
        super().__init__(config, data)
        resolve_arch(config, data)
        self.objective = self.make_objective()
        self.G = build_generator(config, data)
        self.D = self.make_discriminator()
        self.opt_g = self.make_optimizer(self.G.parameters(), config.lr_g)
        self.opt_d = self.make_optimizer(self.D.parameters(), config.lr_d)

    # ---- construction hooks (subclasses override what their paper changes) ---------------------
    def make_objective(self) -> Objective | None:
        """The registered objective named by ``config.objective``."""
        return OBJECTIVES.get(self.config.objective)

    def make_discriminator(self) -> nn.Module:
        """D for this data kind: MLP on points, DCGAN on images (see :func:`build_discriminator`)."""
        return build_discriminator(self.config, self.data)

    def make_optimizer(self, params: Iterable[nn.Parameter], lr: float) -> torch.optim.Optimizer:
        """Adam(lr, (beta1, beta2)) as in DCGAN, or RMSProp(lr) when ``optimizer="rmsprop"`` (WGAN)."""
        if self.config.optimizer == "rmsprop":
            return torch.optim.RMSprop(params, lr=lr)
        return adam(params, lr=lr, betas=(self.config.beta1, self.config.beta2))

    def replace_networks(self, G: nn.Module | None = None, D: nn.Module | None = None) -> None:
        """Swap in a custom generator and/or discriminator, each with a fresh optimiser."""
        if G is not None:
            self.G = G.to(self.device)
            self.opt_g = self.make_optimizer(self.G.parameters(), self.config.lr_g)
        if D is not None:
            self.D = D.to(self.device)
            self.opt_d = self.make_optimizer(self.D.parameters(), self.config.lr_d)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generator": self.opt_g, "discriminator": self.opt_d}

    @property
    def batches_per_step(self) -> int:
        return self.config.d_steps

    def prior(self, n: int) -> Tensor:
        """z ~ N(0, I)."""
        return torch.randn(n, self.config.z_dim, device=self.device)

    def d(self, x: Tensor) -> Tensor:
        """The discriminator's raw output d(x), one scalar per sample."""
        return self.D(x).squeeze(-1)

    @torch.no_grad()
    def discriminate(self, x: Tensor) -> Tensor:
        """D(x) = σ(d(x)), the probability that x is data (eval mode)."""
        was_training = self.training
        self.eval()
        out = torch.sigmoid(self.d(x))
        self.train(was_training)
        return out

    def discriminator_step(self, x: Tensor) -> Tensor:
        """One update of D on real x and detached fakes; returns the loss."""
        with torch.no_grad():
            fake = self.G(self.prior(x.shape[0]))
        loss = self.objective(self.d(x), self.d(fake)).discriminator
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return loss.detach()

    def generator_step(self, x: Tensor) -> Tensor:
        """One update of G through a frozen D; returns the loss."""
        self.D.requires_grad_(False)  # G's update needs no gradient for D's weights
        d_fake = self.d(self.G(self.prior(x.shape[0])))
        d_real = self.d(x) if self.objective.generator_uses_real else None
        loss = self.objective(d_real, d_fake).generator
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        self.D.requires_grad_(True)
        return loss.detach()

    @staticmethod
    def update(optimizer: torch.optim.Optimizer, loss: Tensor) -> None:
        """One descent step of ``optimizer``'s parameters on ``loss``."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def simultaneous_step(self, loss_d: Tensor, loss_g: Tensor) -> None:
        """Both players step from ONE evaluation of the graph (f-GAN's single-step method, BEGAN):

            ω ← ω − η_D ∇_ω loss_d,    θ ← θ − η_G ∇_θ loss_g,

        both gradients taken at the current (ω, θ) before either player moves. ``loss_d`` is
        differentiated only with respect to D's parameters and ``loss_g`` only with respect to G's.
        """
        d_params = [p for p in self.D.parameters() if p.requires_grad]
        g_params = [p for p in self.G.parameters() if p.requires_grad]
        grads_d = torch.autograd.grad(loss_d, d_params, retain_graph=True, allow_unused=True)
        grads_g = torch.autograd.grad(loss_g, g_params, allow_unused=True)
        for params, grads in ((d_params, grads_d), (g_params, grads_g)):
            for p, g in zip(params, grads):
                p.grad = g
        self.opt_d.step()
        self.opt_g.step()

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        was_training = self.training
        self.eval()
        x = self.G(self.prior(n))
        self.train(was_training)
        return x
