"""Metrics: mode coverage on known mixtures, exact Wasserstein-1 (EMD)."""

from genzoo.metrics.modes import KL_EPS, STANDARD_N_SAMPLES, mode_coverage
from genzoo.metrics.wasserstein import LP_MAX_VARIABLES, wasserstein1_exact, wasserstein1_lp

__all__ = [
    "KL_EPS",
    "LP_MAX_VARIABLES",
    "STANDARD_N_SAMPLES",
    "mode_coverage",
    "wasserstein1_exact",
    "wasserstein1_lp",
]
