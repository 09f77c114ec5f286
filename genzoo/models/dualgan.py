"""DualGAN (Yi, Zhang, Tan & Gong 2017): unpaired image-to-image translation by dual learning.

Two sets of images, U (domain A) and V (domain B), never paired. The primal generator
G_A: U → V and the dual generator G_B: V → U are trained together; discriminator D_A tells real
v from G_A(u), D_B tells real u from G_B(v). Each generator's output is mapped back by the other
and must reconstruct its input (the closed loop of dual learning). With the WGAN critic loss
(as published), for u ∈ U, v ∈ V:

    l^d_A(u, v) = D_A(G_A(u, z)) − D_A(v)
    l^d_B(u, v) = D_B(G_B(v, z′)) − D_B(u)
    l^g(u, v)   = λ_U ‖u − G_B(G_A(u, z), z′)‖₁ + λ_V ‖v − G_A(G_B(v, z′), z)‖₁
                  − D_A(G_A(u, z)) − D_B(G_B(v, z′))

Algorithm 1 of the paper (RMSProp, clipping c, n_critic):

    for number of iterations:
        for t = 1, ..., n_critic:
            sample u ⊂ U, v ⊂ V
            update ω_A, ω_B to minimise 1/m Σ l^d_A(u, v), 1/m Σ l^d_B(u, v)
            clip(ω_A, −c, c), clip(ω_B, −c, c)
        sample u ⊂ U, v ⊂ V
        update θ_A, θ_B to minimise 1/m Σ l^g(u, v)

The noise z, z′ of the paper is dropout inside the U-Net generators (pix2pix); the
discriminators are patch critics (:mod:`genzoo.nn.translation`). ``objective`` may name any
registered objective (the generators then minimise its generator loss instead of −D).

Data: two-domain data sets (:mod:`genzoo.data.two_domain`) serve one image tensor with
y = domain (0 = U/A, 1 = V/B). Each step's batch arrives as n_critic batches concatenated; the
model splits each by y. Given data whose y is not a 0/1 domain index (one domain, or digit
labels) it refuses at construction.

Defaults vs the paper (Section 4): RMSProp lr 5e-5 ✓, n_critic = 2 ✓, clipping c = 0.01 (the
paper's range 0.01–0.1), λ_U = λ_V = 500 (the paper's range 100–1000); ‖·‖₁ is the mean absolute
pixel error. Differences: the paper trains with batch 1–4 on 256×256 images; genzoo's
networks are two-level U-Net/patch critics for small images and the batch size is the trainer's
(``--set train.batch_size``); ``width`` = 64 as pix2pix.

``translate(x, "a2b")`` = G_A(x), ``translate(x, "b2a")`` = G_B(x) (eval mode: no dropout).
``sample(n)`` translates images remembered from the last training batch (``memory`` rows of each
domain, kept as buffers so checkpoints restore them): the first ⌈n/2⌉ rows are G_A(u), the rest
G_B(v); before any training step it translates uniform noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from genzoo.config import Config, at_least, half_open_unit_interval, nonnegative, one_of, option, positive, registered
from genzoo.errors import GenzooError
from genzoo.losses import OBJECTIVES
from genzoo.models.adversarial import clip_weights, make_optimizer
from genzoo.models.base import DataSpec, Model, register_model
from genzoo.nn.translation import PatchCritic, UNetTranslator, check_translatable
from genzoo.optim import descend
from genzoo.nn.context import evaluating, frozen

DIRECTIONS = ("a2b", "b2a")


@dataclass
class DualGANConfig(Config):
    """Yi et al. 2017, Section 4 defaults (λ and c: values inside the paper's stated ranges)."""

    objective: str = option("wasserstein", registered(OBJECTIVES), "the GAN objective of both critics")
    lambda_u: float = option(500.0, nonnegative, "λ_U, weight of ‖u − G_B(G_A(u))‖₁")
    lambda_v: float = option(500.0, nonnegative, "λ_V, weight of ‖v − G_A(G_B(v))‖₁")
    clip: float | None = option(0.01, positive.saying("must be > 0 (or none)"),
                                "c, critic weight clipping; none disables it (e.g. with a non-Wasserstein objective)")
    d_steps: int = option(2, at_least(1), "n_critic, critic updates per generator update")
    optimizer: Literal["rmsprop", "adam"] = option("rmsprop", one_of("rmsprop", "adam"), "optimiser of every network")
    lr_g: float = option(5e-5, positive, "generators' learning rate")
    lr_d: float = option(5e-5, positive, "critics' learning rate")
    beta1: float = option(0.5, half_open_unit_interval, "Adam β1 (adam only)")
    beta2: float = option(0.999, half_open_unit_interval, "Adam β2 (adam only)")
    width: int = option(64, at_least(1), "base channels of U-Net and critic (pix2pix)")
    dropout: float = option(0.5, half_open_unit_interval, "the generators' noise (pix2pix)")
    memory: int = option(64, at_least(1), "images of each domain remembered for sample()")


def l1(a: Tensor, b: Tensor) -> Tensor:
    """‖a − b‖₁ as the mean absolute pixel error (0 for empty batches)."""
    return (a - b).abs().mean() if a.numel() else a.sum() * 0.0


def split_domains(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """(u, v): the rows of x in domain A (y = 0) and in domain B (y = 1)."""
    return x[y == 0], x[y == 1]


@register_model("dualgan")
class DualGAN(Model):
    """DualGAN (Yi et al. 2017): G_A: U→V, G_B: V→U, two WGAN critics, L1 reconstruction λ_U, λ_V."""

    Config = DualGANConfig
    uses_labels = True  # y = domain index
    supports = ("images",)
    contract_overrides = {"width": 8, "memory": 8}
    contract_data = {"images": ("two_domain_digits", {})}

    def __init__(self, config: DualGANConfig, data: DataSpec) -> None:
        if data.kind == "images" and data.n_classes != 2:
            got = "no labels" if data.n_classes == 0 else f"labels with {data.n_classes} value(s)"
            raise GenzooError(
                f"dualgan needs two domains: data whose y is the domain index 0 (A) / 1 (B), e.g. "
                f"--data two_domain_mnist; got {got} (one domain, or class labels, cannot be translated)")
        super().__init__(config, data)
        check_translatable(data.shape)
        c = data.shape[0]
        self.objective = OBJECTIVES.get(config.objective)
        self.G_A = UNetTranslator(c, config.width, config.dropout)  # U → V
        self.G_B = UNetTranslator(c, config.width, config.dropout)  # V → U
        self.D_A = PatchCritic(c, config.width)  # real v vs G_A(u)
        self.D_B = PatchCritic(c, config.width)  # real u vs G_B(v)
        self.opt_g = make_optimizer(config, [*self.G_A.parameters(), *self.G_B.parameters()], config.lr_g)
        self.opt_d = make_optimizer(config, [*self.D_A.parameters(), *self.D_B.parameters()], config.lr_d)
        self.register_buffer("memory_u", torch.zeros(config.memory, *data.shape))
        self.register_buffer("memory_v", torch.zeros(config.memory, *data.shape))
        self.register_buffer("memory_n", torch.zeros(2, dtype=torch.long))
        self.clip_critics()

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generators": self.opt_g, "critics": self.opt_d}

    @property
    def batches_per_step(self) -> int:
        return self.config.d_steps

    def clip_critics(self) -> None:
        """ω ← clip(ω, −c, c) for both critics."""
        clip_weights([self.D_A, self.D_B], self.config.clip)

    # ---- the two losses of the paper -------------------------------------------------------
    def critic_loss(self, u: Tensor, v: Tensor) -> dict[str, Tensor]:
        """l^d_A + l^d_B on detached translations (batch means)."""
        with torch.no_grad():
            fake_v, fake_u = self.G_A(u), self.G_B(v)
        loss_a = self.objective(self.D_A(v), self.D_A(fake_v)).discriminator
        loss_b = self.objective(self.D_B(u), self.D_B(fake_u)).discriminator
        return {"loss_d": loss_a + loss_b, "loss_d_a": loss_a, "loss_d_b": loss_b}

    def generator_loss(self, u: Tensor, v: Tensor) -> dict[str, Tensor]:
        """l^g: λ_U‖u − G_B(G_A(u))‖₁ + λ_V‖v − G_A(G_B(v))‖₁ + adversarial terms (−D_A(G_A(u)) − D_B(G_B(v)) for WGAN)."""
        fake_v, fake_u = self.G_A(u), self.G_B(v)
        cycle_u, cycle_v = l1(self.G_B(fake_v), u), l1(self.G_A(fake_u), v)
        adv_a = self.objective(None, self.D_A(fake_v)).generator
        adv_b = self.objective(None, self.D_B(fake_u)).generator
        loss = self.config.lambda_u * cycle_u + self.config.lambda_v * cycle_v + adv_a + adv_b
        return {"loss_g": loss, "cycle_u": cycle_u, "cycle_v": cycle_v, "adv_a": adv_a, "adv_b": adv_b}

    def step(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        xs, ys = batch
        out: dict[str, Tensor] = {}
        for x, y in zip(xs.chunk(self.config.d_steps), ys.chunk(self.config.d_steps)):  # t = 1..n_critic
            u, v = split_domains(x, y)
            if len(u) == 0 or len(v) == 0:
                continue  # a chunk with one domain only gives no critic loss; skip it
            critic = self.critic_loss(u, v)
            descend(self.opt_d, critic["loss_d"])
            self.clip_critics()
            out.update(critic)
        u, v = split_domains(x, y)
        if len(u) == 0 or len(v) == 0:
            u, v = split_domains(xs, ys)  # the last chunk lacks a domain: use the whole step's batch
        if len(u) == 0 or len(v) == 0:
            # All of this step's images are of one domain (likely only with a few images per step; refusing
            # would end a run mid-way at random): no translation pair exists, so no generator update this step.
            return {k: t.detach() for k, t in out.items()}
        with frozen(self.D_A, self.D_B):
            gen = self.generator_loss(u, v)
            descend(self.opt_g, gen["loss_g"])
        self.remember(u, v)
        out.update(gen)  # (no loss_d logged in the rare step whose critic batches each held one domain)
        return {k: t.detach() for k, t in out.items()}

    def check_resources(self, batch_size: int) -> None:
        """Every critic update needs images of both domains in its batch: one image never has them."""
        if batch_size < 2:
            raise GenzooError(f"dualgan needs images of both domains in each training batch, but train.batch_size="
                              f"{batch_size} holds one image; use train.batch_size ≥ 2 (default 64)")

    @torch.no_grad()
    def remember(self, u: Tensor, v: Tensor) -> None:
        m = self.config.memory
        for i, (buf, x) in enumerate(((self.memory_u, u), (self.memory_v, v))):
            k = min(m, len(x))
            buf[:k] = x[:k].detach()
            self.memory_n[i] = max(int(self.memory_n[i]), k)

    # ---- capabilities ----------------------------------------------------------------------
    @torch.no_grad()
    def translate(self, x: Tensor, direction: str) -> Tensor:
        """x of domain A mapped to B (``"a2b"``, G_A) or of B mapped to A (``"b2a"``, G_B)."""
        if direction not in DIRECTIONS:
            raise GenzooError(f"invalid direction {direction!r}; valid: {', '.join(DIRECTIONS)}")
        if x.ndim != 4 or tuple(x.shape[1:]) != tuple(self.data.shape):
            raise GenzooError(f"translate needs images of shape (N, {', '.join(map(str, self.data.shape))}), got {tuple(x.shape)}")
        g = self.G_A if direction == "a2b" else self.G_B
        with evaluating(self):
            return g(x.to(self.device).float())

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        n_a = (n + 1) // 2
        parts = []
        for i, (buf, count, direction) in enumerate(((self.memory_u, n_a, "a2b"), (self.memory_v, n - n_a, "b2a"))):
            have = int(self.memory_n[i])
            if have == 0:
                source = torch.rand(count, *self.data.shape, device=self.device)
            else:
                source = buf[torch.randint(have, (count,), device=self.device)]
            parts.append(self.translate(source, direction))
        return torch.cat(parts)
