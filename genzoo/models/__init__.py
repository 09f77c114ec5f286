"""One class per catalog entry, composed from networks, objectives and samplers."""

from genzoo.models.base import MODELS, DataSpec, Model, capabilities, register_model
from genzoo.models import gan as _gan  # noqa: F401  (registers models)
from genzoo.models import dcgan, unrolled, infogan, cgan  # noqa: F401,E401  (GAN variants)
from genzoo.models import wgan, lsgan, fgan, ebgan, began  # noqa: F401,E401  (GAN objectives' models)

__all__ = ["MODELS", "DataSpec", "Model", "capabilities", "register_model"]
