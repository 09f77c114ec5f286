"""Semi-supervised learning with deep generative models: M2 and the M1+M2 stack (Kingma, Rezende,
Mohamed & Welling 2014).

Generative model (M2): p(y) = Cat(1/K), p(z) = N(0, I), p_θ(x | y, z). Inference: q_φ(y|x) (a
classifier) and q_φ(z | x, y) = N(μ_φ(x, y), diag σ²_φ(x, y)). Bounds (eqs. 6–7):

    labelled:    log p(x, y) ≥ −L(x, y) = E_{q(z|x,y)}[log p(x|y, z) + log p(y) + log p(z) − log q(z|x, y)]
    unlabelled:  log p(x)    ≥ −U(x)    = Σ_y q(y|x) (−L(x, y)) + H(q(y|x))

and the objective with the classification term (eq. 9)

    J^α = Σ_{(x,y) ~ p̃_l} L(x, y) + Σ_{x ~ p̃_u} U(x) + α · E_{p̃_l(x,y)}[−log q_φ(y|x)],

the paper taking α = 0.1·N. Here J^α is divided by N (nats per training example):

    J^α / N = (N_l/N) · E_l[L(x, y)] + (N_u/N) · E_u[U(x)] + (α/N) · E_l[−log q_φ(y|x)],

each expectation a mean over the batch's labelled or unlabelled part, so the classification weight
per example is ``alpha`` = α/N = 0.1. The labelled share N_l/N is ``labelled_share``; left unset it
is the batch's own share, right when batches are drawn uniformly from the training set (then the
two bound terms are simply the batch sum over N). A benchmark that over-samples its few labels in
every batch (100 of 50 000 labelled, half of each batch) must state N_l/N, or the labelled bound
would weigh hundreds of times more than in the paper's objective.

Labels: the model trains on (x, y) batches; y < 0 marks an unlabelled example. With
``labelled_fraction`` f < 1, an example keeps its label only if a fixed hash of its pixels falls
below f, so the same examples stay labelled across steps (an experiment with exactly 100
balanced labels passes y = −1 itself, as ``genzoo bench m2-semisupervised`` does).

M1+M2 (``m1_run``): a trained ``vae`` run (M1) maps each x to z₁ ~ q(z₁|x); M2 is trained on z₁
with a learned-σ Gaussian p(z₁ | y, z₂), and samples are decoded by M1.

Each step logs ``elbo`` (the unlabelled bound −U(x) on every example of the batch: the β = 1
bound on log p(x); for M1+M2 the bound on log p(z₁), while ``elbo(x)`` evaluates the stacked
bound on log p(x)), ``loss`` (J^α per example, not a bound), ``class_loss`` and
``accuracy`` on the labelled part. Defaults: genzoo's VAE networks (MLP with 500 hidden units),
latent 50, Adam lr 1e-3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from genzoo.config import check, nonnegative, one_of, option, unit_interval
from genzoo.distributions.heads import diagonal_gaussian
from genzoo.distributions.priors import standard_normal
from genzoo.errors import GenzooError
from genzoo.models.base import DataSpec, Model, register_model
from genzoo.models.vae import VAEConfig, make_observation, resolve_vae
from genzoo.nn.vae_nets import build_decoder, build_encoder
from genzoo.optim import adam, descend


@dataclass
class M2Config(VAEConfig):
    latent_dim: int | None = 50
    arch: str = option("mlp", one_of("auto", "mlp", "conv"), "networks; auto: conv for images, MLP for points")  # type: ignore[assignment]
    alpha: float = option(0.1, nonnegative, "classification weight per example (the paper's α = 0.1·N for a summed J)")
    labelled_fraction: float = option(1.0, unit_interval, "share of examples whose labels are used")
    labelled_share: float | None = option(
        None, unit_interval.saying("must be in [0, 1] (N_l/N, the training set's share of labelled examples)"),
        "N_l/N in J^α/N; none: each batch's own labelled share")
    m1_run: str | None = option(None, None, "a trained vae run: train M2 on its latent codes (M1+M2)")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.target_rate is None, "target_rate", self.target_rate, "does not apply to M2")


@register_model("m2")
class M2(Model):
    """Semi-supervised VAE M2 (Kingma et al. 2014): q(y|x), q(z|x,y), p(x|y,z); labelled and unlabelled bounds + α·classification."""

    Config = M2Config
    uses_labels = True
    contract_overrides = {"latent_dim": 2, "hidden": 32, "width": 8}

    # M1+M2: the run layer loads the run named by ``m1_run`` and hands it over as ``m1`` (a model
    # never reads run directories itself)
    run_parts = {"m1_run": "m1"}

    def __init__(self, config: M2Config, data: DataSpec, m1: Model | None = None) -> None:
        super().__init__(config, data)
        if data.n_classes < 2:
            raise GenzooError(f"model 'm2' needs labelled data with ≥ 2 classes, got n_classes={data.n_classes}")
        self.k = data.n_classes
        self.m1 = None
        if config.m1_run and m1 is None:
            raise GenzooError(f"m1_run={config.m1_run!r}: build M1+M2 through genzoo.run, which loads the M1 run")
        if m1 is not None:
            if not callable(getattr(m1, "encode", None)) or not hasattr(m1, "latent_dim"):
                raise GenzooError(f"m1_run={config.m1_run!r} is not a VAE run")
            self.m1 = m1.requires_grad_(False).eval()
            data = DataSpec("points", (m1.latent_dim,), data.n_classes)
            config.observation = "gaussian-learned"
            config.arch = "mlp"
        resolve_vae(config, data)
        self.space = data  # what M2 models: the data, or M1's codes
        self.obs = make_observation(config, data)
        c, d = config, int(config.latent_dim)
        self.latent_dim = d
        self.classifier = build_encoder(c.arch, data.shape, self.k, c.hidden, c.depth, c.width, c.activation)
        self.encoder = build_encoder(c.arch, data.shape, 2 * d, c.hidden, c.depth, c.width, c.activation, extra=self.k)
        self.decoder = build_decoder(c.arch, d + self.k, data.shape, self.obs.n_params, c.hidden, c.depth, c.width, c.activation)
        params = [p for n, p in self.named_parameters() if not n.startswith("m1.")]
        self.opt = adam(params, lr=c.lr, betas=(c.beta1, c.beta2))
        g = torch.Generator().manual_seed(12345)
        self.register_buffer("hash_weights", torch.randn(math.prod(self.data.shape), generator=g))

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"m2": self.opt}

    def features(self, x: Tensor) -> Tensor:
        """What M2 models: x itself, or z₁ ~ q_M1(z₁|x) for M1+M2."""
        if self.m1 is None:
            return x
        with torch.no_grad():
            return self.m1.encode(x).sample()

    def check_data(self, x: Tensor, y: Tensor | None = None) -> None:
        if self.m1 is None:  # M1+M2 observes M1's codes z₁, which have no range to check
            self.obs.check_range(x)

    def classify(self, x: Tensor) -> Tensor:
        """Logits of q(y|x), (N, K)."""
        return self.classifier(self.features(x))

    def bound_xy(self, x: Tensor, y_onehot: Tensor) -> Tensor:
        """−L(x, y) per example: log p(x|y,z) + log p(y) − KL(q(z|x,y) ‖ p(z)), one reparameterised z."""
        q = diagonal_gaussian(self.encoder(x, y_onehot))
        z = q.rsample()
        log_px = self.obs.log_prob(self.decoder(torch.cat([z, y_onehot], 1)), x)
        kl = torch.distributions.kl_divergence(q, standard_normal(self.latent_dim, x.device))
        return log_px - math.log(self.k) - kl

    def unlabelled_bound(self, h: Tensor, logits: Tensor) -> Tensor:
        """−U(x) = Σ_y q(y|x)(−L(x, y)) + H(q(y|x)), summing over every class."""
        n = h.shape[0]
        eye = torch.eye(self.k, device=h.device, dtype=h.dtype)
        hh = h.repeat(self.k, *[1] * (h.ndim - 1))
        yy = eye.repeat_interleave(n, 0)
        per_class = self.bound_xy(hh, yy).reshape(self.k, n).T  # (N, K)
        log_q = F.log_softmax(logits, -1)
        return (log_q.exp() * (per_class - log_q)).sum(-1)

    def elbo(self, x: Tensor) -> Tensor:
        """A bound on log p(x), (N,): −U(x); for M1+M2, with z₁ ~ q(z₁|x),
        log p(x|z₁) − log q(z₁|x) − U(z₁) (M2's bound on log p(z₁) in place of M1's prior)."""
        if self.m1 is None:
            self.obs.check_range(x)
            return self.unlabelled_bound(x, self.classifier(x))
        q = self.m1.encode(x)
        z1 = q.sample()
        return self.m1.log_likelihood(x, z1) - q.log_prob(z1) + self.unlabelled_bound(z1, self.classifier(z1))

    def labelled_mask(self, x: Tensor, y: Tensor) -> Tensor:
        keep = y >= 0
        if self.config.labelled_fraction < 1:
            u = torch.frac((x.flatten(1).to(self.hash_weights.dtype) @ self.hash_weights).abs() * 1000.0)
            keep = keep & (u < self.config.labelled_fraction)
        return keep

    def step(self, batch: Tensor | tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        if not isinstance(batch, (tuple, list)):
            raise GenzooError("model 'm2' needs (x, y) batches: train it on labelled data (y < 0 marks unlabelled examples)")
        x, y = batch
        labelled = self.labelled_mask(x, y)
        h = self.features(x)
        self.obs.check_range(h)
        logits = self.classifier(h)
        zero = x.new_zeros(())
        bound_l, bound_u, class_loss, accuracy = zero, zero, zero, zero  # batch means of L, U, −log q(y|x)
        if labelled.any():
            yl = y[labelled].long()
            if (yl >= self.k).any():
                raise GenzooError(f"label {int(yl.max())} out of range for {self.k} classes")
            bound_l = -self.bound_xy(h[labelled], F.one_hot(yl, self.k).to(h.dtype)).mean()
            class_loss = F.cross_entropy(logits[labelled], yl)
            accuracy = (logits[labelled].argmax(-1) == yl).float().mean()
        unl_bound = self.unlabelled_bound(h, logits)  # −U(x) for every example: the reported elbo
        if (~labelled).any():
            bound_u = -unl_bound[~labelled].mean()
        share = labelled.float().mean() if self.config.labelled_share is None else self.config.labelled_share
        loss = share * bound_l + (1 - share) * bound_u + self.config.alpha * class_loss  # J^α / N
        descend(self.opt, loss)
        return {"loss": loss.detach(), "elbo": unl_bound.mean().detach(), "class_loss": class_loss.detach(),
                "accuracy": accuracy.detach(), "labelled": labelled.float().mean()}

    @torch.no_grad()
    def sample(self, n: int, y: Tensor | None = None) -> Tensor:
        """x ~ p(x|y, z), y ~ Cat(1/K) (or the given labels), z ~ N(0, I); decoded by M1 for M1+M2."""
        if y is None:
            y = torch.randint(0, self.k, (n,), device=self.device)
        z = torch.randn(n, self.latent_dim, device=self.device)
        out = self.decoder(torch.cat([z, F.one_hot(y, self.k).float()], 1))
        h = self.obs.mean(out) if self.config.sample_mean else self.obs.sample(out)
        if self.m1 is not None:
            return self.m1.obs.sample(self.m1.decoder_output(h))
        return h
