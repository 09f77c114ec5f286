"""What this machine offers for speed, and the precision ``precision=auto`` picks from it.

``genzoo doctor`` prints these facts; the trainer uses :func:`auto_precision` for ``precision=auto``
(the default) and :func:`warn_if_bf16_emulated` for an explicit ``bf16-mixed``.

The rule of :func:`auto_precision`, and why:

* **CUDA**: ``bf16-mixed`` where the GPU multiplies bfloat16 natively (compute capability ≥ 8,
  Ampere on; ``torch.cuda.is_bf16_supported(including_emulation=False)``), else ``16-mixed``.
  Both run matmuls and convolutions on tensor cores at several times float32's rate; bf16 keeps
  float32's range, so it is preferred where it exists. Pre-Ampere GPUs "support" bf16 only by
  emulation, which is slower than float32: the same trap as a CPU's.
* **CPU**: ``bf16-mixed`` only with AMX (``amx_bf16``, Intel Sapphire Rapids and later) and oneDNN's
  bf16 kernels, else ``32``. AMX tiles multiply bf16 several times faster than float32. A CPU with
  AVX512-BF16 but no AMX runs bf16 natively yet was *measured slower* than float32 (a DCGAN at
  0.7–0.8× fp32 images/s; its bf16 matmul peak 23 vs 44 GFLOP/s fp32, docs/speed.md): the casts
  around every op cost more than the arithmetic saves. Without either, bf16 matmuls are emulated
  (~14× slower for a DCGAN on the AVX2 machine this project is developed on).
* anything else (MPS): ``32``.
"""

from __future__ import annotations

import functools
import os
import platform
import sys
from dataclasses import dataclass
from typing import Any

import torch

#: Feature label → /proc/cpuinfo flags, any of which means the feature is present.
CPU_FEATURES: dict[str, tuple[str, ...]] = {
    "AVX2": ("avx2",),
    "AVX-512": ("avx512f",),
    "AVX512-BF16": ("avx512_bf16",),
    "AMX": ("amx_bf16",),  # AMX's bf16 tiles; amx_tile alone (no bf16 type) does not help bf16 matmuls
}


def _cpuinfo(keys: tuple[str, ...]) -> str | None:
    """The first /proc/cpuinfo line's value whose key is one of ``keys``; None where unreadable (not Linux)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in keys:
                    return value.strip()
    except OSError:
        pass
    return None


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from /proc/cpuinfo (x86 ``flags``, ARM ``Features``); empty where unreadable."""
    return frozenset((_cpuinfo(("flags", "Features")) or "").split())


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's marketing name (``model name`` in /proc/cpuinfo), else what :mod:`platform` knows."""
    return _cpuinfo(("model name", "Model", "cpu model")) or platform.processor() or platform.machine() or "unknown"


def _torch_cpu_check(name: str) -> bool:
    """One of torch's own CPU feature probes (``torch.cpu._is_*_supported``; private, so absent is False)."""
    fn = getattr(torch.cpu, name, None)
    try:
        return bool(fn()) if fn is not None else False
    except Exception:  # a probe that fails on this platform says nothing
        return False


def mkldnn_bf16_supported() -> bool:
    """Whether oneDNN (mkldnn) has bf16 kernels for this CPU (it also says yes where it only emulates them)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@dataclass(frozen=True)
class CpuFacts:
    model: str
    avx2: bool
    avx512: bool
    avx512_bf16: bool
    amx: bool
    capability: str  # ATen's dispatch level: the widest vector kernels torch runs (DEFAULT, AVX2, AVX512, ...)
    mkldnn_bf16: bool

    @property
    def bf16_native(self) -> bool:
        """bf16 matmuls run in hardware (AVX512-BF16 or AMX, with oneDNN's kernels) rather than emulated."""
        return (self.avx512_bf16 or self.amx) and self.mkldnn_bf16

    def features(self) -> dict[str, bool]:
        return {"AVX2": self.avx2, "AVX-512": self.avx512, "AVX512-BF16": self.avx512_bf16, "AMX": self.amx}


@functools.lru_cache(maxsize=1)
def cpu_facts() -> CpuFacts:
    """This machine's CPU: /proc/cpuinfo's flags, or torch's own probes where they say more (e.g. not Linux)."""
    flags = cpu_flags()

    def has(label: str) -> bool:
        return any(f in flags for f in CPU_FEATURES[label])

    return CpuFacts(
        model=cpu_model(),
        avx2=has("AVX2") or _torch_cpu_check("_is_avx2_supported"),
        avx512=has("AVX-512") or _torch_cpu_check("_is_avx512_supported"),
        avx512_bf16=has("AVX512-BF16") or _torch_cpu_check("_is_avx512_bf16_supported"),
        amx=has("AMX") or _torch_cpu_check("_is_amx_tile_supported"),
        capability=torch.backends.cpu.get_cpu_capability(),
        mkldnn_bf16=mkldnn_bf16_supported(),
    )


def cuda_bf16_native(index: int | None = None) -> bool:
    """Whether CUDA device ``index`` (default: the current one) multiplies bfloat16 natively.

    ``including_emulation=False``: by default torch also says yes on pre-Ampere GPUs, which only
    emulate bf16 (slower than float32) — exactly what ``precision=auto`` must not pick.
    """
    def ask() -> bool:
        try:
            return bool(torch.cuda.is_bf16_supported(including_emulation=False))
        except TypeError:  # a torch without the argument: compute capability ≥ 8 is native bf16
            return torch.cuda.get_device_capability()[0] >= 8

    if index is None:
        return ask()
    with torch.cuda.device(index):
        return ask()


def bf16_native(device: torch.device | str) -> bool:
    """Whether bfloat16 matmuls run natively on ``device`` rather than emulated (slower than float32).

    What benchmarks ask before timing bf16: on an emulating machine the measurement takes many times
    float32's time and measures only the emulation.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return cuda_bf16_native(device.index)
    if device.type == "cpu":
        return cpu_facts().bf16_native
    return False


def _auto(device: torch.device) -> tuple[str, str]:
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        name = torch.cuda.get_device_name(index)
        if cuda_bf16_native(index):
            return "bf16-mixed", f"{name} multiplies bfloat16 natively"
        return "16-mixed", f"{name} has no native bfloat16; float16 with overflowed updates skipped"
    if device.type == "cpu":
        cpu = cpu_facts()
        if cpu.amx and cpu.mkldnn_bf16:
            return "bf16-mixed", "CPU with AMX: bf16 matmuls several times faster than float32"
        if cpu.bf16_native:
            return "32", "AVX512-BF16 without AMX measured slower than float32 (0.7-0.8x for a DCGAN)"
        return "32", "no AVX512-BF16 or AMX: bf16 would be emulated, many times slower"
    return "32", f"mixed precision is not tuned for {device.type}"


def auto_precision(device: torch.device | str) -> str:
    """What ``precision=auto`` runs at on ``device``: the fastest precision that cannot hurt (module docstring)."""
    return _auto(torch.device(device))[0]


def explain_auto_precision(device: torch.device | str) -> str:
    """``auto_precision(device)`` and the reason for it, in one line."""
    choice, why = _auto(torch.device(device))
    return f"{choice} ({why})"


_warned_bf16 = False


def warn_if_bf16_emulated(device: torch.device | str) -> bool:
    """Warn once per process, one line on stderr, when bf16-mixed runs on a CPU that emulates bfloat16.

    Returns whether the machine emulates (the run goes ahead either way: the result is the same,
    only slower).
    """
    global _warned_bf16
    if torch.device(device).type != "cpu" or cpu_facts().bf16_native:
        return False
    if not _warned_bf16:
        _warned_bf16 = True
        print("genzoo: warning: precision=bf16-mixed on a CPU without native bfloat16 (no AVX512-BF16 or AMX): "
              "bf16 matmuls are emulated, typically 10x or more slower than float32; "
              "use --set precision=32 or precision=auto", file=sys.stderr)
    return True


def gpus() -> list[dict[str, Any]]:
    """Every visible CUDA device: name, compute capability, memory, and the precisions it runs well."""
    out = []
    if not torch.cuda.is_available():
        return out
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        native = cuda_bf16_native(i)
        precisions = ["32", "16-mixed"] + (["bf16-mixed"] if native else [])
        out.append({"index": i, "name": props.name, "capability": f"{props.major}.{props.minor}",
                    "memory_gib": props.total_memory / 2**30, "precisions": precisions,
                    "auto": auto_precision(torch.device("cuda", i))})
    return out


def torch_build() -> str:
    """torch's version and what it was built for (CUDA x.y, ROCm, or CPU only)."""
    if torch.version.cuda:
        kind = f"CUDA {torch.version.cuda}"
    elif getattr(torch.version, "hip", None):
        kind = f"ROCm {torch.version.hip}"
    else:
        kind = "CPU only"
    extras = [name for name, ok in (("MKL", torch.backends.mkl.is_available()),
                                    ("oneDNN", torch.backends.mkldnn.is_available())) if ok]
    return f"{torch.__version__} ({kind}{', ' + ', '.join(extras) if extras else ''})"


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this platform
        return None
