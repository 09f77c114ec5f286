"""genzoo's own feature network: a small MNIST classifier whose penultimate layer embeds images.

genzoo runs offline and downloads no Inception weights, so the image metrics (FID, KID,
precision/recall, density/coverage, the classifier score, Stacked-MNIST modes) use a classifier
that genzoo trains itself on MNIST and ships in the package
(``genzoo/metrics/weights/mnist_classifier.safetensors``, ~0.4 MB, loaded with safetensors —
never pickle). The role it plays is that of Inception-v3's pool3 layer in Heusel et al. (2017):

    image x (1, 28, 28) in [0, 1]
      → (x − 0.1307) / 0.3081
      → [Conv 3×3 (16) → BN → ReLU → MaxPool 2]        28 → 14
      → [Conv 3×3 (32) → BN → ReLU → MaxPool 2]        14 → 7
      → [Conv 3×3 (64) → BN → ReLU → MaxPool 2]         7 → 3
      → flatten (576) → Linear → ReLU = φ(x) ∈ R^128     ← the embedding ("features")
      → Dropout(0.3) → Linear → logits ∈ R^10            ← p(y|x) = softmax(logits)

An image with C channels (Stacked-MNIST: C = 3) is embedded channel by channel and the C
embeddings are concatenated (R^{128·C}); each channel is classified on its own.

Reproduce the shipped weights (CPU, 2 threads, a few minutes)::

    python -m genzoo.metrics.features --train --seed 0 --epochs 6 --threads 2

Training: the 60 000 MNIST training + validation images (``load("mnist", with_valid=True)``),
Adam (lr 1e-3, cosine decay to 0), batch 128, 6 epochs, random shifts of up to ±2 px (pure
integer translations with zero fill), cross-entropy. The 10 000 test images are never used for
training or model selection; their accuracy is recorded in the file's metadata and asserted by
the tests (≥ 99 %).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import math
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genzoo.errors import GenzooError
from genzoo.optim import descend

__all__ = [
    "FEATURE_DIM",
    "IMAGE_SIZE",
    "WEIGHTS_PATH",
    "WEIGHTS_SHA256",
    "FeatureNet",
    "load_classifier",
    "channel_features",
    "probabilities",
    "embed",
    "classify",
    "check_images",
    "train_classifier",
    "mnist_test_accuracy",
]

#: Dimension of the embedding φ(x) of one channel.
FEATURE_DIM: int = 128
#: The classifier's input size (MNIST).
IMAGE_SIZE: int = 28
#: The shipped weights.
WEIGHTS_PATH: Path = Path(__file__).parent / "weights" / "mnist_classifier.safetensors"
#: SHA-256 of the shipped weights (docs/metrics.md records it with the command that reproduces them).
WEIGHTS_SHA256: str = "6e7cd4f56fd03a00b4eeb34f5fae9305678ccf174fca9d2b37656e20b3fb67ce"
#: Pixel normalisation (MNIST mean and std of x = pixel/255).
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
#: Images per forward pass at inference.
BATCH: int = 2000


class FeatureNet(nn.Module):
    """The MNIST classifier; ``features(x)`` is the 128-d penultimate layer, ``forward(x)`` the logits."""

    def __init__(self, widths: tuple[int, int, int] = (16, 32, 64), feature_dim: int = FEATURE_DIM, dropout: float = 0.3) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 1
        for c in widths:
            layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            c_in = c
        self.conv = nn.Sequential(*layers)
        self.fc = nn.Linear(widths[-1] * 3 * 3, feature_dim)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(feature_dim, 10)

    def features(self, x: Tensor) -> Tensor:
        """φ(x): (N, 1, 28, 28) in [0, 1] → (N, 128), ReLU outputs of the penultimate layer."""
        h = self.conv((x - MNIST_MEAN) / MNIST_STD)
        return F.relu(self.fc(h.flatten(1)))

    def forward(self, x: Tensor) -> Tensor:
        """Logits of p(y|x), (N, 10)."""
        return self.head(self.dropout(self.features(x)))


def check_images(images: Tensor, name: str = "images") -> Tensor:
    """Validate MNIST-family images: (N, C, 28, 28) (or (N, 28, 28), (N, 784)) finite, in [0, 1] → float32 (N, C, 28, 28)."""
    if not isinstance(images, Tensor):
        raise GenzooError(f"{name} must be a tensor, got {type(images).__name__}")
    x = images.detach()
    if x.ndim == 2 and x.shape[1] == IMAGE_SIZE * IMAGE_SIZE:
        x = x.reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE)
    elif x.ndim == 3:
        x = x.unsqueeze(1)
    if x.ndim != 4 or tuple(x.shape[2:]) != (IMAGE_SIZE, IMAGE_SIZE):
        raise GenzooError(f"{name} must have shape (N, C, 28, 28) (MNIST-family images), got {tuple(images.shape)}")
    if x.shape[0] == 0:
        raise GenzooError(f"{name} is empty: shape {tuple(images.shape)}")
    x = x.float()
    if not torch.isfinite(x).all():
        raise GenzooError(f"{name} contain non-finite values ({int((~torch.isfinite(x)).sum())} entries)")
    lo, hi = float(x.min()), float(x.max())
    if lo < -1e-3 or hi > 1 + 1e-3:
        raise GenzooError(f"{name} must have values in [0, 1] (genzoo's image range), got [{lo:.3g}, {hi:.3g}]")
    return x


@functools.lru_cache(maxsize=4)
def _load(path: str, device: str) -> FeatureNet:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    p = Path(path)
    if not p.is_file():
        raise GenzooError(f"feature network weights not found: {path!r}; rebuild them with `python -m genzoo.metrics.features --train`")
    try:
        state = load_file(str(p), device="cpu")
    except (SafetensorError, OSError, ValueError) as e:
        raise GenzooError(f"cannot read feature network weights {path!r}: {e}") from None
    net = FeatureNet()
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise GenzooError(f"feature network weights {path!r} do not match the architecture: {str(e).splitlines()[0]}") from None
    net.requires_grad_(False)
    # channels_last runs these small convolutions about twice as fast on CPU (equal up to rounding).
    return net.eval().to(device=device, memory_format=torch.channels_last)


def load_classifier(path: str | os.PathLike | None = None, device: str | torch.device = "cpu") -> FeatureNet:
    """The shipped classifier (or the one at ``path``) in eval mode, memoised per (path, device)."""
    return _load(str(Path(path or WEIGHTS_PATH).resolve()), str(torch.device(device)))


def channel_features(images: Tensor, net: FeatureNet | None = None, batch: int = BATCH) -> Tensor:
    """φ of every channel of every image: (N, C, 28, 28) in [0, 1] → (N, C, 128), in batches."""
    net = net or load_classifier()
    x = check_images(images)
    n, c = x.shape[:2]
    device = next(net.parameters()).device
    flat = x.reshape(n * c, 1, IMAGE_SIZE, IMAGE_SIZE)
    from genzoo.progress import bar

    with torch.inference_mode():
        out = torch.cat([
            net.features(flat[i : i + batch].to(device).contiguous(memory_format=torch.channels_last)).float().cpu()
            for i in bar(range(0, n * c, batch), desc="image features", unit="batch")
        ])
    return out.reshape(n, c, -1)


def probabilities(features: Tensor, net: FeatureNet | None = None) -> Tensor:
    """p(y|x) = softmax(head(φ(x))) from features (..., 128) → (..., 10)."""
    net = net or load_classifier()
    with torch.inference_mode():
        return net.head(features.to(next(net.parameters()).device)).softmax(-1).float().cpu()


def embed(images: Tensor, net: FeatureNet | None = None, batch: int = BATCH) -> Tensor:
    """Features φ(x) of (N, C, 28, 28) images in [0, 1] → (N, 128·C), channels' embeddings concatenated."""
    return channel_features(images, net, batch).flatten(1)


def classify(images: Tensor, net: FeatureNet | None = None, batch: int = BATCH) -> Tensor:
    """Class probabilities p(y|x) of every channel: (N, C, 28, 28) → (N, C, 10)."""
    net = net or load_classifier()
    return probabilities(channel_features(images, net, batch), net)


def mnist_test_accuracy(net: FeatureNet | None = None) -> float:
    """Accuracy of the classifier on the 10 000 MNIST test images."""
    from genzoo import data

    ds = data.load("mnist")
    pred = classify(ds.test_x, net)[:, 0].argmax(-1)
    return float((pred == ds.test_y).double().mean())


# ----------------------------------------------------------------------------- training


def random_shift(x: Tensor, max_shift: int, generator: torch.Generator) -> Tensor:
    """Translate each image by an independent integer shift in [−max_shift, max_shift]² (zero fill)."""
    n, _, h, w = x.shape
    s = max_shift
    padded = F.pad(x, (s, s, s, s))
    dy = torch.randint(0, 2 * s + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * s + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None].expand(n, 1, h, w + 2 * s)
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :].expand(n, 1, h, w)
    return padded.gather(2, rows).gather(3, cols)


def train_classifier(seed: int = 0, epochs: int = 6, batch_size: int = 128, lr: float = 1e-3, max_shift: int = 2, log: bool = True) -> FeatureNet:
    """Train :class:`FeatureNet` on the 60k MNIST training+validation images (see the module docstring)."""
    from genzoo import data

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    ds = data.load("mnist", with_valid=True)
    x, y = ds.x, ds.y
    net = FeatureNet()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    steps_per_epoch = math.ceil(len(x) / batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(len(x), generator=g)
        t0, total = time.perf_counter(), 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * batch_size : (i + 1) * batch_size]
            xb = random_shift(x[idx], max_shift, g) if max_shift else x[idx]
            loss = F.cross_entropy(net(xb), y[idx])
            descend(opt, loss)
            sched.step()
            total += loss.item()
        if log:
            acc = mnist_test_accuracy(net.eval())
            print(f"epoch {epoch + 1}/{epochs}: train loss {total / steps_per_epoch:.4f}, "
                  f"test accuracy {acc:.4%} ({time.perf_counter() - t0:.0f} s)", flush=True)
    return net.eval()


def save_classifier(net: FeatureNet, path: str | os.PathLike, metadata: dict[str, str]) -> str:
    """Write the weights as safetensors with ``metadata``; returns the file's SHA-256."""
    from safetensors.torch import save_file

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(p), metadata=metadata)
    return hashlib.sha256(p.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genzoo.metrics.features", description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true", help="train the classifier and write its weights")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(WEIGHTS_PATH), help="weights file (default: the shipped one)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.train:
        t0 = time.perf_counter()
        net = train_classifier(seed=args.seed, epochs=args.epochs)
        acc = mnist_test_accuracy(net)
        meta = {"seed": str(args.seed), "epochs": str(args.epochs), "test_accuracy": f"{acc:.4f}",
                "command": f"python -m genzoo.metrics.features --train --seed {args.seed} --epochs {args.epochs} --threads {args.threads}",
                "torch": torch.__version__}
        digest = save_classifier(net, args.out, meta)
        print(f"wrote {args.out} (sha256 {digest}); test accuracy {acc:.4%}; {time.perf_counter() - t0:.0f} s")
    else:
        net = load_classifier(args.out)
        path = Path(args.out)
        print(f"{path} (sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}): test accuracy {mnist_test_accuracy(net):.4%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
