"""DCGAN training throughput: genzoo's step against a plain PyTorch loop of the same networks.

The plain loop is written the way the popular PyTorch-GAN ``dcgan.py`` writes it: one batch of
fakes per iteration, used first for G's update (through D, computing D's weight gradients too)
and then, detached, for D's update; PyTorch's default (per-tensor) Adam. Both sides get the very
same DCGAN networks (``genzoo.nn.DCGANGenerator``/``DCGANDiscriminator``, MNIST 28×28, z ∈ R^100,
width 64), the same batches and the same threads, and are timed side by side in one process,
round-robin, so a busy machine slows them alike; each figure is the median over rounds.

Variants (``images/s`` and the ratio to the plain fp32 loop):

* ``plain`` at fp32 and bf16-mixed (the same loop inside ``torch.autocast``);
* ``genzoo`` — ``model.step`` of the registered ``dcgan`` inside the trainer's precision context,
  with one batch of fakes for both players where the model offers it (``reuse_fakes``) and
  Goodfellow et al.'s Algorithm 1 (a fresh batch for G's update) as ``genzoo-alg1``;
* ``+cl`` — channels-last memory format for weights and images.

With ``fid_steps=N`` it also trains genzoo's DCGAN for N steps at fp32 and at bf16-mixed
(same seed; ``fid_seeds=0,1`` for several) and reports the FID of each (500 vs 500 images,
genzoo's MNIST features): the seed-to-seed spread at one precision is the yardstick for the
difference between precisions.

``precisions`` (default ``32,bf16-mixed``, without ``bf16-mixed`` where :func:`genzoo.hardware.bf16_native`
says the device only emulates it) lists the trainer precisions timed (and trained with
``fid_steps``); ``16-mixed`` (fp16 autocast, CUDA only; variants tagged ``fp16``) can be added.
The fp16 variants time autocast alone: no loss scaling, as genzoo's trainer does it.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from genzoo import hardware
from genzoo.bench import benchmark, write_results
from genzoo.errors import GenzooError
from genzoo.train.trainer import autocast

#: trainer precision → the tag of its variants.
PRECISION_TAGS = {"32": "fp32", "bf16-mixed": "bf16", "16-mixed": "fp16"}


def matmul_peak_gflops(n: int = 2048, repeats: int = 10, device: str = "cpu", dtype: torch.dtype = torch.float32) -> float:
    """Best observed GFLOP/s of an n×n by n×n matmul (2n³ flops) on this device."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
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


def step_flops(step: Callable[[torch.Tensor], object], batch: torch.Tensor) -> int:
    """Floating-point operations of one ``step(batch)`` (forward + backward, all phases)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        step(batch)
    return counter.get_total_flops()


class PlainLoop:
    """PyTorch-GAN's dcgan.py training iteration on genzoo's networks (logits + BCE-with-logits)."""

    def __init__(self, G: torch.nn.Module, D: torch.nn.Module, z_dim: int, precision: str) -> None:
        self.G, self.D, self.z_dim, self.precision = G, D, z_dim, precision
        self.opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def step(self, real: torch.Tensor) -> None:
        device = real.device
        with autocast(device, self.precision):
            valid = torch.ones(real.shape[0], 1, device=device)
            fake = torch.zeros(real.shape[0], 1, device=device)
            self.opt_g.zero_grad()
            z = torch.randn(real.shape[0], self.z_dim, device=device)
            gen_imgs = self.G(z)
            g_loss = F.binary_cross_entropy_with_logits(self.D(gen_imgs), valid)
            g_loss.backward()
            self.opt_g.step()
            self.opt_d.zero_grad()
            real_loss = F.binary_cross_entropy_with_logits(self.D(real), valid)
            fake_loss = F.binary_cross_entropy_with_logits(self.D(gen_imgs.detach()), fake)
            d_loss = (real_loss + fake_loss) / 2
            d_loss.backward()
            self.opt_d.step()


def _genzoo_step(dataset, device: str, precision: str, reuse: bool | None, channels_last: bool, options: dict):
    from genzoo.config import build
    from genzoo.models import MODELS, DataSpec

    cls = MODELS.get("dcgan")
    values = dict(options)
    if reuse is not None:
        if "reuse_fakes" not in cls.Config.__dataclass_fields__:
            return None  # this genzoo has no shared-fakes option yet
        values["reuse_fakes"] = reuse
    torch.manual_seed(0)
    model = cls(build(cls.Config, values), DataSpec.of(dataset)).to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)

    def step(x: torch.Tensor) -> None:
        with autocast(device, precision):
            model.step(x)

    return step


def _plain_step(dataset, device: str, precision: str, channels_last: bool):
    from genzoo.nn import DCGANDiscriminator, DCGANGenerator

    torch.manual_seed(0)
    c, h, _ = dataset.x.shape[1:]
    G, D = DCGANGenerator(100, c, h, 64).to(device), DCGANDiscriminator(c, h, 64).to(device)
    if channels_last:
        G.to(memory_format=torch.channels_last)
        D.to(memory_format=torch.channels_last)
    return PlainLoop(G, D, 100, precision).step


@benchmark("dcgan-throughput")
def dcgan_throughput(out: Path, quick: bool = False, jobs: int = 1, options: dict | None = None) -> Path:
    """DCGAN images/s at fp32 and bf16-mixed beside a plain PyTorch-GAN-style loop of the same networks."""
    from genzoo import data

    options = dict(options or {})
    device = options.pop("device", "cuda" if torch.cuda.is_available() else "cpu")
    threads = int(options.pop("threads", 1))
    bs = int(options.pop("batch_size", 64))
    steps = int(options.pop("steps", 4 if quick else 20))
    rounds = int(options.pop("rounds", 2 if quick else 5))
    fid_steps = int(options.pop("fid_steps", 0))
    fid_seeds = [int(v) for v in options.pop("fid_seeds", "0").split(",")]
    only = options.pop("variants", "")
    requested = options.pop("precisions", None)
    precisions = [v.strip() for v in (requested or "32,bf16-mixed").split(",") if v.strip()]
    if requested is None and not hardware.bf16_native(device):
        # By default bf16 is timed only where it is native: emulated bf16 only measures the emulation, at
        # many times float32's time (the bf16 matmul peak alone took 10 minutes on an AVX2-only CPU).
        precisions = [p for p in precisions if p != "bf16-mixed"]
        print(f"bf16 is emulated on {device} here (genzoo doctor): timing fp32 only; --set precisions=32,bf16-mixed to time it anyway")
    bad = [v for v in precisions if v not in PRECISION_TAGS]
    if bad or not precisions:
        raise GenzooError(f"invalid value precisions={','.join(precisions)!r}: valid: {', '.join(PRECISION_TAGS)}")
    if "16-mixed" in precisions and not str(device).startswith("cuda"):
        raise GenzooError(f"invalid value precisions=16-mixed: fp16 autocast needs a CUDA device (this run is on {device}); use bf16-mixed")
    if threads > 0:
        torch.set_num_threads(threads)
    dataset = data.load(options.pop("data", "mnist"))
    if dataset.kind != "images":
        raise GenzooError(f"dcgan-throughput needs images, got {dataset.kind} data {dataset.name!r}")
    x_all = dataset.x[: max(bs * (steps + 3), bs * 8)].to(device)

    variants: dict[str, Callable] = {}
    for precision in precisions:
        tag = PRECISION_TAGS[precision]
        variants[f"plain {tag}"] = _plain_step(dataset, device, precision, False)
        variants[f"genzoo-alg1 {tag}"] = _genzoo_step(dataset, device, precision, False, False, options)
        variants[f"genzoo {tag}"] = _genzoo_step(dataset, device, precision, True, False, options)
        variants[f"genzoo+cl {tag}"] = _genzoo_step(dataset, device, precision, True, True, options)
    variants = {k: v for k, v in variants.items() if v is not None and (not only or any(o in k for o in only.split(",")))}

    def batch(i: int, channels_last: bool) -> torch.Tensor:
        start = (i * bs) % (x_all.shape[0] - bs + 1)
        x = x_all[start : start + bs]
        return x.contiguous(memory_format=torch.channels_last) if channels_last else x

    peak32 = matmul_peak_gflops(device=device)
    # the bf16 peak only where bf16 is timed: emulated, a 2048² bf16 matmul takes minutes
    peak16 = matmul_peak_gflops(device=device, dtype=torch.bfloat16) if "bf16-mixed" in precisions else None
    print(f"device {device}, {torch.get_num_threads()} threads, batch {bs}: matmul peak {peak32:.0f} GFLOP/s fp32"
          + (f", {peak16:.0f} GFLOP/s bf16" if "bf16-mixed" in precisions else ""))
    flops = {name: step_flops(fn, batch(0, "+cl" in name)) for name, fn in variants.items()}
    for name, fn in variants.items():  # warm-up (oneDNN picks its kernels on the first calls)
        for i in range(3):
            fn(batch(i, "+cl" in name))
    rates: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(rounds):
        for name, fn in variants.items():
            _sync(device)
            t = time.perf_counter()
            for i in range(steps):
                fn(batch(i, "+cl" in name))
            _sync(device)
            rates[name].append(bs * steps / (time.perf_counter() - t))
    base = statistics.median(rates["plain fp32"]) if "plain fp32" in rates else None
    rows = []
    for name in variants:
        ips = statistics.median(rates[name])
        row = {"variant": name, "images_per_s": ips, "ms_per_step": 1e3 * bs / ips,
               "gflop_per_step": flops[name] / 1e9, "achieved_gflops": flops[name] * ips / bs / 1e9,
               "ratio_to_plain_fp32": ips / base if base else float("nan"),
               "spread": (max(rates[name]) - min(rates[name])) / ips}
        rows.append(row)
        print(f"{name:<18} {ips:8.1f} images/s  {row['ms_per_step']:6.1f} ms/step  "
              f"{row['gflop_per_step']:.2f} GFLOP/step  ×{row['ratio_to_plain_fp32']:.2f} vs plain fp32  "
              f"(±{50 * row['spread']:.0f} % over {rounds} rounds)")
    meta = {"device": device, "threads": torch.get_num_threads(), "torch": torch.__version__, "batch_size": bs,
            "precisions": precisions,
            "steps_per_round": steps, "rounds": rounds, "matmul_peak_gflops_fp32": peak32,
            "matmul_peak_gflops_bf16": peak16, "data": dataset.name}
    if fid_steps:
        meta["fid"] = {seed: _fid_after(fid_steps, bs, device, out, seed, precisions) for seed in fid_seeds}
    write_results(out, "throughput", rows, **meta)
    (out / "throughput_meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out


def _fid_after(steps: int, batch_size: int, device: str, out: Path, seed: int = 0,
               precisions: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Train genzoo's DCGAN on MNIST for ``steps`` at each precision (same seed); FID on 500 vs 500."""
    from genzoo import run

    result = {}
    for precision in precisions or ["32", "bf16-mixed"]:
        sets = [f"steps={steps}", f"seed={seed}", f"batch_size={batch_size}", f"precision={precision}", f"device={device}",
                "sample_every=0", "progress=false", f"log_every={min(100, steps)}", f"checkpoint_every={steps}"]
        t = time.perf_counter()
        run_dir, metrics = run.train(run.resolve("dcgan", "mnist", sets=sets), out / "runs")
        seconds = time.perf_counter() - t
        result[precision] = {"fid": metrics.get("fid", float("nan")), "kid": metrics.get("kid", float("nan")),
                             "seconds": seconds, "run": str(run_dir)}
        print(f"FID after {steps} steps at precision {precision}, seed {seed}: {result[precision]['fid']:.2f} "
              f"(KID {result[precision]['kid']:.4f}; {seconds:.0f} s including evaluation)")
    return result
