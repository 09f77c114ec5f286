"""Unrolled GAN (Metz, Poole, Pfau & Sohl-Dickstein, 2017): the generator looks k discriminator steps ahead.

With f(θ_G, θ_D) the GAN value, the discriminator's optimisation is unrolled k steps,

    θ_D^0 = θ_D,    θ_D^{i+1} = θ_D^i + η · ∇_{θ_D} f(θ_G, θ_D^i)     (an Adam or SGD step; eq. 4–5)

and the generator descends the surrogate f_k(θ_G, θ_D) = f(θ_G, θ_D^k(θ_G, θ_D)) (eq. 6), with

    f(θ_G, θ_D) = E_x log D(x; θ_D) + E_z log(1 − D(G(z); θ_D)),

the FULL value: its data term E_x log D(x; θ_D^k) depends on θ_G through θ_D^k, so it is not a
constant here (a plain GAN's generator loss may drop it; an unrolled one may not). The authors'
notebook minimises −unrolled_loss with unrolled_loss the discriminator's cross-entropy on real and
fake, i.e. exactly f_k; for zero-sum objectives (``ZERO_SUM``: minimax, wasserstein) genzoo's
generator loss is −L_D(θ_D^k). A non-zero-sum objective (non-saturating, hinge, ...) has no single
value f: the generator then descends its own loss L_G(θ_G, θ_D^k(θ_G)) through the unroll. Its
gradient (eq. 12)

    df_k/dθ_G = ∂f/∂θ_G + ∂f/∂θ_D^k · dθ_D^k/dθ_G

holds a second term — "how the discriminator would react to a change in the generator" — that
exists only because every θ_D^i is a differentiable function of θ_G. Here the unrolled steps run
on parameter dictionaries updated out of place (``torch.func.functional_call``) with
``create_graph=True``, so back-propagating f_k into θ_G goes through all k updates
(ports that detach the unrolled parameters are plain GANs). The real discriminator
then takes only the first of those steps, θ_D ← θ_D^1 (eq. 7). Per iteration:

    x ~ p_data, z ~ p(z)                                   (one batch, reused by every unrolled step,
    θ^0 = θ_D;  for i < k: θ^{i+1} = step(θ^i, ∇_θ L_D(θ^i))   as in the authors' notebook)
    θ_G ← Adam step on ∇_{θ_G} f(θ_G, θ^k) = −∇_{θ_G} L_D(θ^k)   # through the unroll, data term included
    θ_D ← θ^1                                              # the first step only, via the real Adam

Both updates use the parameters at the start of the iteration (the simultaneous form of eqs. 6–7).
With ``unroll_optimizer="sgd"`` the look-ahead is plain gradient steps θ^{i+1} = θ^i − η∇L_D (the
paper's eq. 5 as written) while the real D keeps its Adam step, so θ_D is then not exactly θ^1.
With k = 0 the generator's gradient is the plain GAN's. Unrolled Adam steps continue from the real
optimiser's moments (m, v, t) as constants, like the authors' Keras ``get_updates`` unrolling.

Defaults: k = 5 (authors' notebook; the paper's figures use 0, 1, 5 and 10 on the 2-D ring) and the
minimax objective (the paper's f). The networks, learning rates and Adam β1 = 0.5 are genzoo's
shared adversarial core so that the mode-collapse table compares like with like; the paper's
2-D setup (G 2×128 ReLU, D 1×128, lr 1e-4, z ∈ R^256, batch 512) differs only by size. The
authors' notebook uses batch 512, z ∈ R^256, lr_G = 1e-3, lr_D = 1e-4 and 25 000 iterations with
2×128 tanh networks; the mode-collapse suite (spec v2) uses those optimiser settings for every
Adam-trained objective (``--set z_dim=256 lr_g=1e-3 lr_d=1e-4 batch_size=512``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor
from torch.func import functional_call

from genzoo.config import at_least, check, one_of, option, positive
from genzoo.models.adversarial import AdversarialConfig, AdversarialModel
from genzoo.models.base import register_model
from genzoo.optim import descend

Params = dict[str, Tensor]

#: Objectives whose generator loss is exactly −(discriminator loss): the game's value f. A registered
#: generator loss drops the data term E_x log D(x) because, with θ_D fixed, it has no θ_G-gradient;
#: through the unroll θ_D^k depends on θ_G, so for these the generator descends the full −L_D(θ_D^k).
ZERO_SUM: tuple[str, ...] = ("minimax", "wasserstein")


@dataclass
class UnrolledGANConfig(AdversarialConfig):
    objective: str = "minimax"  # the paper's f
    unroll_steps: int = option(5, at_least(0), "k, D's steps G looks ahead through (authors' notebook; paper figures: 0, 1, 5, 10)")
    unroll_optimizer: Literal["adam", "sgd"] = option("adam", one_of("adam", "sgd"), "the update rule differentiated through")
    unroll_lr: float | None = option(None, positive, "η of the unrolled steps; none: lr_d (the real D's step)")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.optimizer == "adam", "optimizer", self.optimizer,
              "must be adam: the unrolled steps replay the real discriminator's Adam rule")
        check(self.d_steps == 1, "d_steps", self.d_steps,
              "must be 1: the Unrolled GAN updates D by the first unrolled step (use unroll_steps for k)")


def _sqrt0(v: Tensor) -> Tensor:
    """√v with a finite (zero) derivative at v = 0, where Adam's second moment can be exactly 0."""
    positive = v > 0
    return torch.where(positive, torch.sqrt(torch.where(positive, v, torch.ones_like(v))), torch.zeros_like(v))


@register_model("unrolled-gan")
class UnrolledGAN(AdversarialModel):
    """Unrolled GAN (Metz et al. 2017): G's gradient flows through k differentiable D updates."""

    Config = UnrolledGANConfig

    def d_at(self, params: Params, x: Tensor) -> Tensor:
        """d(x) computed with discriminator parameters ``params`` (buffers from D)."""
        return functional_call(self.D, params, (x,)).squeeze(-1)

    def d_loss_at(self, params: Params, x: Tensor, fake: Tensor) -> Tensor:
        return self.objective(self.d_at(params, x), self.d_at(params, fake)).discriminator

    def _adam_state(self, p: Tensor) -> tuple[Tensor, Tensor, float]:
        """The real optimiser's (m, v, t) for parameter p: the unroll continues from them as constants."""
        state = self.opt_d.state.get(p, {})
        if not state:
            return torch.zeros_like(p), torch.zeros_like(p), 0.0
        return state["exp_avg"], state["exp_avg_sq"], float(state["step"])

    def unroll(self, x: Tensor, fake: Tensor, k: int) -> tuple[list[Params], list[Tensor], Tensor]:
        """θ_D^0..θ_D^k as out-of-place, differentiable functions of θ_G (through ``fake``).

        Returns the k + 1 parameter dicts, the first step's gradient ∇_{θ_D} L_D(θ_D^0) and its loss
        L_D(θ_D^0) (both always computed: they are the real discriminator's update). Unrolled steps
        keep the graph (``create_graph=True``); the step rule is torch's Adam (or SGD) written out
        of place.
        """
        c = self.config
        group = self.opt_d.param_groups[0]  # the real D's Adam: the same β1, β2, ε in the look-ahead
        lr = c.unroll_lr if c.unroll_lr is not None else group["lr"]
        (b1, b2), eps = group["betas"], group["eps"]
        params: Params = dict(self.D.named_parameters())
        thetas = [params]
        moments = {n: self._adam_state(p) for n, p in params.items()}
        first: list[Tensor] = []
        first_loss = x.new_zeros(())
        for i in range(max(k, 1)):
            loss = self.d_loss_at(params, x, fake if k else fake.detach())
            grads = torch.autograd.grad(loss, list(params.values()), create_graph=k > 0)
            if i == 0:
                first, first_loss = [g.detach() for g in grads], loss.detach()
                if k == 0:
                    break
            new: Params = {}
            for (n, p), g in zip(params.items(), grads):
                if c.unroll_optimizer == "sgd":
                    new[n] = p - lr * g
                    continue
                m, v, t = moments[n]
                m = b1 * m + (1 - b1) * g  # torch Adam: exp_avg.lerp_(g, 1 − β1)
                v = b2 * v + (1 - b2) * g * g
                t = t + 1
                denom = _sqrt0(v) / (1 - b2**t) ** 0.5 + eps
                new[n] = p - (lr / (1 - b1**t)) * m / denom
                moments[n] = (m, v, t)
            params = new
            thetas.append(params)
        return thetas, first, first_loss

    def unrolled_generator_loss(self, x: Tensor, z: Tensor) -> tuple[Tensor, list[Tensor], Tensor]:
        """(f_k = L_G(θ_G, θ_D^k(θ_G)), ∇_{θ_D} L_D(θ_D^0), L_D(θ_D^0)) for data x and noise z.

        Batch-norm running statistics (DCGAN D) keep only the first step's update, the one the
        real discriminator makes; the look-ahead passes leave no trace.
        """
        buffers = {n: b.clone() for n, b in self.D.named_buffers()}
        fake = self.G(z)
        thetas, first, loss_d = self.unroll(x, fake, self.config.unroll_steps)
        theta_k = thetas[-1]
        if self.config.objective in ZERO_SUM:
            # f_k = f(θ_G, θ_D^k(θ_G)) = −L_D(θ_D^k): E_x log D(x; θ_D^k) is kept, because θ_D^k moves with θ_G
            loss_g = -self.d_loss_at(theta_k, x, fake)
        else:
            d_real = self.d_at(theta_k, x) if self.objective.generator_uses_real else None
            loss_g = self.objective(d_real, self.d_at(theta_k, fake)).generator
        if buffers:  # undo the look-ahead passes' BN updates, then make the real D's one
            with torch.no_grad():
                for n, b in self.D.named_buffers():
                    b.copy_(buffers[n])
                self.d_loss_at(thetas[0], x, fake.detach())
        return loss_g, first, loss_d

    def step(self, x: Tensor) -> dict[str, Tensor]:
        # generator: descend the unrolled surrogate f_k through all k differentiable D steps
        loss_g, first, loss_d = self.unrolled_generator_loss(x, self.prior(x.shape[0]))
        descend(self.opt_g, loss_g, inputs=list(self.G.parameters()))
        # discriminator: the first step only, θ_D ← θ_D^1 (the real Adam applies the same rule)
        for p, g in zip(self.D.parameters(), first):
            p.grad = g
        self.opt_d.step()
        return {"loss_d": loss_d, "loss_g": loss_g.detach()}
