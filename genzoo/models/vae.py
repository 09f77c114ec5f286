"""Variational autoencoder (Kingma & Welling 2014, "Auto-Encoding Variational Bayes").

A latent-variable model p_θ(x, z) = p(z) p_θ(x|z) with p(z) = N(0, I) is trained together with an
amortised posterior q_φ(z|x) = N(μ_φ(x), diag σ_φ²(x)) by maximising the evidence lower bound

    log p_θ(x) ≥ L(θ, φ; x) = E_{q_φ(z|x)}[log p_θ(x|z)] − KL(q_φ(z|x) ‖ p(z))        (eq. 3)
                            =            −D(x)           −        R(x)

with the reparameterisation z = μ + σ ⊙ ε, ε ~ N(0, I) and the Gaussian KL in closed form,
−KL = ½ Σ_j (1 + log σ_j² − μ_j² − σ_j²) (eq. 10). Algorithm 1 (AEVB), minibatch M = 100, L = 1:

    repeat
        X^M ← random minibatch;  ε ← random draws from N(0, I)
        g ← ∇_{θ,φ} L^M(θ, φ; X^M, ε)        # L^M = (1/M) Σ_i L(θ, φ; x_i)
        θ, φ ← update(θ, φ, g)                # the paper: Adagrad
    until convergence

Reduction: log p(x|z) is summed over every data dimension and the KL over every latent
dimension, then both are averaged over the batch; the loss is in nats per example and −loss is
a real ELBO when β = 1. (A per-pixel mean plus a tiny-weighted KL, as one popular repository
trains, is not an ELBO and gives no likelihood.)

Options every VAE shares (and every subclass inherits):

* ``beta`` β: minimise D + β·R (β-VAE, Higgins et al. 2017). β = 1 is the ELBO.
* ``target_rate`` σ: minimise D + |σ − R| (Alemi et al. 2018, "Fixing a Broken ELBO", §4),
  which steers the batch-mean rate R to σ nats; overrides ``beta``.
* ``observation``: any registered observation model (``genzoo list``) — ``bernoulli``,
  ``gaussian`` (fixed ``obs_sigma``), ``gaussian-learned`` (``obs_sigma_mode`` = pixel | shared),
  ``logistic`` (8-bit data), ``categorical``.
* ``prior``: ``normal`` N(0, I) (closed-form KL) or ``mixture`` (a learned Gaussian mixture;
  one-sample Monte Carlo KL).

Whatever the training loss, each step reports ``elbo`` (the β = 1 bound on the batch), ``rate``
R and ``distortion`` D (so ``rate + distortion == −elbo``) and ``loss`` (what was minimised,
never called an ELBO unless β = 1 and no regulariser is on).

Defaults vs the paper: the paper's MNIST MLP (one hidden layer of 500 tanh units) is ``arch=mlp``;
genzoo's default for images is a small convolutional net (``arch=auto``); Adam (lr 1e-3) replaces
Adagrad; the latent size is 20 for images (the paper sweeps 3–200) and 2 for points.

How to subclass (β-VAE, FactorVAE, β-TCVAE, InfoVAE, DIP-VAE, HSIC-VAE, VFAE, …)
-------------------------------------------------------------------------------
:meth:`VAE.terms` computes, once per step, a :class:`Terms` record: the batch ``x``, the posterior
``q`` (a Distribution with batch shape (N,)), one reparameterised draw ``z`` (N, d), and the
per-example ``log_px_z`` and ``kl`` (shape (N,)). The training loss is assembled by

    loss = mean(−log_px_z) + rate_penalty(terms)[0] + regularizer(x, terms)[0]

so a variant overrides exactly one documented hook. Every hook returns what it wants logged with
the step's outputs (scalars); none keeps state between hooks or writes into another's record:

* ``regularizer(self, x, terms) -> (Tensor, dict[str, Tensor])`` — an extra scalar added to the
  loss (already weighted) and the scalars to log, e.g. γ·TC(z) for FactorVAE, λ·MMD for
  InfoVAE. The default is (0, {}).
* ``rate_penalty(self, terms) -> (Tensor, dict[str, Tensor])`` — how the rate enters the loss
  (default β·R or |σ − R|) and its logs; β-TCVAE replaces it by its decomposed KL and logs the parts.
* ``loss(self, terms) -> (Tensor, dict[str, Tensor])`` — the whole objective when neither
  suffices (IWAE does this) and its logs.
* ``after_update(self, batch, terms) -> dict[str, Tensor]`` — runs after the VAE's optimiser step
  with the step's whole batch (``inputs(batch)`` is what the VAE trained on), for an auxiliary
  network with its own optimiser (FactorVAE's discriminator: use ``terms.z.detach()``). Register
  extra optimisers by overriding ``optimizers()`` (``{**super().optimizers(), "discriminator": self.opt_d}``).

Add config fields by subclassing :class:`VAEConfig` (a dataclass) and call
``super().__post_init__()``. ``elbo``, ``log_joint``, ``proposal``, ``encode``, ``decode`` and
``sample`` are inherited unchanged, so every variant is evaluated by the same β = 1 ELBO and
importance-weighted likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor
from torch.distributions import Distribution

from genzoo.config import (Config, at_least, half_open_unit_interval, nonnegative, option, positive,
                           registered)
from genzoo.distributions import OBSERVATIONS
from genzoo.distributions.heads import diagonal_gaussian
from genzoo.distributions.observations import Observation, observation
from genzoo.distributions.priors import MixturePrior, kl_or_monte_carlo, standard_normal
from genzoo.models.base import DataSpec, Model, register_model
from genzoo.nn.vae_nets import build_decoder, build_encoder
from genzoo.optim import adam, descend


@dataclass
class VAEConfig(Config):
    """Kingma & Welling 2014 (AEVB), with genzoo's network and optimiser defaults stated in the module docstring."""

    latent_dim: int | None = option(None, at_least(1), "size of z; none: 20 for images, 2 for points")
    arch: Literal["auto", "mlp", "conv"] = option("auto", None, "networks; auto: conv for images, MLP for points")
    hidden: int = option(500, at_least(1), "MLP hidden units (the paper's MNIST layer: 500)")
    depth: int = option(1, at_least(0), "MLP hidden layers (the paper: 1)")
    width: int = option(32, at_least(1), "conv base channels")
    activation: str = option("relu", None, "hidden activation (the paper: tanh)")
    observation: str = option("auto", registered(OBSERVATIONS, "auto"),
                              "p(x|z); auto: bernoulli for images, gaussian-learned for points")
    obs_sigma: float = option(1.0, positive, "σ of observation=gaussian")
    obs_sigma_mode: Literal["pixel", "shared"] = option("pixel", None, "learned σ per pixel or one shared (gaussian-learned)")
    prior: Literal["normal", "mixture"] = option("normal", None, "p(z): N(0, I), or a learned Gaussian mixture")
    prior_components: int = option(10, at_least(1), "components of prior=mixture")
    beta: float = option(1.0, nonnegative, "weight of the rate in the loss (1: the ELBO)")
    target_rate: float | None = option(None, nonnegative.saying("must be ≥ 0 nats"),
                                       "σ of Alemi et al.'s D + |σ − R| (nats); overrides beta")
    lr: float = option(1e-3, positive, "Adam learning rate")
    beta1: float = option(0.9, half_open_unit_interval, "Adam β1")
    beta2: float = option(0.999, half_open_unit_interval, "Adam β2")
    sample_mean: bool = option(False, None, "sample() returns the decoder mean instead of a draw from p(x|z)")


@dataclass
class Terms:
    """Per-example pieces of the bound for one batch (each (N,)), plus q(z|x) and one draw z ~ q."""

    x: Tensor
    q: Distribution
    z: Tensor
    log_px_z: Tensor  # log p(x|z): −distortion
    kl: Tensor  # KL(q(z|x) ‖ p(z)) (closed form, or log q(z) − log p(z) at z): the rate

    @property
    def elbo(self) -> Tensor:
        return self.log_px_z - self.kl

    @property
    def distortion(self) -> Tensor:
        return -self.log_px_z

    @property
    def rate(self) -> Tensor:
        return self.kl


def resolve_vae(config: VAEConfig, data: DataSpec) -> None:
    """Fill the ``auto``/``None`` fields in place so the saved config states what was built."""
    if config.latent_dim is None:
        config.latent_dim = 20 if data.kind == "images" else 2
    if config.arch == "auto":
        config.arch = "conv" if data.kind == "images" and len(data.shape) == 3 else "mlp"
    if config.observation == "auto":
        config.observation = "bernoulli" if data.kind == "images" else "gaussian-learned"


def make_observation(config: VAEConfig, data: DataSpec) -> Observation:
    options: dict = {}
    if config.observation == "gaussian":
        options["sigma"] = config.obs_sigma
    elif config.observation == "gaussian-learned":
        options["sigma"] = config.obs_sigma_mode
    return observation(config.observation, data.shape, **options)


@register_model("vae")
class VAE(Model):
    """Variational autoencoder (Kingma & Welling 2014): reparameterised Gaussian q(z|x), closed-form KL, ELBO."""

    Config = VAEConfig
    contract_overrides = {"latent_dim": 2, "hidden": 32, "width": 8}

    def __init__(self, config: VAEConfig, data: DataSpec) -> None:
        super().__init__(config, data)
        resolve_vae(config, data)
        self.obs = make_observation(config, data)
        self.latent_dim = int(config.latent_dim)
        self.build_networks()
        if config.prior == "mixture":
            self.mixture = MixturePrior(self.latent_dim, config.prior_components)
        self.opt = adam(self.parameters(), lr=config.lr, betas=(config.beta1, config.beta2))

    # ---- construction -------------------------------------------------------------------------
    def build_networks(self) -> None:
        """q(z|x): x → (μ, log σ²); p(x|z): z → observation parameters. Subclasses may widen either."""
        c = self.config
        self.encoder = build_encoder(c.arch, self.data.shape, 2 * self.latent_dim, c.hidden, c.depth, c.width, c.activation)
        self.decoder = build_decoder(c.arch, self.latent_dim, self.data.shape, self.obs.n_params, c.hidden, c.depth, c.width, c.activation)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"vae": self.opt}

    # ---- the model ----------------------------------------------------------------------------
    def prior(self) -> Distribution:
        """p(z): N(0, I) or the learned mixture."""
        if self.config.prior == "mixture":
            return self.mixture()
        return standard_normal(self.latent_dim, self.device)

    def encode(self, x: Tensor) -> Distribution:
        """q(z|x) = N(μ(x), diag σ²(x)), batch shape (N,), event (latent_dim,)."""
        return diagonal_gaussian(self.encoder(x))

    def proposal(self, x: Tensor) -> Distribution:
        """The importance-sampling proposal: q(z|x) itself."""
        return self.encode(x)

    def decoder_output(self, z: Tensor) -> Tensor:
        """Raw decoder output for z of shape (*B, d) → (*B, …) as the observation model reads it."""
        lead = z.shape[:-1]
        out = self.decoder(z.reshape(-1, z.shape[-1]))
        return out.reshape(*lead, *out.shape[1:])

    def decode(self, z: Tensor) -> Tensor:
        """E[x | z], shape (N, *data shape)."""
        return self.obs.mean(self.decoder_output(z))

    def log_likelihood(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x|z) summed over data dimensions; z (*B, N, d) → (*B, N)."""
        return self.obs.log_prob(self.decoder_output(z), x)

    def log_joint(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(z) + log p(x|z) for z of shape (K, N, d) → (K, N)."""
        return self.prior().log_prob(z) + self.log_likelihood(x, z)

    def kl(self, q: Distribution, z: Tensor) -> Tensor:
        """KL(q(z|x) ‖ p(z)) per example: closed form for N(0, I), log q(z) − log p(z) at z otherwise."""
        return kl_or_monte_carlo(q, self.prior(), z)

    def terms(self, x: Tensor) -> Terms:
        """One reparameterised pass: q(z|x), z = μ + σ ⊙ ε, log p(x|z) and the KL, each per example."""
        self.obs.check_range(x)
        q = self.encode(x)
        z = q.rsample()
        return Terms(x, q, z, self.log_likelihood(x, z), self.kl(q, z))

    def elbo(self, x: Tensor) -> Tensor:
        """The β = 1 ELBO E_q[log p(x|z)] − KL per example, with one reparameterised sample: (N,)."""
        return self.terms(x).elbo

    def rate_distortion(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(R, D) per example: KL(q(z|x) ‖ p(z)) and −log p(x|z) at one z ~ q; R + D = −elbo."""
        t = self.terms(x)
        return t.rate, t.distortion

    # ---- training -----------------------------------------------------------------------------
    def rate_penalty(self, terms: Terms) -> tuple[Tensor, dict[str, Tensor]]:
        """(β·R, or |σ − R| with ``target_rate`` σ (Alemi et al. 2018); R the batch-mean rate; no logs)."""
        rate = terms.kl.mean()
        if self.config.target_rate is not None:
            return (self.config.target_rate - rate).abs(), {}
        return self.config.beta * rate, {}

    def regularizer(self, x: Tensor, terms: Terms) -> tuple[Tensor, dict[str, Tensor]]:
        """Hook: an extra (weighted) scalar added to the loss and scalars to log. The VAE has none."""
        return x.new_zeros(()), {}

    def loss(self, terms: Terms) -> tuple[Tensor, dict[str, Tensor]]:
        """(the objective before the regulariser: mean distortion + rate penalty (nats per example), its logs)."""
        penalty, logs = self.rate_penalty(terms)
        return terms.distortion.mean() + penalty, logs

    def after_update(self, batch: Tensor | tuple[Tensor, Tensor], terms: Terms) -> dict[str, Tensor]:
        """Hook run after the optimiser step (auxiliary networks) with the step's batch. The VAE has none."""
        return {}

    @staticmethod
    def inputs(batch: Tensor | tuple[Tensor, Tensor]) -> Tensor:
        return batch[0] if isinstance(batch, (tuple, list)) else batch

    def step(self, batch: Tensor | tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        x = self.inputs(batch)
        terms = self.terms(x)
        reg, logs = self.regularizer(x, terms)
        loss, loss_logs = self.loss(terms)
        loss = loss + reg
        descend(self.opt, loss)
        out = {
            "loss": loss.detach(),
            "elbo": terms.elbo.mean().detach(),
            "rate": terms.rate.mean().detach(),
            "distortion": terms.distortion.mean().detach(),
        }
        out.update({k: v.detach() for k, v in {**loss_logs, **logs}.items()})
        out.update({k: v.detach() for k, v in self.after_update(batch, terms).items()})
        return out

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        """x ~ p(x|z), z ~ p(z) (the decoder mean instead with ``sample_mean``)."""
        z = self.prior().sample((n,))
        out = self.decoder_output(z)
        return self.obs.mean(out) if self.config.sample_mean else self.obs.sample(out)

