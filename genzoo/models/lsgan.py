"""Least Squares GAN (Mao et al. 2017) with a general coding (a, b, c).

The sigmoid cross-entropy of the GAN is replaced by least squares on the discriminator's linear
output d (the paper's eq. 2):

    min_D V(D) = ½ E_{x~p}[(d(x) − b)²] + ½ E_{z~p(z)}[(d(G(z)) − a)²]
    min_G V(G) = ½ E_{z~p(z)}[(d(G(z)) − c)²]

a and b are the labels of fake and real data, c the value G wants D to believe for fakes. For a
fixed G the optimal discriminator is d* = (b p + a q)/(p + q); with b − c = 1 and b − a = 2 the
generator then minimises the Pearson χ² divergence χ²(p + q ‖ 2q) (section 3.2.2). The paper's
two settings: (a, b, c) = (−1, 1, 0) (eq. 8, the χ² condition) and (0, 1, 1) (eq. 9, 0-1 coding,
which its experiments use — the default here).

Each iteration is the GAN's alternation (``d_steps`` D updates, one G update). Both settings are
also registered objectives usable by any adversarial model: ``--set objective=lsgan`` (0, 1, 1)
and ``--set objective=lsgan-abc`` (−1, 1, 0); this model makes (a, b, c) free
(``--set a=-1 --set b=1 --set c=0``). Networks and Adam(2e-4, β1 = 0.5) follow DCGAN, as in
the paper's LSUN experiments.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from genzoo.config import check, option
from genzoo.losses import Objective
from genzoo.losses.adversarial import least_squares
from genzoo.models.adversarial import AdversarialModel, TwoPlayerConfig
from genzoo.models.base import register_model


@dataclass
class LSGANConfig(TwoPlayerConfig):
    a: float = option(0.0, None, "label of fake data for D")
    b: float = option(1.0, None, "label of real data for D")
    c: float = option(1.0, None, "the value G wants D to output on fakes")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.a != self.b, "a", self.a, "must differ from b (the fake and real labels must be distinct)")


@register_model("lsgan")
class LSGAN(AdversarialModel):
    """Least squares GAN (Mao et al. 2017) with general (a, b, c); default the 0-1 coding (0, 1, 1)."""

    Config = LSGANConfig

    def make_objective(self) -> Objective:
        a, b, c = self.config.a, self.config.b, self.config.c
        return Objective(f"least-squares(a={a:g}, b={b:g}, c={c:g})", partial(least_squares, a=a, b=b, c=c),
                         "least squares with codes (a, b, c)")

