"""Inception-v3 pool3 features for FID/KID — only from weights the user already has on disk.

genzoo never downloads anything at run time. Its default feature network is its own MNIST
classifier (:mod:`genzoo.metrics.features`); FID numbers computed with it are *not* comparable
with the Inception-based FIDs printed in papers. Where a user has the standard FID Inception
weights locally, this module builds the network and computes the same 2048-d pool3 features
as ``pytorch-fid`` (Heusel et al. 2017's TensorFlow graph ``2015-12-05``, ported):

* weights: the file ``pt_inception-2015-12-05-6726825d.pth`` distributed by pytorch-fid (a plain
  state dict, read with ``torch.load(weights_only=True)`` — no code is executed), or the same
  tensors saved as ``.safetensors``;
* where: the ``path`` argument, else the environment variable ``GENZOO_INCEPTION_WEIGHTS``;
  without either, :class:`~genzoo.errors.GenzooError` explains how to supply them.

Architecture: torchvision's Inception3 (Szegedy et al., 2016) without the auxiliary head,
1008 output classes, BN eps 0.001, with the FID graph's differences — average pools in the
A, C and E blocks exclude the padding (``count_include_pad=False``) and the last E block
pools by max instead of average. Input: images in [0, 1], grey images repeated to 3
channels, resized bilinearly to 299×299, mapped to [−1, 1]; output: the global average pool
of ``Mixed_7c`` (2048-d).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genzoo.errors import GenzooError

__all__ = ["ENV_VAR", "INCEPTION_DIM", "FIDInceptionV3", "load_inception", "inception_features"]

#: Environment variable naming the local weights file.
ENV_VAR: str = "GENZOO_INCEPTION_WEIGHTS"
#: Dimension of the pool3 features.
INCEPTION_DIM: int = 2048

_HOW = (
    f"supply local Inception-v3 FID weights with load_inception(path=...) or the environment variable {ENV_VAR} "
    "(pytorch-fid's pt_inception-2015-12-05-6726825d.pth, or the same tensors as .safetensors); "
    "genzoo never downloads weights — its default feature network is the shipped MNIST classifier"
)


class BasicConv2d(nn.Module):
    """Conv (no bias) → BatchNorm (eps 0.001) → ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel_size, stride=1, padding=0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg3(x: Tensor) -> Tensor:
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, c_in: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, 64, 1)
        self.branch5x5_1 = BasicConv2d(c_in, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(c_in, pool_features, 1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(_avg3(x)),
        ], 1)


class InceptionB(nn.Module):
    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(c_in, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([
            self.branch3x3(x),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            F.max_pool2d(x, 3, stride=2),
        ], 1)


class InceptionC(nn.Module):
    def __init__(self, c_in: int, c7: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, 192, 1)
        self.branch7x7_1 = BasicConv2d(c_in, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(c_in, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(c_in, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        dbl = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            dbl = layer(dbl)
        return torch.cat([
            self.branch1x1(x),
            self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x))),
            dbl,
            self.branch_pool(_avg3(x)),
        ], 1)


class InceptionD(nn.Module):
    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(c_in, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(c_in, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b7, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionE(nn.Module):
    """``pool="avg"``: FIDInceptionE_1 (Mixed_7b); ``pool="max"``: FIDInceptionE_2 (Mixed_7c)."""

    def __init__(self, c_in: int, pool: str) -> None:
        super().__init__()
        self.pool = pool
        self.branch1x1 = BasicConv2d(c_in, 320, 1)
        self.branch3x3_1 = BasicConv2d(c_in, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(c_in, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(c_in, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        b3 = self.branch3x3_1(x)
        dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = _avg3(x) if self.pool == "avg" else F.max_pool2d(x, 3, stride=1, padding=1)
        return torch.cat([
            self.branch1x1(x),
            self.branch3x3_2a(b3), self.branch3x3_2b(b3),
            self.branch3x3dbl_3a(dbl), self.branch3x3dbl_3b(dbl),
            self.branch_pool(pooled),
        ], 1)


class FIDInceptionV3(nn.Module):
    """Inception-v3 as in the FID graph; ``forward(x)`` maps (N, C, H, W) images in [0, 1] to pool3 features (N, 2048)."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, 32)
        self.Mixed_5c = InceptionA(256, 64)
        self.Mixed_5d = InceptionA(288, 64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128)
        self.Mixed_6c = InceptionC(768, 160)
        self.Mixed_6d = InceptionC(768, 160)
        self.Mixed_6e = InceptionC(768, 192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, "avg")
        self.Mixed_7c = InceptionE(2048, "max")
        self.fc = nn.Linear(2048, 1008)  # ImageNet logits of the 2015 graph; unused by FID, kept for strict loading

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = 2 * x - 1
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)
        return x.mean((2, 3))


def _read_state(path: Path) -> dict[str, Tensor]:
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except (SafetensorError, OSError, ValueError) as e:
            raise GenzooError(f"cannot read Inception weights {str(path)!r} as safetensors: {e}") from None
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)  # never unpickles code
    except Exception as e:  # noqa: BLE001 - UnpicklingError for anything but tensors, RuntimeError for non-archives
        raise GenzooError(
            f"cannot read Inception weights {str(path)!r} safely (torch.load with weights_only=True): "
            f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not (isinstance(state, dict) and all(isinstance(v, Tensor) for v in state.values())):
        raise GenzooError(f"Inception weights {str(path)!r} must hold a state dict of tensors, got {type(state).__name__}")
    return state


def load_inception(path: str | os.PathLike | None = None, device: str | torch.device = "cpu") -> FIDInceptionV3:
    """The FID Inception-v3 with the weights at ``path`` (else ``$GENZOO_INCEPTION_WEIGHTS``), in eval mode.

    Raises:
        GenzooError: no path given, the file is missing, not a safe tensor file, or its tensors
            do not match the architecture (names or shapes).
    """
    if path is None:
        path = os.environ.get(ENV_VAR) or None
    if path is None:
        raise GenzooError(f"no Inception weights: {_HOW}")
    p = Path(path).expanduser()
    if not p.is_file():
        raise GenzooError(f"Inception weights not found: {str(p)!r}; {_HOW}")
    state = {k: v for k, v in _read_state(p).items() if not k.endswith("num_batches_tracked")}
    net = FIDInceptionV3()
    expected = {k: v.shape for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    bad = sorted(k for k in set(expected) & set(state) if tuple(state[k].shape) != tuple(expected[k]))
    if missing or unexpected or bad:
        what = (f"missing {missing[0]!r}" if missing else f"unexpected {unexpected[0]!r}" if unexpected
                else f"shape of {bad[0]!r} is {tuple(state[bad[0]].shape)}, expected {tuple(expected[bad[0]])}")
        raise GenzooError(f"Inception weights {str(p)!r} do not match the FID Inception-v3 ({what}; "
                          f"{len(missing)} missing, {len(unexpected)} unexpected, {len(bad)} misshapen tensors)")
    net.load_state_dict(state, strict=False)
    net.requires_grad_(False)
    return net.eval().to(device)


def inception_features(images: Tensor, net: FIDInceptionV3 | None = None, batch: int = 50) -> Tensor:
    """Pool3 features (N, 2048) of (N, C, H, W) images in [0, 1] (C = 1 or 3)."""
    if net is None:
        net = load_inception()
    if not isinstance(images, Tensor) or images.ndim != 4 or images.shape[1] not in (1, 3):
        raise GenzooError(f"images must have shape (N, 1 or 3, H, W), got {tuple(getattr(images, 'shape', ()))}")
    if images.shape[0] == 0 or not torch.isfinite(images).all():
        raise GenzooError("images must be a non-empty tensor of finite values")
    device = next(net.parameters()).device
    with torch.inference_mode():
        return torch.cat([net(images[i : i + batch].float().to(device)).cpu() for i in range(0, images.shape[0], batch)])
