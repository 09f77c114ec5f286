"""DCGAN (Radford, Metz & Chintala, 2016): the GAN with the convolutional architecture, and its latent space.

Training is GAN's Algorithm 1 (``genzoo.models.gan``) with the paper's networks
(``genzoo.nn.dcgan``: strided convolutions, batch norm, ReLU in G, LeakyReLU(0.2) in D),
Adam (lr 2e-4, β1 = 0.5), z ∈ R^100, weights ~ N(0, 0.02). This model forces ``arch="dcgan"``.

The paper's two probes of the learned latent space (Section 6):

* **Walking in the latent space** (Fig. 4): images along the straight line
  z(t) = (1 − t) z₀ + t z₁, t ∈ [0, 1] (``mode="linear"``, what the paper does); ``mode="slerp"``
  walks the great circle instead (White 2016), z(t) = sin((1−t)Ω)/sin Ω · z₀ + sin(tΩ)/sin Ω · z₁
  with cos Ω = ⟨z₀, z₁⟩/(‖z₀‖‖z₁‖), which keeps ‖z‖ typical of a Gaussian prior. Smooth
  transitions indicate the generator has not memorised the data.
* **Vector arithmetic** (Fig. 7): single samples are unstable, so each concept is the average
  z̄ of three exemplars; z = z̄_A − z̄_B + z̄_C, and images G(z + u) with u ~ Uniform(−0.25, 0.25)
  show the result ("smiling woman − neutral woman + neutral man = smiling man").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from genzoo.config import check
from genzoo.errors import GenzooError
from genzoo.nn.context import evaluating
from genzoo.models.base import register_model
from genzoo.models.gan import GAN, GANConfig

#: Half-width of the uniform noise the paper adds to the arithmetic result (Fig. 7).
ARITHMETIC_NOISE = 0.25


@dataclass
class DCGANConfig(GANConfig):
    arch: Literal["auto", "mlp", "dcgan"] = "dcgan"

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.arch in ("dcgan", "auto"), "arch", self.arch, "the dcgan model always uses the DCGAN networks (model gan has MLPs)")
        self.arch = "dcgan"


def latent_path(z0: Tensor, z1: Tensor, steps: int, mode: Literal["linear", "slerp"] = "linear") -> Tensor:
    """Points z(t_s), t_s = s/(steps−1), s = 0..steps−1, from z₀ to z₁ (both ends included).

    z0, z1: (..., z_dim). Returns (..., steps, z_dim). ``linear``: (1−t) z₀ + t z₁.
    ``slerp``: sin((1−t)Ω)/sin Ω · z₀ + sin(tΩ)/sin Ω · z₁ (linear where z₀ ∥ z₁, sin Ω ≈ 0).
    """
    if z0.shape != z1.shape:
        raise GenzooError(f"z0 and z1 must have the same shape, got {tuple(z0.shape)} and {tuple(z1.shape)}")
    if steps < 2:
        raise GenzooError(f"invalid value steps={steps}: must be ≥ 2 (both end points)")
    if mode not in ("linear", "slerp"):
        raise GenzooError(f"invalid value mode={mode!r}; valid: linear, slerp")
    t = torch.linspace(0.0, 1.0, steps, dtype=z0.dtype, device=z0.device).unsqueeze(-1)  # (steps, 1)
    a, b = z0.unsqueeze(-2), z1.unsqueeze(-2)  # (..., 1, z_dim)
    linear = (1 - t) * a + t * b
    if mode == "linear":
        return linear
    cos = (a * b).sum(-1, keepdim=True) / (a.norm(dim=-1, keepdim=True) * b.norm(dim=-1, keepdim=True))
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    sin = torch.sin(omega)
    safe = sin.abs() > 1e-6
    sin_ = torch.where(safe, sin, torch.ones_like(sin))
    spherical = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / sin_
    return torch.where(safe, spherical, linear)


def concept_arithmetic(z_a: Tensor, z_b: Tensor, z_c: Tensor) -> Tensor:
    """z̄_A − z̄_B + z̄_C, each z̄ the mean of a concept's exemplars: (n_a, z_dim), (n_b, ·), (n_c, ·) → (z_dim,)."""
    for name, z in (("z_a", z_a), ("z_b", z_b), ("z_c", z_c)):
        if z.ndim != 2 or z.shape[0] < 1:
            raise GenzooError(f"{name} must have shape (n_exemplars ≥ 1, z_dim), got {tuple(z.shape)}")
    if not (z_a.shape[1] == z_b.shape[1] == z_c.shape[1]):
        raise GenzooError("z_a, z_b and z_c must have the same z_dim")
    return z_a.mean(0) - z_b.mean(0) + z_c.mean(0)


@register_model("dcgan")
class DCGAN(GAN):
    """DCGAN (Radford et al. 2016): convolutional GAN with latent interpolation and vector arithmetic."""

    Config = DCGANConfig
    supports = ("images",)

    @torch.no_grad()
    def generate(self, z: Tensor) -> Tensor:
        """G(z) in eval mode (batch norm with running statistics), for any batch shape (..., z_dim)."""
        with evaluating(self):
            x = self.G(z.reshape(-1, z.shape[-1]).to(self.device))
        return x.reshape(*z.shape[:-1], *x.shape[1:])

    def interpolate(self, z0: Tensor, z1: Tensor, steps: int = 10, mode: Literal["linear", "slerp"] = "linear") -> Tensor:
        """G along the path from z₀ to z₁: (z_dim,) → (steps, C, H, W); (R, z_dim) → (R, steps, C, H, W).

        The first image is G(z₀) and the last G(z₁). ``linear`` is the paper's walk.
        """
        return self.generate(latent_path(z0, z1, steps, mode))

    def vector_arithmetic(
        self, z_a: Tensor, z_b: Tensor, z_c: Tensor, n: int = 9, noise: float = ARITHMETIC_NOISE
    ) -> tuple[Tensor, Tensor]:
        """(z, images): z = z̄_A − z̄_B + z̄_C and G(z + u_i), i < n, with u_0 = 0, u_i ~ Uniform(−noise, noise)."""
        z = concept_arithmetic(z_a, z_b, z_c)
        u = (torch.rand(n, z.shape[0], dtype=z.dtype, device=z.device) * 2 - 1) * noise
        u[0] = 0.0
        return z, self.generate(z + u)
