"""Generative Adversarial Networks (Goodfellow et al., 2014), minimax and non-saturating.

Algorithm 1 of the paper, for each training iteration:

    for k steps:                                  # k = config.d_steps
        sample {z_1..z_m} ~ p(z), {x_1..x_m} ~ p_data
        ascend  ∇_θd 1/m Σ [log D(x_i) + log(1 − D(G(z_i)))]
    sample {z_1..z_m} ~ p(z)
    descend ∇_θg 1/m Σ log(1 − D(G(z_i)))          # objective="minimax"
    (or ascend ∇_θg 1/m Σ log D(G(z_i)),           # objective="nonsaturating", the −log D trick)

At the optimum D*(x) = p(x) / (p(x) + q_G(x)), and with D = D* the minimax value is
2·JS(p ‖ q_G) − log 4. The objective is any registered adversarial objective, so this class is
also the plain baseline for every other loss (``--set objective=NAME``).
"""

from __future__ import annotations

from dataclasses import dataclass

from genzoo.models.adversarial import AdversarialConfig, AdversarialModel
from genzoo.models.base import register_model


@dataclass
class GANConfig(AdversarialConfig):
    pass


@register_model("gan")
class GAN(AdversarialModel):
    """Generative adversarial network (Goodfellow et al. 2014); MLP on points, DCGAN on images."""

    Config = GANConfig  # the iteration is AdversarialModel.step: Algorithm 1, written once
