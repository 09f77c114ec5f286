"""Networks: plain building blocks with no knowledge of any objective."""

from genzoo.nn.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_base_size
from genzoo.nn.mlp import MLP

__all__ = ["MLP", "DCGANGenerator", "DCGANDiscriminator", "dcgan_base_size"]
