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

Cells: ``timing`` (every variant), and with ``fid_steps=N`` one run per seed (``fid_seeds``) and
precision: genzoo's DCGAN trained N steps and its FID (500 vs 500 images, genzoo's MNIST features):
the seed-to-seed spread at one precision is the yardstick for the difference between precisions.

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
from typing import Any, Callable

import torch
import torch.nn.functional as F

from genzoo import hardware
from genzoo.bench import experiment, write_results
from genzoo.bench.engine import Cell, CellContext, Experiment, Option, Options, slug, train
from genzoo.errors import GenzooError
from genzoo.train.trainer import autocast

#: trainer precision → the tag of its variants.
PRECISION_TAGS = {"32": "fp32", "bf16-mixed": "bf16", "16-mixed": "fp16"}


def matmul_peak_gflops(n: int = 2048, repeats: int = 10, device: str = "cpu", dtype: torch.dtype = torch.float32) -> float:
    """Best observed GFLOP/s of an n×n by n×n matmul (2n³ flops) on this device."""
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
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

    with (counter := FlopCounterMode(display=False)):
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
            valid, fake = torch.ones(real.shape[0], 1, device=device), torch.zeros(real.shape[0], 1, device=device)
            self.opt_g.zero_grad()
            z = torch.randn(real.shape[0], self.z_dim, device=device)
            gen_imgs = self.G(z)
            F.binary_cross_entropy_with_logits(self.D(gen_imgs), valid).backward()
            self.opt_g.step()
            self.opt_d.zero_grad()
            real_loss = F.binary_cross_entropy_with_logits(self.D(real), valid)
            fake_loss = F.binary_cross_entropy_with_logits(self.D(gen_imgs.detach()), fake)
            ((real_loss + fake_loss) / 2).backward()
            self.opt_d.step()


def _genzoo_step(dataset, device: str, precision: str, reuse: bool, channels_last: bool):
    from genzoo.config import build
    from genzoo.models import MODELS, DataSpec

    cls = MODELS.get("dcgan")
    torch.manual_seed(0)
    model = cls(build(cls.Config, {"reuse_fakes": reuse}), DataSpec.of(dataset)).to(device)
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
        G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    return PlainLoop(G, D, 100, precision).step


def _precisions(o: Options) -> tuple[str, list[str]]:
    """The device and the trainer precisions timed, checked (one-line errors before anything runs)."""
    device = ("cuda" if torch.cuda.is_available() else "cpu") if o.device == "auto" else o.device
    precisions = list(o.precisions or ("32", "bf16-mixed"))
    if not o.precisions and not hardware.bf16_native(device):
        # By default bf16 is timed only where it is native: emulated bf16 only measures the emulation, at
        # many times float32's time (the bf16 matmul peak alone took 10 minutes on an AVX2-only CPU).
        precisions.remove("bf16-mixed")
    if "16-mixed" in precisions and not str(device).startswith("cuda"):
        raise GenzooError(f"invalid value precisions=16-mixed: fp16 autocast needs a CUDA device (this run is on {device}); use bf16-mixed")
    return device, precisions


@experiment
class DCGANThroughput(Experiment):
    """DCGAN images/s at fp32 and bf16-mixed beside a plain PyTorch-GAN-style loop of the same networks."""

    name = "dcgan-throughput"
    options = {"device": Option("auto", meaning="auto: cuda where available"), "threads": Option(1, meaning="0: leave"),
               "batch_size": Option(64), "steps": Option(20, 4, "steps per round and variant"), "rounds": Option(5, 2),
               "variants": Option((), meaning="only variants whose name contains one of these"),
               "precisions": Option((), meaning="trainer precisions; empty: 32 and bf16-mixed where bf16 is native",
                                    choices=tuple(PRECISION_TAGS)),
               "fid_steps": Option(0, meaning="also train genzoo's DCGAN this long per precision and report FID"),
               "fid_seeds": Option((0,), meaning="seeds of the FID runs"), "data": Option("mnist")}

    def check(self, o: Options, quick: bool) -> None:
        _precisions(o)

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        _, precisions = _precisions(o)
        fid = [Cell(slug("fid", p, f"seed{s}"), {"precision": p}, seed=s, priority=1, cost=o.fid_steps / 10)
               for s in (o.fid_seeds if o.fid_steps else ()) for p in precisions]
        return [Cell("timing", {}, cost=o.rounds * o.steps), *fid]

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict[str, Any]:
        from genzoo import run

        device, precisions = _precisions(o)
        if cell.params:  # train genzoo's DCGAN on MNIST for fid_steps at one precision; FID on 500 vs 500
            sets = [f"steps={o.fid_steps}", f"seed={cell.seed}", f"batch_size={o.batch_size}", f"precision={cell.params['precision']}",
                    f"device={device}", "sample_every=0", "progress=false", f"log_every={min(100, o.fid_steps)}",
                    f"checkpoint_every={o.fid_steps}"]
            t = time.perf_counter()
            _, metrics = train(ctx, run.resolve("dcgan", "mnist", sets=sets))
            return {"fid": metrics.get("fid", float("nan")), "kid": metrics.get("kid", float("nan")), "seconds": time.perf_counter() - t}
        if not o.precisions and "bf16-mixed" not in precisions:
            print(f"bf16 is emulated on {device} here (genzoo doctor): timing fp32 only; --set precisions=32,bf16-mixed to time it anyway")
        return _timing(o, device, precisions)

    def report(self, records: list[dict[str, Any]], o: Options, out: Path, quick: bool) -> None:
        timing = next((r["metrics"] for r in records if r["id"] == "timing"), None)
        if timing is None:  # the table needs the timing cell
            return
        rates, flops = timing["rates_per_s"], timing["gflop_per_step"]
        base = statistics.median(rates["plain fp32"]) if "plain fp32" in rates else None
        rows = [{"variant": name, "images_per_s": (ips := statistics.median(r)), "ms_per_step": 1e3 * o.batch_size / ips,
                 "gflop_per_step": flops[name], "achieved_gflops": flops[name] * ips / o.batch_size,
                 "ratio_to_plain_fp32": ips / base if base else float("nan"), "spread": (max(r) - min(r)) / ips}
                for name, r in rates.items()]
        meta = {**{k: timing[k] for k in ("device", "threads")}, "torch": records[0]["versions"]["torch"], "batch_size": o.batch_size,
                "precisions": timing["precisions"], "steps_per_round": o.steps, "rounds": o.rounds,
                "matmul_peak_gflops_fp32": timing["matmul_peak_per_s"][0], "matmul_peak_gflops_bf16": timing["matmul_peak_per_s"][1],
                "data": timing["data"]}
        if o.fid_steps:
            meta["fid"] = {s: {r["params"]["precision"]: {**r["metrics"], "run": str(out / "runs" / r["id"])}
                               for r in records if r["params"] and r["seed"] == s} for s in o.fid_seeds}
        write_results(out, "throughput", rows, **meta)
        (out / "throughput_meta.json").write_text(json.dumps(meta, indent=2) + "\n")


def _timing(o: Options, device: str, precisions: list[str]) -> dict[str, Any]:
    """Every variant round-robin in this process (a busy machine slows them alike); medians over rounds."""
    from genzoo import data

    if o.threads > 0:
        torch.set_num_threads(o.threads)
    dataset = data.load(o.data)
    if dataset.kind != "images":
        raise GenzooError(f"dcgan-throughput needs images, got {dataset.kind} data {dataset.name!r}")
    bs, steps = o.batch_size, o.steps
    x_all = dataset.x[: max(bs * (steps + 3), bs * 8)].to(device)
    variants: dict[str, Callable] = {}
    for precision in precisions:
        tag = PRECISION_TAGS[precision]
        variants[f"plain {tag}"] = _plain_step(dataset, device, precision, False)
        for name, reuse, cl in (("genzoo-alg1", False, False), ("genzoo", True, False), ("genzoo+cl", True, True)):
            variants[f"{name} {tag}"] = _genzoo_step(dataset, device, precision, reuse, cl)
    variants = {k: v for k, v in variants.items() if not o.variants or any(w in k for w in o.variants)}

    def batch(i: int, channels_last: bool) -> torch.Tensor:
        start = (i * bs) % (x_all.shape[0] - bs + 1)
        x = x_all[start : start + bs]
        return x.contiguous(memory_format=torch.channels_last) if channels_last else x

    peak32 = matmul_peak_gflops(device=device)
    # the bf16 peak only where bf16 is timed: emulated, a 2048² bf16 matmul takes minutes
    peak16 = matmul_peak_gflops(device=device, dtype=torch.bfloat16) if "bf16-mixed" in precisions else None
    flops = {name: step_flops(fn, batch(0, "+cl" in name)) for name, fn in variants.items()}
    for name, fn in variants.items():  # warm-up (oneDNN picks its kernels on the first calls)
        for i in range(3):
            fn(batch(i, "+cl" in name))
    rates: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(o.rounds):
        for name, fn in variants.items():
            _sync(device)
            t = time.perf_counter()
            for i in range(steps):
                fn(batch(i, "+cl" in name))
            _sync(device)
            rates[name].append(bs * steps / (time.perf_counter() - t))
    return {"device": device, "threads": torch.get_num_threads(), "precisions": precisions, "data": dataset.name,
            "gflop_per_step": {name: f / 1e9 for name, f in flops.items()}, "rates_per_s": rates,
            "matmul_peak_per_s": [peak32, peak16]}  # GFLOP/s at fp32 and bf16
