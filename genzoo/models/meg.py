"""Maximum Entropy Generators for Energy-Based Models (MEG; Kumar et al. 2019).

As in Kim & Bengio (``ddgm``) a generator G supplies the EBM's negatives and minimises
KL(q_G ‖ p_θ) = E_z[E_θ(G(z))] − H(q_G) + const, but the entropy comes from mutual
information (Kumar et al. 2019, §3): for a deterministic G, H(G(z) | z) = 0, so

    H(q_G) = I(z; G(z)),

estimated by the Jensen–Shannon (Deep InfoMax) objective with a statistics network T,

    Î_JSD = E_{z}[−sp(−T(G(z), z))] − E_{z, z̄}[sp(T(G(z), z̄))],    z̄ ~ N(0, I) independent,

which G and T both ascend. The energy is trained by contrastive divergence on G's samples with
the paper's zero-centred gradient penalty on the data, Ω = λ E_data ‖∇_x E_θ(x)‖². Per iteration:

    repeat energy_steps (5) times:
        x⁺ ~ data, x⁻ = G(z):  θ ← θ − Adam ∇_θ [mean E(x⁺) − mean E(x⁻) + λ mean ‖∇_x E(x⁺)‖²]
    z, z̄ ~ N(0, I):           (φ, T) ← Adam step on  mean E(G(z)) − Î_JSD(G(z), z, z̄)

At sampling time MEG runs MALA in latent space on U(z) = E_θ(G(z)) from z ~ N(0, I)
(``latent_steps``, step size ``latent_step_size`` = α = 0.01, noise √(2α)) with the
Metropolis correction of :func:`~genzoo.sampling.langevin.langevin` — its log proposal density
uses the *squared* norm −‖z − z' + α∇U(z')‖²/(4α) (the authors' public code uses the unsquared
norm, which is not the proposal's density).

Defaults follow the authors' toy script: Adam(1e-4, β = (0.5, 0.9)), 5 energy updates per
generator update, λ = 0.1. Stated differences (genzoo): lr 1e-3 on points (CPU budget), latent
MCMC off during training (the authors' default too) and ``latent_steps = 20`` when sampling.
This is ``ebm`` with ``negatives=generator, negatives.entropy=jsd-mi, gp_weight=0.1, energy_steps=5``
(the registered ``generator`` negative sampler, :mod:`genzoo.sampling.generator`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from genzoo.config import Part
from genzoo.models.base import register_model
from genzoo.models.ddgm import DDGM
from genzoo.models.ebm import EBM, EBMConfig


@dataclass
class MEGConfig(EBMConfig):
    # latent MCMC when sampling: MALA (α = 0.01) for 20 steps
    negatives: Part = field(default_factory=lambda: Part(name="generator", entropy="jsd-mi", latent_steps=20,
                                                         latent_step_size=0.01, latent_metropolis=True))
    gp_weight: float = 0.1  # λ
    energy_steps: int = 5
    energy_reg: float | None = 0.0
    beta1: float = 0.5
    beta2: float = 0.9


@register_model("meg")
class MEG(EBM):
    """Maximum entropy generator (Kumar et al. 2019): generator negatives, JSD mutual-information entropy, MALA in z."""

    Config = MEGConfig
    contract_overrides = {**DDGM.contract_overrides, "energy_steps": 2, "negatives.latent_steps": 2}
