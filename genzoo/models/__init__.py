"""One class per catalog entry, composed from networks, objectives and samplers."""

from genzoo.models.base import MODELS, DataSpec, Model, capabilities, register_model
from genzoo.models import gan as _gan  # noqa: F401  (registers models)

__all__ = ["MODELS", "DataSpec", "Model", "capabilities", "register_model"]
