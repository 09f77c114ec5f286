"""f-GAN (Nowozin, Cseke & Tomioka 2016): variational divergence minimisation for any f-divergence.

The generator Q_θ and the variational function T_ω = g_f ∘ V_ω play the saddle-point game

    F(θ, ω) = E_{x~P}[g_f(V_ω(x))] + E_{x~Q_θ}[−f*(g_f(V_ω(x)))],

a lower bound of D_f(P ‖ Q_θ) that is tight at the optimal ω (f, f*, g_f per divergence: the
table in :mod:`genzoo.losses.fgan`). The paper's Algorithm 1, the *single-step gradient method*
(``algorithm="single-step"``, the default):

    for t = 0, 1, ..., T−1:
        sample X_P = {x_1..x_B} from P and X_Q = {x'_1..x'_B} from Q_θt
        evaluate F(θt, ωt) on the two minibatches            # ONE pass of V_ω on real and fake
        ω_{t+1} = ω_t + η ∇_ω F(θt, ωt)                      # both gradients at (θt, ωt),
        θ_{t+1} = θ_t − η ∇_θ F(θt, ωt)                      # both players move together

against the double loop of Goodfellow et al. (``algorithm="alternating"``): ``d_steps`` critic
updates on detached fakes, then one generator update through the updated critic (two passes).

Generator loss (``generator_loss``): ``"alternative"`` (default, the paper's §3.2, used in its
experiments) maximises E_{Q_θ}[g_f(V_ω(x))] — the −log D trick of the GAN generalised to every f,
with the same fixed point P = Q_θ; ``"saddle"`` minimises F itself. Only the saddle loss keeps
the divergence minimiser as the fixed point when Q_θ cannot reach P (the 1-D experiment).
The paper trains with Adam; networks here are the shared MLP/DCGAN ones.

Output temperature (``temperature`` τ, genzoo's, default 1 = the paper): T_ω = g_f(V_ω/τ). It
changes no fixed point (V_ω can absorb any scale) but slows the critic's approach to the
saturated part of a bounded activation — tried as the remedy for TV's ½ tanh, whose optimal
critic is a step function (docs/objectives.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import Tensor

from genzoo.config import check, one_of, option, positive, registered
from genzoo.losses import AdversarialLoss, Objective
from genzoo.losses.fgan import DIVERGENCES, fgan_loss, variational_bound
from genzoo.models.adversarial import TwoPlayerConfig, AdversarialModel
from genzoo.models.base import register_model


@dataclass
class FGANConfig(TwoPlayerConfig):
    divergence: str = option("gan", registered(DIVERGENCES),
                             "any registered row of the f-divergence table (genzoo.losses.fgan)")
    algorithm: Literal["single-step", "alternating"] = option(
        "single-step", one_of("single-step", "alternating"), "the paper's Algorithm 1, or alternating updates")
    generator_loss: Literal["alternative", "saddle"] = option(
        "alternative", one_of("alternative", "saddle"), "G's loss: the paper's §3.2 alternative, or the saddle point")
    temperature: float = option(1.0, positive, "τ in T = g_f(V/τ); 1 is the paper")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.algorithm == "alternating" or self.d_steps == 1, "d_steps", self.d_steps,
              "the single-step algorithm updates both players once per minibatch; use algorithm=alternating for d_steps > 1")


@register_model("fgan")
class FGAN(AdversarialModel):
    """f-GAN (Nowozin et al. 2016): any f-divergence (divergence=...), single-step or alternating updates."""

    Config = FGANConfig

    def make_objective(self) -> Objective:
        div, gen, tau = DIVERGENCES.get(self.config.divergence), self.config.generator_loss, self.config.temperature

        def loss(v_real: Tensor | None, v_fake: Tensor) -> AdversarialLoss:
            return AdversarialLoss(*fgan_loss(div, None if v_real is None else v_real / tau, v_fake / tau, generator=gen))

        self.divergence = div
        return Objective(f"fgan-{div.name} ({gen})", loss, f"f-GAN, {div.title}")

    def step(self, batch: Tensor) -> dict[str, Tensor]:
        if self.config.algorithm == "alternating":  # the GAN's Algorithm 1
            logs = super().step(batch)
            return {**logs, "bound": -logs["loss_d"]}
        # single step: one evaluation of F on a real and a generated minibatch, both players move
        x = batch
        v_real, v_fake = self.d(x), self.d(self.G(self.prior(x.shape[0])))
        loss_d, loss_g = self.objective(v_real, v_fake)  # −F (critic), generator loss
        self.simultaneous_step(loss_d, loss_g)  # ω ← ω + η∇_ω F,  θ ← θ − η∇_θ(loss_g)
        tau = self.config.temperature
        bound = variational_bound(self.divergence, v_real.detach() / tau, v_fake.detach() / tau)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "bound": bound}
