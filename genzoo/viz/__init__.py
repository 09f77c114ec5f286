"""Pictures: image grids, interpolations, 2-D/1-D sample plots over exact densities, curves.

No torchvision and no pyplot: grids are built with tensor reshapes and written by Pillow;
plots use matplotlib's object-oriented API with the Agg canvas.
"""

from genzoo.viz.images import auto_scale, image_grid, save_image_grid, save_interpolation
from genzoo.viz.plots import save_curves, save_points, save_samples

__all__ = [
    "auto_scale",
    "image_grid",
    "save_curves",
    "save_image_grid",
    "save_interpolation",
    "save_points",
    "save_samples",
]
