"""Autoencoder discriminators (EBGAN, BEGAN): x ↦ Dec(Enc(x)), with the code Enc(x) exposed.

EBGAN (Zhao et al. 2017) and BEGAN (Berthelot et al. 2017) replace the GAN's classifier by an
autoencoder whose reconstruction error is the discriminator's output (an energy):

    Enc: x → s ∈ R^code_dim,    Dec: s → x̂,    energy(x) = ‖Dec(Enc(x)) − x‖.

* :class:`MLPAutoencoder` for points: MLP encoder and decoder (linear output).
* :class:`ConvAutoencoder` for images: the DCGAN discriminator's strided convolutions down to a
  code vector (its linear head outputs the code), and a mirrored transposed-convolution decoder
  ending in a sigmoid (genzoo's images lie in [0, 1]). ``batch_norm`` follows EBGAN (on) or
  BEGAN (off; BEGAN also uses ELU, ``activation="elu"``).
"""

from __future__ import annotations

from torch import Tensor, nn

from genzoo.nn.dcgan import DCGANDiscriminator, _init_dcgan, dcgan_base_size
from genzoo.nn.mlp import ACTIVATIONS, MLP

__all__ = ["MLPAutoencoder", "ConvAutoencoder", "ConvDecoder", "autoencoder"]


class MLPAutoencoder(nn.Module):
    """Points (N, D) → code (N, code_dim) → reconstruction (N, D)."""

    def __init__(self, dim: int, code_dim: int, hidden: int = 128, depth: int = 2, activation: str = "relu") -> None:
        super().__init__()
        self.encoder = MLP(dim, code_dim, hidden, depth, activation)
        self.decoder = MLP(code_dim, dim, hidden, depth, activation)

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)

    def decode(self, s: Tensor, shape: tuple[int, ...]) -> Tensor:
        return self.decoder(s).view(-1, *shape)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x), tuple(x.shape[1:]))


class ConvDecoder(nn.Module):
    """code (N, code_dim) → fc → (width·2^(n−1), b, b) → [ConvT 4×4 s2 → (BN) → act] → ConvT → sigmoid."""

    def __init__(self, code_dim: int, channels: int, size: int, width: int = 64, batch_norm: bool = True,
                 activation: str = "relu") -> None:
        super().__init__()
        base, n_up = dcgan_base_size(size)
        top = width * 2 ** (n_up - 1)
        act = ACTIVATIONS[activation]
        self.base, self.top = base, top
        project: list[nn.Module] = [nn.Linear(code_dim, top * base * base)]
        if batch_norm:
            project.append(nn.BatchNorm1d(top * base * base))
        self.project = nn.Sequential(*project, act())
        layers: list[nn.Module] = []
        c = top
        for _ in range(n_up - 1):
            layers.append(nn.ConvTranspose2d(c, c // 2, 4, 2, 1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(c // 2))
            layers.append(act())
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Sigmoid()]
        self.deconv = nn.Sequential(*layers)
        self.apply(_init_dcgan)

    def forward(self, s: Tensor) -> Tensor:
        return self.deconv(self.project(s).view(-1, self.top, self.base, self.base))


class ConvAutoencoder(nn.Module):
    """Images (N, C, H, W) → DCGAN-style conv encoder → code (N, code_dim) → conv decoder → (N, C, H, W)."""

    def __init__(self, channels: int, size: int, code_dim: int = 64, width: int = 64, batch_norm: bool = True,
                 activation: str = "relu") -> None:
        super().__init__()
        self.encoder = DCGANDiscriminator(channels, size, width, out_dim=code_dim, batch_norm=batch_norm)
        self.decoder = ConvDecoder(code_dim, channels, size, width, batch_norm, activation)

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)

    def decode(self, s: Tensor, shape: tuple[int, ...]) -> Tensor:
        return self.decoder(s)

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))


def autoencoder(kind: str, shape: tuple[int, ...], code_dim: int, hidden: int = 128, depth: int = 2, width: int = 64,
                batch_norm: bool = True, activation: str = "relu") -> MLPAutoencoder | ConvAutoencoder:
    """The AE discriminator for a data kind: MLP for ``"points"`` of shape (D,), conv for ``"images"`` (C, H, W)."""
    if kind == "images":
        c, h, _ = shape
        return ConvAutoencoder(c, h, code_dim, width, batch_norm, activation)
    dim = 1
    for s in shape:
        dim *= s
    return MLPAutoencoder(dim, code_dim, hidden, depth, activation)
