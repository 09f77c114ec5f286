"""Render a suite's output directory as ``report.md`` and ``report.html`` (``genzoo report OUT``).

What a report shows, for each data set of the suite:

* **our table**: one row per model variant, one column per metric of the spec, each entry
  mean ± sample standard deviation over the seeds that finished, n = seeds; the best mean of
  every column is highlighted, with the direction stated in the header (↑ higher is better,
  ↓ lower is better; see :data:`DIRECTIONS`, extendable by the spec's ``[directions]``);
* **null baselines** (2-D mixtures): the data itself, a Gaussian fit, uniform on the box (and on
  the ring's circle), scored by the same rule over the same seeds, and a column in our table
  saying whether each model's mean high-quality share exceeds every null's but the data's;
* **published numbers**, in a separate table with the same columns and each row's citation:
  values the spec's ``[[published]]`` entries copy from papers, never mixed into our rows (the
  papers' architectures, budgets and sometimes protocols differ from the suite's);
* **figures**: the final sample picture of the first seed of every (model, data) cell, and
  training curves (mean over seeds at each logged step) from each run's ``metrics.jsonl``;
* the pinned protocol (effective train values, resolved data parameters, the spec's stated
  rules and its full text with version and SHA-256), failed cells, and timing.

Files: figures are written to ``OUT/figures/`` as PNGs. ``report.md`` links them by relative path
(keep the folder beside it); ``report.html`` is one self-contained file: every picture is embedded
as a base64 ``data:`` URI and the CSS is inline, no JavaScript.
"""

from __future__ import annotations

import base64
import html
import json
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genzoo.bench import suite as suite_module
from genzoo.errors import GenzooError
from genzoo.files import METRICS, metric_curves

#: Better direction of every metric genzoo reports (a spec's ``[directions]`` adds or overrides).
DIRECTIONS: dict[str, str] = {
    **dict.fromkeys(["modes", "hq_share", "accuracy", "stacked_modes", "precision", "recall", "density",
                     "coverage", "classifier_score", "inception_score", "log_likelihood", "elbo", "iwae",
                     "mig", "dci", "beta_vae_score", "factor_vae_score"], "higher"),
    **dict.fromkeys(["w1", "fid", "kid", "kl", "stacked_kl", "kl_to_uniform", "nll", "bpd", "distortion"], "lower"),
}
ARROWS = {"higher": "↑", "lower": "↓", None: ""}
FORMATS = ("md", "html")


@dataclass
class SuiteResults:
    """Everything a report needs, read back from a suite's output directory."""

    out_dir: Path
    spec: dict[str, Any]
    spec_text: str
    ident: dict[str, Any]
    grid: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    failed: list[dict[str, Any]]
    timing: dict[str, Any]
    nulls: dict[str, list[dict[str, Any]]]

    @property
    def metrics(self) -> list[str]:
        return list(self.spec["metrics"])

    @property
    def data_labels(self) -> list[str]:
        return [suite_module.data_label(d) for d in self.spec["data"]]

    @property
    def model_labels(self) -> list[str]:
        return [m["label"] for m in self.spec["models"]]

    def direction(self, metric: str) -> str | None:
        return self.spec.get("directions", {}).get(metric, DIRECTIONS.get(metric))


def load(out_dir: str | Path) -> SuiteResults:
    """Read a suite output directory (made by ``genzoo bench SUITE``) back."""
    out = Path(out_dir)
    marker = out / suite_module.SUITE_FILE
    if not marker.is_file():
        raise GenzooError(f"not a suite output directory (no {suite_module.SUITE_FILE}): {str(out)!r}; "
                          "run `genzoo bench SUITE --out DIR` first")
    ident = json.loads(marker.read_text())
    spec = suite_module.load_spec(out / "spec.toml")
    if suite_module.spec_hash(spec) != ident.get("suite_sha256", ident["spec_sha256"]):
        raise GenzooError(f"{str(out / 'spec.toml')!r} was edited after the suite ran (its SHA-256 no longer matches "
                          f"{suite_module.SUITE_FILE}); the results belong to the original spec")
    grid = suite_module.cells(spec, ident["quick"], ident["overrides"])
    rows = suite_module.finished(spec, grid, out, ident["spec_sha256"])
    failed = []
    for cell in grid:
        path = out / "cells" / f"{cell['id']}.failed.json"
        if path.is_file() and not (out / "cells" / f"{cell['id']}.json").is_file():
            failed.append(json.loads(path.read_text()))
    timing_path = out / "timing.json"
    timing = json.loads(timing_path.read_text()) if timing_path.is_file() else {"seconds": 0.0, "invocations": []}
    nulls = suite_module.null_baselines(spec, grid, out, ident) if rows else {}
    return SuiteResults(out, spec, (out / "spec.toml").read_text(), ident, grid, rows,
                        suite_module.summarise(rows, spec["metrics"]), failed, timing, nulls)


# ---------------------------------------------------------------------------------- numbers
def fmt(x: float | None) -> str:
    """A readable number: whole numbers as integers, else 1 decimal from 100 up, 2 decimals from 1 up,
    3 significant digits below 1."""
    if x is None or not math.isfinite(x):
        return "—"
    if float(x).is_integer() and abs(x) < 1e9:
        return str(int(x))
    if abs(x) >= 100:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def best_labels(entries: list[dict[str, Any]], metric: str, direction: str | None) -> set[str]:
    """Labels whose mean of ``metric`` is the best in its column (all of them on a tie)."""
    values = {e["label"]: e[metric] for e in entries if metric in e}
    if direction is None or len(values) < 2:
        return set()
    target = max(values.values()) if direction == "higher" else min(values.values())
    tol = 1e-12 * max(1.0, abs(target))
    return {label for label, v in values.items() if abs(v - target) <= tol}


def our_table(res: SuiteResults, data: str) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """Header and rows (text, is_best) of the mean ± std table of one data set."""
    entries = {e["label"]: e for e in res.summary if e["data"] == data}
    ordered = [entries[label] for label in res.model_labels if label in entries]
    expected = {label: sum(1 for c in res.grid if c["label"] == label and c["data_label"] == data) for label in res.model_labels}
    best = {m: best_labels(ordered, m, res.direction(m)) for m in res.metrics}
    header = ["model", "seeds", *[f"{m} {ARROWS[res.direction(m)]}".strip() for m in res.metrics], "s / cell"]
    bar = null_bar(res, data)
    if bar is not None:
        header.insert(-1, "HQ above every null")
    rows = []
    for e in ordered:
        row = [(e["label"], False), (f"{e['n_seeds']}/{expected[e['label']]}", False)]
        for m in res.metrics:
            if m not in e:
                text = "—"
            elif e[m + "_std"] is None:  # one seed: no spread to show
                text = fmt(e[m])
            else:
                text = f"{fmt(e[m])} ± {fmt(e[m + '_std'])}"
            if m in e and e[f"{m}_n"] < e["n_seeds"]:
                text += f" (n={e[m + '_n']})"
            row.append((text, e["label"] in best[m]))
        if bar is not None:
            row.append(("yes" if e.get("hq_share", -1.0) > bar else "no", False))
        row.append((f"{e['seconds']:.1f}", False))
        rows.append(row)
    return header, rows


def null_bar(res: SuiteResults, data: str) -> float | None:
    """The highest mean hq_share of the nulls that know nothing of the modes (all but ``data``)."""
    values = [e["hq_share"] for e in res.nulls.get(data, []) if e["label"] != "data" and "hq_share" in e]
    return max(values) if values and "hq_share" in res.metrics else None


def null_table(res: SuiteResults, data: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the null baselines of one data set (mean ± std over the suite's seeds)."""
    from genzoo.metrics.null_baselines import NULLS

    metrics = [m for m in res.metrics if any(m in e for e in res.nulls.get(data, []))]
    header = ["null baseline", "seeds", *[f"{m} {ARROWS[res.direction(m)]}".strip() for m in metrics], "what it is"]
    rows = []
    for e in res.nulls.get(data, []):
        cells = [f"{fmt(e[m])} ± {fmt(e[m + '_std'])}" if e.get(m + "_std") is not None else fmt(e.get(m))
                 for m in metrics]
        rows.append([e["label"], str(e["n_seeds"]), *cells, NULLS.get(e["label"], "")])
    return header, rows


NULL_NOTE = ("Null baselines, scored by the same rule on the same number of samples and seeds "
             "(genzoo.metrics.null_baselines): a model whose high-quality share does not exceed theirs has "
             "learnt nothing about where the modes are, whatever its mode count.")


def published_table(res: SuiteResults, data: str) -> tuple[list[str], list[list[str]], list[str]]:
    """Header, rows and footnotes of the published numbers for one data set (same metric columns)."""
    entries = [p for p in res.spec.get("published", []) if p["data"] == data]
    keys: list[tuple[str, str]] = []
    for p in entries:
        if (p["label"], p["source"]) not in keys:
            keys.append((p["label"], p["source"]))
    header = ["method (as published)", *[f"{m} {ARROWS[res.direction(m)]}".strip() for m in res.metrics], "source"]
    rows, notes = [], []
    for label, source in keys:
        row = [label]
        for m in res.metrics:
            hits = [p for p in entries if (p["label"], p["source"], p["metric"]) == (label, source, m)]
            if not hits:
                row.append("")
                continue
            p = hits[0]
            text = f"{p['value']:g}" + (f" ± {p['std']:g}" if "std" in p else "")  # as printed in the paper
            if p.get("note"):
                notes.append(p["note"])
                text += f" [{len(notes)}]"
            row.append(text)
        row.append(source)
        rows.append(row)
    return header, rows, notes


def protocol_items(res: SuiteResults) -> list[tuple[str, str]]:
    """The pinned protocol as (name, value) pairs: identity, seeds, train values, data, rules."""
    ident = res.ident
    first = res.grid[0]
    train = {s.split("=", 1)[0].removeprefix("train."): s.split("=", 1)[1] for s in first["sets"]
             if s.startswith("train.") and not s.startswith(("train.seed=", "train.progress="))}
    seeds = sorted({c["seed"] for c in res.grid})
    items = [("suite", f"{res.spec['name']} v{res.spec['version']}"), ("spec SHA-256", ident.get("suite_sha256", ident["spec_sha256"])),
             ("mode", ("--quick" if ident["quick"] else "full budget")
              + (f"; overrides {ident['overrides']}" if ident["overrides"] else "")),
             ("seeds", ", ".join(map(str, seeds))),
             ("train (every cell)", ", ".join(f"{k}={v}" for k, v in train.items()))]
    for m in res.spec["models"]:
        extra = {**m.get("set", {}), **{f"train.{k}": v for k, v in m.get("train", {}).items()}}
        items.append((f"model “{m['label']}”", f"{m['model']}" + (f" with {extra}" if extra else "")
                      + (f" — {m['note']}" if m.get("note") else "")))
    for d in res.spec["data"]:
        label = suite_module.data_label(d)
        resolved = next((r["data_params"] for r in res.rows if r["data_label"] == label and "data_params" in r), None)
        params = resolved if resolved is not None else {k: v for k, v in d.items() if k not in ("name", "label")}
        items.append((f"data “{label}”", f"{d['name']} {params}"))
    checked = suite_module.code_protocol()
    for k, v in res.spec.get("protocol", {}).items():
        items.append((k, f"{v} (checked: {checked[k][1]})" if k in checked else f"{v} (stated)"))
    if res.spec.get("evaluate"):
        items.append(("final evaluation", "genzoo.metrics.evaluate.evaluate(model, data, "
                      + ", ".join(f"{k}={v}" for k, v in res.spec["evaluate"].items()) + ")"))
    versions = next((r["versions"] for r in res.rows if r.get("versions")), None)
    if versions:
        items.append(("software", ", ".join(f"{k} {v}" for k, v in versions.items())))
    return items


# ---------------------------------------------------------------------------------- figures
def _last_picture(run_dir: Path) -> Path | None:
    pictures = sorted((run_dir / "samples").glob("step_*.png"))
    return pictures[-1] if pictures else None


def _curves(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    return metric_curves(run_dir / METRICS)


def curve_metrics(res: SuiteResults) -> list[str]:
    """The spec's ``curves``, else its metrics and the losses (``loss_*``) that were logged."""
    if "curves" in res.spec:
        return list(res.spec["curves"])
    logged: set[str] = set()
    for r in res.rows:
        logged |= set(_curves(res.out_dir / r["run"]))
    return [m for m in res.metrics if m in logged] + sorted(k for k in logged if k.startswith("loss"))


def _train_value(res: SuiteResults, key: str) -> str:
    for s in res.grid[0]["sets"]:
        if s.startswith(f"train.{key}="):
            return s.split("=", 1)[1]
    return "default"


def make_figures(res: SuiteResults) -> dict[str, list[dict[str, Any]]]:
    """Copy sample pictures into ``figures/samples`` and draw curves into ``figures/curves``."""
    from genzoo.viz import save_curves

    fig_dir = res.out_dir / "figures"
    if fig_dir.exists():
        shutil.rmtree(fig_dir)
    figures: dict[str, list[dict[str, Any]]] = {}
    finished = {(r["label"], r["data_label"], r["seed"]): r for r in res.rows}
    wanted = curve_metrics(res)
    for data in res.data_labels:
        items: list[dict[str, Any]] = []
        for label in res.model_labels:
            seeds = sorted(seed for (lab, dat, seed) in finished if (lab, dat) == (label, data))
            if not seeds:
                continue
            row = finished[(label, data, seeds[0])]
            picture = _last_picture(res.out_dir / row["run"])
            if picture is not None:
                target = fig_dir / "samples" / f"{row['id']}.png"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(picture, target)
                items.append({"kind": "samples", "path": target, "caption": f"{label} — seed {seeds[0]}, "
                              f"step {int(picture.stem.split('_')[1])}"})
        for metric in wanted:
            series = {}
            for label in res.model_labels:
                per_step: dict[int, list[float]] = {}
                runs = [r for (lab, dat, _), r in finished.items() if (lab, dat) == (label, data)]
                for r in runs:
                    for step, v in _curves(res.out_dir / r["run"]).get(metric, []):
                        if math.isfinite(v):
                            per_step.setdefault(step, []).append(v)
                if per_step:
                    steps = sorted(per_step)
                    series[f"{label} (n={len(runs)})"] = (steps, [sum(per_step[s]) / len(per_step[s]) for s in steps])
            if series:
                slug = suite_module.cell_id(data, metric, 0).removesuffix("__s0")
                path = save_curves(series, fig_dir / "curves" / f"{slug}.png", xlabel="training step",
                                   ylabel=metric, title=f"{data}: {metric} (mean over seeds)")
                caption = f"{metric} over training, mean over seeds"
                if not metric.startswith("loss"):
                    caption += f" (evaluated during training on train.n_eval = {_train_value(res, 'n_eval')} samples)"
                items.append({"kind": "curve", "path": path, "caption": caption})
        figures[data] = items
    return figures


# ---------------------------------------------------------------------------------- timing
TIMING_HEADER = ["cell", "steps", "seconds", "of which final evaluation", "steps/s", "resumed"]


def timing_rows(res: SuiteResults) -> list[list[str]]:
    rows = []
    for r in res.rows:
        rate = r.get("steps_per_s")
        ev = r.get("eval_seconds")
        rows.append([r["id"], str(r["steps"]), f"{r.get('seconds', 0.0):.1f}",
                     f"{ev:.1f}" if isinstance(ev, (int, float)) else "—",
                     f"{rate:.1f}" if isinstance(rate, (int, float)) else "—", "yes" if r.get("resumed") else "no"])
    return rows


def timing_summary(res: SuiteResults) -> str:
    runs = res.timing.get("invocations", [])
    cpu = f"{runs[-1]['cpus']} CPUs ({runs[-1]['processor']})" if runs else "unknown machine"
    jobs = ", ".join(str(r["jobs"]) for r in runs) or "—"
    return (f"Wall-clock time of the suite: {res.timing.get('seconds', 0.0):.1f} s over {len(runs)} invocation(s) "
            f"(jobs: {jobs}) on {cpu}. A cell's seconds include data loading, evaluations, pictures and the final "
            "evaluation (its own column), and for the first cell of each process the one-time imports; "
            "steps/s is the training speed of the last logging window (evaluation excluded).")


# ---------------------------------------------------------------------------------- Markdown
def _md_table(header: list[str], rows: list[list[str]]) -> str:
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


#: Overrides that say where cells ran, not what they ran: the spec's budget and protocol stand.
#: (precision=32 is what every CPU cell of the committed reports used before precision=auto.)
PLACEMENT = {"device": None, "threads": None, "precision": "32"}


def _placement_only(overrides: dict[str, str]) -> bool:
    return all(k in PLACEMENT and PLACEMENT[k] in (None, str(v)) for k, v in overrides.items())


def _budget_note(res: SuiteResults) -> str:
    """A note on where the cells ran, or a warning that they used another budget than the spec's text describes."""
    overrides = res.ident["overrides"]
    if not res.ident["quick"] and overrides and _placement_only(overrides):
        return ("Ran with " + ", ".join(f"{k}={v}" for k, v in overrides.items()) + ": where the cells ran, not "
                "what they ran; the budget and protocol are the spec's.")
    parts = []
    if res.ident["quick"]:
        quick = res.spec.get("quick", {})
        parts.append("--quick budget: " + ", ".join(f"{k}={v}" for k, v in quick.items()))
    if overrides:
        parts.append("overrides " + ", ".join(f"{k}={v}" for k, v in overrides.items()))
    return ("; ".join(parts) + ". The description and notes describe the spec's full budget; these numbers "
            "only show that the suite runs and are not results.")


def _evaluation_note(res: SuiteResults) -> str:
    ev = res.spec.get("evaluate")
    if ev:
        return (f"Each cell's numbers come from one evaluation of the trained model after training "
                f"(genzoo.metrics.evaluate, full={str(bool(ev.get('full'))).lower()}, seed {ev.get('seed', 0)}).")
    return (f"Each cell's numbers are the last evaluation during training (step = train.steps, "
            f"train.n_eval = {_train_value(res, 'n_eval')} samples).")


def _direction_note(res: SuiteResults) -> str:
    parts = [f"{m}: {res.direction(m)} is better" if res.direction(m) else f"{m}: no stated direction (not highlighted)"
             for m in res.metrics]
    return "Direction per metric — " + "; ".join(parts) + "."


def render_markdown(res: SuiteResults, figures: dict[str, list[dict[str, Any]]]) -> str:
    spec = res.spec
    out = [f"# genzoo suite report: {spec['name']} (v{spec['version']})", "",
           f"{spec['description']}", "",
           f"Generated {time.strftime('%Y-%m-%d %H:%M')} from `{res.out_dir}` by `genzoo report`. "
           f"{len(res.rows)} of {len(res.grid)} cells finished"
           + (f", {len(res.failed)} failed" if res.failed else "") + ". "
           f"Spec SHA-256 `{res.ident.get('suite_sha256', res.ident['spec_sha256'])[:16]}…`.", ""]
    if res.ident["quick"] or res.ident["overrides"]:
        out += [f"> **{_budget_note(res)}**", ""]
    if spec.get("notes"):
        out += [spec["notes"].strip(), ""]
    out += ["## Results", "", "Entries are mean ± sample standard deviation over seeds (n − 1 in the denominator); "
            "**bold** marks the best mean of each column. " + _evaluation_note(res) + " " + _direction_note(res), ""]
    for data in res.data_labels:
        header, rows = our_table(res, data)
        out += [f"### {data}", "", "Ours (re-run under the pinned protocol below):", ""]
        if rows:
            out.append(_md_table(header, [[f"**{t}**" if b else t for t, b in row] for row in rows]))
        else:
            out.append("_No finished cells._")
        out.append("")
        n_header, n_rows = null_table(res, data)
        if n_rows:
            out += [NULL_NOTE, "", _md_table(n_header, n_rows), ""]
        p_header, p_rows, notes = published_table(res, data)
        if p_rows:
            out += ["Published numbers (copied from the papers, not re-run; their architectures, budgets and "
                    "protocols differ, so compare with care):", "", _md_table(p_header, p_rows), ""]
            out += [f"[{i}] {n}" + "  " for i, n in enumerate(notes, 1)]
            out.append("")
        else:
            out += ["_No published numbers are listed for this data set in the spec._", ""]
    out += ["## Figures", ""]
    for data in res.data_labels:
        out += [f"### {data}", ""]
        for item in figures.get(data, []):
            rel = item["path"].relative_to(res.out_dir).as_posix()
            out += [f"![{item['caption']}]({rel})", f"*{item['caption']}*", ""]
    if res.failed:
        out += ["## Failed cells", "", _md_table(["cell", "error"], [[f["id"], f["error"]] for f in res.failed]), ""]
    out += ["## Protocol", "", _md_table(["pinned", "value"], [[k, f"`{v}`"] for k, v in protocol_items(res)]), "",
            "The spec, verbatim:", "", "```toml", res.spec_text.rstrip(), "```", ""]
    out += ["## Timing", "", timing_summary(res), "",
            _md_table(TIMING_HEADER, timing_rows(res)), ""]
    return "\n".join(out)


# ---------------------------------------------------------------------------------- HTML
CSS = """
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328;
       max-width: 1120px; margin: 2em auto; padding: 0 1.2em; }
h1 { font-size: 1.7em; border-bottom: 1px solid #d0d7de; padding-bottom: .3em; }
h2 { font-size: 1.35em; margin-top: 1.8em; border-bottom: 1px solid #d0d7de; padding-bottom: .2em; }
h3 { font-size: 1.1em; margin-top: 1.4em; }
p.meta, p.note, .caption { color: #57606a; font-size: .92em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-size: .93em; }
th, td { border: 1px solid #d0d7de; padding: .35em .7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f6f8fa; }
tr:nth-child(even) td { background: #fbfcfd; }
p.warn { background: #fff8c5; border: 1px solid #d4a72c; padding: .5em .8em; border-radius: 6px; }
td.best { font-weight: 700; background: #dafbe1 !important; }
table.published th { background: #fff8c5; }
table.published td { color: #57606a; font-style: italic; }
table.published td:last-child { font-style: normal; text-align: left; }
table.published th:last-child, table.kv th { text-align: left; }
table.kv td { text-align: left; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .88em; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 1em; }
figure { margin: 0; border: 1px solid #d0d7de; border-radius: 6px; padding: .5em; background: #fff; }
figure img { width: 100%; height: auto; image-rendering: auto; }
summary { cursor: pointer; margin: .6em 0; }
pre { background: #f6f8fa; padding: 1em; overflow-x: auto; font-size: .85em; border-radius: 6px; }
"""


def _h(text: Any) -> str:
    return html.escape(str(text))


def _html_table(header: list[str], rows: list[list[Any]], cls: str = "") -> str:
    """``rows`` hold strings or (text, highlight) pairs."""
    head = "".join(f"<th>{_h(h)}</th>" for h in header)
    body = []
    for row in rows:
        tds = []
        for c in row:
            text, best = c if isinstance(c, tuple) else (c, False)
            tds.append(f'<td class="best">{_h(text)}</td>' if best else f"<td>{_h(text)}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def render_html(res: SuiteResults, figures: dict[str, list[dict[str, Any]]]) -> str:
    spec = res.spec
    parts = [f"<h1>genzoo suite report: {_h(spec['name'])} (v{spec['version']})</h1>",
             f"<p>{_h(spec['description'])}</p>",
             f"<p class=\"meta\">Generated {_h(time.strftime('%Y-%m-%d %H:%M'))} from <code>{_h(res.out_dir)}</code>. "
             f"{len(res.rows)} of {len(res.grid)} cells finished"
             + (f", {len(res.failed)} failed" if res.failed else "")
             + f". Spec SHA-256 <code>{_h(res.ident.get('suite_sha256', res.ident['spec_sha256'])[:16])}…</code>.</p>"]
    if res.ident["quick"] or res.ident["overrides"]:
        parts.append(f"<p class=\"warn\">{_h(_budget_note(res))}</p>")
    if spec.get("notes"):
        parts.append(f"<p class=\"note\">{_h(spec['notes'].strip())}</p>")
    parts += ["<h2>Results</h2>", "<p class=\"note\">Entries are mean ± sample standard deviation over seeds "
              "(n − 1 in the denominator); the highlighted entry is the best mean of its column. "
              f"{_h(_evaluation_note(res))} {_h(_direction_note(res))}</p>"]
    for data in res.data_labels:
        header, rows = our_table(res, data)
        parts += [f"<h3>{_h(data)}</h3>", "<p>Ours (re-run under the pinned protocol below):</p>",
                  _html_table(header, rows, "ours") if rows else "<p><em>No finished cells.</em></p>"]
        n_header, n_rows = null_table(res, data)
        if n_rows:
            parts += [f"<p class=\"note\">{_h(NULL_NOTE)}</p>", _html_table(n_header, n_rows, "nulls")]
        p_header, p_rows, notes = published_table(res, data)
        if p_rows:
            parts += ["<p>Published numbers (copied from the papers, not re-run; their architectures, budgets and "
                      "protocols differ, so compare with care):</p>", _html_table(p_header, p_rows, "published")]
            if notes:
                parts.append("<p class=\"note\">" + "<br>".join(f"[{i}] {_h(n)}" for i, n in enumerate(notes, 1)) + "</p>")
        else:
            parts.append("<p class=\"note\"><em>No published numbers are listed for this data set in the spec.</em></p>")
    parts.append("<h2>Figures</h2>")
    for data in res.data_labels:
        cards = [f"<figure><img src=\"{_data_uri(item['path'])}\" alt=\"{_h(item['caption'])}\">"
                 f"<figcaption class=\"caption\">{_h(item['caption'])}</figcaption></figure>" for item in figures.get(data, [])]
        parts += [f"<h3>{_h(data)}</h3>", f"<div class=\"figures\">{''.join(cards)}</div>"]
    if res.failed:
        parts += ["<h2>Failed cells</h2>", _html_table(["cell", "error"], [[f["id"], f["error"]] for f in res.failed])]
    parts += ["<h2>Protocol</h2>", _html_table(["pinned", "value"], [[k, v] for k, v in protocol_items(res)], "kv"),
              f"<details><summary>The spec, verbatim ({len(res.spec_text.splitlines())} lines)</summary>"
              f"<pre>{_h(res.spec_text.rstrip())}</pre></details>",
              "<h2>Timing</h2>", f"<p>{_h(timing_summary(res))}</p>",
              _html_table(TIMING_HEADER, timing_rows(res))]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>genzoo report: {_h(spec['name'])}</title><style>{CSS}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


# ---------------------------------------------------------------------------------- entry point
def parse_formats(text: str) -> tuple[str, ...]:
    formats = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    bad = [f for f in formats if f not in FORMATS]
    if not formats or bad:
        raise GenzooError(f"invalid value --format {text!r}; valid: {', '.join(FORMATS)} (comma-separated)")
    return formats


def render(out_dir: str | Path, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Write ``report.md`` and/or ``report.html`` (and ``figures/``) into ``out_dir``; return the paths."""
    res = load(out_dir)
    figures = make_figures(res)
    written = []
    if "md" in formats:
        path = res.out_dir / "report.md"
        path.write_text(render_markdown(res, figures))
        written.append(path)
    if "html" in formats:
        path = res.out_dir / "report.html"
        path.write_text(render_html(res, figures))
        written.append(path)
    return written
