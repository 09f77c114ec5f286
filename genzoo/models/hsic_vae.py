"""HSIC-constrained VAE (Lopez, Regier, Jordan & Yosef 2018, "Information Constraints on
Auto-Encoding Variational Bayes").

The ELBO plus a kernel independence penalty (§3, eq. 7), the Hilbert–Schmidt independence
criterion of :mod:`genzoo.estimators.hsic` (biased estimator, Gaussian RBF kernels with the
median-heuristic bandwidth on z):

* between groups of latent dimensions (``sensitive=false``): z is split into ``groups``
  consecutive blocks z_G1, …, z_Gm and

      max  ELBO − λ Σ_{a<b} HSIC(z_Ga, z_Gb)

  which pushes the blocks toward independence (d independent dimensions with ``groups = d``);
* between z and a nuisance or sensitive attribute s (``sensitive=true``): the decoder reads s,
  p(x|z, s), so z need not encode it, and

      max  ELBO(x | s) − λ HSIC(z, s)

  with s one-hot under an RBF kernel of bandwidth 1 (which separates the values of s exactly
  as a delta kernel would). Batches are then (x, s) with s the data set's ``y`` (e.g.
  ``dsprites_fair``); without s the decoder marginalises it under a uniform p(s) (see
  :class:`genzoo.models.vfae.SensitiveVAE`). With binary s this is VFAE's constraint with HSIC in
  place of MMD, as Lopez et al. note.

Differences from the paper: the encoder is q(z|x) (not q(z|x, s)) so that ``encode(x)`` needs no
label; λ = 1000 is genzoo's default (the paper tunes λ per experiment); 10 latents, Adam lr 1e-4
as the rest of the family; networks and the observation model are the VAE family's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from genzoo.config import at_least, check, nonnegative, option
from genzoo.estimators.hsic import hsic
from genzoo.models.base import DataSpec, register_model
from genzoo.models.vae import VAE, Terms, VAEConfig
from genzoo.models.vfae import SensitiveVAE


@dataclass
class HSICVAEConfig(VAEConfig):
    latent_dim: int | None = 10
    lambda_: float = option(1000.0, nonnegative, "weight of the HSIC penalty")
    sensitive: bool = option(False, None, "true: HSIC(z, s) with s the data's labels; false: HSIC between latent groups")
    groups: int = option(2, at_least(2), "number of consecutive latent blocks (sensitive=false)")
    lr: float = 1e-4

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.latent_dim is None or self.latent_dim >= self.groups, "latent_dim", self.latent_dim,
              f"must be ≥ groups={self.groups}")


@register_model("hsic-vae")
class HSICVAE(SensitiveVAE):
    """HSIC-constrained VAE (Lopez et al. 2018): λ·HSIC between latent groups, or between z and a sensitive s."""

    Config = HSICVAEConfig
    contract_overrides = {**VAE.contract_overrides, "lr": 1e-3}

    def __init__(self, config: HSICVAEConfig, data: DataSpec) -> None:
        self.uses_labels = bool(config.sensitive)  # (x, s) batches only in the sensitive mode
        super().__init__(config, data)

    def groups_for(self) -> int:
        return int(self.data.n_classes) if self.config.sensitive else 0

    def latent_groups(self, z: Tensor) -> list[Tensor]:
        """z split into ``groups`` consecutive blocks of (nearly) equal size."""
        return list(torch.tensor_split(z, self.config.groups, dim=1))

    def regularizer(self, x: Tensor, terms: Terms) -> tuple[Tensor, dict[str, Tensor]]:
        z = terms.z
        if self.config.sensitive:
            assert self._s is not None
            s = F.one_hot(self._s, self.n_groups).to(z.dtype)
            value = hsic(z, s, params_y={"bandwidth": 1.0})
        else:
            blocks = self.latent_groups(z)
            value = sum(hsic(blocks[a], blocks[b]) for a in range(len(blocks)) for b in range(a + 1, len(blocks)))
        return self.config.lambda_ * value, {"hsic": value}  # type: ignore[return-value]
