"""Claim 3, energy side: EBM, DDGM and MEG rows under the mode-collapse suite's protocol.

The GAN rows of claim 3 come from ``genzoo/bench/specs/mode-collapse.toml``. This benchmark runs
the energy-based models of the GAN↔EBM bridge under exactly that spec's protocol, budget and data
(ring8 and grid25, 5 000 iterations of batch 512, 2 500 samples, the Euclidean 3σ high-quality
rule, exact W1, the same null baselines) by writing a spec that keeps everything before the
mode-collapse spec's first ``[[models]]`` table and replaces only the model list
(:func:`genzoo.bench.suite.derived_spec`). Networks are sized like the GAN rows: energy MLPs
of 2 hidden layers of 128 (the GANs' discriminator) and, where a generator samples the negatives,
a 2 × 128 generator from z ∈ R^256. Everything else is each model's paper defaults (module
docstrings of :mod:`genzoo.models.ebm`, :mod:`genzoo.models.ddgm`, :mod:`genzoo.models.meg`):

* ``EBM (replay, step 1e-4)`` — Du & Mordatch 2019's persistent Langevin with a replay buffer,
  K = 40 steps of η = 10⁻⁴ with the tied noise σ = √(2η) ≈ 0.014, about the mixture's σ = 0.01.
  genzoo's points default η = 0.01 (σ ≈ 0.14) blurs every sample far beyond the 3σ = 0.03
  high-quality radius whatever the energy learns: after 1 000 iterations on ring8 it scored 0 modes
  and W1 1.35 where η = 10⁻⁴ scored 8 modes, 30.9 % high quality and W1 0.072 (seed 0; docs/ebm.md),
  so only the matched step is in the suite.
* ``DDGM`` — Kim & Bengio 2016: the generator is the negative sampler, batch-norm entropy.
* ``MEG`` — Kumar et al. 2019: generator negatives, Jensen–Shannon MI entropy, gradient penalty,
  5 energy updates per generator update, MALA in z when sampling.

``genzoo bench ebm-modes`` (3 seeds × 2 data sets × 3 models); ``--quick``: 400 iterations, seed
0. Results go to ``OUT/modes`` (render with ``genzoo report OUT/modes``); ``--set steps=…`` and
``--set seeds=…`` change the budget.
"""

from __future__ import annotations

from genzoo.bench.suite import derived_benchmark

ENERGY_MODELS = """
[[models]]
label = "EBM (replay, step 1e-4)"
model = "ebm"
set = { hidden = 128, depth = 2, "negatives.step_size" = 1e-4 }
note = "Du & Mordatch 2019 replay buffer, K = 40 steps of η = 1e-4 with tied σ = √(2η) ≈ 0.014 (genzoo's points default η = 0.01 is 14× coarser than the data's σ)"

[[models]]
label = "DDGM"
model = "ddgm"
set = { hidden = 128, depth = 2, "negatives.z_dim" = 256, "negatives.hidden" = 128, "negatives.depth" = 2 }
note = "Kim & Bengio 2016: generator negatives, batch-norm entropy"

[[models]]
label = "MEG"
model = "meg"
set = { hidden = 128, depth = 2, "negatives.z_dim" = 256, "negatives.hidden" = 128, "negatives.depth" = 2 }
note = "Kumar et al. 2019: JSD mutual-information entropy, gradient penalty 0.1, 5 energy steps, MALA in z"
"""

NOTES = """
Setup: the mode-collapse suite's data, batch (512), budget (train.steps iterations; one iteration is
energy_steps updates of the energy and, for DDGM and MEG, one generator update) and evaluation.
Energy MLPs of 2 hidden layers of 128 (the size of the GAN rows' discriminator); DDGM and MEG draw
negatives from a 2 × 128 generator with z ∈ R^256 (the GAN rows' generator). Optimisers, Langevin
settings and entropy estimators are each model's paper defaults (docstrings of
genzoo/models/{ebm,ddgm,meg}.py), except the EBM's Langevin step (1e-4, matched to the data's σ).
The EBM is sampled by Langevin from its replay buffer (sample_steps = K); MEG by MALA in z. The GAN
rows of claim 3 are in the mode-collapse report; the nulls below are scored by the same rule.
"""


ebm_modes_benchmark = derived_benchmark(
    "ebm-modes", "mode-collapse.toml",
    "EBM, DDGM and MEG under the mode-collapse protocol: modes, high-quality share, exact W1",
    ENERGY_MODELS, NOTES, quick_values={"steps": 400, "seeds": [0]})
