"""The training loop: drives ``model.step(batch)`` and does everything around it.

Around the model's own update it keeps: a seeded resumable data stream, running means of the
returned losses (``metrics.jsonl`` and TensorBoard), a live progress bar, periodic sample
pictures and evaluations, atomic safetensors checkpoints with optimiser, RNG and stream state
(so ``resume`` continues bit for bit on CPU), and a divergence guard: a NaN/Inf loss or weight
stops the run before any checkpoint is written, so the last good one is kept.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor

from genzoo.config import check
from genzoo.errors import DivergenceError
from genzoo.models.base import Model
from genzoo.train import distributed
from genzoo.train.checkpoint import load_checkpoint, save_checkpoint
from genzoo.train.stream import BatchStream

CHECKPOINT = "checkpoint.safetensors"
METRICS = "metrics.jsonl"


@dataclass
class TrainConfig:
    steps: int = 5000
    batch_size: int = 64
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    threads: int = 0  # torch CPU threads; 0 keeps torch's default
    log_every: int = 100
    sample_every: int = 1000  # pictures and evaluation; 0 disables (a final one is always made)
    checkpoint_every: int = 1000
    n_picture: int = 64  # images in each picture (points data: the evaluation samples)
    n_eval: int | None = None  # evaluation samples; None: the standard protocol (2 500 points, 500 images)
    progress: bool = True

    def __post_init__(self) -> None:
        check(self.steps >= 1, "steps", self.steps, "must be ≥ 1")
        check(self.batch_size >= 1, "batch_size", self.batch_size, "must be ≥ 1")
        check(self.threads >= 0, "threads", self.threads, "must be ≥ 0")
        check(self.log_every >= 1, "log_every", self.log_every, "must be ≥ 1")
        check(self.sample_every >= 0, "sample_every", self.sample_every, "must be ≥ 0")
        check(self.checkpoint_every >= 1, "checkpoint_every", self.checkpoint_every, "must be ≥ 1")
        check(self.n_picture >= 1, "n_picture", self.n_picture, "must be ≥ 1")
        check(self.n_eval is None or self.n_eval >= 2, "n_eval", self.n_eval, "must be ≥ 2")
        check(
            self.device == "auto" or self.device.split(":")[0] in ("cpu", "cuda", "mps"),
            "device", self.device, "expected auto, cpu, cuda, cuda:N or mps",
        )


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        from genzoo.errors import GenzooError

        raise GenzooError(f"invalid value device={name!r}: CUDA is not available on this machine")
    return device


def rng_state() -> dict[str, Tensor]:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict[str, Tensor]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


class Trainer:
    """Train ``model`` on ``stream`` into ``run_dir``.

    ``on_sample(model, step, run_dir) -> dict`` is called every ``sample_every`` steps and at
    the end; it makes pictures and returns evaluation metrics to log.
    """

    def __init__(
        self,
        model: Model,
        stream: BatchStream,
        config: TrainConfig,
        run_dir: str | Path,
        on_sample: Callable[[Model, int, Path], dict[str, float]] | None = None,
    ) -> None:
        self.model, self.stream, self.config = model, stream, config
        self.run_dir = Path(run_dir)
        self.on_sample = on_sample
        self.step = 0
        self._sums: dict[str, Tensor] = {}
        self._count = 0
        self.is_main = distributed.rank() == 0
        distributed.synchronise_gradients(model.optimizers().values())

    # ---- checkpoints -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizers": {k: opt.state_dict() for k, opt in self.model.optimizers().items()},
            "rng": rng_state(),
            "stream": self.stream.state_dict(),
            "running": {"sums": dict(self._sums), "count": self._count},
        }

    def save(self) -> None:
        if self.is_main:
            save_checkpoint(self.state_dict(), self.run_dir / CHECKPOINT)

    def resume(self) -> None:
        """Restore everything from ``run_dir``'s checkpoint; metrics logged after it are dropped."""
        # Loaded on the CPU, where RNG and stream states live; weights and optimiser states are
        # copied to their parameters' device by load_state_dict.
        state = load_checkpoint(self.run_dir / CHECKPOINT)
        self.model.load_state_dict(state["model"])
        for name, opt in self.model.optimizers().items():
            opt.load_state_dict(state["optimizers"][name])
        set_rng_state(state["rng"])
        self.stream.load_state_dict(state["stream"])
        self.step = int(state["step"])
        self._sums = {k: v.to(self.model.device) for k, v in state["running"]["sums"].items()}
        self._count = int(state["running"]["count"])
        metrics = self.run_dir / METRICS
        if metrics.exists():  # lines written after the checkpoint will be written again
            kept = [line for line in metrics.read_text().splitlines() if line and json.loads(line)["step"] <= self.step]
            metrics.write_text("".join(line + "\n" for line in kept))

    # ---- divergence guard --------------------------------------------------------------------
    def _check_finite(self, last_good: int) -> None:
        bad = [k for k, v in self._sums.items() if not torch.isfinite(v)]
        if not bad:
            bad = [f"weight {n}" for n, p in self.model.named_parameters() if not torch.isfinite(p).all()][:1]
        if bad:
            raise DivergenceError(
                f"training diverged: {bad[0]} became NaN/Inf between steps {last_good + 1} and {self.step}; "
                f"the last good checkpoint (step {self._saved_step}) is kept in {self.run_dir / CHECKPOINT}"
            )

    # ---- the loop ----------------------------------------------------------------------------
    def fit(self) -> dict[str, float]:
        from tqdm.auto import tqdm

        cfg = self.config
        self.run_dir.mkdir(parents=True, exist_ok=True)
        writer = self._tensorboard()
        self._saved_step = self.step if (self.run_dir / CHECKPOINT).exists() else -1
        last_checked = self.step
        bar = tqdm(total=cfg.steps, initial=self.step, disable=None if (cfg.progress and self.is_main) else True,
                   dynamic_ncols=True, unit="step")
        per_step = self.model.batches_per_step
        tick, tick_step = time.perf_counter(), self.step
        final: dict[str, float] = {}
        self.model.train()
        try:
            while self.step < cfg.steps:
                out = self.model.step(self.stream.next(per_step))
                self.step += 1
                for k, v in out.items():
                    self._sums[k] = self._sums[k] + v if k in self._sums else v.clone()
                self._count += 1
                bar.update(1)
                log_now = self.step % cfg.log_every == 0 or self.step == cfg.steps
                ckpt_now = self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps
                sample_now = (cfg.sample_every and self.step % cfg.sample_every == 0) or self.step == cfg.steps
                if not (log_now or ckpt_now or sample_now):
                    continue
                self._check_finite(last_checked)
                last_checked = self.step
                record: dict[str, float] = {}
                if log_now and self._count:
                    now = time.perf_counter()
                    record = {k: (v / self._count).item() for k, v in self._sums.items()}
                    rate = (self.step - tick_step) / max(now - tick, 1e-9)
                    record["steps_per_s"] = rate
                    record["samples_per_s"] = rate * self.stream.batch_size * per_step * self.stream.world_size
                    tick, tick_step = now, self.step
                    self._sums, self._count = {}, 0
                    bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k != "steps_per_s"}, refresh=False)
                if sample_now and self.on_sample is not None and self.is_main:
                    record.update(self._sample_and_evaluate())
                    tick = time.perf_counter()  # speed excludes evaluation time
                if record:
                    final = {**final, **record}
                    self._log(record, writer)
                if ckpt_now:
                    self.save()
                    self._saved_step = self.step
        finally:
            bar.close()
            if writer is not None:
                writer.close()
        return final

    def _sample_and_evaluate(self) -> dict[str, float]:
        """Pictures and metrics with their own fixed seed, leaving the training RNG untouched
        (so evaluating more or less often never changes the trained weights)."""
        devices = [self.model.device] if self.model.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.config.seed)
            out = self.on_sample(self.model, self.step, self.run_dir)
        self.model.train()
        return out

    def _log(self, record: dict[str, float], writer: Any) -> None:
        if not self.is_main:
            return
        with open(self.run_dir / METRICS, "a") as f:
            f.write(json.dumps({"step": self.step, **record}) + "\n")
        if writer is not None:
            for k, v in record.items():
                writer.add_scalar(k, v, self.step)

    def _tensorboard(self) -> Any:
        if not self.is_main:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is a dependency, but the loop must not depend on it
            return None
        return SummaryWriter(str(self.run_dir / "tensorboard"), purge_step=self.step or None)
