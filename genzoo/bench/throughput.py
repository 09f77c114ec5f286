"""Training throughput of DCGAN on MNIST and the share of the machine's fp32 matmul peak it reaches."""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from genzoo.bench import benchmark


def matmul_peak_gflops(n: int = 2048, repeats: int = 10, device: str = "cpu") -> float:
    """Best observed fp32 GFLOP/s of an n×n by n×n matmul (2n³ flops) on this device."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    for _ in range(2):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        _sync(device)
        t = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def _sync(device: str) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def step_flops(model, batch) -> int:
    """Floating-point operations of one ``model.step(batch)`` (forward + backward, all phases)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        model.step(batch)
    return counter.get_total_flops()


@benchmark("dcgan-throughput")
def dcgan_throughput(out: Path, quick: bool = False, jobs: int = 1, options: dict | None = None) -> Path:
    """DCGAN training throughput on MNIST (images/s at batch 64 and 128) and share of fp32 matmul peak."""
    from genzoo import data
    from genzoo.config import build
    from genzoo.models import MODELS, DataSpec

    options = dict(options or {})
    device = options.pop("device", "cuda" if torch.cuda.is_available() else "cpu")
    batch_sizes = [int(b) for b in options.pop("batch_sizes", "64,128").split(",")]
    steps = int(options.pop("steps", 5 if quick else 30))
    dataset_name = options.pop("data", "mnist")
    dataset = data.load(dataset_name)
    peak = matmul_peak_gflops(device=device)
    print(f"device {device}, {torch.get_num_threads()} threads: fp32 matmul peak {peak:.1f} GFLOP/s")
    rows = []
    for bs in batch_sizes:
        torch.manual_seed(0)
        cls = MODELS.get("gan")
        model = cls(build(cls.Config, options), DataSpec.of(dataset)).to(device)
        x = dataset.x[: bs].to(device)
        flops = step_flops(model, x)
        for _ in range(3):  # warm-up
            model.step(x)
        _sync(device)
        t = time.perf_counter()
        for i in range(steps):
            model.step(dataset.x[(i * bs) % (len(dataset.x) - bs):][:bs].to(device))
        _sync(device)
        seconds = (time.perf_counter() - t) / steps
        row = {
            "batch_size": bs,
            "images_per_s": bs / seconds,
            "ms_per_step": 1e3 * seconds,
            "gflop_per_step": flops / 1e9,
            "achieved_gflops": flops / seconds / 1e9,
            "fraction_of_matmul_peak": flops / seconds / 1e9 / peak,
        }
        rows.append(row)
        print(f"batch {bs:4d}: {row['images_per_s']:8.1f} images/s, {row['ms_per_step']:.1f} ms/step, "
              f"{row['gflop_per_step']:.2f} GFLOP/step, {row['achieved_gflops']:.1f} GFLOP/s = "
              f"{100 * row['fraction_of_matmul_peak']:.1f}% of peak")
    result = {"device": device, "threads": torch.get_num_threads(), "torch": torch.__version__,
              "matmul_peak_gflops": peak, "data": dataset_name, "rows": rows}
    (out / "throughput.json").write_text(json.dumps(result, indent=2) + "\n")
    return out
