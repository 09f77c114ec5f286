"""Image grids (exact pixel layout), PNG files, point plots, curves, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from genzoo.errors import GenzooError
from genzoo.viz import (
    auto_scale,
    image_grid,
    save_curves,
    save_image_grid,
    save_interpolation,
    save_points,
    save_samples,
)


def u8(v: float) -> int:
    return int(math.floor(v * 255 + 0.5))


def constant_images(values, c: int = 1, h: int = 2, w: int = 3) -> torch.Tensor:
    v = torch.tensor(values, dtype=torch.float32)
    return v.view(-1, 1, 1, 1).expand(len(values), c, h, w).clone()


def expected_grid(values, nrow, padding, h, w, pad_value=0.5) -> np.ndarray:
    """Reference layout built by a plain loop (image i at row i // ncol, column i % ncol)."""
    n = len(values)
    ncol = min(nrow, n)
    rows = math.ceil(n / ncol)
    out = np.full((rows * (h + padding) + padding, ncol * (w + padding) + padding), u8(pad_value), np.uint8)
    for i, v in enumerate(values):
        r, c = divmod(i, ncol)
        y0, x0 = padding + r * (h + padding), padding + c * (w + padding)
        out[y0 : y0 + h, x0 : x0 + w] = u8(v)
    return out


# ----------------------------------------------------------------------------- image_grid
@pytest.mark.parametrize("nrow,padding", [(3, 1), (2, 0), (5, 2), (8, 3)])
def test_grid_layout_exact_gray(nrow, padding):
    values = [0.0, 0.2, 0.4, 0.6, 1.0]
    grid = image_grid(constant_images(values), nrow=nrow, padding=padding)
    assert grid.dtype == np.uint8
    np.testing.assert_array_equal(grid, expected_grid(values, nrow, padding, 2, 3))


def test_grid_layout_spot_checks():
    # 5 images of 2x3, 3 per row, padding 1 → 2 rows: 2·3+1 = 7 high, 3·4+1 = 13 wide.
    grid = image_grid(constant_images([0.0, 0.2, 0.4, 0.6, 1.0]), nrow=3, padding=1)
    assert grid.shape == (7, 13)
    assert grid[0].tolist() == [128] * 13  # top padding row
    assert grid[:, 0].tolist() == [128] * 7  # left padding column
    assert grid[1, 1] == 0 and grid[2, 3] == 0  # image 0 at rows 1..2, cols 1..3
    assert grid[1, 4] == 128  # padding between image 0 and 1
    assert grid[1, 5] == u8(0.2) and grid[2, 7] == u8(0.2)  # image 1 at cols 5..7
    assert grid[1, 9] == u8(0.4)  # image 2 at cols 9..11
    assert grid[4, 1] == u8(0.6) and grid[5, 5] == 255  # second row: images 3, 4
    assert (grid[4:6, 9:12] == 128).all()  # empty slot filled with padding colour


def test_grid_default_nrow_and_pad_value():
    grid = image_grid(torch.zeros(10, 1, 4, 4), padding=1, pad_value=1.0)
    # ceil(sqrt(10)) = 4 per row, 3 rows.
    assert grid.shape == (3 * 5 + 1, 4 * 5 + 1)
    assert grid[0, 0] == 255 and grid[1, 1] == 0


def test_grid_rgb_channels():
    imgs = torch.zeros(2, 3, 2, 2)
    imgs[0, 0] = 1.0  # red
    imgs[1, 2] = 1.0  # blue
    grid = image_grid(imgs, nrow=2, padding=1, pad_value=0.0)
    assert grid.shape == (4, 7, 3)
    assert grid[1, 1].tolist() == [255, 0, 0]
    assert grid[1, 4].tolist() == [0, 0, 255]
    assert grid[0, 0].tolist() == [0, 0, 0]


def test_grid_clamps_and_value_range():
    imgs = torch.tensor([-3.0, 0.5, 7.0]).view(3, 1, 1, 1)
    assert image_grid(imgs, nrow=3, padding=0).tolist() == [[0, 128, 255]]
    tanh = torch.tensor([-1.0, 0.0, 1.0]).view(3, 1, 1, 1)
    assert image_grid(tanh, nrow=3, padding=0, value_range=(-1, 1)).tolist() == [[0, 128, 255]]
    assert image_grid(torch.tensor([0, 128, 255], dtype=torch.uint8).view(3, 1, 1, 1), nrow=3, padding=0).tolist() == [[0, 128, 255]]


@pytest.mark.parametrize(
    "images,kwargs",
    [
        (torch.zeros(3, 8, 8), {}),  # not 4-D
        (torch.zeros(2, 2, 8, 8), {}),  # 2 channels
        (torch.zeros(0, 1, 8, 8), {}),  # empty
        (torch.full((1, 1, 2, 2), float("nan")), {}),
        (torch.zeros(2, 1, 8, 8), {"nrow": 0}),
        (torch.zeros(2, 1, 8, 8), {"padding": -1}),
        (torch.zeros(2, 1, 8, 8), {"value_range": (1.0, 0.0)}),
        (np.zeros((2, 1, 8, 8)), {}),  # not a tensor
    ],
)
def test_grid_bad_input(images, kwargs):
    with pytest.raises(GenzooError):
        image_grid(images, **kwargs)


# ----------------------------------------------------------------------------- PNG files
def test_save_image_grid_auto_scale_and_reread(tmp_path):
    imgs = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    path = save_image_grid(imgs, tmp_path / "a" / "b" / "grid.png", nrow=4)  # parent dirs created
    grid = image_grid(imgs, nrow=4)
    assert grid.shape == (42, 42)  # 4·(8+2)+2
    scale = auto_scale(42)
    assert scale == 7 and 42 * scale >= 256
    with Image.open(path) as im:
        assert im.format == "PNG" and im.mode == "L" and im.size == (42 * 7, 42 * 7)
        np.testing.assert_array_equal(np.asarray(im), grid.repeat(7, 0).repeat(7, 1))


def test_save_image_grid_rgb_explicit_scale(tmp_path):
    imgs = torch.rand(6, 3, 28, 28, generator=torch.Generator().manual_seed(1))
    path = save_image_grid(imgs, tmp_path / "rgb.png", nrow=3, scale=2)
    with Image.open(path) as im:
        assert im.mode == "RGB" and im.size == (2 * (3 * 30 + 2), 2 * (2 * 30 + 2))
    big = save_image_grid(torch.rand(100, 1, 28, 28), tmp_path / "big.png")  # 302 px: scale 1
    with Image.open(big) as im:
        assert im.size == (302, 302)
    with pytest.raises(GenzooError):
        save_image_grid(imgs, tmp_path / "bad.png", scale=0)


def test_save_interpolation_layout(tmp_path):
    rows = torch.linspace(0, 1, 5).view(1, 5, 1, 1, 1).expand(2, 5, 1, 4, 4).clone()
    rows[1] = 1 - rows[1]
    path = save_interpolation(rows, tmp_path / "interp.png", scale=1)
    with Image.open(path) as im:
        arr = np.asarray(im)
    assert arr.shape == (2 * 6 + 2, 5 * 6 + 2)
    assert arr[2, 2] == 0 and arr[2, 2 + 4 * 6] == 255  # row 0 goes 0 → 1
    assert arr[8, 2] == 255 and arr[8, 2 + 4 * 6] == 0  # row 1 goes 1 → 0
    with pytest.raises(GenzooError):
        save_interpolation(torch.zeros(2, 1, 4, 4), tmp_path / "x.png")


# ----------------------------------------------------------------------------- plots
def _read(path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im.convert("RGB"))


def _n_colours(arr: np.ndarray) -> int:
    return len(np.unique(arr.reshape(-1, 3), axis=0))


def ring_log_prob(k: int = 8, std: float = 0.1):
    ang = 2 * math.pi * torch.arange(k) / k
    mu = torch.stack([ang.cos(), ang.sin()], 1)

    def log_prob(x: torch.Tensor) -> torch.Tensor:
        d2 = torch.cdist(x, mu.to(x)) ** 2
        return torch.logsumexp(-d2 / (2 * std**2), 1) - math.log(k * 2 * math.pi * std**2)

    return mu, log_prob


def test_save_points_2d_with_density(tmp_path):
    mu, lp = ring_log_prob()
    g = torch.Generator().manual_seed(0)
    data = mu[torch.randint(0, 8, (300,), generator=g)] + 0.1 * torch.randn(300, 2, generator=g)
    samples = torch.randn(200, 2, generator=g)
    path = save_points(samples, tmp_path / "pts" / "ring.png", log_prob=lp, reference=data, title="ring")
    arr = _read(path)
    assert arr.shape == (500, 500, 3)
    assert _n_colours(arr) > 50  # heat map + points + text, not a blank canvas
    # The density alone (no reference) also works, as do plain points.
    assert _n_colours(_read(save_points(samples, tmp_path / "d.png", log_prob=lp))) > 50
    assert _n_colours(_read(save_points(samples, tmp_path / "p.png"))) > 10


def test_save_points_1d_and_high_dim(tmp_path):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(400, generator=g)
    path = save_points(x, tmp_path / "h.png", log_prob=lambda z: -0.5 * z[:, 0] ** 2 - 0.5 * math.log(2 * math.pi), reference=torch.randn(400, 1, generator=g))
    assert _n_colours(_read(path)) > 10
    path5 = save_points(torch.randn(100, 5, generator=g), tmp_path / "d5.png", reference=torch.randn(50, 5, generator=g))
    assert _n_colours(_read(path5)) > 10


def test_save_points_bad_input(tmp_path):
    with pytest.raises(GenzooError):
        save_points(torch.zeros(3, 2, 2), tmp_path / "x.png")
    with pytest.raises(GenzooError):
        save_points(torch.zeros(3, 2), tmp_path / "x.png", reference=torch.zeros(3, 3))
    with pytest.raises(GenzooError):
        save_points(torch.tensor([[float("inf"), 0.0]]), tmp_path / "x.png")
    with pytest.raises(GenzooError):  # log_prob returns the wrong number of values
        save_points(torch.randn(10, 2), tmp_path / "x.png", log_prob=lambda z: z)
    with pytest.raises(GenzooError):
        save_points(torch.zeros(0, 2), tmp_path / "x.png")


def test_no_figure_leak(tmp_path):
    import gc

    from matplotlib._pylab_helpers import Gcf
    from matplotlib.figure import Figure

    def live_figures() -> int:
        gc.collect()
        return sum(type(o) is Figure for o in gc.get_objects())

    managers, figures = Gcf.get_num_fig_managers(), live_figures()
    x = torch.randn(50, 2)
    for i in range(6):
        save_points(x, tmp_path / f"p{i}.png")
        save_curves({"loss": [(0, 1.0), (1, 0.5)]}, tmp_path / f"c{i}.png", "step", "loss")
    assert Gcf.get_num_fig_managers() == managers  # nothing registered with pyplot
    assert live_figures() == figures  # and every Figure was freed


def test_save_samples_dispatch(tmp_path):
    img = save_samples(torch.rand(4, 1, 8, 8), tmp_path / "img.png")
    with Image.open(img) as im:
        assert im.mode == "L" and im.size[0] >= 256
    pts = save_samples(torch.randn(30, 2), tmp_path / "pts.png", title="t")
    assert _read(pts).shape == (500, 500, 3)
    with pytest.raises(GenzooError):
        save_samples(torch.zeros(2, 3, 4), tmp_path / "bad.png")


def test_save_curves_formats(tmp_path):
    path = save_curves(
        {"pairs": [(0, 1.0), (1, 0.5), (2, 0.25)], "xs_ys": ([0, 1, 2], [2.0, 1.0, 0.1]), "flat": [3.0, 2.0, 1.0]},
        tmp_path / "curves" / "c.png",
        xlabel="step",
        ylabel="loss",
        title="training",
        logy=True,
    )
    arr = _read(path)
    assert arr.shape == (400, 600, 3) and _n_colours(arr) > 10
    with pytest.raises(GenzooError):
        save_curves({}, tmp_path / "e.png", "x", "y")
    with pytest.raises(GenzooError):
        save_curves({"a": ([0, 1, 2], [1.0, 2.0])}, tmp_path / "e.png", "x", "y")
    with pytest.raises(GenzooError):
        save_curves({"a": [(0, 1, 2)]}, tmp_path / "e.png", "x", "y")


def _capture_figures(monkeypatch):
    """Replace the PNG writer with one that records each figure's first axes (limits, lines)."""
    import genzoo.viz.plots as plots

    seen = []

    def fake_save(fig, path):
        ax = fig.axes[0]
        seen.append({"xlim": ax.get_xlim(), "ylim": ax.get_ylim(),
                     "lines": [(line.get_color(), line.get_linestyle()) for line in ax.get_lines()]})
        fig.clear()
        return path

    monkeypatch.setattr(plots, "_save", fake_save)
    return seen


def test_fixed_limits_give_every_picture_of_a_run_the_same_axes(tmp_path, monkeypatch):
    from genzoo.viz.plots import view_limits

    seen = _capture_figures(monkeypatch)
    g = torch.Generator().manual_seed(0)
    data = torch.randn(500, 2, generator=g)
    limits = view_limits(data)
    spread, collapsed = 5 * torch.randn(300, 2, generator=g), 0.01 * torch.randn(300, 2, generator=g)
    for samples in (spread, collapsed):
        save_points(samples, tmp_path / "p.png", reference=data, limits=limits)
        save_points(samples, tmp_path / "q.png", reference=data)  # fitted view: differs
    fixed, fitted = seen[0::2], seen[1::2]
    assert fixed[0]["xlim"] == fixed[1]["xlim"] and fixed[0]["ylim"] == fixed[1]["ylim"]
    assert fitted[0]["xlim"] != fitted[1]["xlim"]
    lo, hi = limits
    assert fixed[0]["xlim"][0] <= lo[0] and fixed[0]["xlim"][1] >= hi[0]


def test_curves_get_distinct_colours_even_past_ten_series(tmp_path, monkeypatch):
    seen = _capture_figures(monkeypatch)
    save_curves({f"s{i}": [(0, i), (1, i + 1)] for i in range(14)}, tmp_path / "c.png", "step", "loss")
    styles = seen[0]["lines"]
    assert len(styles) == 14 and len(set(styles)) == 14
