"""Training throughput per model family: genzoo's step beside a plain PyTorch loop or the peer library.

For each family the two sides train the same networks on the same batches with the same
optimiser (Adam's hyper-parameters or the RBM's rule), in one process, one thread (torch's and
the BLAS's, through threadpoolctl), interleaved round-robin so a busy machine slows both alike;
each figure is the median over rounds and the ratio is peer time / genzoo time (> 1: genzoo is
faster).

* ``vae`` — genzoo's VAE (MNIST, its default conv nets) vs a hand-written loop of the same encoder
  and decoder: reparameterised draw, Bernoulli log-likelihood by BCE-with-logits, closed-form KL,
  ``torch.optim.Adam`` with the same lr and betas.
* ``rbm`` — genzoo's RBM set to scikit-learn's rule (PCD-1, 500 hidden units, sampled negative
  visible units, η = 0.1, no momentum or weight decay, chains = batch) vs
  ``BernoulliRBM.partial_fit`` on the same batches. partial_fit converts every batch to float64
  (scikit-learn 1.x), so ``rbm-fp32`` also times, in float32, the per-minibatch update that
  ``BernoulliRBM.fit`` loops over (``_fit``; fit alone keeps float32 but re-initialises per call).
* ``gan2d`` — genzoo's GAN on ring8 (MLP players, Algorithm 1: a fresh batch of fakes for G) vs
  the same iteration written plainly (D on detached fakes, G through D with D's gradients too).
* ``dcgan`` — genzoo's DCGAN with one batch of fakes for both players vs PyTorch-GAN's
  ``dcgan.py`` loop (:class:`genzoo.bench.throughput.PlainLoop`), as in ``dcgan-throughput``.

bfloat16 is timed only where the CPU multiplies it natively
(:func:`genzoo.hardware.bf16_native`) and never in ``--quick``: on other CPUs it is
emulated and its timing says nothing about genzoo. One cell per family (``families``); ``data``
``random``: random data of MNIST's shape, no download; ``doc=PATH``: rewrite the table between
the markers in that Markdown file (e.g. docs/speed.md).
"""

from __future__ import annotations

import copy
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from genzoo import hardware
from genzoo.bench import experiment, write_results
from genzoo.bench.engine import Cell, CellContext, Experiment, Option, Options
from genzoo.errors import GenzooError

FAMILIES = ("vae", "rbm", "gan2d", "dcgan")
TARGETS = {"vae": 1.1, "rbm": 1.3, "rbm-fp32": 1.3, "gan2d": 1.0, "dcgan": 1.0}  # the speed issue's goals
DOC_BEGIN, DOC_END = "<!-- throughput:begin -->", "<!-- throughput:end -->"


@dataclass
class Pair:
    """One comparison: two callables that each run ``steps`` training steps on batch index i..i+steps."""

    family: str
    peer: str
    genzoo: Callable[[int, int], None]
    other: Callable[[int, int], None]
    batch_size: int
    repeat: int = 1  # steps per round = repeat × steps: cheap steps need more to be timed well


def _images(data: str, n: int, binary: bool) -> torch.Tensor:
    """n MNIST images (N, 1, 28, 28) in [0, 1] (binarised for the RBM), or random ones of that shape."""
    from genzoo import data as datasets

    if data == "random":
        g = torch.Generator().manual_seed(0)
        x = torch.rand(n, 1, 28, 28, generator=g)
        return torch.bernoulli(x * 0.3, generator=g) if binary else x
    return datasets.load("binarized_mnist" if binary else "mnist", n=n).x


def _batches(x: torch.Tensor, bs: int) -> Callable[[int], torch.Tensor]:
    n = x.shape[0] // bs
    return lambda i: x[(i % n) * bs:(i % n + 1) * bs]


def _model(name: str, spec, **values):
    from genzoo.config import build
    from genzoo.models import MODELS

    cls = MODELS.get(name)
    torch.manual_seed(0)
    model = cls(build(cls.Config, values), spec)
    model.will_log = False  # as in training between log lines: no monitors
    return model


def _loop(step: Callable[[torch.Tensor], object], batch: Callable[[int], torch.Tensor]) -> Callable[[int, int], None]:
    def run(start: int, steps: int) -> None:
        for i in range(start, start + steps):
            step(batch(i))
    return run


def vae_pair(data: str, small: bool, bs: int, n: int) -> Pair:
    from genzoo.distributions.heads import LOGVAR_RANGE
    from genzoo.models import DataSpec

    x = _images(data, n, binary=False)
    spec = DataSpec("images", (1, 28, 28))
    model = _model("vae", spec, **({"width": 4, "latent_dim": 4} if small else {}))
    enc, dec = copy.deepcopy(model.encoder), copy.deepcopy(model.decoder)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=model.config.lr,
                           betas=(model.config.beta1, model.config.beta2))

    def plain(xb: torch.Tensor) -> None:
        mu, logvar = enc(xb).chunk(2, dim=-1)
        logvar = logvar.clamp(*LOGVAR_RANGE)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        rec = F.binary_cross_entropy_with_logits(dec(z), xb, reduction="none").flatten(1).sum(1)
        kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1)
        loss = (rec + kl).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    batch = _batches(x, bs)
    return Pair("vae", "plain PyTorch loop", _loop(model.step, batch), _loop(plain, batch), bs)


def rbm_pairs(data: str, small: bool, bs: int, n: int) -> list[Pair]:
    from sklearn.neural_network import BernoulliRBM

    from genzoo.models import DataSpec

    x = _images(data, n, binary=True).reshape(n, -1)
    hidden = 16 if small else 500
    rule = dict(n_hidden=hidden, training="pcd", k=1, lr=0.1, momentum_initial=0.0, momentum_final=0.0,
                weight_decay=0.0, negative_visible="sample", n_chains=bs)  # scikit-learn's update
    model = _model("rbm", DataSpec("points", (x.shape[1],)), **rule)
    x_np = x.numpy()
    sk = BernoulliRBM(n_components=hidden, learning_rate=0.1, batch_size=bs, random_state=0)
    batch = _batches(x, bs)
    nb = x.shape[0] // bs

    def partial_fit(start: int, steps: int) -> None:
        for i in range(start, start + steps):
            sk.partial_fit(x_np[(i % nb) * bs:(i % nb + 1) * bs])

    # fit keeps float32 but re-initialises on every call, so time the per-minibatch update it loops
    # over (BernoulliRBM._fit) on an estimator that fit has initialised in float32
    sk32 = BernoulliRBM(n_components=hidden, learning_rate=0.1, batch_size=bs, n_iter=1, random_state=0).fit(x_np[:bs])
    rng = np.random.RandomState(0)

    def fit32(start: int, steps: int) -> None:
        for i in range(start, start + steps):
            sk32._fit(x_np[(i % nb) * bs:(i % nb + 1) * bs], rng)

    genzoo = _loop(model.step, batch)
    return [Pair("rbm", "scikit-learn BernoulliRBM.partial_fit (float64)", genzoo, partial_fit, bs, 10),
            Pair("rbm-fp32", "scikit-learn BernoulliRBM fit's update (float32)", genzoo, fit32, bs, 10)]


def gan2d_pair(small: bool, bs: int, n: int) -> Pair:
    from genzoo import data as datasets
    from genzoo.models import DataSpec

    ds = datasets.load("ring8", n=n, n_test=10)
    model = _model("gan", DataSpec.of(ds), **({"hidden": 16} if small else {}))
    G, D = copy.deepcopy(model.G), copy.deepcopy(model.D)
    c = model.config
    opt_g = torch.optim.Adam(G.parameters(), lr=c.lr_g, betas=(c.beta1, c.beta2))
    opt_d = torch.optim.Adam(D.parameters(), lr=c.lr_d, betas=(c.beta1, c.beta2))
    z_dim = int(c.z_dim)

    def plain(xb: torch.Tensor) -> None:  # Goodfellow et al.'s Algorithm 1 with k = 1, non-saturating G loss
        with torch.no_grad():
            fake = G(torch.randn(xb.shape[0], z_dim))
        d_real, d_fake = D(xb), D(fake)
        loss_d = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                  + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        d_gen = D(G(torch.randn(xb.shape[0], z_dim)))
        loss_g = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()

    batch = _batches(ds.x, bs)
    return Pair("gan2d", "plain PyTorch loop", _loop(model.step, batch), _loop(plain, batch), bs, 10)


def dcgan_pair(data: str, small: bool, bs: int, n: int, precision: str = "32") -> Pair:
    from genzoo.bench.throughput import PlainLoop
    from genzoo.models import DataSpec
    from genzoo.train.trainer import autocast

    x = _images(data, n, binary=False)
    width = 4 if small else 64
    model = _model("dcgan", DataSpec("images", (1, 28, 28)), reuse_fakes=True, width=width)
    G, D = copy.deepcopy(model.G), copy.deepcopy(model.D)
    plain = PlainLoop(G, D, int(model.config.z_dim), precision)

    def genzoo(xb: torch.Tensor) -> None:
        with autocast("cpu", precision):
            model.step(xb)

    batch = _batches(x, bs)
    tag = "" if precision == "32" else " bf16"
    return Pair(f"dcgan{tag}", f"plain PyTorch-GAN loop{tag}", _loop(genzoo, batch), _loop(plain.step, batch), bs)


def time_pairs(pairs: list[Pair], steps: int, rounds: int) -> dict[str, Any]:
    """Seconds per step of each side in every round, round-robin over pairs and sides (alternating which goes first)."""
    from threadpoolctl import threadpool_limits

    times = {p.family: {"genzoo": [], "peer": []} for p in pairs}
    with threadpool_limits(1):
        for p in pairs:  # warm-up: first calls pick kernels and allocate
            p.genzoo(0, 2)
            p.other(0, 2)
        for r in range(rounds):
            for p in pairs:
                sides = [("genzoo", p.genzoo), ("peer", p.other)]
                for side, fn in sides if r % 2 == 0 else sides[::-1]:
                    t = time.perf_counter()
                    fn(r * steps * p.repeat, steps * p.repeat)
                    times[p.family][side].append((time.perf_counter() - t) / (steps * p.repeat))
    return {"pairs": [{"family": p.family, "peer": p.peer, "batch_size": p.batch_size, "steps_per_round": steps * p.repeat}
                      for p in pairs], "genzoo_s": {f: t["genzoo"] for f, t in times.items()},
            "peer_s": {f: t["peer"] for f, t in times.items()}, "threads": torch.get_num_threads()}


def markdown_table(rows: list[dict], command: str, meta: dict) -> str:
    lines = [f"Command: `{command}` ({meta['threads']} thread, torch {meta['torch']}, scikit-learn "
             f"{meta['sklearn']}, {meta['cpu']}; median of {meta['rounds']} interleaved rounds of {meta['steps']} steps, ×10 for rbm and gan2d)",
             "", "| family | peer | batch | genzoo ms/step | peer ms/step | ratio (peer/genzoo) | target |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['family']} | {r['peer']} | {r['batch_size']} | {r['genzoo_ms_per_step']:.2f} | "
                     f"{r['peer_ms_per_step']:.2f} | **{r['ratio']:.2f}** | ≥ {r['target']:.1f} |")
    return "\n".join(lines)


def write_doc(path: Path, table: str) -> None:
    """Replace the text between the throughput markers of ``path`` with ``table``."""
    text = path.read_text()
    if DOC_BEGIN not in text or DOC_END not in text:
        raise GenzooError(f"{str(path)!r} has no {DOC_BEGIN} … {DOC_END} block to write the table into")
    head, rest = text.split(DOC_BEGIN, 1)
    path.write_text(f"{head}{DOC_BEGIN}\n{table}\n{DOC_END}{rest.split(DOC_END, 1)[1]}")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown CPU"


@experiment
class FamilyThroughput(Experiment):
    """Training throughput of the VAE, RBM, 2-D GAN and DCGAN beside a plain PyTorch loop / scikit-learn (ratios)."""

    name = "throughput"
    options = {"families": Option(FAMILIES, choices=FAMILIES), "small": Option(False, meaning="tiny networks and batches (tests)"),
               "steps": Option(0, 2, "steps per round (×10 for rbm, gan2d); 0: 20, or 2 with small"),
               "rounds": Option(7, 3), "data": Option("mnist", choices=("mnist", "random")), "threads": Option(1),
               "doc": Option("", meaning="a Markdown file whose throughput block gets the table")}

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        return [Cell(f, {"family": f}, priority=i) for i, f in enumerate(FAMILIES) if f in o.families]

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict[str, Any]:
        torch.set_num_threads(o.threads)
        small, steps, family = o.small, o.steps or (2 if o.small else 20), cell.params["family"]
        n = max(8, 2 * steps + 4) * (16 if small else 128)  # batches cycle: any n works
        bs = {"vae": 100, "rbm": 100, "gan2d": 128, "dcgan": 64}[family] if not small else 16
        pairs = {"vae": lambda: [vae_pair(o.data, small, bs, n)], "rbm": lambda: rbm_pairs(o.data, small, bs, n),
                 "gan2d": lambda: [gan2d_pair(small, bs, n)], "dcgan": lambda: [dcgan_pair(o.data, small, bs, n)]}[family]()
        if family == "dcgan" and not ctx.quick and hardware.bf16_native("cpu"):
            pairs.append(dcgan_pair(o.data, small, bs, n, "bf16-mixed"))
        return time_pairs(pairs, steps, o.rounds)

    def report(self, records: list[dict[str, Any]], o: Options, out: Path, quick: bool) -> None:
        import sklearn

        rows = []
        for m in (r["metrics"] for r in records):
            for p in m["pairs"]:
                g, other = statistics.median(m["genzoo_s"][p["family"]]), statistics.median(m["peer_s"][p["family"]])
                rows.append({"family": p["family"], "peer": p["peer"], "batch_size": p["batch_size"],
                             "genzoo_ms_per_step": 1e3 * g, "peer_ms_per_step": 1e3 * other, "ratio": other / g,
                             "target": TARGETS.get(p["family"], float("nan")), "rounds": o.rounds,
                             "steps_per_round": p["steps_per_round"]})
        meta = {"threads": max(r["metrics"]["threads"] for r in records), "torch": records[0]["versions"]["torch"],
                "sklearn": sklearn.__version__, "cpu": _cpu_name(), "rounds": o.rounds, "steps": o.steps or (2 if o.small else 20),
                "data": o.data, "small": o.small, "quick": quick}
        write_results(out, "throughput", rows, **meta)
        table = markdown_table(rows, "genzoo bench throughput" + (" --quick" if quick else ""), meta)
        (out / "throughput.md").write_text(table + "\n")
        if o.doc:
            write_doc(Path(o.doc), table)
