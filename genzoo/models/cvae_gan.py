"""CVAE-GAN (Bao, Chen, Wen, Li & Hua 2017): a conditional VAE judged by a discriminator and a classifier.

Four networks: encoder E(x, c) → q(z|x, c) = N(μ, diag σ²), generator G(z, c), discriminator D
(real vs generated) and classifier C (which class). f_D and f_C are the features of D's and C's
last hidden layer. For a labelled batch (x_r, c_r), the paper's Algorithm 1:

    z = μ + σ ⊙ ε ~ q(z|x_r, c_r)        x_f = G(z, c_r)          (reconstruction)
    z_p ~ N(0, I)                          x_p = G(z_p, c_r)        (sample)

    L_D  = −[log D(x_r) + log(1 − D(x_f)) + log(1 − D(x_p))]
    L_C  = −log P(c_r | x_r)
    L_KL = ½ Σ_j (μ_j² + σ_j² − log σ_j² − 1)
    L_G  = ½ (‖x_r − x_f‖² + ‖f_D(x_r) − f_D(x_f)‖² + ‖f_C(x_r) − f_C(x_f)‖²)     (pairwise feature matching)
    L_GD = ½ ‖(1/m) Σ_i f_D(x_r,i) − (1/m) Σ_i f_D(x_p,i)‖²                        (mean feature matching, D)
    L_GC = ½ Σ_c ‖mean_{i: c_i = c} f_C(x_r,i) − mean_{i: c_i = c} f_C(x_p,i)‖²     (mean feature matching per class, C)

    θ_D ← θ_D − ∇ L_D
    θ_C ← θ_C − ∇ L_C
    θ_E ← θ_E − ∇ (λ1 L_KL + λ2 L_G)
    θ_G ← θ_G − ∇ (λ2 L_G + λ3 L_GD + λ4 L_GC)

The generator never sees the cross entropy of D or C — only the mean discrepancies of their
features ("asymmetric training"). Squared norms sum over pixels / features and average over the
batch. All four gradients are taken at the current parameters before any network moves, as the
algorithm box lists them.

Attribute (class) transfer: encode x with its class c, decode with another class c′,
``transfer(x, c, c′) = G(μ(x, c), c′)``.

Defaults vs the paper: λ1 = 3, λ2 = 1, λ3 = λ4 = 10⁻³ ✓. Networks: genzoo's DCGAN G, D (the
paper's are deeper, for 128×128 faces); E and C are DCGAN discriminator bodies (E sees the
label as K constant planes); Adam(2e-4, β1 = 0.5) as DCGAN (genzoo's choice); z ∈ R^100.

``sample(n)`` draws classes uniformly (or ``sample(n, y=labels)``); ``encode(x)`` returns the
posterior mean μ(x, c) with c the classifier's guess unless ``y`` is given.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from genzoo.config import Config, at_least, half_open_unit_interval, nonnegative, option, positive
from genzoo.errors import GenzooError
from genzoo.models.base import DataSpec, Model, register_model
from genzoo.nn import ConditionalDiscriminator, ConditionalGenerator, DCGANDiscriminator, DCGANGenerator
from genzoo.optim import adam
from genzoo.nn.context import evaluating


@dataclass
class CVAEGANConfig(Config):
    """Bao et al. 2017 weights (λ1..λ4); DCGAN networks and optimiser."""

    z_dim: int = option(100, at_least(1), "latent size")
    lambda_kl: float = option(3.0, nonnegative, "λ1, weight of the KL")
    lambda_rec: float = option(1.0, nonnegative, "λ2, pairwise feature matching L_G")
    lambda_gd: float = option(1e-3, nonnegative, "λ3, mean feature matching with D")
    lambda_gc: float = option(1e-3, nonnegative, "λ4, per-class mean feature matching with C")
    width: int = option(64, at_least(1), "DCGAN base channel count")
    lr: float = option(2e-4, positive, "Adam learning rate of every network")
    beta1: float = option(0.5, half_open_unit_interval, "Adam β1")
    beta2: float = option(0.999, half_open_unit_interval, "Adam β2")


def kl_standard_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) = ½ Σ_j (μ_j² + σ_j² − log σ_j² − 1), per row."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1)


def mean_feature_matching(f_real: Tensor, f_fake: Tensor) -> Tensor:
    """½ ‖mean f_real − mean f_fake‖²."""
    return 0.5 * (f_real.mean(0) - f_fake.mean(0)).pow(2).sum()


def class_mean_feature_matching(f_real: Tensor, f_fake: Tensor, c: Tensor) -> Tensor:
    """½ Σ_c ‖mean_{c_i = c} f_real − mean_{c_i = c} f_fake‖² over the classes present (real and fake share labels)."""
    total = f_real.new_zeros(())
    for k in c.unique():
        keep = c == k
        total = total + mean_feature_matching(f_real[keep], f_fake[keep])
    return total


@register_model("cvae-gan")
class CVAEGAN(Model):
    """CVAE-GAN (Bao et al. 2017): E, G, D, C; KL, pairwise and mean feature matching; class transfer."""

    Config = CVAEGANConfig
    uses_labels = True
    supports = ("images",)
    contract_overrides = {"z_dim": 8, "width": 8}

    def __init__(self, config: CVAEGANConfig, data: DataSpec) -> None:
        super().__init__(config, data)
        c, h, _ = data.shape
        k = self.n_classes = data.n_classes
        if k < 2:
            raise GenzooError(f"cvae-gan needs class labels with ≥ 2 classes, got {k}")
        self.E = ConditionalDiscriminator(DCGANDiscriminator(c + k, h, config.width, 2 * config.z_dim), k, "images")
        self.G = ConditionalGenerator(DCGANGenerator(config.z_dim + k, c, h, config.width), k)
        self.D = DCGANDiscriminator(c, h, config.width, 1)
        self.C = DCGANDiscriminator(c, h, config.width, k)
        make = lambda net: adam(net.parameters(), lr=config.lr, betas=(config.beta1, config.beta2))  # noqa: E731
        self.opts = {name: make(getattr(self, name)) for name in ("E", "G", "D", "C")}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return self.opts

    def posterior(self, x: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        """(μ, log σ²) of q(z | x, c)."""
        mu, logvar = self.E(x, c).chunk(2, 1)
        return mu, logvar.clamp(-20, 10)

    def prior(self, n: int) -> Tensor:
        return torch.randn(n, self.config.z_dim, device=self.device)

    def losses(self, x: Tensor, c: Tensor) -> dict[str, Tensor]:
        """Every loss of Algorithm 1 on one labelled batch (with graph)."""
        m = x.shape[0]
        mu, logvar = self.posterior(x, c)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        x_f = self.G(z, c)
        x_p = self.G(self.prior(m), c)
        both = torch.cat([x, x_f, x_p])
        f_d = self.D.features(both)
        d_r, d_f, d_p = self.D.head(f_d).squeeze(-1).split(m)
        f_dr, f_df, f_dp = f_d.split(m)
        f_c = self.C.features(both)
        f_cr, f_cf, f_cp = f_c.split(m)
        logits_r = self.C.head(f_cr)
        pixel = 0.5 * (x - x_f).pow(2).flatten(1).sum(1)
        feat_d = 0.5 * (f_dr - f_df).pow(2).sum(1)
        feat_c = 0.5 * (f_cr - f_cf).pow(2).sum(1)
        return {
            "loss_d": F.softplus(-d_r).mean() + F.softplus(d_f).mean() + F.softplus(d_p).mean(),
            "loss_c": F.cross_entropy(logits_r, c),
            "kl": kl_standard_normal(mu, logvar).mean(),
            "loss_rec": (pixel + feat_d + feat_c).mean(),
            "pixel_rec": pixel.mean(),
            "loss_gd": mean_feature_matching(f_dr, f_dp),
            "loss_gc": class_mean_feature_matching(f_cr, f_cp, c),
        }

    def step(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        x, c = batch
        cfg = self.config
        L = self.losses(x, c)
        targets = {
            "D": L["loss_d"],
            "C": L["loss_c"],
            "E": cfg.lambda_kl * L["kl"] + cfg.lambda_rec * L["loss_rec"],
            "G": cfg.lambda_rec * L["loss_rec"] + cfg.lambda_gd * L["loss_gd"] + cfg.lambda_gc * L["loss_gc"],
        }
        grads = {}
        for name, loss in targets.items():  # every gradient at the current parameters, then all steps
            params = list(getattr(self, name).parameters())
            grads[name] = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        for name, g in grads.items():
            for p, gp in zip(getattr(self, name).parameters(), g):
                p.grad = gp
            self.opts[name].step()
        return {k: v.detach() for k, v in L.items()}

    # ---- capabilities ----------------------------------------------------------------------
    def _eval(self, fn, *args):
        with evaluating(self), torch.no_grad():
            return fn(*args)

    def _labels(self, y: Tensor, n: int, what: str) -> Tensor:
        y = torch.as_tensor(y, device=self.device).long()
        if y.ndim == 0:
            y = y.expand(n)
        if y.shape != (n,):
            raise GenzooError(f"{what} must have shape ({n},) or be one class, got {tuple(y.shape)}")
        if int(y.min()) < 0 or int(y.max()) >= self.n_classes:
            raise GenzooError(f"{what} must lie in 0..{self.n_classes - 1}, got {int(y.min())}..{int(y.max())}")
        return y

    def classify(self, x: Tensor) -> Tensor:
        """C's most probable class for each image."""
        return self._eval(lambda t: self.C(t).argmax(1), x.to(self.device))

    def encode(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """μ(x, c): the posterior mean, with c = y or C's guess."""
        x = x.to(self.device)
        c = self.classify(x) if y is None else self._labels(y, len(x), "y")
        return self._eval(lambda: self.posterior(x, c)[0])

    def transfer(self, x: Tensor, c: Tensor, c_new: Tensor) -> Tensor:
        """Class transfer: G(μ(x, c), c′) — x's style (its code) drawn as class c′."""
        x = x.to(self.device)
        c, c_new = self._labels(c, len(x), "c"), self._labels(c_new, len(x), "c_new")
        return self._eval(lambda: self.G(self.posterior(x, c)[0], c_new))

    @torch.no_grad()
    def sample(self, n: int, y: Tensor | None = None) -> Tensor:
        y = torch.randint(self.n_classes, (n,), device=self.device) if y is None else self._labels(y, n, "y")
        return self._eval(lambda: self.G(self.prior(n), y))
