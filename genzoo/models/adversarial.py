"""The adversarial core shared by every two-player model: networks by architecture, optimisers, and
Goodfellow et al.'s alternation written once.

One iteration of Algorithm 1 (Goodfellow et al. 2014) lives in :meth:`AdversarialModel.step`::

    for k steps (config.d_steps):                # each on its own real minibatch
        discriminator_step(x, c):   x̃ = fakes(n, c) detached;  descend discriminator_loss(x, x̃, c)
    generator_step(x, c):           through a frozen D;     descend generator_loss(x, fakes(n, c), c)

``c`` is the condition (the label for conditional models, ``None`` otherwise), so a conditional
model changes only how it generates and discriminates. A variant overrides only what its paper
changes:

* construction hooks — ``make_objective`` (LSGAN binds its (a, b, c), f-GAN its divergence),
  ``make_discriminator`` (WGAN-GP's critic without batch norm, the autoencoders of EBGAN/BEGAN),
  ``make_optimizer`` (``optimizer="rmsprop"`` for WGAN), ``replace_networks`` (custom G or D);
* the two losses — ``discriminator_loss`` / ``generator_loss`` (default: the registered
  ``objective`` on d(x) and d(x̃)); ``after_discriminator_update`` (WGAN's clipping);
* the schedule — ``simultaneous_step(loss_d, loss_g)`` moves both players from one evaluation
  (f-GAN's single-step method, BEGAN) for models whose paper says so.

Only models that take a registered objective have an ``objective`` field
(:class:`AdversarialConfig`); models with their own loss (LSGAN's (a, b, c), f-GAN's divergence,
EBGAN, BEGAN) build on :class:`TwoPlayerConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

import torch
from torch import Tensor, nn

from genzoo.config import (Config, at_least, check, half_open_unit_interval, one_of, option, positive,
                           registered)
from genzoo.losses import OBJECTIVES, Objective
from genzoo.models.base import DataSpec, Model
from genzoo.nn import architectures
from genzoo.nn.architectures import NetConfig
from genzoo.nn.context import evaluating, frozen
from genzoo.optim import adam, descend

Batch = Tensor | tuple[Tensor, Tensor]


@dataclass
class TwoPlayerConfig(Config):
    """Shared GAN hyper-parameters. Defaults: DCGAN paper (Adam, lr 2e-4, β1 = 0.5, z ∈ R^100)."""

    z_dim: int | None = option(None, at_least(1), "noise size; none: 100 for images (DCGAN paper), 64 for points")
    arch: Literal["auto", "mlp", "dcgan"] = option("auto", registered(architectures.ARCHITECTURES, "auto"),
                                                   "networks; auto: MLP for points, DCGAN for images")
    hidden: int = option(128, at_least(1), "MLP width")
    depth: int = option(2, at_least(0), "MLP hidden layers")
    width: int = option(64, at_least(1), "DCGAN base channel count")
    lr_g: float | None = option(None, positive, "generator learning rate; none: 2e-4 for DCGAN (paper), "
                                                "1e-3 for MLPs on points (genzoo's CPU budget)")
    lr_d: float | None = option(None, positive, "discriminator learning rate; none: as lr_g")
    beta1: float = option(0.5, half_open_unit_interval, "Adam β1 of both players")
    beta2: float = option(0.999, half_open_unit_interval, "Adam β2 of both players")
    d_steps: int = option(1, at_least(1), "k discriminator updates per generator update (Goodfellow et al., Alg. 1)")
    optimizer: Literal["adam", "rmsprop"] = option("adam", one_of("adam", "rmsprop"),
                                                   "rmsprop: WGAN (Arjovsky et al.); it ignores beta1/beta2")
    reuse_fakes: bool = option(False, None, "one batch of fakes serves both players (DCGAN reference code); "
                                            "needs d_steps = 1")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(not self.reuse_fakes or self.d_steps == 1, "reuse_fakes", self.reuse_fakes,
              "needs d_steps = 1 (one batch of fakes can serve only one discriminator step)")


@dataclass
class AdversarialConfig(TwoPlayerConfig):
    """A two-player model whose loss is any registered objective (``--set objective=NAME``)."""

    objective: str = option("nonsaturating", registered(OBJECTIVES), "the GAN objective on d(x) and d(x̃)")


def resolve_arch(config: TwoPlayerConfig, data: DataSpec) -> None:
    """Fill the ``auto``/``None`` fields in place, so the saved config states what was built."""
    config.arch = architectures.resolve(config.arch, data.kind)
    if config.z_dim is None:
        config.z_dim = 100 if config.arch == "dcgan" else 64
    default_lr = 2e-4 if config.arch == "dcgan" else 1e-3
    if config.lr_g is None:
        config.lr_g = default_lr
    if config.lr_d is None:
        config.lr_d = default_lr


def make_optimizer(config: TwoPlayerConfig, params: Iterable[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """Adam(lr, (beta1, beta2)) as in DCGAN, or RMSProp(lr) when ``config.optimizer == "rmsprop"`` (WGAN, DualGAN).

    ``config`` is any config with ``optimizer``, ``beta1`` and ``beta2`` fields."""
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return adam(params, lr=lr, betas=(config.beta1, config.beta2))


@torch.no_grad()
def clip_weights(modules: Iterable[nn.Module], c: float | None) -> None:
    """w ← clip(w, −c, c) for every parameter of ``modules`` (WGAN's crude Lipschitz constraint); no-op for c = None."""
    if c is not None:
        for module in modules:
            for p in module.parameters():
                p.clamp_(-c, c)


def build_generator(config: TwoPlayerConfig, data: DataSpec, z_dim: int | None = None) -> nn.Module:
    """G for ``data`` under the config's architecture (``z_dim`` overrides the config's input size)."""
    return architectures.generator(NetConfig.of(config), z_dim or config.z_dim, data.shape)


def build_discriminator(config: TwoPlayerConfig, data: DataSpec, out_dim: int = 1, batch_norm: bool = True) -> nn.Module:
    """D for ``data`` under the config's architecture."""
    return architectures.discriminator(NetConfig.of(config), data.shape, out_dim, batch_norm)


class AdversarialModel(Model):
    """Generator G, discriminator D, their optimisers and the two phases of a GAN iteration."""

    def __init__(self, config: TwoPlayerConfig, data: DataSpec) -> None:
        super().__init__(config, data)
        resolve_arch(config, data)
        self.objective = self.make_objective()
        self.G = build_generator(config, data)
        self.D = self.make_discriminator()
        self.opt_g = self.make_optimizer(self.G.parameters(), config.lr_g)
        self.opt_d = self.make_optimizer(self.D.parameters(), config.lr_d)

    # ---- construction hooks (subclasses override what their paper changes) ---------------------
    def make_objective(self) -> Objective | None:
        """The registered objective named by ``config.objective`` (None for models with their own loss)."""
        if isinstance(self.config, AdversarialConfig):
            return OBJECTIVES.get(self.config.objective)
        return None

    def make_discriminator(self) -> nn.Module:
        """D for this data kind: MLP on points, DCGAN on images (see :func:`build_discriminator`)."""
        return build_discriminator(self.config, self.data)

    def make_optimizer(self, params: Iterable[nn.Parameter], lr: float) -> torch.optim.Optimizer:
        """Adam(lr, (beta1, beta2)) as in DCGAN, or RMSProp(lr) when ``optimizer="rmsprop"`` (WGAN)."""
        return make_optimizer(self.config, params, lr)

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

    # ---- the players ------------------------------------------------------------------------
    def prior(self, n: int) -> Tensor:
        """z ~ N(0, I)."""
        return torch.randn(n, self.config.z_dim, device=self.device)

    def fakes(self, n: int, c: Tensor | None = None) -> Tensor:
        """G(z), z ~ p(z): n fakes (conditional models use the condition c)."""
        return self.G(self.prior(n))

    def d(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """The discriminator's raw output d(x), one scalar per sample (conditional models use c)."""
        return self.D(x).squeeze(-1)

    @torch.no_grad()
    def discriminate(self, x: Tensor) -> Tensor:
        """D(x) = σ(d(x)), the probability that x is data (eval mode)."""
        with evaluating(self):
            return torch.sigmoid(self.d(x))

    # ---- the two losses (default: the registered objective) ---------------------------------
    def discriminator_loss(self, x: Tensor, fake: Tensor, c: Tensor | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """(the loss D descends on real x and detached fakes, extra detached logs)."""
        return self.objective(self.d(x, c), self.d(fake, c)).discriminator, {}

    def generator_loss(self, x: Tensor, fake: Tensor, c: Tensor | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """(the loss G descends through D on fakes with gradient, extra detached logs)."""
        d_fake = self.d(fake, c)
        d_real = self.d(x, c) if self.objective.generator_uses_real else None
        return self.objective(d_real, d_fake).generator, {}

    def after_discriminator_update(self) -> None:
        """Called after every D update (WGAN clips the critic here)."""

    # ---- one iteration: Algorithm 1 of Goodfellow et al. --------------------------------------
    def split(self, batch: Batch) -> list[tuple[Tensor, Tensor | None]]:
        """The step's batch as ``d_steps`` minibatches (x, c); c is the label for conditional models."""
        k = self.config.d_steps
        if isinstance(batch, (tuple, list)):
            return list(zip(batch[0].chunk(k), batch[1].chunk(k)))
        return [(x, None) for x in batch.chunk(k)]

    def step(self, batch: Batch) -> dict[str, Tensor]:
        real = self.split(batch)
        if self.config.reuse_fakes:  # one batch of fakes for both players (one G pass instead of two)
            x, c = real[0]
            fake = self.fakes(x.shape[0], c)
            logs = self.discriminator_step(x, c, fake=fake.detach())
            return {**logs, **self.generator_step(x, c, fake=fake)}
        for x, c in real:  # for k steps: update D
            logs = self.discriminator_step(x, c)
        return {**logs, **self.generator_step(x, c)}  # then update G on the last minibatch

    def discriminator_step(self, x: Tensor, c: Tensor | None = None, fake: Tensor | None = None) -> dict[str, Tensor]:
        """One update of D on real x and detached fakes; returns ``loss_d`` and the loss's logs."""
        if fake is None:
            with torch.no_grad():
                fake = self.fakes(x.shape[0], c)
        loss, logs = self.discriminator_loss(x, fake, c)
        descend(self.opt_d, loss)
        self.after_discriminator_update()
        return {"loss_d": loss.detach(), **logs}

    def generator_step(self, x: Tensor, c: Tensor | None = None, fake: Tensor | None = None) -> dict[str, Tensor]:
        """One update of G through a frozen D; returns ``loss_g`` and the loss's logs."""
        with frozen(self.D):  # G's update needs no gradient for D's weights
            if fake is None:
                fake = self.fakes(x.shape[0], c)
            loss, logs = self.generator_loss(x, fake, c)
            descend(self.opt_g, loss)
        return {"loss_g": loss.detach(), **logs}

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
        self.after_discriminator_update()

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        with evaluating(self):
            return self.fakes(n)
