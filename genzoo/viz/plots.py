"""Matplotlib pictures: point clouds over exact densities, histograms, training curves.

Every figure is built with the object-oriented API (``matplotlib.figure.Figure`` +
``FigureCanvasAgg``): no pyplot, no global figure registry, no backend switch, so nothing
leaks across many calls and it is safe in headless and multi-threaded runs. Each function
writes one PNG (creating parent directories) and returns its path.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import Tensor

from genzoo.errors import GenzooError
from genzoo.viz.images import save_image_grid

__all__ = ["save_points", "save_samples", "save_curves", "view_limits", "GRID_SIZE", "DPI"]

#: Resolution (per axis) of the grid on which ``log_prob`` is evaluated.
GRID_SIZE: int = 200
#: Dots per inch of every saved figure.
DPI: int = 100
#: Points per ``log_prob`` call (bounds memory for big energy networks).
_CHUNK: int = 16384
#: Sample quantiles that set the view (outliers of a diverging model do not squash the plot).
_QUANTILES: tuple[float, float] = (0.005, 0.995)

LogProb = Callable[[Tensor], Tensor]


# ----------------------------------------------------------------------------- helpers
def _points(name: str, value: Tensor) -> Tensor:
    """(N,) or (N, D) real tensor → (N, D); raises GenzooError otherwise."""
    if not isinstance(value, Tensor):
        raise GenzooError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.is_complex() or value.dtype == torch.bool:
        raise GenzooError(f"{name} must be real-valued, got dtype {value.dtype}")
    if value.dim() == 1:
        value = value.unsqueeze(1)
    if value.dim() != 2:
        raise GenzooError(f"{name} must have shape (N,) or (N, D), got {tuple(value.shape)}")
    if value.shape[0] == 0 or value.shape[1] == 0:
        raise GenzooError(f"{name} is empty: shape {tuple(value.shape)}")
    if not torch.isfinite(value).all():
        raise GenzooError(f"{name} contains non-finite values ({int((~torch.isfinite(value)).sum())} entries)")
    return value.detach()


def _bounds(samples: np.ndarray, reference: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension view limits, +10 % margin.

    Covers every reference point and every sample except far outliers: per dimension, samples
    outside [q_lo − s, q_hi + s] (q = 0.5 %/99.5 % quantiles, s = q_hi − q_lo) are ignored, so
    a few diverging samples do not squash the plot.
    """
    q_lo, q_hi = np.quantile(samples, _QUANTILES, axis=0)
    s = q_hi - q_lo
    kept = np.where((samples >= q_lo - s) & (samples <= q_hi + s), samples, np.nan)
    lo, hi = np.nanmin(kept, axis=0), np.nanmax(kept, axis=0)  # quantiles are always kept
    if reference is not None:
        lo = np.minimum(lo, reference.min(axis=0))
        hi = np.maximum(hi, reference.max(axis=0))
    span = hi - lo
    span = np.where(span > 0, span, 1.0)
    return lo - 0.1 * span, hi + 0.1 * span


Limits = tuple[np.ndarray, np.ndarray]


def view_limits(reference: Tensor, margin: float = 0.25) -> Limits:
    """Fixed axis limits for every picture of a run: the data's extent plus ``margin`` of its span.

    Pass the result as ``limits=`` to :func:`save_points` so pictures taken at different steps
    share their axes (a sample cloud shrinking onto the data then looks like it does).
    """
    ref = _points("reference", reference).to(device="cpu", dtype=torch.float64).numpy()
    lo, hi = ref.min(axis=0), ref.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    return lo - margin * span, hi + margin * span


def _eval_log_prob(log_prob: LogProb, grid: np.ndarray, like: Tensor) -> np.ndarray:
    """log_prob on (M, D) grid points, in chunks, on ``like``'s device/dtype → float64 (M,)."""
    dtype = like.dtype if like.is_floating_point() else torch.get_default_dtype()
    pts = torch.as_tensor(grid, dtype=dtype, device=like.device)
    outs = []
    with torch.no_grad():
        for chunk in torch.split(pts, _CHUNK):
            out = log_prob(chunk)
            if not isinstance(out, Tensor):
                out = torch.as_tensor(out)
            if out.numel() != chunk.shape[0]:
                raise GenzooError(
                    f"log_prob must return one value per point: got shape {tuple(out.shape)} "
                    f"for input {tuple(chunk.shape)}"
                )
            outs.append(out.detach().reshape(-1).to(device="cpu", dtype=torch.float64))
    lp = torch.cat(outs).numpy()
    return np.where(np.isnan(lp), -np.inf, lp)


def _new_figure(figsize: tuple[float, float]) -> Figure:
    fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | os.PathLike) -> Path:
    out = Path(path)
    kind = getattr(fig, "genzoo_kind", "plot")  # set by the drawing function (points, latent-space)
    out.parent.mkdir(parents=True, exist_ok=True)
    suptitle = getattr(fig, "_suptitle", None)  # matplotlib keeps the figure title there
    title = suptitle.get_text() if suptitle is not None else ""
    if not title:
        title = next((t for ax in fig.axes if (t := ax.get_title())), "")
    metadata = {"genzoo:kind": kind, **({"Title": title} if title else {})}  # what the picture shows, for tools and tests
    try:
        fig.savefig(out, format="png", dpi=DPI, metadata=metadata)
    finally:
        fig.clear()  # drop artists now; the Figure itself is not registered anywhere
    return out


# ----------------------------------------------------------------------------- points
def save_points(
    samples: Tensor,
    path: str | os.PathLike,
    log_prob: LogProb | None = None,
    reference: Tensor | None = None,
    title: str = "",
    limits: Limits | None = None,
) -> Path:
    """Plot samples (over the exact density when known) and write a PNG.

    * D = 2: heat map of exp(log_prob(x)) on a ``GRID_SIZE``² grid, divided by its maximum on
      the grid (so unnormalised log densities such as −E(x) work too), over a square view that
      covers every reference point and every sample except far outliers (beyond the
      0.5 %/99.5 % quantiles by more than their spread), +10 % margin; reference points light grey; samples on top in red. Samples
      outside the view are counted in a note.
    * D = 1: density histogram of the samples (and of the reference, as a grey outline) with
      the curve exp(log_prob(x)) (plotted as given, so it should be a normalised density).
      The view is chosen as in the 2-D case (without squaring).
    * D > 2: scatter of the first two coordinates, with a note; ``log_prob`` is not drawn.

    ``log_prob`` receives a (M, D) tensor on the samples' device and dtype (M ≤ 16 384 per
    call, under ``torch.no_grad()``) and must return M values; NaN is drawn as zero density.

    Args:
        samples: (N, D) or (N,) points.
        path: output PNG.
        log_prob: optional exact (or unnormalised) log density of the data.
        reference: optional (M, D) data points, same D.
        title: figure title.
        limits: fixed (low, high) per dimension (:func:`view_limits`) instead of a view fitted to
            these samples; the same limits give every picture of a run the same axes.

    Returns:
        The path written.

    Raises:
        GenzooError: bad shapes, non-finite points, D mismatch, a log_prob of the wrong size.
    """
    s = _points("samples", samples)
    d = s.shape[1]
    ref = None
    if reference is not None:
        ref_t = _points("reference", reference)
        if ref_t.shape[1] != d:
            raise GenzooError(f"reference has D={ref_t.shape[1]} but samples have D={d}")
        ref = ref_t.to(device="cpu", dtype=torch.float64).numpy()
    if log_prob is not None and not callable(log_prob):
        raise GenzooError(f"log_prob must be callable, got {type(log_prob).__name__}")
    s_np = s.to(device="cpu", dtype=torch.float64).numpy()

    if d == 1:
        fig = _new_figure((6.0, 4.0))
        ax = fig.add_subplot()
        lo, hi = _bounds(s_np, ref) if limits is None else (np.asarray(limits[0])[:1], np.asarray(limits[1])[:1])
        bins = np.linspace(lo[0], hi[0], int(np.clip(math.sqrt(s_np.shape[0]) * 2, 10, 100)) + 1)
        if ref is not None:
            ax.hist(ref[:, 0], bins=bins, density=True, histtype="step", color="0.55", label="data")
        ax.hist(s_np[:, 0], bins=bins, density=True, color="tab:red", alpha=0.5, label="samples")
        if log_prob is not None:
            xs = np.linspace(lo[0], hi[0], GRID_SIZE * 2)
            dens = np.exp(_eval_log_prob(log_prob, xs[:, None], s))
            ax.plot(xs, np.nan_to_num(dens, posinf=0.0), color="tab:blue", lw=1.5, label="density")
        ax.set_xlim(lo[0], hi[0])
        ax.set_xlabel("x")
        ax.set_ylabel("density")
        ax.legend(loc="upper right", fontsize="small")
    else:
        fig = _new_figure((5.0, 5.0))
        ax = fig.add_subplot()
        s2 = s_np[:, :2]
        ref2 = None if ref is None else ref[:, :2]
        lo, hi = _bounds(s2, ref2) if limits is None else (np.asarray(limits[0])[:2], np.asarray(limits[1])[:2])
        centre, half = (lo + hi) / 2, (hi - lo).max() / 2  # square view: circles stay circles
        lo, hi = centre - half, centre + half
        notes = []
        if d == 2 and log_prob is not None:
            xs = np.linspace(lo[0], hi[0], GRID_SIZE)
            ys = np.linspace(lo[1], hi[1], GRID_SIZE)
            gx, gy = np.meshgrid(xs, ys, indexing="xy")  # (G, G): row = y, column = x
            lp = _eval_log_prob(log_prob, np.stack([gx.ravel(), gy.ravel()], axis=1), s)
            top = lp[np.isfinite(lp)].max() if np.isfinite(lp).any() else 0.0
            dens = np.exp(np.clip(lp - top, -700.0, 0.0)).reshape(GRID_SIZE, GRID_SIZE)
            ax.imshow(
                dens,
                origin="lower",
                extent=(lo[0], hi[0], lo[1], hi[1]),
                cmap="Blues",
                vmin=0.0,
                vmax=1.0,
                interpolation="bilinear",
                aspect="equal",
            )
        elif d > 2:
            notes.append(f"first 2 of {d} dims shown" + ("; density not drawn" if log_prob is not None else ""))
        if ref2 is not None:
            ax.scatter(ref2[:, 0], ref2[:, 1], s=3, c="0.6", alpha=0.35, linewidths=0, label="data")
        ax.scatter(s2[:, 0], s2[:, 1], s=4, c="tab:red", alpha=0.7, linewidths=0, label="samples")
        outside = int((((s2 < lo) | (s2 > hi)).any(axis=1)).sum())
        if outside:
            notes.append(f"{outside} sample{'s' if outside > 1 else ''} outside view")
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_aspect("equal")
        if notes:
            ax.text(0.01, 0.01, "; ".join(notes), transform=ax.transAxes, fontsize="x-small", va="bottom")
        ax.legend(loc="upper right", fontsize="small", markerscale=3)
    if title:
        ax.set_title(title)
    fig.genzoo_kind = "points"
    return _save(fig, path)


def save_samples(
    x: Tensor,
    path: str | os.PathLike,
    log_prob: LogProb | None = None,
    reference: Tensor | None = None,
    title: str = "",
    limits: Limits | None = None,
) -> Path:
    """Picture of model samples, by :func:`picture_kind`: an image grid for images and for binary
    vectors (bars and stripes: side×side images stored flat), else :func:`save_points`.

    For grids, ``log_prob``, ``reference`` and ``limits`` are not used; ``title`` always is.
    """
    if not isinstance(x, Tensor):
        raise GenzooError(f"samples must be a torch.Tensor, got {type(x).__name__}")
    kind = picture_kind(x, reference)
    if kind == "image-grid":
        return save_image_grid(x, path, title=title)
    if kind == "binary-grid":
        return save_image_grid(x.reshape(x.shape[0], 1, *binary_image_shape(x.shape[1])), path, title=title,
                               kind=kind)
    if x.dim() in (1, 2):
        return save_points(x, path, log_prob=log_prob, reference=reference, title=title, limits=limits)
    raise GenzooError(f"samples must be (N, C, H, W) images or (N, D) points, got shape {tuple(x.shape)}")


def binary_image_shape(d: int) -> tuple[int, int]:
    """(H, W) of a flat binary vector drawn as a picture: square when D is a square, else one row of D pixels."""
    side = math.isqrt(d)
    return (side, side) if side * side == d else (1, d)


def picture_kind(x: Tensor, reference: Tensor | None = None) -> str:
    """How samples are drawn: ``image-grid`` (N, C, H, W); ``binary-grid`` for (N, D > 2) vectors of
    binary data (decided by ``reference``, the data, when given — an RBM's mean activations are not
    binary, its data is); ``points`` otherwise (a scatter of the first two coordinates beyond D = 2
    would show a binary data set as the four corners of a square)."""
    if x.dim() == 4:
        return "image-grid"
    data = reference if reference is not None else x
    if x.dim() == 2 and x.shape[1] > 2 and data.dim() == 2 and data.numel() and bool(((data == 0) | (data == 1)).all()):
        return "binary-grid"
    return "points"


# ----------------------------------------------------------------------------- curves
def _series_xy(name: str, data: object) -> tuple[np.ndarray, np.ndarray]:
    """(xs, ys) from a tuple (xs, ys), a list of (x, y) pairs, or a flat list of ys."""
    try:
        if isinstance(data, tuple) and len(data) == 2 and all(np.ndim(v) == 1 for v in data):
            xs, ys = (np.asarray(v, dtype=np.float64) for v in data)
            if xs.shape != ys.shape:
                raise GenzooError(f"series {name!r}: {xs.size} x values but {ys.size} y values")
            return xs, ys
        arr = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise GenzooError(f"series {name!r} is not numeric: {exc}") from exc
    if arr.ndim == 1:
        return np.arange(arr.size, dtype=np.float64), arr
    if arr.ndim == 2 and arr.shape[1] == 2:
        return arr[:, 0], arr[:, 1]
    raise GenzooError(
        f"series {name!r} must be (xs, ys), a list of (x, y) pairs or a list of y values; got shape {arr.shape}"
    )


_LINESTYLES = ("-", "--", ":", "-.")


def save_curves(
    series: Mapping[str, Sequence[tuple[float, float]] | tuple[Sequence[float], Sequence[float]]],
    path: str | os.PathLike,
    xlabel: str,
    ylabel: str,
    title: str = "",
    logy: bool = False,
) -> Path:
    """Line plot of named series (training curves) written to a PNG.

    Each value of ``series`` is either a tuple ``(xs, ys)`` of two equal-length sequences, or a
    list of ``(x, y)`` pairs (a flat list of numbers is also accepted: x = 0, 1, …). A tuple of
    two sequences is always read as ``(xs, ys)``. Non-finite values leave gaps. ``logy`` puts
    the y axis on a log scale (non-positive values are then not drawn).

    Raises:
        GenzooError: empty mapping or a series that is not one of the forms above.
    """
    if not isinstance(series, Mapping) or len(series) == 0:
        raise GenzooError("series must be a non-empty mapping name -> points")
    parsed = [(str(name), *_series_xy(str(name), data)) for name, data in series.items()]
    fig = _new_figure((6.0, 4.0))
    ax = fig.add_subplot()
    for i, (name, xs, ys) in enumerate(parsed):
        # tab10's ten colours, then the same colours dashed, dotted, …: every series stays distinct
        ax.plot(xs, ys, label=name, lw=1.2, marker="o" if xs.size == 1 else None,
                color=f"C{i % 10}", linestyle=_LINESTYLES[(i // 10) % len(_LINESTYLES)])
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return _save(fig, path)
