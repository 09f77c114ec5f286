"""The training loop: drives ``model.step(batch)`` and does everything around it.

Around the model's own update it keeps: a seeded resumable data stream, running means of the
returned losses (``metrics.jsonl`` and TensorBoard), a live progress bar, periodic sample
pictures and evaluations, atomic safetensors checkpoints with optimiser, RNG and stream state
(so ``resume`` continues bit for bit on CPU), and a divergence guard: a NaN/Inf loss or weight
stops the run before any checkpoint is written, so the last good one is kept.

Evaluation has a budget: it may take at most ``eval_share`` (20 %) of the training loop's
wall-clock. A periodic evaluation that would push it above that share (judged by the last
periodic one's cost) is skipped, with one note; the end-of-training evaluation always runs. What
each is made of is declared by the evaluation groups' tiers (:mod:`genzoo.metrics.evaluate`):
cheap groups at every evaluation, moderate ones once at the end, costly ones only by ``genzoo
eval``. The share, the groups scored and the skips are recorded in ``evaluation.json``.

Mixed precision is the trainer's, not the models': ``precision="bf16-mixed"`` (or ``"16-mixed"``
on a GPU) runs every ``model.step`` under :func:`torch.autocast`, so matmuls and convolutions of
every model run in half precision while weights, optimiser states and losses stay float32. The
default, ``precision="auto"``, picks the fastest of them the device runs natively
(:func:`genzoo.hardware.auto_precision`: mixed on GPUs and AMX CPUs, float32 elsewhere).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

import torch
from torch import Tensor

from genzoo.config import check
from genzoo.errors import DivergenceError, GenzooError
from genzoo.files import METRICS, read_metrics, write_text_atomic
from genzoo.models.base import Model
from genzoo.train import distributed
from genzoo.train.checkpoint import load_checkpoint, save_checkpoint
from genzoo.train.stream import BatchStream

CHECKPOINT = "checkpoint.safetensors"
EVALUATION = "evaluation.json"  # the evaluation budget's account: share of wall-clock, groups scored, skips
PICTURE = "samples/step_{step:07d}.png"  # written by the on_sample callback, shown in TensorBoard

#: Conventional names (as in PyTorch Lightning) → autocast dtype; "32" runs in float32 throughout.
PRECISIONS: dict[str, torch.dtype | None] = {"32": None, "bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}
_STOP_AT: list[float | None] = [None]  # a wall-clock deadline (time.time()) set by stop_at()


class Stopped(Exception):
    """Training reached a :func:`stop_at` deadline; a checkpoint of the step reached was written."""


@contextlib.contextmanager
def stop_at(deadline: float | None) -> Any:
    """Within this block, :meth:`Trainer.fit` checkpoints and raises :class:`Stopped` once
    ``time.time() >= deadline``, so a campaign's time limit cuts a run where the next call resumes it."""
    previous, _STOP_AT[0] = _STOP_AT[0], deadline
    try:
        yield
    finally:
        _STOP_AT[0] = previous


#: What ``precision`` accepts: "auto" (resolved per device by genzoo.hardware.auto_precision) or a concrete one.
PRECISION_CHOICES = ("auto", *PRECISIONS)


@dataclass
class TrainConfig:
    steps: int = 5000
    batch_size: int = 64
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    threads: int = 0  # torch CPU threads; 0: genzoo's rule (run.auto_threads) unless the process set its own
    # autocast around every step; 16-mixed on GPU only; auto: the fastest the device runs natively (docs/speed.md)
    precision: Literal["auto", "32", "bf16-mixed", "16-mixed"] = "auto"
    channels_last: bool = False  # NHWC weights and image batches for conv nets (docs/speed.md: when it pays)
    log_every: int = 100
    sample_every: int = 1000  # pictures and evaluation; 0 disables (a final one is always made)
    checkpoint_every: int = 1000
    n_picture: int = 64  # images in each picture (points data: the evaluation samples)
    n_eval: int | None = None  # evaluation samples; None: the standard protocol (2 500 points, 500 images)
    # most share of the wall-clock a periodic evaluation may bring evaluation to (it is skipped
    # otherwise; the final one always runs); 1: never skip
    eval_share: float = 0.2
    eval_groups: str = ""  # evaluation groups scored at every evaluation beyond their tier ("a,b" or "all")
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
        check(0 < self.eval_share <= 1, "eval_share", self.eval_share, "must be in (0, 1]")
        check(
            self.device == "auto" or self.device.split(":")[0] in ("cpu", "cuda", "mps"),
            "device", self.device, "expected auto, cpu, cuda, cuda:N or mps",
        )
        check(self.precision in PRECISION_CHOICES, "precision", self.precision, f"valid: {', '.join(PRECISION_CHOICES)}")


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """The concrete precision ``precision`` means on ``device``: itself, or auto's choice there."""
    if precision != "auto":
        return precision
    from genzoo.hardware import auto_precision

    return auto_precision(device)


def autocast(device: torch.device | str, precision: str) -> contextlib.AbstractContextManager:
    """The context every training step runs in: ``torch.autocast`` to the precision's dtype, or nothing at "32"."""
    dtype = PRECISIONS[resolve_precision(precision, device)]
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    from genzoo.errors import GenzooError

    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GenzooError(f"invalid value device={name!r}: CUDA is not available on this machine")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise GenzooError(f"invalid value device={name!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device


def eval_groups(value: str) -> frozenset[str]:
    """The names in ``train.eval_groups`` ("a,b" or "all"), each checked against the registered groups."""
    names = frozenset(n.strip() for n in value.split(",") if n.strip())
    if names - {"all"}:
        from genzoo.metrics.evaluate import EVALUATIONS  # discovers the metric modules' groups on first lookup

        for name in sorted(names - {"all"}):
            EVALUATIONS.get(name)  # an unknown name: one line listing the valid ones
    return names


def evaluation_summary(run_dir: str | Path) -> list[str]:
    """Lines of ``genzoo train``'s summary about the evaluation budget (from ``evaluation.json``); none without it."""
    try:
        account = json.loads((Path(run_dir) / EVALUATION).read_text())
        share, budget = float(account["eval_share"]), float(account["budget"])
        periodic, final = list(account["periodic_groups"]), list(account["final_groups"])
        skipped = int(account["evaluations"]["skipped"])
    except (OSError, ValueError, KeyError, TypeError):
        return []
    head = f"  evaluation: {100 * share:.0f} % of the training wall-clock (budget {100 * budget:.0f} %"
    head += f"; {skipped} periodic evaluation{'s' * (skipped != 1)} skipped)" if skipped else ")"
    groups = []
    if periodic:
        groups.append("during training " + ", ".join(periodic))
    extra = [g for g in final if g not in periodic]
    if extra:
        groups.append(("at the end also " if periodic else "at the end ") + ", ".join(extra))
    lines = [head + (": " + "; ".join(groups) if groups else "")]
    lines.append(f"  full protocol: genzoo eval {run_dir} --full (every group, at the reporting sizes)")
    return lines


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

    ``precision`` is the concrete precision to run at when ``config.precision`` is ``"auto"`` (a
    resumed run's recorded choice, so it continues bit for bit on another machine); None resolves
    auto on this device. The precision used is ``self.precision``.

    ``clock`` times evaluation against the wall-clock for the evaluation budget (tests pass a fake).
    """

    def __init__(
        self,
        model: Model,
        stream: BatchStream,
        config: TrainConfig,
        run_dir: str | Path,
        on_sample: Callable[[Model, int, Path], dict[str, float]] | None = None,
        hparams: dict[str, Any] | None = None,
        precision: str | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.model, self.stream, self.config = model, stream, config
        self.clock = clock
        self.eval_groups = eval_groups(config.eval_groups)
        self.run_dir = Path(run_dir)
        self.on_sample = on_sample
        self.step = 0
        self._sums: dict[str, Tensor] = {}
        self._count = 0
        self._counts: dict[str, int] = {}  # steps that returned each value (a monitor may come only on logged steps)
        self.is_main = distributed.rank() == 0
        self.hparams = hparams or {}
        if config.precision == "auto" and precision is not None:
            check(precision in PRECISIONS, "precision", precision, f"valid: {', '.join(PRECISIONS)}")
            self.precision = precision
        else:
            self.precision = resolve_precision(config.precision, model.device)
        self.autocast_dtype = PRECISIONS[self.precision]
        if self.autocast_dtype is torch.float16 and model.device.type != "cuda":
            raise GenzooError(f"invalid value precision='16-mixed': needs a CUDA device (this run is on {model.device.type}); "
                              "use 32 or auto")
        if self.autocast_dtype is torch.bfloat16 and self.is_main:
            from genzoo.hardware import warn_if_bf16_emulated

            warn_if_bf16_emulated(model.device)  # it still runs (same result), only many times slower
        self.skipped_steps = 0
        if config.channels_last:
            model.to(memory_format=torch.channels_last)  # 4-D weights only; everything else is unchanged
        if self.autocast_dtype is torch.float16:
            # Models call backward themselves, so there is no loss to scale; an overflowed
            # half-precision gradient instead skips that optimiser's update (grads set to None).
            for opt in model.optimizers().values():
                opt.register_step_pre_hook(self._skip_non_finite)
        distributed.synchronise_gradients(model.optimizers().values())

    def _skip_non_finite(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        if params and not all(torch.isfinite(p.grad).all() for p in params):
            for p in params:
                p.grad = None
            self.skipped_steps += 1

    def _layout(self, batch: Tensor | tuple[Tensor, Tensor]) -> Tensor | tuple[Tensor, Tensor]:
        if not self.config.channels_last:
            return batch
        if isinstance(batch, tuple):
            return (self._layout(batch[0]), *batch[1:])
        return batch.contiguous(memory_format=torch.channels_last) if batch.ndim == 4 else batch

    def autocast(self) -> contextlib.AbstractContextManager:
        """The precision context of one training step (a no-op at precision "32")."""
        return autocast(self.model.device, self.precision)

    # ---- checkpoints -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizers": {k: opt.state_dict() for k, opt in self.model.optimizers().items()},
            "rng": rng_state(),
            "stream": self.stream.state_dict(),
            "running": {"sums": dict(self._sums), "count": self._count, "counts": dict(self._counts)},
        }

    def save(self) -> None:
        if self.is_main:
            save_checkpoint(self.state_dict(), self.run_dir / CHECKPOINT)

    def resume(self) -> None:
        """Restore everything from ``run_dir``'s checkpoint; metrics logged after it are dropped.

        A run stopped before its first checkpoint starts again from step 0. A checkpoint that
        does not fit this run (damaged structure, missing entries, tensors of the wrong shape)
        is a one-line :class:`GenzooError`; nothing in the run directory is changed by a failure.
        """
        path = self.run_dir / CHECKPOINT
        if path.is_file():
            # Loaded on the CPU, where RNG and stream states live; weights and optimiser states
            # are copied to their parameters' device by load_state_dict.
            state = load_checkpoint(path)
            try:
                self._load_state(state)
            except GenzooError:
                raise
            except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as e:
                detail = " ".join(str(e).split())[:300]
                raise GenzooError(f"checkpoint {str(path)!r} does not fit this run ({type(e).__name__}: {detail})") from None
        elif self.is_main:
            print(f"genzoo: note: {str(self.run_dir)!r} has no checkpoint yet; training starts again from step 0",
                  file=sys.stderr)
        records, bad = read_metrics(self.run_dir / METRICS)
        kept = [r for r in records if int(r["step"]) <= self.step]  # later lines will be written again
        if bad or len(kept) != len(records):
            if bad and self.is_main:
                print(f"genzoo: note: dropped {bad} unreadable line{'s' * (bad > 1)} of {self.run_dir / METRICS} "
                      "(half-written when the run was stopped)", file=sys.stderr)
            self.repaired_metrics = "".join(json.dumps(r) + "\n" for r in kept)
        else:
            self.repaired_metrics = None

    def commit_resume(self) -> None:
        """Write the repaired metrics file (after every check of the resume has passed)."""
        if self.is_main and getattr(self, "repaired_metrics", None) is not None:
            write_text_atomic(self.run_dir / METRICS, self.repaired_metrics)
            self.repaired_metrics = None

    def _load_state(self, state: dict[str, Any]) -> None:
        step = int(state["step"])
        if step < 0:
            raise ValueError(f"negative step {step}")
        self.model.load_state_dict(state["model"])
        for name, opt in self.model.optimizers().items():
            opt.load_state_dict(state["optimizers"][name])
            for group in opt.param_groups:  # load_state_dict does not compare shapes of per-parameter state
                for p in group["params"]:
                    for key, value in opt.state.get(p, {}).items():
                        if isinstance(value, Tensor) and value.ndim > 0 and value.shape != p.shape:
                            raise ValueError(f"optimiser {name!r} state {key!r} has shape {tuple(value.shape)}, "
                                             f"its parameter {tuple(p.shape)}")
                        if isinstance(value, Tensor) and value.ndim == 4 and value.stride() != p.stride():
                            # the fused kernel walks state and parameter in step: same memory layout
                            opt.state[p][key] = torch.empty_like(p).copy_(value)
        stream = state["stream"]
        if stream["permutation"].shape != (self.stream.x.shape[0],):
            raise ValueError(f"data stream over {stream['permutation'].numel()} examples, the data has {self.stream.x.shape[0]}")
        set_rng_state(state["rng"])
        self.stream.load_state_dict(stream)
        self.step = step
        self._sums = {k: v.to(self.model.device) for k, v in state["running"]["sums"].items()}
        self._count = int(state["running"]["count"])
        # checkpoints from before per-value counts: every value came with every step
        counts = state["running"].get("counts", dict.fromkeys(self._sums, self._count))
        self._counts = {k: int(counts[k]) for k in self._sums}

    # ---- evaluation budget -------------------------------------------------------------------
    def _reset_budget(self) -> None:
        self._started = self.clock()
        self.eval_seconds = 0.0
        self._periodic_cost: float | None = None  # the last periodic evaluation's seconds: the next one's estimate
        self.evaluations = {"periodic": 0, "final": 0, "skipped": 0}
        self.scored: dict[str, list[str]] = {"periodic": [], "final": []}

    def within_budget(self) -> bool:
        """Whether a periodic evaluation now keeps evaluation within ``eval_share`` of the wall-clock.

        Its cost is estimated by the last periodic one's (the first always runs: nothing is known
        yet, and a run needs one reading of its progress); the wall-clock counts from :meth:`fit`.
        """
        share = self.config.eval_share
        if share >= 1 or self._periodic_cost is None:
            return True
        cost = self._periodic_cost
        return self.eval_seconds + cost <= share * (self.clock() - self._started + cost)

    def eval_share(self) -> float:
        """Seconds spent evaluating over the wall-clock since :meth:`fit` started."""
        return self.eval_seconds / max(self.clock() - self._started, 1e-9)

    def _evaluate(self, stage: Literal["periodic", "final"], writer: Any) -> dict[str, float]:
        start = self.clock()
        evaluation = self._sample_and_evaluate(stage)
        self._picture_to_tensorboard(writer)
        cost = self.clock() - start
        self.eval_seconds += cost
        self.evaluations[stage] += 1
        if stage == "periodic":
            self._periodic_cost = cost
        return evaluation

    def _skip(self, bar: Any) -> None:
        if not self.evaluations["skipped"]:
            bar.write(f"genzoo: note: evaluation at step {self.step} skipped: it would bring evaluation above "
                      f"{100 * self.config.eval_share:.0f} % of the wall-clock (train.eval_share); later ones are "
                      "skipped by the same rule, the final one always runs", file=sys.stderr)
        self.evaluations["skipped"] += 1

    def _write_account(self) -> None:
        """``evaluation.json``: the budget's account of this training session."""
        wall = self.clock() - self._started
        account = {
            "eval_share": self.eval_seconds / max(wall, 1e-9),
            "eval_seconds": self.eval_seconds,
            "wall_seconds": wall,
            "budget": self.config.eval_share,
            "evaluations": dict(self.evaluations),
            "periodic_groups": self.scored["periodic"],
            "final_groups": self.scored["final"],
            "asked": sorted(self.eval_groups),
            "full_protocol": f"genzoo eval {self.run_dir} --full",
        }
        write_text_atomic(self.run_dir / EVALUATION, json.dumps(account, indent=2) + "\n")

    # ---- divergence guard --------------------------------------------------------------------
    def _check_finite(self, last_good: int) -> None:
        bad = [k for k, v in self._sums.items() if not torch.isfinite(v)]
        if not bad:
            bad = [f"weight {n}" for n, p in self.model.named_parameters() if not torch.isfinite(p).all()][:1]
        if bad:
            kept = (f"the last good checkpoint (step {self._saved_step}) is kept in {self.run_dir / CHECKPOINT}"
                    if self._saved_step >= 0 else "no checkpoint had been written yet")
            raise DivergenceError(
                f"training diverged: {bad[0]} became NaN/Inf between steps {last_good + 1} and {self.step}; {kept}"
            )

    # ---- the loop ----------------------------------------------------------------------------
    def fit(self) -> dict[str, float]:
        from tqdm.auto import tqdm

        cfg = self.config
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.commit_resume()  # the metrics repair staged by resume(), now that training goes ahead
        writer = self._tensorboard()
        self._saved_step = self.step if (self.run_dir / CHECKPOINT).exists() else -1
        last_checked = self.step
        bar = tqdm(total=cfg.steps, initial=self.step, disable=None if (cfg.progress and self.is_main) else True,
                   dynamic_ncols=True, unit="step")
        per_step = self.model.batches_per_step
        tick, tick_step = time.perf_counter(), self.step
        final: dict[str, float] = {}
        self._reset_budget()
        self.model.train()
        try:
            while self.step < cfg.steps:
                try:
                    self.model.will_log = (self.step + 1) % cfg.log_every == 0 or self.step + 1 == cfg.steps
                    with self.autocast():
                        out = self.model.step(self._layout(self.stream.next(per_step)))
                except ValueError as e:  # e.g. torch.distributions refusing NaN parameters
                    if isinstance(e, GenzooError):
                        raise
                    self._check_finite(last_checked)  # NaN/Inf weights: report it as the divergence it is
                    raise
                self.step += 1
                for k, v in out.items():
                    self._sums[k] = self._sums[k] + v if k in self._sums else v.clone()
                    self._counts[k] = self._counts.get(k, 0) + 1
                self._count += 1
                bar.update(1)
                log_now = self.step % cfg.log_every == 0 or self.step == cfg.steps
                ckpt_now = self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps
                sample_now = (cfg.sample_every and self.step % cfg.sample_every == 0) or self.step == cfg.steps
                if not (log_now or ckpt_now or sample_now):
                    if _STOP_AT[0] is not None and time.time() >= _STOP_AT[0]:
                        self._check_finite(last_checked)
                        self.save()
                        raise Stopped(f"stopped at the time limit at step {self.step} of {cfg.steps}; checkpoint written")
                    continue
                self._check_finite(last_checked)
                last_checked = self.step
                record: dict[str, float] = {}
                if log_now and self._count:
                    now = time.perf_counter()
                    record = {k: (v / self._counts[k]).item() for k, v in self._sums.items()}
                    rate = (self.step - tick_step) / max(now - tick, 1e-9)
                    record["steps_per_s"] = rate
                    record["samples_per_s"] = rate * self.stream.batch_size * per_step * self.stream.world_size
                    tick, tick_step = now, self.step
                    self._sums, self._count, self._counts = {}, 0, {}
                    bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k != "steps_per_s"}, refresh=False)
                last = self.step == cfg.steps
                if sample_now and self.on_sample is not None and self.is_main and not (last or self.within_budget()):
                    self._skip(bar)
                elif sample_now and self.on_sample is not None and self.is_main:
                    evaluation = self._evaluate("final" if last else "periodic", writer)
                    for key in set(record) & set(evaluation):  # e.g. a batch ELBO and the test ELBO
                        record[f"train_{key}"] = record.pop(key)
                    record.update(evaluation)
                    if last:  # the budget's outcome beside the final metrics (details: evaluation.json)
                        record.update(eval_share=self.eval_share(), eval_seconds=self.eval_seconds,
                                      evaluations_skipped=float(self.evaluations["skipped"]))
                    tick = time.perf_counter()  # speed excludes evaluation time
                if record:
                    final = {**final, **record}
                    self._log(record, writer)
                if ckpt_now:
                    self.save()
                    self._saved_step = self.step
                if _STOP_AT[0] is not None and time.time() >= _STOP_AT[0] and self.step < cfg.steps:
                    if not ckpt_now:
                        self.save()
                    raise Stopped(f"stopped at the time limit at step {self.step} of {cfg.steps}; checkpoint written")
            self._hparams_to_tensorboard(writer, final)
            if self.is_main and self.on_sample is not None:
                self._write_account()
        finally:
            bar.close()
            if writer is not None:
                writer.close()
        return final

    def _sample_and_evaluate(self, stage: Literal["periodic", "final"] = "final") -> dict[str, float]:
        """Pictures and metrics with their own fixed seed, leaving the training RNG untouched
        (so evaluating more or less often never changes the trained weights). ``stage`` selects
        the evaluation groups scored (their tiers, and ``eval_groups``)."""
        from genzoo.metrics.evaluate import training_stage

        devices = [self.model.device] if self.model.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), training_stage(stage, self.eval_groups) as scoring:
            torch.manual_seed(self.config.seed)
            out = self.on_sample(self.model, self.step, self.run_dir)
        self.scored[stage] += [name for name in scoring.scored if name not in self.scored[stage]]
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

    def _picture_to_tensorboard(self, writer: Any) -> None:
        picture = self.run_dir / PICTURE.format(step=self.step)
        if writer is None or not picture.is_file():
            return
        import numpy as np
        from PIL import Image

        with Image.open(picture) as im:
            writer.add_image("samples", np.asarray(im.convert("RGB")), self.step, dataformats="HWC")

    def _hparams_to_tensorboard(self, writer: Any, final: dict[str, float]) -> None:
        """The run's hyper-parameters beside its final metrics (TensorBoard's HPARAMS tab)."""
        if writer is None or not self.hparams:
            return
        from torch.utils.tensorboard.summary import hparams

        clean = {k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in self.hparams.items()}
        metrics = {k: v for k, v in final.items() if isinstance(v, float) and v == v}
        for summary in hparams(clean, metrics):
            writer.file_writer.add_summary(summary)

    def _tensorboard(self) -> Any:
        if not self.is_main:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is a dependency, but the loop must not depend on it
            return None
        return SummaryWriter(str(self.run_dir / "tensorboard"), purge_step=self.step or None)
