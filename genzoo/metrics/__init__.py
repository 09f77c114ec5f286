"""Metrics: mode coverage on known mixtures, exact Wasserstein-1 (EMD), image metrics on genzoo's own
feature network (FID, KID, precision/recall, density/coverage, classifier score), Stacked-MNIST modes,
test log-likelihoods (exact, bound, importance-weighted), and disentanglement scores on any codes."""

from genzoo.metrics.disentanglement import beta_vae_score, dci, factor_vae_score, mig, sap
from genzoo.metrics.image import classifier_score, density_coverage, fid, frechet_distance, kid, precision_recall
from genzoo.metrics.likelihood import iw_log_likelihood, likelihood_metrics
from genzoo.metrics.modes import KL_EPS, STANDARD_N_SAMPLES, mode_coverage
from genzoo.metrics.stacked import STACKED_N_SAMPLES, count_modes, stacked_mnist_modes
from genzoo.metrics.wasserstein import LP_MAX_VARIABLES, wasserstein1_exact, wasserstein1_lp

__all__ = [
    "KL_EPS",
    "LP_MAX_VARIABLES",
    "STANDARD_N_SAMPLES",
    "STACKED_N_SAMPLES",
    "beta_vae_score",
    "classifier_score",
    "dci",
    "factor_vae_score",
    "mig",
    "sap",
    "count_modes",
    "density_coverage",
    "fid",
    "frechet_distance",
    "iw_log_likelihood",
    "kid",
    "likelihood_metrics",
    "mode_coverage",
    "precision_recall",
    "stacked_mnist_modes",
    "wasserstein1_exact",
    "wasserstein1_lp",
]
