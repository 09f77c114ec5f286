"""InfoGAN (Chen et al., 2016): latent codes made interpretable by a variational bound on I(c; G(z, c)).

The generator's input is split into incompressible noise z ~ N(0, I) and a structured code
c = (c_cat, c_cont):  c_cat ~ Cat(K = ``n_cat``, p = 1/K) as a one-hot vector, and
c_cont ~ Uniform(−1, 1)^``n_cont``. The game is regularised by the mutual information,

    min_{G,Q} max_D  V_GAN(D, G) − λ L_I(G, Q),

where L_I is the variational lower bound (Barber & Agakov) with an auxiliary posterior Q(c | x):

    I(c; G(z, c)) ≥ L_I(G, Q) = E_{c~p(c), x~G(z,c)}[log Q(c | x)] + H(c).

The codes are independent, so log Q(c|x) and H(c) split into a categorical and a continuous part:

* categorical: log Q(c_cat | x) = log softmax(q_logits(x))[c_cat], H(c_cat) = log K (uniform), so
  L_I,cat ≤ log K with equality iff Q recovers c_cat with certainty;
* continuous: a factored Gaussian Q(c_cont | x) = Π_j N(c_j; μ_j(x), σ_j²) with the constants,
  log Q = Σ_j [−½ log 2π − log σ_j − (c_j − μ_j)² / (2σ_j²)], H(c_cont) = n_cont · log 2 (the
  differential entropy of Uniform(−1, 1)). With ``q_std="fixed"`` σ_j = 1 (the authors' MNIST
  code, ``Uniform(1, fix_std=True)``); with ``q_std="learned"`` Q also outputs log σ_j(x).

Q shares the discriminator's body φ (DCGAN conv body, or the MLP trunk) and adds a small head:
Q(c | x) = head_Q(φ(x)). With ``networks="paper"`` (1×28×28 images) G, D and Q are the paper's
MNIST networks (appendix, and the authors' ``regularized_gan.py``): D = conv 64 - lReLU - conv 128 -
BN - lReLU - FC 1024 - BN - lReLU - FC 1, Q = FC 128 - BN - lReLU - FC on D's FC-1024 features,
G = FC 1024 - BN - ReLU - FC 7·7·128 - BN - ReLU - upconv 64 - BN - ReLU - upconv 1 - sigmoid,
weights ~ N(0, 0.02), leaky slope ``leak`` = 0.1 (the paper's text; the authors' code uses 0.01);
``width`` scales the conv channels (64 = the paper). Q's batch norm sees only generated images in
training (it is never applied to data), so its running statistics are those of G's samples.
Each iteration, as in the authors' code (``infogan_trainer.py``):

    z ~ N(0, I), c ~ p(c), x̃ = G(z, c)
    D, Q descend  objective.discriminator(d(x), d(x̃)) − λ L_I(x̃ detached, c)      # one optimiser
    G    descends objective.generator(d(G(z, c)))     − λ L_I(G(z, c), c)          # Q frozen here

λ = ``lambda_cat`` for the categorical part and ``lambda_cont`` for the continuous part; the
paper and the authors' MNIST run use λ = 1 for both (with σ fixed at 1, the continuous term is
½ the squared error). Also as there: Adam β1 = 0.5, lr 2e-4 for D/Q and 1e-3 for G on images,
z ∈ R^62 with one 10-way categorical code and two continuous codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Categorical, Normal, Uniform

from genzoo.config import Constraint, at_least, check, half_open_unit_interval, nonnegative, one_of, option
from genzoo.errors import GenzooError
from genzoo.models.adversarial import AdversarialConfig, AdversarialModel, build_generator
from genzoo.models.base import DataSpec, register_model
from genzoo.nn import MLP
from genzoo.nn.conditional import features_and_head
from genzoo.nn.dcgan import _init_dcgan
from genzoo.nn.context import evaluating, frozen
from genzoo.optim import descend

@dataclass
class InfoGANConfig(AdversarialConfig):
    z_dim: int | None = option(62, at_least(1), "incompressible noise (paper, MNIST)")
    n_cat: int = option(10, Constraint(lambda v: v == 0 or v >= 2, "must be 0 or ≥ 2"),
                        "categories of the one categorical code (0: none)")
    n_cont: int = option(2, at_least(0), "continuous codes ~ Uniform(−1, 1)")
    lambda_cat: float = option(1.0, nonnegative, "λ for the categorical part (paper)")
    lambda_cont: float = option(1.0, nonnegative, "λ for the continuous part (authors' MNIST code; many ports use 0.1)")
    q_std: Literal["fixed", "learned"] = option("fixed", one_of("fixed", "learned"),
                                                "σ of Q's continuous codes; fixed: σ = 1 (authors' MNIST code)")
    q_hidden: int = option(128, at_least(1), "width of Q's head (paper: FC 128 - BN - lReLU - FC)")
    networks: Literal["shared", "paper"] = option("shared", one_of("shared", "paper"),
                                                  "paper: the MNIST networks of Chen et al. (1×28×28 only)")
    leak: float = option(0.1, half_open_unit_interval,
                         "leaky-ReLU slope of the paper networks (paper: 0.1; the authors' code: 0.01)")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.n_cat + self.n_cont >= 1, "n_cat", self.n_cat, "InfoGAN needs a code: n_cat ≥ 2 or n_cont ≥ 1")


def paper_discriminator(width: int = 64, leak: float = 0.1) -> nn.Sequential:
    """D of Chen et al. (2016), MNIST: conv 4×4 s2 (width) - lReLU - conv 4×4 s2 (2·width) - BN - lReLU
    - FC 1024 - BN - lReLU - FC 1. Q branches from the FC-1024 features (everything but the last layer)."""
    net = nn.Sequential(
        nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(leak),  # 28 → 14 (TensorFlow 'SAME' padding)
        nn.Conv2d(width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.LeakyReLU(leak),  # 14 → 7
        nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1024), nn.BatchNorm1d(1024), nn.LeakyReLU(leak),
        nn.Linear(1024, 1),
    )
    net.apply(_init_dcgan)
    return net


def paper_generator(in_dim: int, width: int = 64) -> nn.Sequential:
    """G of Chen et al. (2016), MNIST: FC 1024 - BN - ReLU - FC 7·7·(2·width) - BN - ReLU - upconv 4×4 s2
    (width) - BN - ReLU - upconv 4×4 s2 (1 channel) - sigmoid (the mean of the paper's Bernoulli output)."""
    net = nn.Sequential(
        nn.Linear(in_dim, 1024), nn.BatchNorm1d(1024), nn.ReLU(),
        nn.Linear(1024, 2 * width * 7 * 7), nn.BatchNorm1d(2 * width * 7 * 7), nn.ReLU(),
        nn.Unflatten(1, (2 * width, 7, 7)),
        nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU(),  # 7 → 14
        nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Sigmoid(),  # 14 → 28
    )
    net.apply(_init_dcgan)
    return net


class Codes(NamedTuple):
    cat: Tensor  # (N,) int64 category indices (all 0 when n_cat = 0)
    cont: Tensor  # (N, n_cont) floats in [−1, 1]


class MIBound(NamedTuple):
    """L_I = E[log Q(c|x)] + H(c), split by code type (each a scalar tensor)."""

    cat: Tensor  # E[log Q(c_cat|x)] + log K
    cont: Tensor  # E[Σ_j log N(c_j; μ_j, σ_j²)] + n_cont log 2
    entropy_cat: float  # H(c_cat) = log K
    entropy_cont: float  # H(c_cont) = n_cont log 2


def mutual_information_bound(
    cat_logits: Tensor | None,
    c_cat: Tensor | None,
    cont_mean: Tensor | None,
    cont_log_std: Tensor | None,
    c_cont: Tensor | None,
) -> MIBound:
    """The variational bound L_I = E[log Q(c|x)] + H(c) for a uniform categorical and Uniform(−1,1) codes.

    Args:
        cat_logits: (N, K) logits of Q(c_cat | x), or None without a categorical code.
        c_cat: (N,) the categories that generated x.
        cont_mean: (N, M) means μ(x) of the Gaussian Q(c_cont | x), or None without continuous codes.
        cont_log_std: (N, M) log σ(x), or None for σ = 1.
        c_cont: (N, M) the continuous codes that generated x.

    Returns:
        :class:`MIBound` with L_I,cat = mean_i log softmax(logits_i)[c_i] + log K (≤ log K) and
        L_I,cont = mean_i Σ_j [−½ log 2π − log σ_ij − (c_ij − μ_ij)²/(2σ_ij²)] + M log 2.
    """
    zero = (cat_logits if cat_logits is not None else cont_mean).new_zeros(())
    cat, h_cat = zero, 0.0
    if cat_logits is not None:
        k = cat_logits.shape[1]
        h_cat = float(Categorical(logits=cat_logits.new_zeros(k)).entropy())  # the prior Cat(1/K): log K
        cat = Categorical(logits=cat_logits).log_prob(c_cat).mean() + h_cat  # E[log Q(c_cat | x)] + H
    cont, h_cont = zero, 0.0
    if cont_mean is not None and cont_mean.shape[1] > 0:
        m = cont_mean.shape[1]
        prior = Uniform(cont_mean.new_tensor(-1.0), cont_mean.new_tensor(1.0))
        h_cont = m * float(prior.entropy())  # M log 2
        std = torch.ones_like(cont_mean) if cont_log_std is None else torch.exp(cont_log_std)
        cont = Normal(cont_mean, std).log_prob(c_cont).sum(1).mean() + h_cont
    return MIBound(cat, cont, h_cat, h_cont)


@register_model("infogan")
class InfoGAN(AdversarialModel):
    """InfoGAN (Chen et al. 2016): categorical + continuous codes, variational mutual-information bound."""

    Config = InfoGANConfig

    def __init__(self, config: InfoGANConfig, data: DataSpec) -> None:
        images = config.arch == "dcgan" or (config.arch == "auto" and data.kind == "images")
        if images and config.lr_g is None:
            config.lr_g = 1e-3  # InfoGAN's MNIST setting: G at 1e-3, D/Q at 2e-4
        super().__init__(config, data)
        c = config
        self.code_dim = c.n_cat + c.n_cont
        q_out = c.n_cat + c.n_cont * (2 if c.q_std == "learned" else 1)
        if c.networks == "paper":
            if tuple(data.shape) != (1, 28, 28):
                raise GenzooError(f"networks='paper' is the InfoGAN paper's MNIST architecture: it needs 1×28×28 "
                                  f"images, got shape {tuple(data.shape)}")
            self.replace_networks(G=paper_generator(c.z_dim + self.code_dim, c.width), D=paper_discriminator(c.width, c.leak))
        else:
            self.replace_networks(G=build_generator(c, data, z_dim=c.z_dim + self.code_dim))
        self._split = features_and_head(self.D)  # (φ, ψ): views of D's modules, not new parameters
        feature_dim = self._split[1].in_features
        if c.networks == "paper":  # FC 128 - BN - lReLU - FC, on D's FC-1024 features
            self.Q = nn.Sequential(nn.Linear(feature_dim, c.q_hidden), nn.BatchNorm1d(c.q_hidden),
                                   nn.LeakyReLU(c.leak), nn.Linear(c.q_hidden, q_out))
            self.Q.apply(_init_dcgan)
        else:
            self.Q = MLP(feature_dim, q_out, c.q_hidden, 1, activation="leaky_relu", batch_norm=c.arch == "dcgan")
        self.Q.to(self.device)
        self.opt_d = self.make_optimizer(list(self.D.parameters()) + list(self.Q.parameters()), c.lr_d)  # D and Q together

    # ---- the latent code --------------------------------------------------------------------
    def sample_codes(self, n: int) -> Codes:
        """c_cat ~ Cat(K, 1/K), c_cont ~ Uniform(−1, 1)^M."""
        cat = torch.randint(max(self.config.n_cat, 1), (n,), device=self.device)
        cont = torch.rand(n, self.config.n_cont, device=self.device) * 2 - 1
        return Codes(cat, cont)

    def generator_input(self, z: Tensor, codes: Codes) -> Tensor:
        """[z, one_hot(c_cat), c_cont]."""
        parts = [z]
        if self.config.n_cat:
            parts.append(F.one_hot(codes.cat, self.config.n_cat).to(z.dtype))
        parts.append(codes.cont.to(z.dtype))
        return torch.cat(parts, 1)

    def generate(self, z: Tensor, codes: Codes) -> Tensor:
        return self.G(self.generator_input(z, codes))

    # ---- D and Q on the shared body ---------------------------------------------------------
    def d_and_q(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(d(x), Q's raw outputs) from one pass through the shared body φ."""
        h = self.trunk(x)
        return self.D_head(h).squeeze(-1), self.Q(h)

    def trunk(self, x: Tensor) -> Tensor:
        """φ(x), the discriminator's body (D and Q share its weights)."""
        return self._split[0](x)

    def D_head(self, h: Tensor) -> Tensor:
        """ψ(h), D's output layer: d(x) = ψ(φ(x))."""
        return self._split[1](h)

    def posterior(self, q_out: Tensor) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
        """Split Q's output into (categorical logits, continuous means μ, log σ or None)."""
        k, m = self.config.n_cat, self.config.n_cont
        logits = q_out[:, :k] if k else None
        mean = q_out[:, k : k + m] if m else None
        log_std = q_out[:, k + m : k + 2 * m] if (m and self.config.q_std == "learned") else None
        return logits, mean, log_std

    def information(self, q_out: Tensor, codes: Codes) -> MIBound:
        logits, mean, log_std = self.posterior(q_out)
        return mutual_information_bound(logits, codes.cat, mean, log_std, codes.cont)

    def weighted(self, bound: MIBound) -> Tensor:
        """λ_cat L_I,cat + λ_cont L_I,cont."""
        return self.config.lambda_cat * bound.cat + self.config.lambda_cont * bound.cont

    @torch.no_grad()
    def infer(self, x: Tensor) -> tuple[Tensor | None, Tensor | None]:
        """Q's guess of the code of x (eval mode): (argmax_c Q(c_cat | x), E_Q[c_cont | x] = μ(x))."""
        with evaluating(self):
            logits, mean, _ = self.posterior(self.Q(self.trunk(x)))
        return (logits.argmax(1) if logits is not None else None), mean

    # ---- one iteration ----------------------------------------------------------------------
    def step(self, batch: Tensor) -> dict[str, Tensor]:
        real = batch.chunk(self.config.d_steps)
        for x in real:  # D and Q: GAN loss on (x, x̃) and −λ L_I on the fakes
            codes = self.sample_codes(x.shape[0])
            with torch.no_grad():
                fake = self.generate(self.prior(x.shape[0]), codes)
            d_fake, q_fake = self.d_and_q(fake)
            bound = self.information(q_fake, codes)
            loss_d = self.objective(self.d(x), d_fake).discriminator - self.weighted(bound)
            descend(self.opt_d, loss_d)
        x = real[-1]  # G: GAN loss and −λ L_I through a frozen D/Q
        with frozen(self.D, self.Q):
            codes = self.sample_codes(x.shape[0])
            d_fake, q_fake = self.d_and_q(self.generate(self.prior(x.shape[0]), codes))
            d_real = self.d(x) if self.objective.generator_uses_real else None
            bound = self.information(q_fake, codes)
            loss_g = self.objective(d_real, d_fake).generator - self.weighted(bound)
            descend(self.opt_g, loss_g)
        return {
            "loss_d": loss_d.detach(),
            "loss_g": loss_g.detach(),
            "mi_cat": bound.cat.detach(),  # ≤ H(c_cat) = log K
            "mi_cont": bound.cont.detach(),
            "entropy_cat": x.new_tensor(bound.entropy_cat),
        }

    @torch.no_grad()
    def sample(self, n: int, codes: Codes | None = None) -> Tensor:
        """n samples G(z, c) with c from the prior unless ``codes`` are given."""
        if codes is None:
            codes = self.sample_codes(n)
        if codes.cat.shape != (n,) or codes.cont.shape != (n, self.config.n_cont):
            raise GenzooError(f"codes must have shapes ({n},) and ({n}, {self.config.n_cont}), "
                              f"got {tuple(codes.cat.shape)} and {tuple(codes.cont.shape)}")
        with evaluating(self):
            return self.generate(self.prior(n), Codes(codes.cat.to(self.device), codes.cont.to(self.device)))
