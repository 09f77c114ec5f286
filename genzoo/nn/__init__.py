"""Networks: plain building blocks with no knowledge of any objective."""

from genzoo.nn.architectures import ARCHITECTURES, NetConfig
from genzoo.nn.autoencoder import ConvAutoencoder, MLPAutoencoder, autoencoder
from genzoo.nn.conditional import ConditionalDiscriminator, ConditionalGenerator
from genzoo.nn.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_base_size
from genzoo.nn.context import evaluating, frozen
from genzoo.nn.mlp import MLP

__all__ = [
    "ARCHITECTURES",
    "NetConfig",
    "frozen",
    "evaluating",
    "MLP",
    "DCGANGenerator",
    "DCGANDiscriminator",
    "dcgan_base_size",
    "MLPAutoencoder",
    "ConvAutoencoder",
    "autoencoder",
    "ConditionalGenerator",
    "ConditionalDiscriminator",
]
