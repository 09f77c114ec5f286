"""``genzoo doctor``: this machine's facts that decide training speed, as (label, value) rows.

It sits beside the command line (it asks the run layer which threads and device a run would get),
so ``genzoo.hardware`` itself stays at the bottom of the layers.
"""

from __future__ import annotations

import os
import sys

import torch

from genzoo.hardware import _auto, cpu_facts, gpus, load_average, torch_build
from genzoo.run import _DEFAULT_THREADS, threads_for
from genzoo.train.trainer import resolve_device


def report() -> list[tuple[str, str]]:
    """The facts ``genzoo doctor`` prints, as (label, value) rows."""
    cpu = cpu_facts()
    load = load_average()
    cores = os.cpu_count()
    rows = [
        ("CPU", f"{cpu.model} ({cores} logical cores" + (f", 1-min load average {load:.1f})" if load is not None else ")")),
        ("CPU features", ", ".join(f"{name} {'yes' if ok else 'no'}" for name, ok in cpu.features().items())),
        ("bf16 on this CPU", ("native" if cpu.bf16_native else "emulated (slow)")
         + f"; oneDNN bf16 kernels {'yes' if cpu.mkldnn_bf16 else 'no'}"),
        ("torch", torch_build()),
        ("ATen CPU capability", cpu.capability),
        ("threads (threads=0)", f"{threads_for('points')} for points-data models; {threads_for('images')} for image "
                                f"models (free cores: {cores} - load, at most torch's default {_DEFAULT_THREADS})"),
    ]
    found = gpus()
    if not found:
        why = "CUDA not available" + ("" if torch.version.cuda else "; a CPU-only torch build")
        rows.append(("GPUs", f"none ({why})"))
    for g in found:
        rows.append((f"GPU {g['index']}", f"{g['name']} (compute {g['capability']}, {g['memory_gib']:.1f} GiB); "
                                          f"precisions: {', '.join(g['precisions'])}; auto: {g['auto']}"))
    device = resolve_device("auto")
    rows.append(("device=auto", str(device)))
    choice, why = _auto(device)
    rows.append(("precision=auto", f"{choice} on {device} ({why})"))
    if sys.flags.dont_write_bytecode:
        # Measured on this project's 2-core machine: recompiling genzoo's sources costs ~0.5 s per command
        rows.append(("bytecode cache", "off (PYTHONDONTWRITEBYTECODE): every command recompiles genzoo's modules"))
    return rows
