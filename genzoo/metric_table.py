"""What each evaluation number is, and how it is written for people: one renderer for ``train``'s summary and ``eval``'s table.

Every likelihood is labelled for what it is — exact, an estimate with its error, or a bound — and
every number that has a null baseline (2-D mixtures: :mod:`genzoo.metrics.null_baselines`) is
shown beside it, so that "8 of 8 modes" can be read against what a blob or a uniform box scores.
The keys and values are those of :func:`genzoo.metrics.evaluate.evaluate`; ``genzoo eval --json``
prints the same numbers as one JSON line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Label:
    """A metric's name for people, what kind of number it is, and its unit ("" when none)."""

    label: str
    kind: str = ""
    unit: str = ""

    @property
    def short(self) -> str:
        """The one-line form of the run summary: "test log-likelihood (exact, nats)"."""
        inner = ", ".join(p for p in (self.kind, self.unit) if p)
        return f"{self.label} ({inner})" if inner else self.label


#: Metrics in the order people read them, with their labels. Others follow by key.
LABELS: dict[str, Label] = {
    "modes": Label("modes covered"),
    "hq_share": Label("high-quality samples"),
    "w1": Label("W1"),
    "fid": Label("FID"),
    "kid": Label("KID"),
    "precision": Label("PR precision"),
    "recall": Label("PR recall"),
    "density": Label("density"),
    "coverage": Label("coverage"),
    "classifier_score": Label("classifier score"),
    "stacked_modes": Label("Stacked-MNIST modes"),
    "stacked_kl": Label("Stacked-MNIST KL to uniform"),
    "log_likelihood": Label("test log-likelihood", "exact", "nats"),
    "log_likelihood_ais": Label("test log-likelihood", "AIS estimate", "nats"),
    "log_likelihood_conservative": Label("test log-likelihood", "reverse-AIS estimate", "nats"),
    "log_likelihood_certain_upper": Label("test log-likelihood ≤", "certain upper bound", "nats"),
    "log_likelihood_iw": Label("test log-likelihood ≥", "IWAE bound", "nats"),
    "log_likelihood_grid": Label("test log-likelihood", "grid-normalised estimate", "nats"),
    "elbo": Label("test ELBO", "bound", "nats"),
    "log_likelihood_sandwich_low": Label("test log-likelihood ≥", "reverse-AIS sandwich bound", "nats"),
    "log_likelihood_sandwich_high": Label("test log-likelihood ≤", "AIS sandwich bound", "nats"),
    "rate": Label("rate KL(q(z|x) ‖ p(z))", "", "nats"),
    "distortion": Label("distortion −E log p(x|z)", "", "nats"),
    "active_units": Label("active latent units"),
    "dis_beta_vae": Label("β-VAE score"),
    "dis_factor_vae": Label("FactorVAE score"),
    "dis_mig": Label("MIG"),
    "dis_dci_disentanglement": Label("DCI disentanglement"),
    "dis_dci_completeness": Label("DCI completeness"),
    "dis_dci_informativeness": Label("DCI informativeness"),
    "dis_sap": Label("SAP"),
}

#: Metrics shown first in a run's summary line ("quality:"), in this order.
HEADLINE = ("modes", "hq_share", "w1", "fid", "kid", "precision", "recall",
            "log_likelihood", "log_likelihood_ais", "log_likelihood_grid", "log_likelihood_iw", "elbo")

#: Numbers that qualify another row (its error, its sample size, its schedule): shown inside that row.
_DETAILS = {"log_likelihood_ais_low", "log_likelihood_ais_high", "log_z_ais", "log_z_std", "log_z_reverse",
            "log_z_reverse_std", "conservative_exact_start", "ais_betas", "ais_runs", "log_likelihood_iw_se",
            "iw_k", "fid_n", "stacked_n", "log_likelihood_grid_se", "grid_bins", "log_z_grid", "grid_x_low",
            "grid_x_high", "grid_y_low", "grid_y_high"}


def value_text(key: str, value: float, total_modes: int | None = None) -> str:
    """A metric's value as people read it: a share in %, a count "of N", else 4 significant digits."""
    if key == "modes":
        return f"{value:.0f}" + (f" of {total_modes}" if total_modes else "")
    if key == "hq_share":
        return f"{100 * value:.1f} %"
    if key in ("stacked_modes", "active_units"):
        return f"{value:.0f}"
    return f"{value:.4g}"


def headline(metrics: dict[str, float], total_modes: Callable[[], int | None] | None = None) -> list[str]:
    """The summary's "label value" items (``total_modes`` is asked only when modes are shown)."""
    shown = []
    for key in HEADLINE:
        if key in metrics:
            total = total_modes() if (key == "modes" and total_modes is not None) else None
            shown.append(f"{LABELS[key].short} {value_text(key, metrics[key], total)}")
    return shown


def _what(key: str, m: dict[str, float], n: int | None) -> str:
    """The "what it is" column: exact / estimate ± error / bound, and the protocol behind the number."""
    if key == "w1":
        return "exact optimal transport to held-out data" + (f", {n} vs {n}" if n else "")
    if key == "modes":
        return "nearest mode within 3σ, by the Euclidean rule"
    if key == "hq_share":
        return "share within 3σ of its nearest mode"
    if key in ("fid", "kid", "precision", "recall", "density", "coverage", "classifier_score"):
        size = f", {m['fid_n']:.0f} samples" if "fid_n" in m else ""
        return f"genzoo's MNIST features{size} (not comparable with Inception numbers)"
    if key in ("stacked_modes", "stacked_kl"):
        return f"of 1000 classes, {m['stacked_n']:.0f} samples" if "stacked_n" in m else "of 1000 classes"
    if key == "log_likelihood":
        return "exact (log Z by enumeration)"
    if key == "log_likelihood_ais":
        schedule = (f", {m['ais_betas']:.0f} β × {m['ais_runs']:.0f} runs" if "ais_betas" in m and "ais_runs" in m
                    else "")
        span = (f"; ±3 se range [{m['log_likelihood_ais_low']:.4g}, {m['log_likelihood_ais_high']:.4g}]"
                if "log_likelihood_ais_low" in m and "log_likelihood_ais_high" in m else "")
        return f"estimate ± se (AIS{schedule}; tends to be optimistic){span}"
    if key == "log_likelihood_grid":
        where = (f" over [{m['grid_x_low']:.3g}, {m['grid_x_high']:.3g}] × [{m['grid_y_low']:.3g}, {m['grid_y_high']:.3g}]"
                 if all(f"grid_{a}_{e}" in m for a in "xy" for e in ("low", "high")) else " over the data box")
        cells = f", {m['grid_bins']:.0f}² cells" if "grid_bins" in m else ""
        return f"estimate ± se: exp(−E) grid-normalised{where}{cells} (mass outside the box ignored)"
    if key == "log_likelihood_conservative":
        start = {1.0: ", exact starts", 0.0: ", Gibbs-chain starts"}.get(m.get("conservative_exact_start", -1.0), "")
        return f"estimate ± se (reverse AIS{start}; tends to be pessimistic)"
    if key == "log_likelihood_certain_upper":
        return "bound: certain upper bound (Z ≥ Σ over the distinct test examples)"
    if key == "log_likelihood_iw":
        k = f", K = {m['iw_k']:.0f}" if "iw_k" in m else ""
        return f"bound ± se (IWAE{k}: a stochastic lower bound)"
    if key == "elbo":
        return "bound (lower)"
    if key.startswith("log_likelihood_sandwich"):
        return "bound, in expectation (mean log-weight)"
    if key.startswith("dis_"):
        return "disentanglement score (higher is better, at most 1)"
    return LABELS[key].kind if key in LABELS else ""


def _error(key: str, m: dict[str, float]) -> float | None:
    """The ± error of a row that has one."""
    return {"log_likelihood_ais": m.get("log_z_std"), "log_likelihood_conservative": m.get("log_z_reverse_std"),
            "log_likelihood_iw": m.get("log_likelihood_iw_se"), "log_likelihood_grid": m.get("log_likelihood_grid_se")}.get(key)


def rows(metrics: dict[str, float], total_modes: int | None = None, n: int | None = None,
         nulls: dict[str, dict[str, float]] | None = None) -> list[tuple[str, str, str, str]]:
    """(label, value, what it is, nulls) for every metric of ``metrics``, the known ones first."""
    keys = [k for k in LABELS if k in metrics] + sorted(k for k in metrics if k not in LABELS and k not in _DETAILS)
    out = []
    for key in keys:
        value = metrics[key]
        if not isinstance(value, (int, float)):
            continue
        label = LABELS[key] if key in LABELS else Label(key.replace("_", " "))
        text = value_text(key, float(value), total_modes)
        error = _error(key, metrics)
        if error is not None:
            text += f" ± {error:.2g}"
        if label.unit:
            text += f" {label.unit}"
        null = ""
        if nulls and any(key in scores for scores in nulls.values()):
            null = " · ".join(f"{name} {value_text(key, scores[key], total_modes)}"
                              for name, scores in nulls.items() if key in scores)
        out.append((label.label, text, _what(key, metrics, n), null))
    return out


def table(metrics: dict[str, float], head: str, total_modes: int | None = None, n: int | None = None,
          nulls: dict[str, dict[str, float]] | None = None) -> str:
    """``genzoo eval``'s table: a heading line, then one aligned row per metric (nulls in the last column)."""
    body = rows(metrics, total_modes, n, nulls)
    header = ("metric", "value", "what it is", "null baselines (same rule, same n)" if nulls else "")
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(3)]
    lines = [head]
    for r in [header, *body]:
        cells = [r[i].ljust(widths[i]) for i in range(3)] + ([r[3]] if r[3] else [])
        lines.append(("  " + "  ".join(cells)).rstrip())
    return "\n".join(lines)
