"""Deep Directed Generative Models with Energy-Based Probability Estimation (Kim & Bengio 2016).

The EBM's negative phase needs samples of p_θ; instead of MCMC a generator G_φ supplies them
(Kim & Bengio 2016, §3), and G_φ is trained to *be* p_θ by minimising

    KL(q_G ‖ p_θ) = E_{z}[E_θ(G_φ(z))] − H(q_G) + log Z(θ),

whose φ-gradient needs no Z. The entropy of the implicit q_G is estimated from the generator's
batch-norm scales, H(q_G) ≈ Σ_a ½ log(2πe γ_a²) (:func:`~genzoo.estimators.entropy.batchnorm_entropy`).
Without it G would collapse onto the energy's minima (a GAN's mode collapse). Per iteration:

    x⁺ ~ data, x⁻ = G(z) (detached):   θ ← θ − η ∇_θ [mean E_θ(x⁺) − mean E_θ(x⁻)]
    z ~ N(0, I):                        φ ← φ − η ∇_φ [mean E_θ(G(z)) − Σ_a ½ log(2πe γ_a²)]

Energy (Kim & Bengio, eq. 6): E(x) = (1/σ²) xᵀx − bᵀx − Σ_i log(1 + exp(w_iᵀ φ(x) + c_i)).

This is the ``ebm`` model with ``negatives=generator, negatives.entropy=batchnorm,
energy_head=kim-bengio`` (the registered ``generator`` negative sampler,
:mod:`genzoo.sampling.generator`) and nothing else: the class adds no code, only its paper's defaults,
so ``ebm`` with those settings performs exactly this update (tests/test_ebm.py checks it bit
for bit). Differences from the paper (genzoo, stated): no energy regularisation (α = 0),
Adam(β = (0.5, 0.999)), lr 2e-4 images / 1e-3 points; the paper's optimiser settings are not
reproduced here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from genzoo.config import Part
from genzoo.models.base import register_model
from genzoo.models.ebm import EBM, EBMConfig


@dataclass
class DDGMConfig(EBMConfig):
    negatives: Part = field(default_factory=lambda: Part(name="generator", entropy="batchnorm"))
    energy_head: Literal["linear", "kim-bengio"] = "kim-bengio"
    energy_reg: float | None = 0.0
    beta1: float = 0.5


@register_model("ddgm")
class DDGM(EBM):
    """Deep directed generative model (Kim & Bengio 2016): a generator with batch-norm entropy as the EBM's negative sampler."""

    Config = DDGMConfig
    contract_overrides = {"hidden": 16, "depth": 2, "width": 4, "negatives.hidden": 16, "negatives.width": 8,
                          "negatives.z_dim": 4}
