"""Pictures of a model with an encoder: reconstructions x → decode(encode(x)) and its latent space.

Drawn for every model with the ``encode`` and ``decode`` capabilities (VAEs, disentangling AEs,
ALI/BiGAN, …) beside the sample pictures of each run:

* ``recon_step_*.png`` — images: rows alternate originals and reconstructions; points: the
  reconstructions (red) over the originals (grey);
* ``latent_step_*.png`` — the first two coordinates of the codes (posterior means for a
  stochastic encoder), coloured by label when the data has labels.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.distributions import Distribution

from genzoo.viz.images import save_image_grid
from genzoo.viz.plots import _new_figure, _save, save_points


def codes_of(model: object, x: Tensor) -> Tensor:
    """encode(x) as a tensor: the posterior mean when the encoder returns a distribution."""
    code = model.encode(x)  # type: ignore[attr-defined]
    return code.mean if isinstance(code, Distribution) else code


@torch.no_grad()
def save_reconstructions(model: object, x: Tensor, path: str | os.PathLike, title: str = "") -> Path:
    """Originals and decode(encode(x)) side by side (images: alternating rows of up to 8, at most 4 pairs of rows)."""
    if x.ndim == 4:
        x = x[:32]  # only the shown ones: decoding all 512 took 4.6 s of a 100-step VFAE's final evaluation
    recon = model.decode(codes_of(model, x)).detach().float().cpu()  # type: ignore[attr-defined]
    x = x.detach().float().cpu()
    if x.ndim == 4:
        # a small held-out set (a user's file of 40 images holds out 4) gives fewer than 8 per row
        cols = min(8, x.shape[0])
        rows = min(4, x.shape[0] // cols)
        k = rows * cols
        pairs = torch.stack([x[:k].reshape(rows, cols, *x.shape[1:]), recon[:k].clamp(0, 1).reshape(rows, cols, *x.shape[1:])], 1)
        return save_image_grid(pairs.reshape(2 * k, *x.shape[1:]), path, nrow=cols, kind="reconstructions",
                               title=title or "reconstructions: rows of held-out inputs, each above its reconstruction")
    return save_points(recon, path, reference=x, title=title or "reconstructions (red) over data (grey)")


@torch.no_grad()
def save_latent_space(model: object, x: Tensor, path: str | os.PathLike, labels: Tensor | None = None,
                      title: str = "") -> Path | None:
    """Scatter of the codes' first two coordinates (one colour per label); None when codes are not vectors."""
    z = codes_of(model, x)
    if not torch.is_floating_point(z) or z.ndim != 2 or z.shape[1] < 1:
        return None
    z = z.detach().float().cpu().numpy()
    z2 = z[:, :2] if z.shape[1] >= 2 else np.concatenate([z, np.zeros_like(z)], 1)
    fig = _new_figure((4.2, 4.0))
    ax = fig.add_subplot()
    if labels is not None:
        lab = labels.cpu().numpy()
        for i, value in enumerate(np.unique(lab)):
            sel = lab == value
            ax.scatter(z2[sel, 0], z2[sel, 1], s=4, alpha=0.6, color=f"C{i % 10}", label=str(int(value)))
        if len(np.unique(lab)) <= 10:
            ax.legend(markerscale=3, fontsize=6, loc="best")
    else:
        ax.scatter(z2[:, 0], z2[:, 1], s=4, alpha=0.6, color="C3")
    ax.set_xlabel("z₁")
    ax.set_ylabel("z₂" if z.shape[1] >= 2 else "")
    ax.set_title(title or f"latent space (first 2 of {z.shape[1]} dims)", fontsize=9)
    fig.genzoo_kind = "latent-space"
    return _save(fig, path)


def save_translations(model: object, u: Tensor, v: Tensor, path: str | os.PathLike, title: str = "",
                      k: int = 8) -> Path:
    """Two-domain translation as rows of k: u, G_A(u), G_B(G_A(u)), then v, G_B(v), G_A(G_B(v)).

    Each translation under its input and above its reconstruction (the closed loop of dual
    learning), so a picture shows what was translated, not translations alone.
    """
    translate = model.translate  # type: ignore[attr-defined]
    k = max(1, min(k, u.shape[0], v.shape[0]))
    u, v = u[:k].float(), v[:k].float()
    a2b = translate(u, "a2b").detach().float().cpu()
    b2a = translate(v, "b2a").detach().float().cpu()
    rows = [u.cpu(), a2b, translate(a2b, "b2a").detach().float().cpu(),
            v.cpu(), b2a, translate(b2a, "a2b").detach().float().cpu()]
    grid = torch.cat([r.clamp(0, 1) for r in rows])
    return save_image_grid(grid, path, nrow=k, kind="translations",
                           title=title or "rows: A → A→B → A→B→A, then B → B→A → B→A→B")
