"""One class per catalog entry, composed from networks, objectives, estimators and samplers.

Every module in this package is imported on first use of the package, and registers its models
with :func:`register_model`: adding a model is adding one file.
"""

from genzoo.models.base import MODELS, DataSpec, Model, capabilities, register_model
from genzoo.discovery import import_submodules

import_submodules("genzoo.models", skip=("base", "adversarial"))

__all__ = ["MODELS", "DataSpec", "Model", "capabilities", "register_model"]
