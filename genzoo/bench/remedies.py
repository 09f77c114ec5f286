"""Remedies tried for rows of claim 3 that fail for a reason the objective itself explains.

f-GAN's total variation row saturates: the optimal critic is T*(x) = ½ sign(p(x) − q(x)), a step
function, and the paper's output activation g_f(v) = ½ tanh v reaches it by saturating, so the
generator's pathwise gradient ∇_θ E_z[g_f(V(G_θ(z)))] vanishes (docs/objectives.md). The remedy
tried here is an output temperature, T = ½ tanh(V/τ) (``fgan --set temperature=τ``): it changes no
fixed point but makes the critic's output reach the flat part of tanh only at τ times larger
pre-activations. (BEGAN's remedy, a wider code, is a row of the mode-collapse spec itself.)

Run under the mode-collapse suite's protocol, budget and data exactly (a derived spec,
:func:`genzoo.bench.suite.derived_spec`), beside the same null baselines; the τ = 1 row is
the suite's own ``f-GAN TV`` row. ``genzoo bench mode-collapse-remedies``; ``--set steps=…`` and
``--set seeds=…`` change the budget; ``--quick``: 1 000 iterations, seed 0.
"""

from __future__ import annotations

from genzoo.bench.suite import derived_benchmark

MODELS = "".join(f"""
[[models]]
label = "f-GAN TV, temperature {tau}"
model = "fgan"
set = {{ divergence = "tv", temperature = {tau}.0, z_dim = 256, hidden = 128, depth = 2, lr_g = 1e-3, lr_d = 1e-4 }}
""" for tau in (10,))

NOTES = """
Setup: the mode-collapse suite's f-GAN TV row (the Unrolled GAN notebook's optimiser settings,
MLPs 2 × 128, z ∈ R^256, batch 512, 5 000 iterations) with the critic's output divided by a
temperature τ before the paper's activation ½ tanh: T = ½ tanh(V/τ). τ = 1 is the suite's row.
"""


remedies_benchmark = derived_benchmark(
    "mode-collapse-remedies", "mode-collapse.toml",
    "f-GAN total variation with an output temperature, under the mode-collapse protocol",
    MODELS, NOTES)
