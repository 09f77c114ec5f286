"""The parts catalogue that ``genzoo list`` prints: samplers, estimators, observation models, architectures.

Each registry entry describes itself: the first line of its docstring (or ``summary``), and for
samplers what they apply to (``applies_to``).
"""

from __future__ import annotations

from typing import Any


def _first_line(obj: Any) -> str:
    text = getattr(obj, "summary", None) or getattr(obj, "__doc__", None) or ""
    text = text.strip()
    return text.splitlines()[0] if text else ""


def _on_runs(sampler: str) -> str:
    """What ``genzoo sample RUN --sampler NAME`` accepts, from the table it dispatches with (so the list cannot promise more)."""
    from genzoo.run_sampling import families, options

    runs = families(sampler)
    if not runs:
        return "[genzoo sample: no (used inside training and estimation)]"
    return f"[genzoo sample RUN --sampler {sampler}: runs of {', '.join(runs)}; --set {', '.join(options(sampler))}]"


def _as_negatives(cls: Any) -> str:
    """Whether ``genzoo train ebm --set negatives=NAME`` takes this sampler, and its options."""
    from dataclasses import fields

    from genzoo.sampling.negatives import NegativeSampler

    if not (isinstance(cls, type) and issubclass(cls, NegativeSampler)):
        return " [EBM negatives: no]"
    keys = ", ".join(f.name for f in fields(cls.Config))
    return f" [EBM negatives: yes, --set negatives={cls.name}; --set negatives.KEY for {keys}]"


def parts() -> list[tuple[str, list[tuple[str, str]]]]:
    """(section heading, [(name, one line)]) for every registry of interchangeable parts."""
    from genzoo.distributions import OBSERVATIONS
    from genzoo.estimators import ESTIMATORS
    from genzoo.nn import ARCHITECTURES
    from genzoo.sampling import SAMPLERS

    samplers = [(name, f"{_first_line(cls)} [applies to: {getattr(cls, 'applies_to', 'any')}] {_on_runs(name)}"
                       f"{_as_negatives(cls)}")
                for name, cls in SAMPLERS.items()]
    return [
        ("samplers (MCMC and negative samplers; genzoo sample RUN --sampler NAME on the runs named; "
         "genzoo train ebm --set negatives=NAME with those marked EBM negatives: yes)", samplers),
        ("estimators (genzoo.estimators: divergences, information, entropy)",
         [(name, _first_line(fn)) for name, fn in ESTIMATORS.items()]),
        ("observation models (--set observation=NAME on decoder-based models)",
         [(name, _first_line(cls)) for name, cls in OBSERVATIONS.items()]),
        ("architectures (--set arch=NAME on two-player models)",
         [(name, _first_line(arch)) for name, arch in ARCHITECTURES.items()]),
    ]
