"""Variational fair autoencoder (Louizos, Swersky, Li, Welling & Zemel 2016, "The Variational Fair
Autoencoder").

Goal: a code z that keeps what x says about everything except a sensitive attribute s. The
generative model gets s as an input, p(x|z, s) p(z), so z need not carry it; an MMD penalty
removes what is left (eq. 6 with the MMD of §2.3): with q(z|s = ℓ) the aggregate posterior of the
examples whose attribute is ℓ,

    max  ELBO(x | s) − λ Σ_{ℓ=2}^{K} MMD²(q(z | s = ℓ), q(z | s = 1))

estimated on the batch's codes z_i ~ q(z|x_i), grouped by s_i (groups absent from a batch are
skipped), with the biased MMD² (V-statistic, defined for groups of one) and a Gaussian RBF kernel
of :mod:`genzoo.estimators.mmd`.

Training batches are (x, s) (``uses_labels``: s is the data set's ``y``, e.g. ``dsprites_fair``).
Without s (``elbo(x)``, ``log_joint``, ``decode``, ``sample``) the model is read with s marginalised
under a uniform p(s) over the K groups: log p(x|z) = log Σ_ℓ p(x|z, s = ℓ)/K, so ``elbo`` is
still a lower bound on log p(x) of that generative model.

Differences from the paper: the unsupervised part only (z₁; the paper's second latent layer z₂
with the label y is not built); the encoder is q(z|x), not q(z|x, s), so that ``encode(x)`` needs
no label; λ = 1000 and the RBF bandwidth σ = 1 are genzoo's defaults (the paper's β weight and
kernel are tuned per data set); 10 latents, Adam lr 1e-4 as the rest of the family.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from genzoo.config import nonnegative, option, positive
from genzoo.errors import GenzooError
from genzoo.estimators.mmd import mmd2
from genzoo.models.base import register_model
from genzoo.models.vae import VAE, Terms, VAEConfig
from genzoo.nn.vae_nets import build_decoder, build_encoder


class SensitiveVAE(VAE):
    """A VAE whose decoder also reads a sensitive attribute: p(x|z, s), s one-hot over ``n_groups``.

    ``n_groups = 0`` makes it a plain VAE. During ``step`` the batch's s conditions the decoder;
    elsewhere s is marginalised under a uniform p(s).
    """

    _s: Tensor | None = None

    def groups_for(self) -> int:
        """How many values s takes (0: no conditioning). Default: the data's number of classes."""
        return int(self.data.n_classes)

    def build_networks(self) -> None:
        c = self.config
        self.n_groups = self.groups_for()
        self.encoder = build_encoder(c.arch, self.data.shape, 2 * self.latent_dim, c.hidden, c.depth, c.width, c.activation)
        self.decoder = build_decoder(c.arch, self.latent_dim + self.n_groups, self.data.shape, self.obs.n_params,
                                     c.hidden, c.depth, c.width, c.activation)

    def _one_hot(self, s: Tensor | int, lead: torch.Size, like: Tensor) -> Tensor:
        if isinstance(s, int):
            s = torch.full(lead, s, dtype=torch.long, device=like.device)
        oh = F.one_hot(s.long(), self.n_groups).to(like.dtype)
        return oh.expand(*lead, self.n_groups)

    def decoder_output(self, z: Tensor, s: Tensor | int | None = None) -> Tensor:  # type: ignore[override]
        """Decoder output for codes z (*B, d) and attribute s ((N,) labels or one int; default: the batch's)."""
        if not self.n_groups:
            return super().decoder_output(z)
        s = self._s if s is None else s
        if s is None:
            raise GenzooError(f"model {self.name!r}: the decoder needs the sensitive attribute s")
        h = torch.cat([z, self._one_hot(s, z.shape[:-1], z)], -1)
        lead = h.shape[:-1]
        out = self.decoder(h.reshape(-1, h.shape[-1]))
        return out.reshape(*lead, *out.shape[1:])

    def log_likelihood(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x|z, s) for the batch's s during training; log Σ_ℓ p(x|z, ℓ)/K otherwise."""
        if not self.n_groups or self._s is not None:
            return super().log_likelihood(x, z)
        parts = torch.stack([self.obs.log_prob(self.decoder_output(z, k), x) for k in range(self.n_groups)])
        return torch.logsumexp(parts, 0) - math.log(self.n_groups)

    def decode(self, z: Tensor) -> Tensor:
        """E[x | z] = Σ_ℓ E[x | z, s = ℓ]/K under the uniform p(s)."""
        if not self.n_groups:
            return super().decode(z)
        return torch.stack([self.obs.mean(self.decoder_output(z, k)) for k in range(self.n_groups)]).mean(0)

    def step(self, batch: Tensor | tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        if self.n_groups:
            if not isinstance(batch, (tuple, list)):
                raise GenzooError(f"model {self.name!r} trains on (x, s) batches: the data set's labels are the sensitive attribute")
            self._s = batch[1].to(self.device).long()
        try:
            return super().step(batch)
        finally:
            self._s = None

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        """x ~ p(x|z, s), z ~ p(z), s ~ uniform over the groups."""
        if not self.n_groups:
            return super().sample(n)
        z = self.prior().sample((n,))
        s = torch.randint(self.n_groups, (n,), device=z.device)
        out = self.decoder_output(z, s)
        return self.obs.mean(out) if self.config.sample_mean else self.obs.sample(out)


@dataclass
class VFAEConfig(VAEConfig):
    latent_dim: int | None = 10
    lambda_: float = option(1000.0, nonnegative, "weight of the MMD penalty")
    bandwidth: float = option(1.0, positive, "RBF kernel σ")
    lr: float = 1e-4


def group_mmd(z: Tensor, s: Tensor, bandwidth: float) -> Tensor:
    """Σ_{ℓ ≠ first} biased MMD²(z[s = ℓ], z[s = first]) over the groups present in the batch."""
    present = torch.unique(s)
    ref = z[s == present[0]]
    total = z.new_zeros(())
    for g in present[1:]:
        total = total + mmd2(z[s == g], ref, "rbf", unbiased=False, bandwidth=bandwidth)
    return total


@register_model("vfae")
class VFAE(SensitiveVAE):
    """Variational fair autoencoder (Louizos et al. 2016): p(x|z, s) and λ·MMD between the q(z|s = ℓ) groups."""

    Config = VFAEConfig
    uses_labels = True
    contract_overrides = {**VAE.contract_overrides, "lr": 1e-3}

    def regularizer(self, x: Tensor, terms: Terms) -> tuple[Tensor, dict[str, Tensor]]:
        assert self._s is not None
        mmd = group_mmd(terms.z, self._s, self.config.bandwidth)
        return self.config.lambda_ * mmd, {"mmd": mmd}
