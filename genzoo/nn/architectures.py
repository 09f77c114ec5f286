"""The architecture registry: a generator and a discriminator for a data shape, by name.

A model asks for networks by ``NetConfig`` (the architecture's name and its few sizes) instead of
building them itself, so every two-player model (GANs, ALI, DualGAN, EBM generators) can run on
every registered architecture, and a new architecture is one registration here:

* ``mlp``   — points (or flattened images): ``depth`` hidden layers of ``hidden`` units; G has
  ReLU and a linear output, D LeakyReLU(0.2) (the 2-D setups of Goodfellow et al. and Metz et al.).
* ``dcgan`` — square images: Radford et al. 2016 (:mod:`genzoo.nn.dcgan`), base width ``width``.

``auto`` resolves to ``dcgan`` for images and ``mlp`` for points (:func:`resolve`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from torch import nn

from genzoo.nn.dcgan import DCGANDiscriminator, DCGANGenerator
from genzoo.nn.mlp import MLP
from genzoo.registry import Registry


@dataclass(frozen=True)
class NetConfig:
    """Which architecture and its sizes (the fields every adversarial config carries)."""

    arch: str = "auto"
    hidden: int = 128  # MLP width
    depth: int = 2  # MLP hidden layers
    width: int = 64  # DCGAN base channel count

    @classmethod
    def of(cls, config: object) -> "NetConfig":
        """The NetConfig part of a model config with fields arch/hidden/depth/width."""
        return cls(*(getattr(config, f) for f in ("arch", "hidden", "depth", "width")))


class Architecture(Protocol):
    summary: str

    def generator(self, net: NetConfig, z_dim: int, shape: tuple[int, ...]) -> nn.Module: ...

    def discriminator(self, net: NetConfig, shape: tuple[int, ...], out_dim: int, batch_norm: bool) -> nn.Module: ...


@dataclass(frozen=True)
class _Arch:
    summary: str
    generator: Callable[[NetConfig, int, tuple[int, ...]], nn.Module]
    discriminator: Callable[[NetConfig, tuple[int, ...], int, bool], nn.Module]


ARCHITECTURES: Registry[Architecture] = Registry("architecture", package="genzoo.nn")  # a new file in genzoo/nn may add one


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


ARCHITECTURES.register("mlp")(_Arch(
    "MLP G (ReLU, linear output) and D (LeakyReLU 0.2); any data shape, flattened",
    lambda net, z_dim, shape: nn.Sequential(MLP(z_dim, _numel(shape), net.hidden, net.depth), nn.Unflatten(1, shape)),
    lambda net, shape, out_dim, batch_norm: MLP(_numel(shape), out_dim, net.hidden, net.depth, activation="leaky_relu"),
))
ARCHITECTURES.register("dcgan")(_Arch(
    "DCGAN (Radford et al. 2016): strided convolutions, batch norm, ReLU G / LeakyReLU D; square images",
    lambda net, z_dim, shape: DCGANGenerator(z_dim, shape[0], shape[1], net.width),
    lambda net, shape, out_dim, batch_norm: DCGANDiscriminator(shape[0], shape[1], net.width, out_dim, batch_norm),
))


def resolve(arch: str, kind: str) -> str:
    """``auto`` → ``dcgan`` for images, ``mlp`` for points; a registered name is returned as is."""
    if arch == "auto":
        return "dcgan" if kind == "images" else "mlp"
    ARCHITECTURES.get(arch)  # unknown name → error listing the valid ones
    return arch


def generator(net: NetConfig, z_dim: int, shape: tuple[int, ...]) -> nn.Module:
    """G: R^z_dim → data of ``shape`` under architecture ``net.arch`` (resolved, not ``auto``)."""
    return ARCHITECTURES.get(net.arch).generator(net, z_dim, tuple(shape))


def discriminator(net: NetConfig, shape: tuple[int, ...], out_dim: int = 1, batch_norm: bool = True) -> nn.Module:
    """D: data of ``shape`` → R^out_dim under architecture ``net.arch``."""
    return ARCHITECTURES.get(net.arch).discriminator(net, tuple(shape), out_dim, batch_norm)
