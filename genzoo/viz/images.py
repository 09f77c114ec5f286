"""Image grids and PNG files without torchvision.

Layout of :func:`image_grid` (same convention as torchvision's ``make_grid``): ``nrow`` is the
number of images per row; image i sits in row i // ncol, column i % ncol, where
ncol = min(nrow, N) and the number of rows is ceil(N / ncol). Every image is surrounded by
``padding`` pixels of ``pad_value``, so the grid is

    height = rows · (H + padding) + padding,   width = ncol · (W + padding) + padding

and image (r, c) occupies rows [padding + r(H+padding), … + H) and columns
[padding + c(W+padding), … + W). Unused slots of the last row are filled with ``pad_value``.
Pixel values are mapped from ``value_range`` to [0, 1], clamped, and converted to uint8 by
floor(255·v + 0.5).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from genzoo.errors import GenzooError

__all__ = ["image_grid", "save_image_grid", "save_interpolation", "MIN_WIDTH_PX", "auto_scale"]

#: :func:`save_image_grid` picks its default upscale so the PNG is at least this wide.
MIN_WIDTH_PX: int = 256


def _to_unit(images: Tensor, value_range: tuple[float, float]) -> Tensor:
    lo, hi = float(value_range[0]), float(value_range[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise GenzooError(f"value_range must be finite with low < high, got {value_range}")
    if images.dtype == torch.uint8:  # 8-bit pixels: 0..255 → [0, 1], value_range not used
        return images.detach().to(device="cpu", dtype=torch.float32) / 255.0
    x = images.detach().to(device="cpu", dtype=torch.float32)
    if (lo, hi) != (0.0, 1.0):
        x = (x - lo) / (hi - lo)
    return x.clamp(0.0, 1.0)


def image_grid(
    images: Tensor,
    nrow: int | None = None,
    padding: int = 2,
    *,
    pad_value: float = 0.5,
    value_range: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray:
    """Tile N images into one uint8 picture.

    Args:
        images: (N, C, H, W) tensor with C ∈ {1, 3}, values in ``value_range`` (clamped);
            a uint8 tensor is read as 0..255.
        nrow: images per row; default ceil(sqrt(N)). Capped at N.
        padding: pixels of ``pad_value`` around every image (≥ 0).
        pad_value: colour of the padding and of empty slots, in [0, 1] (default mid-grey, so
            it separates both black-background and white-background images).
        value_range: (low, high) mapped linearly to [0, 1], e.g. (-1, 1) for tanh outputs.

    Returns:
        uint8 array of shape (height, width) for C = 1 or (height, width, 3) for C = 3, with
        height = rows·(H+padding)+padding, width = ncol·(W+padding)+padding (module docstring).

    Raises:
        GenzooError: wrong rank, C ∉ {1, 3}, empty input, bad nrow/padding, non-finite pixels.
    """
    if not isinstance(images, Tensor):
        raise GenzooError(f"images must be a torch.Tensor, got {type(images).__name__}")
    if images.dim() != 4:
        raise GenzooError(f"images must have shape (N, C, H, W), got {tuple(images.shape)}")
    n, c, h, w = images.shape
    if c not in (1, 3):
        raise GenzooError(f"images must have 1 or 3 channels, got C={c} in shape {tuple(images.shape)}")
    if n == 0 or h == 0 or w == 0:
        raise GenzooError(f"images is empty: shape {tuple(images.shape)}")
    if images.is_complex() or images.dtype == torch.bool:
        raise GenzooError(f"images must be real-valued, got dtype {images.dtype}")
    if images.is_floating_point() and not torch.isfinite(images).all():
        raise GenzooError(f"images contain non-finite values ({int((~torch.isfinite(images)).sum())} entries)")
    if nrow is None:
        nrow = math.ceil(math.sqrt(n))
    if isinstance(nrow, bool) or not isinstance(nrow, (int, np.integer)) or nrow < 1:
        raise GenzooError(f"nrow must be a positive integer, got {nrow!r}")
    if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
        raise GenzooError(f"padding must be a non-negative integer, got {padding!r}")
    if not (0.0 <= float(pad_value) <= 1.0):
        raise GenzooError(f"pad_value must lie in [0, 1], got {pad_value}")

    ncol = min(int(nrow), n)
    rows = math.ceil(n / ncol)
    p = int(padding)
    x = _to_unit(images, value_range)
    slots = rows * ncol
    if slots > n:  # fill the unused slots of the last row
        x = torch.cat([x, x.new_full((slots - n, c, h, w), float(pad_value))])
    # Pad each image at the bottom/right, tile, then add the top/left border once.
    x = F.pad(x, (0, p, 0, p), value=float(pad_value))  # (slots, C, H+p, W+p)
    x = x.reshape(rows, ncol, c, h + p, w + p).permute(2, 0, 3, 1, 4)  # (C, rows, H+p, ncol, W+p)
    x = x.reshape(c, rows * (h + p), ncol * (w + p))
    x = F.pad(x, (p, 0, p, 0), value=float(pad_value))
    out = (x * 255.0 + 0.5).floor().clamp(0, 255).to(torch.uint8)
    if c == 1:
        return out[0].numpy()
    return out.permute(1, 2, 0).contiguous().numpy()


def auto_scale(width: int, min_width: int = MIN_WIDTH_PX) -> int:
    """Smallest integer upscale s ≥ 1 with s·width ≥ ``min_width``."""
    return max(1, math.ceil(min_width / max(1, int(width))))


#: Height in pixels of the band a grid's title is drawn in (Pillow's built-in font).
TITLE_BAND_PX = 16


def _with_title(image: Image.Image, title: str) -> Image.Image:
    """The picture under a white band with ``title`` in it (wider if the text needs it)."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(image)
    width = max(image.width, int(draw.textlength(title)) + 8)
    out = Image.new(image.mode, (width, image.height + TITLE_BAND_PX), 255 if image.mode == "L" else (255, 255, 255))
    out.paste(image, (0, TITLE_BAND_PX))
    ImageDraw.Draw(out).text((4, 2), title, fill=0 if image.mode == "L" else (0, 0, 0))
    return out


def png_metadata(title: str, kind: str):
    """PNG text chunks naming what a picture shows (``Title``) and how it is drawn (``genzoo:kind``), for tools and tests."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    if title:
        info.add_text("Title", title)
    info.add_text("genzoo:kind", kind)
    return info


def _write_png(array: np.ndarray, path: str | os.PathLike, scale: int | None, title: str = "",
               kind: str = "image-grid") -> Path:
    if scale is None:
        scale = auto_scale(array.shape[1])
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise GenzooError(f"scale must be a positive integer, got {scale!r}")
    if scale > 1:  # nearest-neighbour upscale
        array = array.repeat(int(scale), axis=0).repeat(int(scale), axis=1)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(np.ascontiguousarray(array))
    if title:  # a grid says what it shows, like the plots do
        image = _with_title(image, title)
    image.save(out, format="PNG", pnginfo=png_metadata(title, kind))
    return out


def save_image_grid(
    images: Tensor,
    path: str | os.PathLike,
    nrow: int | None = None,
    scale: int | None = None,
    *,
    padding: int = 2,
    pad_value: float = 0.5,
    value_range: tuple[float, float] = (0.0, 1.0),
    title: str = "",
    kind: str = "image-grid",
) -> Path:
    """Write :func:`image_grid` of ``images`` to a PNG (Pillow), creating parent directories.

    ``title``: drawn in a band above the grid and stored as the PNG's ``Title`` text; ``kind``
    goes into its ``genzoo:kind`` text (what sort of picture it is).

    Args:
        images: (N, C, H, W), C ∈ {1, 3}.
        path: output file (written as PNG whatever the suffix).
        nrow: images per row (default ceil(sqrt(N))).
        scale: integer nearest-neighbour upscale; ``None`` (default) picks the smallest scale
            that makes the picture at least ``MIN_WIDTH_PX`` = 256 px wide (1 for big grids).
        padding, pad_value, value_range: as in :func:`image_grid`.

    Returns:
        The path written. The PNG is mode "L" (C = 1) or "RGB" (C = 3), of size
        (scale·width, scale·height) of the grid.
    """
    grid = image_grid(images, nrow=nrow, padding=padding, pad_value=pad_value, value_range=value_range)
    return _write_png(grid, path, scale, title, kind)


def save_interpolation(
    rows: Tensor,
    path: str | os.PathLike,
    scale: int | None = None,
    *,
    padding: int = 2,
    pad_value: float = 0.5,
    value_range: tuple[float, float] = (0.0, 1.0),
) -> Path:
    """Write a latent interpolation: ``rows`` (R, S, C, H, W) → R grid rows of S images each.

    Row r of the picture shows rows[r, 0], …, rows[r, S−1] left to right.
    """
    if not isinstance(rows, Tensor):
        raise GenzooError(f"rows must be a torch.Tensor, got {type(rows).__name__}")
    if rows.dim() != 5:
        raise GenzooError(f"rows must have shape (R, S, C, H, W), got {tuple(rows.shape)}")
    r, s = rows.shape[:2]
    if r == 0 or s == 0:
        raise GenzooError(f"rows is empty: shape {tuple(rows.shape)}")
    return save_image_grid(
        rows.reshape(r * s, *rows.shape[2:]),
        path,
        nrow=s,
        scale=scale,
        padding=padding,
        pad_value=pad_value,
        value_range=value_range,
    )
