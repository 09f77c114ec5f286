"""Render the zoo (:mod:`genzoo.bench.zoo`) from its records: ``zoo.json``'s usability rows, ``report.md``, a
self-contained ``report.html`` (figures in ``OUT/figures`` embedded as base64, no JavaScript) and, for binarised
MNIST, ``OUT/mnist/mnist.md`` with ``mnist_samples.png``.

Sections: per data set one table of sample quality and labelled test log-likelihood (mean ± sample std over
seeds) with the nulls scored the same way; usability (time to a threshold, learning-rate sensitivity,
divergences, hyper-parameters, weights' size, speed); figures (quality vs training time, log-likelihood vs
sample quality, final samples); every registered model classified from its declared capabilities;
conclusions generated from the numbers (each states the numbers it rests on); the protocol.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

from genzoo.bench import summary_stats
from genzoo.bench.report import _html_table, _md_table, fmt  # one table renderer for every report
from genzoo.files import write_json_atomic

#: The scatter shows log-likelihoods down to −H(p) − SCATTER_NATS; lower means are drawn on the floor (▼, value written).
SCATTER_NATS = 12.0
SAMPLES = "samples64.pt"  # an MNIST cell's first 64 samples, in its run directory
MARKERS = {"exact": "o", "AIS": "D", "IWAE bound": "^", "ELBO": "v", "grid": "s"}


# ---------------------------------------------------------------------------------- numbers
def pm(stats: dict[str, Any] | None, scale: float = 1.0) -> str:
    """'mean ± std' of a summary_stats dict ('—' when empty; the mean alone for one value)."""
    if not stats or not stats.get("n"):
        return "—"
    if stats.get("std") is None:
        return fmt(stats["mean"] * scale)
    return f"{fmt(stats['mean'] * scale)} ± {fmt(stats['std'] * scale)}"


def model_labels(result: dict[str, Any]) -> list[str]:
    return [z["label"] for z in result["zoo"]] + [d["label"] for d in result["derived"]]


def data_labels(result: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(c["data_label"] for c in result["grids"].get("main", {}).get("cells", [])))


def cells_of(result: dict[str, Any], label: str, data: str) -> list[dict[str, Any]]:
    pool = result["grids"].get("main", {}).get("cells", []) + result["derived_cells"]
    return [c for c in pool if c["label"] == label and c["data_label"] == data]


# ---------------------------------------------------------------------------------- usability
def _bars(result: dict[str, Any], data: str) -> dict[str, float]:
    """The thresholds' bars on one data set from the sample-quality nulls (mean over seeds)."""
    quality = {e["label"]: e for e in result["nulls"].get(data, {}).get("quality", [])}
    bars = {}
    if "gaussian" in quality and "w1" in quality["gaussian"]:
        bars["w1_gauss"] = quality["gaussian"]["w1"]
    hq = [e["hq_share"] for name, e in quality.items() if name != "data" and "hq_share" in e]
    if hq:
        bars["hq_nulls"] = max(hq)
    return bars


def time_to(curve: list[dict[str, float]], metric: str, bar: float, direction: str) -> float | None:
    """Training seconds at the first evaluation where ``metric`` is beyond ``bar`` (None: never)."""
    for point in curve:
        v = point.get(metric)
        if v is not None and math.isfinite(v) and (v < bar if direction == "lower" else v > bar):
            return point["seconds"]
    return None


def usability(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per zoo model: time to each threshold per data set (over seeds), divergences,
    learning-rate sensitivity (range of final W1 and hq_share over lr ×1/3, ×1, ×3 on ring8),
    hyper-parameters, weights' bytes, training speed."""
    main = result["grids"].get("main", {}).get("cells", [])
    lr = result["grids"].get("lr", {}).get("cells", [])
    rows = []
    labels = [z["label"] for z in result["zoo"]] + [d["label"] for d in result["derived"]]
    data_labels = list(dict.fromkeys(c["data_label"] for c in main))
    for label in labels:
        is_derived = label in [d["label"] for d in result["derived"]]
        mine = [c for c in (result["derived_cells"] if is_derived else main) if c["label"] == label]
        row: dict[str, Any] = {"label": label, "family": result["families"].get(label), "model": result["models"].get(label)}
        for data in data_labels:
            cells = [c for c in mine if c["data_label"] == data]
            bars = _bars(result, data)
            for key, bar in bars.items():
                metric, direction = ("w1", "lower") if key == "w1_gauss" else ("hq_share", "higher")
                times = []
                for c in cells:
                    if c.get("status") != "ok":
                        continue
                    if is_derived:  # DDLS is scored once at the end: it counts if it clears the bar then
                        v = c.get(metric)
                        ok = v is not None and (v < bar if direction == "lower" else v > bar)
                        times.append(c["curve"][-1]["seconds"] + c.get("sample_seconds", 0.0) if ok and c.get("curve") else None)
                    else:
                        times.append(time_to(c.get("curve", []), metric, bar, direction))
                row[f"t_{key}__{data}"] = {"bar": bar, "reached": sum(t is not None for t in times), "runs": len(times),
                                           **summary_stats([t for t in times if t is not None])}
            finals = [c for c in cells if c.get("status") == "ok"]
            for m in ("w1", "hq_share"):
                row[f"{m}__{data}"] = summary_stats([c.get(m) for c in finals])
            sps = [c["steps"] / c["curve"][-1]["seconds"] for c in finals if c.get("curve") and c["curve"][-1]["seconds"] > 0]
            row[f"steps_per_s__{data}"] = summary_stats(sps)
        # divergence over every run of this model (main grid and learning-rate grid)
        pool = mine + ([] if is_derived else [c for c in lr if c["label"].startswith(label + " [lr")])
        row["runs"] = len(pool)
        row["diverged"] = sum(c.get("status") == "diverged" for c in pool)
        row["failed"] = sum(c.get("status") == "failed" for c in pool)
        # learning-rate sensitivity on the lr data set: per seed, the range over ×1/3, ×1, ×3
        if not is_derived:
            sens: dict[str, Any] = {}
            for m in ("w1", "hq_share"):
                spans, per_factor = [], {}
                seeds = sorted({c["seed"] for c in lr if c["label"].startswith(label + " [lr")})
                for seed in seeds:
                    base = next((c for c in main if c["label"] == label and c["data_label"] == result["lr_data"]
                                 and c["seed"] == seed), None)
                    variants = [c for c in lr if c["label"].startswith(label + " [lr") and c["seed"] == seed]
                    values = {"×1": base.get(m) if base and base.get("status") == "ok" else None}
                    for c in variants:
                        values[c["label"][len(label) + 5:-1]] = c.get(m) if c.get("status") == "ok" else None
                    per_factor[seed] = values
                    finite = [v for v in values.values() if v is not None]
                    if len(finite) == len(values) and finite:
                        spans.append(max(finite) - min(finite))
                sens[m] = {"range": summary_stats(spans), "values": per_factor}
            row["lr_sensitivity"] = sens
        ok = [c for c in mine if c.get("status") == "ok"]
        row["n_hparams"] = next((c["n_hparams"] for c in ok if "n_hparams" in c), None)
        row["weight_bytes"] = next((c["weight_bytes"] for c in ok if "weight_bytes" in c), None)
        if is_derived:  # the GAN's fields plus the sampler's (DDLS is the only derived sampler)
            import dataclasses

            from genzoo.sampling.ddls import DDLSConfig

            row["n_hparams"] = (row["n_hparams"] or 0) + len(dataclasses.fields(DDLSConfig))
        rows.append(row)
    return rows


def quality_table(result: dict[str, Any], data: str) -> tuple[list[str], list[list[str]], list[str]]:
    """Header, rows (models then nulls) and footnotes of one data set's quality + likelihood table."""
    nulls = result["nulls"].get(data, {})
    entropy_row = next((r for r in nulls.get("likelihood", []) if r["null"] == "data"), None)
    neg_h = entropy_row["ll"] if entropy_row else None
    header = ["model", "family", "runs ok", "modes ↑", "hq_share ↑", "W1 ↓", "test log-lik. (nats) ↑", "how", "− (−H): gap ↑", "ELBO"]
    rows: list[list[str]] = []
    for label in model_labels(result):
        cells = cells_of(result, label, data)
        if not cells:
            continue
        ok = [c for c in cells if c.get("status") == "ok"]
        st = {m: summary_stats([c.get(m) for c in ok]) for m in ("modes", "hq_share", "w1", "ll", "elbo")}
        kinds = sorted({c["ll_kind"] for c in ok if c.get("ll_kind")})
        kind = "/".join(kinds) if kinds else "intractable"
        if kinds == ["IWAE bound"]:
            kind += f" K={ok[0].get('iw_k')}"
        if kinds == ["grid"]:
            kind += f" {ok[0].get('grid_bins')}²"
        gap = summary_stats([c["ll"] - neg_h for c in ok if c.get("ll") is not None and neg_h is not None])
        status = f"{len(ok)}/{len(cells)}"
        bad = [c["status"] for c in cells if c.get("status") != "ok"]
        if bad:
            status += " (" + ", ".join(f"{bad.count(s)} {s}" for s in sorted(set(bad))) + ")"
        rows.append([label, result["families"].get(label, ""), status, pm(st["modes"]), pm(st["hq_share"]), pm(st["w1"]),
                     pm(st["ll"]), kind if st["ll"].get("n") else "intractable", pm(gap) if st["ll"].get("n") else "—",
                     pm(st["elbo"])])
    quality = {e["label"]: e for e in nulls.get("quality", [])}
    lik = {r["null"]: r for r in nulls.get("likelihood", [])}
    for name in list(quality) + [n for n in lik if n not in quality]:
        q, l_ = quality.get(name, {}), lik.get(name)
        q_pm = {m: (f"{fmt(q[m])} ± {fmt(q[m + '_std'])}" if q.get(m + "_std") is not None else fmt(q.get(m))) if m in q else "—"
                for m in ("modes", "hq_share", "w1")}
        ll = "—" if l_ is None else (f"{fmt(l_['ll'])} ± {fmt(l_['ll_se'])}" if math.isfinite(l_["ll"]) else "−∞")
        how = "—" if l_ is None else ("exact" if l_["ll_kind"] == "exact" else f"grid {l_.get('grid_bins')}²")
        gap = "—" if l_ is None or neg_h is None or not math.isfinite(l_["ll"]) else fmt(l_["ll"] - neg_h)
        rows.append([f"null: {name}", "null", str(q.get("n_seeds", "—")), q_pm["modes"], q_pm["hq_share"], q_pm["w1"],
                     ll, how, gap, "—"])
    notes = [
        f"Test log-likelihood: mean over {nulls.get('n_test', '?')} fixed held-out points, then mean ± sample std over seeds "
        "(for a null: ± the standard error over the points). 'how' says what the number is: exact, AIS estimate, "
        "IWAE bound (a stochastic lower bound), ELBO (a lower bound) or grid (exp(−E) normalised on a grid over the box).",
        "gap = log-likelihood − (mean exact log p of the same points) = −H(p) estimate; for an exact or grid value it estimates "
        "−KL(p‖q) ≤ 0; for a bound it is at most that.",
        "null: data (grid-normalised) is the exact density normalised by the same grid rule as the energy models: its gap to "
        "null: data is the grid rule's own error on this data set.",
        f"null: uniform-box: its sample-quality columns are the suite's null (uniform on the means' box ± 3σ); its "
        f"log-likelihood is that of the uniform density on the means' box ± {result['box_sigmas']:g}σ, so that every test "
        "point lies inside (the ± 3σ box would give −∞ for the few test points outside it).",
    ]
    return header, rows, notes


def usability_table(result: dict[str, Any]) -> tuple[list[str], list[list[str]], list[str]]:
    datas = data_labels(result)
    header = ["model", "family"] + [f"s to W1 < Gaussian null: {d}" for d in datas] + \
             [f"lr ÷3/×3: W1 range ({result['lr_data']})", "diverged", "hyper-params", "weights", "steps/s"]
    rows = []
    for u in result["usability"]:
        row = [u["label"], u["family"] or ""]
        for d in datas:
            t = u.get(f"t_w1_gauss__{d}")
            if not t:
                row.append("—")
                continue
            text = f"{fmt(t['median'])} [{fmt(t['min'])}–{fmt(t['max'])}]" if t.get("n") else "never"
            row.append(f"{text} ({t['reached']}/{t['runs']})")
        sens = u.get("lr_sensitivity", {}).get("w1")
        if sens is None:
            row.append("n/a (no lr)")
        elif sens["range"].get("n"):
            row.append(pm(sens["range"]) + (f" (n={sens['range']['n']})" if sens["range"]["n"] > 1 else ""))
        else:
            bad = sum(1 for v in sens["values"].values() for x in v.values() if x is None)
            row.append(f"— ({bad} run(s) without a value)" if bad else "—")
        row.append(f"{u['diverged']}/{u['runs']}" + (f" (+{u['failed']} failed)" if u.get("failed") else ""))
        row.append(str(u["n_hparams"]) if u["n_hparams"] is not None else "—")
        row.append(f"{u['weight_bytes'] / 1024:.0f} KiB" if u.get("weight_bytes") else "—")
        sps = [u.get(f"steps_per_s__{d}", {}) for d in datas]
        sps_all = summary_stats([s["mean"] for s in sps if s.get("n")])
        row.append(fmt(sps_all["mean"]) if sps_all.get("n") else "—")
        rows.append(row)
    notes = [
        "s to W1 < Gaussian null: training seconds (evaluation time excluded, from the trainer's logged speed) until the "
        "first evaluation whose W1 is below the one-Gaussian null's W1 (same n, same rule); median [min–max] over the runs "
        "that reached it, (reached/runs). 'never': no run reached it within the budget. GAN + DDLS is scored once, at the "
        "end: its time is the GAN's training time plus the sampling time when its final samples clear the bar.",
        f"lr ÷3/×3: every learning rate of the model multiplied by 1/3 and by 3 on {result['lr_data']}; the range "
        "max − min of the final W1 over the three runs (×1/3, ×1, ×3) of a seed, mean ± std over seeds.",
        "diverged: runs stopped by genzoo's divergence guard (NaN/Inf loss or weight → DivergenceError) over every run of "
        "the model (main grid and learning-rate grid).",
        "hyper-params: fields of the model's Config (what `--set` can change); weights: bytes of the state_dict "
        "(parameters and buffers, float32) — the size of `genzoo export`'s file, before metadata.",
        "steps/s: training steps per second (mean over data sets), one torch thread, on a shared machine: compare within "
        "this report only.",
    ]
    return header, rows, notes


def lr_table(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Final W1 and hq_share of every model at each learning-rate factor on the lr data set (mean over lr seeds)."""
    factors = ["×1/3", "×1", "×3"]
    header = ["model"] + [f"W1 {f}" for f in factors] + [f"hq_share {f}" for f in factors]
    rows = []
    for u in result["usability"]:
        sens = u.get("lr_sensitivity")
        if not sens:
            continue
        row = [u["label"]]
        for m in ("w1", "hq_share"):
            for f in factors:
                values = [v.get(f) for v in sens[m]["values"].values()]
                finite = [v for v in values if v is not None]
                text = fmt(sum(finite) / len(finite)) if finite else "—"
                if len(finite) < len(values):
                    text += f" ({len(values) - len(finite)} failed/diverged)"
                row.append(text)
        rows.append(row)
    return header, rows


def capability_rows(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = ["model", "density of x", "log-likelihood", "latent inference", "capabilities", "what it is"]
    rows = [[r["model"], r["density"], r["likelihood"], r["inference"], ", ".join(r["capabilities"]), r["summary"]]
            for r in result["capabilities"]]
    return header, rows


# ---------------------------------------------------------------------------------- conclusions
def conclusions(result: dict[str, Any]) -> list[str]:
    """Statements generated from the numbers, each with the numbers it rests on."""
    out: list[str] = []
    for data in data_labels(result):
        entries = []
        for label in model_labels(result):
            ok = [c for c in cells_of(result, label, data) if c.get("status") == "ok"]
            w1 = summary_stats([c.get("w1") for c in ok])
            if w1.get("n"):
                entries.append((label, w1))
        if len(entries) >= 2:
            entries.sort(key=lambda e: e[1]["mean"])
            (a, sa), (b, sb) = entries[0], entries[1]
            separated = sa.get("n", 0) > 1 and sb.get("n", 0) > 1 and sa["max"] < sb["min"]
            out.append(f"{data}: lowest mean W1 is {a} ({pm(sa)}, n={sa['n']}), then {b} ({pm(sb)}); "
                       + ("every seed of the first is below every seed of the second." if separated
                          else "their seeds overlap, so the order of these two is not established."))
        quality = {e["label"]: e for e in result["nulls"].get(data, {}).get("quality", [])}
        if "gaussian" in quality:
            bar = quality["gaussian"]["w1"]
            beat = [lab for lab, s in entries if s.get("n") and s["max"] < bar]
            none = [lab for lab, s in entries if s.get("n") and s["min"] >= bar]
            out.append(f"{data}: {len(beat)} of {len(entries)} models beat the one-Gaussian null's W1 ({fmt(bar)}) on every seed"
                       + (f" ({', '.join(beat)})" if beat else "") + (f"; on no seed: {', '.join(none)}" if none else "") + ".")
        lls = []
        for label in model_labels(result):
            ok = [c for c in cells_of(result, label, data) if c.get("status") == "ok" and c.get("ll") is not None]
            if ok:
                lls.append((label, summary_stats([c["ll"] for c in ok]), sorted({c["ll_kind"] for c in ok})))
        lik = {r["null"]: r for r in result["nulls"].get(data, {}).get("likelihood", [])}
        if lls and "gaussian" in lik and "data" in lik:
            lls.sort(key=lambda e: -e[1]["mean"])
            top = lls[0]
            above = [lab for lab, s, _ in lls if s.get("n") and s["min"] > lik["gaussian"]["ll"]]
            out.append(f"{data}: highest test log-likelihood {top[0]} ({pm(top[1])} nats, {'/'.join(top[2])}) against −H(p) = "
                       f"{fmt(lik['data']['ll'])}; above the Gaussian null ({fmt(lik['gaussian']['ll'])}) on every seed: "
                       + (", ".join(f"{lab}" for lab in above) if above else "none") + ". IWAE and ELBO values are lower bounds "
                       "of their model's log-likelihood: a bound above an exact value orders the two models, a bound below "
                       "any value orders nothing.")
    div = [(u["label"], u["diverged"], u["runs"]) for u in result["usability"] if u["diverged"]]
    out.append("Divergences: " + ("; ".join(f"{lab} {d}/{n} runs" for lab, d, n in div) if div
                                  else "none of the runs diverged (NaN/Inf) in this budget") + ".")
    fast = []
    for u in result["usability"]:
        ts = [u.get(f"t_w1_gauss__{d}", {}) for d in data_labels(result)]
        reached = sum(t.get("reached", 0) for t in ts)
        runs = sum(t.get("runs", 0) for t in ts)
        if runs:
            fast.append((u["label"], reached, runs))
    if fast:
        fast.sort(key=lambda e: -e[1] / e[2])
        out.append("Reached 'W1 below the Gaussian null' within the budget (runs, all data sets): "
                   + ", ".join(f"{lab} {r}/{n}" for lab, r, n in fast) + ".")
    return out


# ---------------------------------------------------------------------------------- figures
def _figure(w: float, h: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h))
    FigureCanvasAgg(fig)
    return fig


def _colors(labels: list[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return {lab: cmap(i % 20) for i, lab in enumerate(labels)}


def make_figures(out: Path, result: dict[str, Any]) -> list[dict[str, Any]]:
    """Quality vs time and likelihood vs quality per data set; final sample pictures. Returns figure records."""
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    figures: list[dict[str, Any]] = []
    labels = model_labels(result)
    colors = _colors(labels)
    datas = data_labels(result)
    if not datas:
        return figures
    # quality vs time: mean W1 over seeds at each evaluation, against mean training seconds
    fig = _figure(5.0 * len(datas), 4.2)
    for i, data in enumerate(datas):
        ax = fig.add_subplot(1, len(datas), i + 1)
        for label in labels:
            curves = [c.get("curve", []) for c in cells_of(result, label, data) if c.get("status") == "ok" and c.get("curve")]
            if not curves or label in [d["label"] for d in result["derived"]]:
                continue
            n = min(len(c) for c in curves)
            xs = [sum(c[k]["seconds"] for c in curves) / len(curves) for k in range(n)]
            ys = [sum(c[k]["w1"] for c in curves) / len(curves) for k in range(n)]
            ax.plot(xs, ys, marker=".", label=label, color=colors[label])
        quality = {e["label"]: e for e in result["nulls"].get(data, {}).get("quality", [])}
        for name, style in (("gaussian", "--"), ("data", ":")):
            if name in quality:
                ax.axhline(quality[name]["w1"], color="k", linestyle=style, linewidth=1, label=f"null: {name}")
        ax.set_yscale("log")
        ax.set_xlabel("training seconds (mean over seeds)")
        ax.set_ylabel("W1 (exact) ↓")
        ax.set_title(data)
        if i == len(datas) - 1:
            ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    path = fig_dir / "quality_vs_time.png"
    fig.savefig(path, dpi=90)
    figures.append({"path": path, "caption": "W1 over training against training seconds (mean over seeds; dashed: the "
                    "one-Gaussian null, dotted: the data itself at the same sample size). Log scale."})
    # likelihood vs sample quality
    fig = _figure(5.0 * len(datas), 4.2)
    for i, data in enumerate(datas):
        ax = fig.add_subplot(1, len(datas), i + 1)
        lik = {r["null"]: r for r in result["nulls"].get(data, {}).get("likelihood", [])}
        floor = lik["data"]["ll"] - SCATTER_NATS if "data" in lik else -math.inf
        for label in labels:
            ok = [c for c in cells_of(result, label, data) if c.get("status") == "ok" and c.get("ll") is not None
                  and math.isfinite(c["ll"]) and c.get("w1") is not None]
            if not ok:
                continue
            kind = ok[0]["ll_kind"]
            w1 = summary_stats([c["w1"] for c in ok])
            ll = summary_stats([c["ll"] for c in ok])
            if ll["mean"] < floor:  # off the scale: drawn on the floor, its value written beside it
                ax.scatter([w1["mean"]], [floor + 0.2], marker="v", color=colors[label], label=f"{label} ({kind}, off scale)")
                ax.annotate(f"{fmt(ll['mean'])}", (w1["mean"], floor + 0.2), fontsize=6, xytext=(3, 3), textcoords="offset points")
                continue
            ax.errorbar([w1["mean"]], [ll["mean"]], xerr=[[w1["std"] or 0]], yerr=[[min(ll["std"] or 0, ll["mean"] - floor)]],
                        marker=MARKERS.get(kind, "o"), color=colors[label], label=f"{label} ({kind})", capsize=2)
        if "data" in lik:
            ax.set_ylim(lik["data"]["ll"] - SCATTER_NATS, lik["data"]["ll"] + 1.0)
        quality = {e["label"]: e for e in result["nulls"].get(data, {}).get("quality", [])}
        for name, marker in (("data", "*"), ("gaussian", "P")):
            if name in lik and name in quality:
                ax.scatter([quality[name]["w1"]], [lik[name]["ll"]], marker=marker, s=80, color="k", label=f"null: {name}")
        if "data" in lik:
            ax.axhline(lik["data"]["ll"], color="k", linestyle=":", linewidth=1)
        ax.set_xscale("log")
        from matplotlib.ticker import ScalarFormatter

        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(ScalarFormatter())
        ax.tick_params(axis="x", which="both", labelsize=6)
        ax.set_xlabel("W1 (exact) ↓")
        ax.set_ylabel("test log-likelihood (nats) ↑")
        ax.set_title(f"{data} (dotted: −H(p))")
        if i == len(datas) - 1:
            ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    path = fig_dir / "likelihood_vs_quality.png"
    fig.savefig(path, dpi=90)
    figures.append({"path": path, "caption": "Test log-likelihood against W1 (mean ± std over seeds) for every model with "
                    "a density or bound; marker = how the likelihood was obtained (o exact, ◆ AIS, ▲ IWAE bound, ▼ ELBO, "
                    "■ grid; ▼ on the floor: a mean more than 12 nats below −H(p), its value written beside it). Implicit models (GANs, ALI/BiGAN, DAE) have no point: their likelihood is intractable."})
    # final samples of seed 0 (the trainer's last picture of each run; runs/ is not committed: a rerender
    # without it keeps the figure already there)
    for data in datas:
        pictures = []
        for label in labels:
            cells = sorted((c for c in cells_of(result, label, data) if c.get("status") == "ok" and "source" not in c),
                           key=lambda c: c["seed"])
            pics = sorted((out / "runs" / cells[0]["id"] / "samples").glob("step_*.png")) if cells else []
            if pics:
                pictures.append((label, pics[-1]))
        path = fig_dir / f"samples_{data}.png"
        if pictures:
            from PIL import Image

            cols = min(4, len(pictures))
            rws = math.ceil(len(pictures) / cols)
            fig = _figure(3.0 * cols, 3.2 * rws)
            for k, (label, pic) in enumerate(pictures):
                ax = fig.add_subplot(rws, cols, k + 1)
                with Image.open(pic) as im:
                    ax.imshow(im.convert("RGB"))
                ax.set_title(label, fontsize=8)
                ax.axis("off")
            fig.tight_layout()
            fig.savefig(path, dpi=80)
        if path.is_file():
            figures.append({"path": path, "caption": f"{data}: final samples of seed 0 (the trainer's last picture of each run)."})
    return figures


# ---------------------------------------------------------------------------------- writers
def protocol_items(result: dict[str, Any], timing: dict[str, Any]) -> list[tuple[str, str]]:
    b = result["budget"]
    items = [("mode", "--quick: a budget cut to finish in minutes on two cores (steps, evaluations, seeds and test sizes "
                      "below); the full budget is the reference" if result["quick"] else "full budget"),
             ("train (every cell)", ", ".join(f"{k}={v}" for k, v in b["train"].items())),
             ("seeds", f"main grid {b['seeds']}, learning-rate grid {b['lr_seeds']}"),
             ("test log-likelihood", f"{b['n_test']} fixed held-out points per data set; IWAE K = {b['iw_k']}; grid "
              f"{b['grid_bins']}×{b['grid_bins']} over the means' box ± {result['box_sigmas']:g}σ"),
             ("learning-rate grid", f"every lr field × {', '.join(f'{f:.3g}' for f in result['lr_factors'])} on {result['lr_data']}")]
    for z in result["zoo"]:
        items.append((f"model “{z['label']}”", f"{z['model']} ({z['family']}) with {z['set']}; lr fields {z['lr_fields']}"))
    for d in result["derived"]:
        items.append((f"row “{d['label']}”", f"the runs of “{d['source']}” sampled by genzoo's {d['sampler']} sampler (defaults)"))
    for which, g in result["grids"].items():
        items.append((f"{which} grid", f"{len(g['cells'])} cells; experiment zoo v{g['ident']['version']}, "
                      f"sha256 {g['ident']['spec_sha256'][:16]}… (OUT/experiment.json, records in OUT/cells)"))
    for inv in timing.get("invocations", []):
        items.append(("invocation", f"{inv['cells_run']} cell(s) trained and scored in {inv['seconds']:.0f} s, "
                      f"--jobs {inv['jobs']}, finished {inv['finished']}"))
    return items


def write_report(out: Path, result: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``OUT/report.md`` and ``OUT/report.html`` (the wall-clock from the engine's ``OUT/timing.json``)."""
    out = Path(out)
    timing = json.loads((out / "timing.json").read_text()) if (out / "timing.json").is_file() else {}
    figures = make_figures(out, result)
    title = f"genzoo zoo report ({'quick' if result['quick'] else 'full'} budget)"
    intro = ("Every family of genzoo trained on the same 2-D mixtures (exact densities known) under one pinned budget, "
             "several seeds, scored by one metric suite: sample quality (modes, high-quality share, exact W1), test "
             "log-likelihood labelled by how it was obtained, and usability. Null baselines are scored by the same rules "
             "in every table. Binarised MNIST is reported separately (`--set grids=mnist`: OUT/mnist/mnist.md; see docs/zoo.md). Translation models (DualGAN, "
             "CVAE-GAN) need two image domains and do not apply to 2-D points: they appear only in the capability table.")
    sections: list[tuple[str, list[tuple[str, Any]]]] = []
    for data in data_labels(result):
        h, r, notes = quality_table(result, data)
        sections.append((f"Sample quality and likelihood: {data}", [("table", (h, r)), ("notes", notes)]))
    h, r, notes = usability_table(result)
    lh, lr_rows = lr_table(result)
    sections.append(("Usability: which model should a student pick?", [
        ("table", (h, r)), ("notes", notes),
        ("notes", [f"Learning-rate runs on {result['lr_data']}: final W1 and high-quality share with every learning rate "
                   "of the model multiplied by 1/3, 1 and 3 (mean over the learning-rate grid's seeds)."]),
        ("table", (lh, lr_rows))]))
    sections.append(("Figures", [("figure", f) for f in figures]))
    h, r = capability_rows(result)
    sections.append(("How each model represents the data (filled in from declared capabilities)", [
        ("notes", ["The classic comparison (RBM: explicit density, exact likelihood; VAE: explicit, variational lower bound; "
                   "GAN: implicit, intractable) for every registered model, derived by genzoo.bench.zoo.classify from the "
                   "methods each model defines (genzoo.models.capabilities): log_prob → exact; log_prob_estimate → "
                   "estimate; elbo or proposal + log_joint → bound; energy only → unnormalised (exact up to log Z); none → "
                   "intractable (implicit density)."]),
        ("table", (h, r))]))
    sections.append(("Conclusions (generated from the numbers above)", [("list", conclusions(result))]))
    sections.append(("Protocol", [("table", (["item", "value"], [list(i) for i in protocol_items(result, timing)]))]))

    invocations = timing.get("invocations", [])
    jobs = invocations[-1]["jobs"] if invocations else 1
    budget = result["budget"]
    run_line = (f"Command: `genzoo bench zoo {'--quick ' if result['quick'] else ''}--jobs {jobs}`. Budget: "
                f"{budget['train']['steps']} steps of batch {budget['train']['batch_size']} per run, evaluations of "
                f"{budget['train']['n_eval']} samples every {budget['train']['sample_every']} steps, seeds {budget['seeds']} "
                f"(learning-rate grid: seeds {budget['lr_seeds']}). Wall-clock: {timing.get('seconds', 0.0) / 60:.1f} min "
                f"training and scoring ({len(invocations)} invocation(s)), finished "
                f"{invocations[-1]['finished'] if invocations else '?'}.")
    intro = intro + " " + run_line
    md = [f"# {title}", "", intro, ""]
    for name, parts in sections:
        md += [f"## {name}", ""]
        for kind, content in parts:
            if kind == "table":
                md += [_md_table(*content), ""]
            elif kind == "notes":
                md += [f"*{n}*" for n in content] + [""]
            elif kind == "list":
                md += [f"- {n}" for n in content] + [""]
            elif kind == "figure":
                md += [f"![{content['caption']}](figures/{content['path'].name})", "", f"*{content['caption']}*", ""]
    (out / "report.md").write_text("\n".join(md))

    css = ("body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222}"
           "table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;"
           "text-align:left;vertical-align:top}th{background:#f3f3f3}.note{font-size:12px;color:#555}img{max-width:100%}")
    parts_html = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                  f"<style>{css}</style></head><body><h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p>"]
    for name, parts in sections:
        parts_html.append(f"<h2>{html.escape(name)}</h2>")
        for kind, content in parts:
            if kind == "table":
                parts_html.append(_html_table(*content))
            elif kind == "notes":
                parts_html += [f"<p class='note'>{html.escape(n)}</p>" for n in content]
            elif kind == "list":
                parts_html.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in content) + "</ul>")
            elif kind == "figure":
                data = base64.b64encode(content["path"].read_bytes()).decode()
                parts_html.append(f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(content['caption'])}'>"
                                  f"<figcaption class='note'>{html.escape(content['caption'])}</figcaption></figure>")
    parts_html.append("</body></html>")
    (out / "report.html").write_text("\n".join(parts_html))
    return out / "report.md", out / "report.html"


# ---------------------------------------------------------------------------------- binarised MNIST
def _ll_text(mean: float | None, spread: float | None, kind: str | None, extra: str = "") -> str:
    if mean is None or kind is None:
        return "— (intractable)"
    text = fmt(mean) if spread is None or not math.isfinite(spread) else f"{fmt(mean)} ± {fmt(spread)}"
    return f"{text} ({kind}{extra})"


def mnist_table(result: dict[str, Any]) -> tuple[list[str], list[list[str]], list[str]]:
    """Header, rows (models, mean ± sample std over seeds; then nulls) and footnotes of the binarised-MNIST table."""
    b = result["budget"]
    header = ["model", "family", "runs ok", "train s", f"FID (n={b['n_fid']})", "KID", "precision", "recall",
              f"test log-lik. (nats, {b['n_test']} images)"]
    rows = []
    for z in result["zoo"]:
        cells = [c for c in result["cells"] if c["label"] == z["label"]]
        ok = [c for c in cells if c.get("status") == "ok"]
        row = [z["label"], z["family"], f"{len(ok)}/{len(cells)}", pm(summary_stats([c.get("train_seconds") for c in ok]))]
        row += [pm(summary_stats([c.get(k) for c in ok])) for k in ("fid", "kid", "precision", "recall")]
        with_ll = [c for c in ok if c.get("ll_kind")]
        if with_ll:
            st = summary_stats([c["ll"] for c in with_ll])
            kind = with_ll[0]["ll_kind"]
            extra = f", K={with_ll[0]['iw_k']}" if kind == "IWAE bound" else ""
            if kind == "IWAE bound" and any("elbo" in c for c in with_ll):
                extra += f"; ELBO {fmt(summary_stats([c['elbo'] for c in with_ll if 'elbo' in c])['mean'])}"
            row.append(_ll_text(st["mean"], st.get("std"), kind, extra))
        else:
            row.append(_ll_text(None, None, None))
        rows.append(row)
    for n in result["nulls"]:
        row = [f"null: {n['null']}", "—", "—", "0"] + [fmt(n[k]) if k in n else "—" for k in ("fid", "kid", "precision", "recall")]
        row.append(_ll_text(n["ll"], n.get("ll_se"), n["ll_kind"], ", ± s.e. over test images") if "ll" in n else "—")
        rows.append(row)
    notes = ["Mean ± sample standard deviation over seeds. FID/KID/precision/recall (k = 3) on genzoo's own MNIST "
             "classifier features (genzoo.metrics.image), model samples clipped to [0, 1] vs as many held-out test images; "
             "FID is biased upward at small n, so compare only within this table (not with Inception-feature FIDs in papers). "
             "KID is reported ×1 in genzoo's units.",
             "Log-likelihood labels: exact = log_prob (RBM: log Z by enumerating the 2^16 hidden states); IWAE bound = a "
             "stochastic lower bound on log p(x) with K importance samples (the ELBO beside it); intractable = implicit "
             "model. The null 'data (training images)' is the FID floor at this n; 'independent Bernoulli pixels' is the "
             "no-structure null (exact likelihood, Laplace-smoothed per-pixel means)."]
    return header, rows, notes


def _mnist_figure(out: Path, result: dict[str, Any], runs: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import torch
    except ImportError:
        return None
    panels = []
    for z in result["zoo"]:
        c = next((c for c in result["cells"] if c["label"] == z["label"] and c.get("status") == "ok"), None)
        path = runs / c.get("cell", "") / SAMPLES if c else None
        if path and path.is_file():
            panels.append((f"{z['label']} (seed {c['seed']})", torch.load(path, weights_only=True)))
    null = runs / "mnist__nulls" / SAMPLES
    if null.is_file():
        panels.append(("null: independent Bernoulli", torch.load(null, weights_only=True)))
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.9))
    for ax, (title, x) in zip(axes if len(panels) > 1 else [axes], panels):
        x = torch.cat([x[:36].float().reshape(-1, 28, 28), torch.zeros(max(0, 36 - len(x)), 28, 28)]).clamp(0, 1)
        x = x.reshape(6, 6, 28, 28).permute(0, 2, 1, 3).reshape(6 * 28, 6 * 28)
        ax.imshow(x.numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    path = out / "mnist_samples.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def write_mnist_report(out: Path, result: dict[str, Any], runs: Path) -> Path:
    """Write ``OUT/mnist/mnist.json`` and ``mnist.md``: command, budget, wall-clock, the table and samples side by
    side (the first 64 samples each MNIST cell saved as ``runs/<cell>/samples64.pt``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "mnist.json", result, default=float)
    b, d = result["budget"], result["data"]
    h, r, notes = mnist_table(result)
    figure = _mnist_figure(out, result, Path(runs))
    models = "; ".join(f"{z['label']} = {z['model']} {z['set'] or '(defaults)'}" for z in result["zoo"])
    md = [f"# genzoo zoo: binarised MNIST ({'quick' if result['quick'] else 'full'} budget)", "",
          f"Command: `genzoo bench zoo {'--quick ' if result['quick'] else ''}--set grids=mnist`. Data: "
          f"{d['name']} (n={d['n']} training images, binarisation seed {d['seed']}). Budget per run: "
          + ", ".join(f"{k}={v}" for k, v in b["train"].items()) + f"; seeds {b['seeds']}. Models: {models}. "
          f"Wall-clock of the cells (training, scoring, nulls): {result.get('seconds', 0.0) / 60:.1f} min.", "",
          _md_table(h, r), ""] + [f"*{n}*" for n in notes] + [""]
    if figure is not None:
        md += [f"![samples side by side]({figure.name})", "", "*First 36 samples of the first seed of each model and of the "
               "independent-Bernoulli null.*", ""]
    failed = [c for c in result["cells"] if c.get("status") != "ok"]
    if failed:
        md += ["Failed runs: " + "; ".join(f"{c['id']}: {c.get('status')} ({c.get('error')})" for c in failed), ""]
    path = out / "mnist.md"
    path.write_text("\n".join(md))
    return path
