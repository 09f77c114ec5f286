"""The ``genzoo`` command line: list, train, sample, eval, bench, report, data, doctor.

Commands import what they need inside their functions, so ``genzoo --help`` starts in a fraction
of a second and ``genzoo list`` pays only for torch and genzoo's registries (tests/test_cli.py
checks that no scipy, sklearn, matplotlib, POT or TensorBoard is imported by them).

Bad input ends in one line on stderr naming the bad value, exit code 2, no traceback.
A diverged run ends with exit code 3 and keeps its last good checkpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from genzoo.errors import DivergenceError, GenzooError

EXAMPLES = """examples:
  genzoo list
  genzoo train gan --data grid25 --set steps=5000
  genzoo train gan --data mnist --set batch_size=64 --set steps=3000
  genzoo train --resume runs/gan_grid25 --set train.steps=8000
  genzoo sample runs/gan_grid25 -n 64
  genzoo eval runs/gan_grid25
  genzoo export runs/gan_grid25
  genzoo bench dcgan-throughput
  genzoo bench smoke && genzoo report bench/smoke
  genzoo doctor
"""


def _cmd_list(args: argparse.Namespace) -> int:
    if args.model:
        return _list_model(args.model)
    from genzoo import bench, data
    from genzoo.losses import OBJECTIVES
    from genzoo.models import MODELS, capabilities
    from genzoo.models.base import summary

    print("models:")
    for name, cls in MODELS.items():
        print(f"  {name:<18} {summary(cls)}")
        print(f"  {'':<18} capabilities: {', '.join(capabilities(cls))}; data: {', '.join(cls.supports)}")
    print("\nobjectives (--set objective=NAME on adversarial models):")
    for name, obj in OBJECTIVES.items():
        print(f"  {name:<18} {obj.summary}")
    print("\ndata sets (--data NAME, or a path to .npy/.npz/.csv or a folder of images):")
    for name, text in data.describe():
        print(f"  {name:<18} {text}")
    print("\nbenchmarks (genzoo bench NAME):")
    for name, text in bench.describe():
        print(f"  {name:<18} {text}")
    from genzoo.catalog import parts

    for heading, rows in parts():
        print(f"\n{heading}:")
        for name, text in rows:
            print(f"  {name:<18} {text}")
    return 0


def _list_model(name: str) -> int:
    """``genzoo list MODEL``: every option with its type, default, constraint and meaning."""
    from genzoo.config import options_table
    from genzoo.models import MODELS
    from genzoo.models.base import summary

    cls = MODELS.get(name)
    print(f"{name}: {summary(cls)}")
    print(f"data: {', '.join(cls.supports)}\n")
    print(f"options (--set NAME=VALUE; trainer options: --set train.NAME=VALUE):")
    print(options_table(cls.Config))
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from genzoo import run

    if args.resume:
        if args.model or args.data or args.config:
            raise GenzooError("--resume takes the run directory only (plus --set train.* overrides)")
        run_dir, metrics = run.resume(args.resume, args.set)
    else:
        if not args.model:
            raise GenzooError("missing MODEL (see `genzoo list`), or --resume RUN")
        if not args.data:
            raise GenzooError("missing --data DATA (a data set name from `genzoo list`, or a path)")
        run_config = run.resolve(args.model, args.data, args.config, args.set)
        start = time.perf_counter()
        run_dir, metrics = run.train(run_config, args.runs, args.name)
        print(run.summary(run_dir, metrics, seconds=time.perf_counter() - start))
        return 0
    print(run.summary(run_dir, metrics))
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from genzoo import run
    from genzoo.viz import save_samples

    if args.n < 1:
        raise GenzooError(f"invalid value -n {args.n}: must be ≥ 1")
    model, run_config = run.load(args.run)
    run.set_threads(run_config["train"].threads, model.data.kind)  # train's thread rule
    torch.manual_seed(args.seed)
    from genzoo.run_sampling import draw_run  # --sampler NAME: the samplers that apply to this run's model

    drawn = draw_run(args.run, model, run_config, args.n, args.sampler, args.set)
    x = drawn.x.cpu()
    # each sampler and setting its own file, so DDLS samples never overwrite the model's own
    stem = f"sample_{drawn.tag}_seed{args.seed}" if drawn.tag else f"sample_seed{args.seed}"
    out = Path(args.out) if args.out else Path(args.run) / "samples" / stem
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out.with_suffix(".npy"), x.numpy())
    log_prob = reference = limits = None
    path = run.data_file(run_config["data"]["name"])
    if x.dim() == 2 and path is not None and not os.path.exists(path):  # sampling needs no data: only the overlay is lost
        print(f"genzoo: note: {path!r} (the run's data) was not found: samples drawn without the data overlay",
              file=sys.stderr)
    elif x.dim() == 2:  # points: the same data overlay and axes as the run's training pictures
        from genzoo.metrics.evaluate import n_evaluation_samples
        from genzoo.viz.plots import view_limits

        dataset = run.run_data(args.run, run_config, command="sample")
        log_prob = dataset.density.log_prob if dataset.density is not None else None
        n_ref = n_evaluation_samples(dataset, run_config["train"].n_eval)  # as drawn for the training pictures
        reference = dataset.fresh(n_ref, torch.Generator().manual_seed(0))
        limits = view_limits(reference)
    save_samples(x, out.with_suffix(".png"), title=f"{Path(args.run).name}: {drawn.title}",
                 log_prob=log_prob, reference=reference, limits=limits)
    print(f"wrote {out.with_suffix('.png')} and {out.with_suffix('.npy')}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    import torch

    from genzoo import run
    from genzoo.metrics.evaluate import evaluate

    if args.n is not None and args.n < 2:
        raise GenzooError(f"invalid value -n {args.n}: must be ≥ 2")
    model, run_config = run.load(args.run)
    run.set_threads(run_config["train"].threads, model.data.kind)  # train's thread rule
    dataset = run.run_data(args.run, run_config, args.data)  # a moved data file: one line naming it and --data
    torch.manual_seed(args.seed)
    from genzoo.metric_table import table
    from genzoo.metrics.evaluate import n_evaluation_samples
    from genzoo.progress import shown

    n = n_evaluation_samples(dataset, args.n)
    nulls: dict[str, dict[str, float]] | None = None
    with shown(not args.no_progress and run_config["train"].progress):  # bars on a terminal, as in training
        metrics = evaluate(model, dataset, seed=args.seed, n=args.n, full=args.full)
        if dataset.kind == "points" and hasattr(dataset.density, "means"):  # 2-D mixtures: nulls scored the same way
            from genzoo.metrics.null_baselines import score_nulls

            nulls = {r["null"]: {k: r[k] for k in ("modes", "hq_share", "w1")}
                     for r in score_nulls(dataset, [args.seed], n)}
            from genzoo.metrics.energy_likelihood import likelihood_nulls  # the same nulls beside a likelihood

            for name, values in likelihood_nulls(dataset, metrics, args.seed, args.full).items():
                nulls.setdefault(name, {}).update(values)
    record: dict[str, Any] = {**metrics, "nulls": nulls} if nulls else dict(metrics)
    (Path(args.run) / "eval.json").write_text(json.dumps(record, indent=2) + "\n")
    if args.json:
        print(json.dumps(record))
        return 0
    data_name = Path(run_config["data"]["name"]).name
    protocol = "full protocol" if args.full else "default protocol; --full for reported numbers"
    modes = int(dataset.density.means.shape[0]) if hasattr(dataset.density, "means") else None
    print(table(metrics, f"{run_config['model']} on {data_name} ({args.run}): seed {args.seed}, {n} samples, {protocol}",
                total_modes=modes, n=n if dataset.kind == "points" or "w1" in metrics else None, nulls=nulls))
    print(f"all numbers: {Path(args.run) / 'eval.json'} (or genzoo eval {args.run} --json)")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from genzoo import run

    print(f"wrote {run.export_weights(args.run, args.out)}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from genzoo import bench
    from genzoo.bench import engine

    names = args.names
    if names[0] == "merge":  # genzoo bench merge OUT DIR1 DIR2 …
        if len(names) < 3:
            raise GenzooError("usage: genzoo bench merge OUT DIR1 [DIR2 …]")
        result = engine.merge(Path(names[1]), [Path(d) for d in names[2:]])
        print(f"merged {result['copied']} new record(s) into {names[1]}: {result['finished']} of {result['cells']} cells finished")
        return 0
    if names[0] == "verify":  # genzoo bench verify DIR [--cells N] [--seed S]
        if len(names) != 2:
            raise GenzooError("usage: genzoo bench verify DIR [--cells N] [--seed S] [--tolerance R]")
        rows = engine.verify(Path(names[1]), n=args.cells, seed=args.seed, tolerance=args.tolerance)
        for r in rows:
            print(f"{'equal  ' if r['equal'] else 'DIFFERS'} {r['id']}" + "".join(f"\n    {d}" for d in r["differences"][:10]))
        bad = sum(not r["equal"] for r in rows)
        print(f"{len(rows) - bad} of {len(rows)} re-run cell(s) equal their stored records"
              + (" exactly" if not args.tolerance else f" within a relative {args.tolerance:g}"))
        return 1 if bad else 0
    if len(names) > 1 and not args.out:
        raise GenzooError("several benchmarks need --out DIR (each goes to DIR/NAME)")
    for name in names:
        out = args.out if len(names) == 1 else str(Path(args.out) / Path(name).stem)
        result = bench.run(name, out=out, quick=args.quick, jobs=args.jobs, sets=args.set, device=args.device,
                           time_limit=args.time_limit, launcher=args.launcher, address=args.address, shard=args.shard)
        print(f"results in {result}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from genzoo.bench import engine, report
    from genzoo.bench.suite import SUITE_FILE

    if not (Path(args.out_dir) / SUITE_FILE).is_file():  # another experiment: its report() from its records
        engine.rerender(Path(args.out_dir))
        print(f"rewrote the report in {args.out_dir} from its records")
        return 0
    for path in report.render(args.out_dir, report.parse_formats(args.format)):
        print(f"wrote {path}")
    return 0


def _cmd_data(args: argparse.Namespace) -> int:
    from genzoo import config, data

    ds = data.load(args.name, **config.parse_sets(args.set))
    print(json.dumps({"name": ds.name, "kind": ds.kind, "train": list(ds.x.shape),
                      "test": list(ds.test_x.shape) if ds.test_x is not None else None,
                      "labels": ds.y is not None, "params": ds.params}))
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from genzoo.doctor import report

    rows = report()
    width = max(len(label) for label, _ in rows) + 1
    print("genzoo doctor: this machine's facts that decide training speed")
    for label, value in rows:
        print(f"  {label + ':':<{width}} {value}")
    return 0


def _cmd_claims(args: argparse.Namespace) -> int:
    from genzoo.bench import claims

    rows = claims.render(Path(args.reports), Path(args.out))
    for r in rows:
        print(f"claim {r.claim:>4}: {r.verdict:<14} {r.budget}")
    print(f"wrote {args.out} and {Path(args.reports) / 'claims.json'}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="genzoo", description="Train, sample, evaluate and compare deep generative models.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from genzoo import __version__

    p.add_argument("--version", action="version", version=f"genzoo {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("list", help="models, objectives, data sets and benchmarks; with MODEL: its options")
    s.add_argument("model", nargs="?", help="a model: list its options, defaults, constraints and meanings")
    s.set_defaults(fn=_cmd_list)

    s = sub.add_parser("train", help="train a model into a new run directory (or --resume one)",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("model", nargs="?", help="model name (genzoo list)")
    s.add_argument("--data", help="data set name, or a path to .npy/.npz/.csv or a folder of images")
    s.add_argument("--config", help="TOML file with [model], [train] and [data] tables")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one value: a model/train field (lr_g=1e-4, steps=2000) or section.field (data.std=0.02)")
    s.add_argument("--name", help="run directory name under --runs (default: MODEL_DATA, made unique)")
    s.add_argument("--runs", default="runs", help="root of run directories (default: runs)")
    s.add_argument("--resume", metavar="RUN", help="continue the run in this directory from its checkpoint")
    s.set_defaults(fn=_cmd_train)

    s = sub.add_parser("sample", help="draw samples from a trained run (PNG and .npy)")
    s.add_argument("run", help="run directory")
    s.add_argument("-n", type=int, default=64, help="number of samples (default 64)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", help="output path without extension (default RUN/samples/sample_seedS)")
    s.add_argument("--sampler", help="draw with a sampler that applies to the run (genzoo list): ddls (GAN runs), "
                                     "langevin (ebm, ddgm, meg; metropolis=true: MALA), gibbs-block (rbm)")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="sampler setting (steps=100, step_size=0.01, start=data, metropolis=true)")
    s.set_defaults(fn=_cmd_sample)

    s = sub.add_parser("eval", help="evaluate a trained run with every applicable metric")
    s.add_argument("run", help="run directory")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("-n", type=int, default=None, help="evaluation samples (default: the protocol's, 2 500 points or 500 images)")
    s.add_argument("--data", metavar="PATH", help="the run's data file at a new location (if it was moved)")
    s.add_argument("--full", action="store_true",
                   help="the full reporting protocol: FID/KID/PR on 10 000 images, Stacked-MNIST on 26 000, IWAE with K=1000")
    s.add_argument("--json", action="store_true", help="print the numbers as one JSON line (for scripts) instead of the table")
    s.add_argument("--no-progress", action="store_true", help="no progress bars on stderr (also: the run's train.progress=false)")
    s.set_defaults(fn=_cmd_eval)

    s = sub.add_parser("export", help="write a run's weights alone as plain safetensors (for other tools)")
    s.add_argument("run", help="run directory")
    s.add_argument("--out", help="output file (default RUN/weights.safetensors)")
    s.set_defaults(fn=_cmd_export)

    s = sub.add_parser("bench", help="run benchmarks (resumable, in pieces); merge or verify their records",
                       description="genzoo bench NAME [NAME …] [options]: run (or continue) benchmarks.\n"
                                   "genzoo bench merge OUT DIR1 DIR2 …: combine the records of one experiment's runs.\n"
                                   "genzoo bench verify DIR [--cells N]: re-run stored cells and compare their metrics.",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("names", nargs="+", metavar="NAME", help="benchmark name (genzoo list) or a suite spec .toml; "
                   "or merge OUT DIR…, or verify DIR")
    s.add_argument("--out", help="output directory (default bench/NAME, or bench/NAME-quick with --quick)")
    s.add_argument("--quick", action="store_true", help="a much smaller budget, to check that it runs")
    s.add_argument("--jobs", type=int, default=1, help="cells run at once (worker processes or Ray tasks)")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a benchmark option")
    s.add_argument("--device", default="cpu", help="cpu (default), cuda (cells round-robin over every GPU), cuda:K, auto")
    s.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                   help="start no cell after this, stop running ones at a checkpoint; run again to continue")
    s.add_argument("--launcher", default="local", choices=("local", "ray"), help="local processes (default) or Ray tasks")
    s.add_argument("--address", default=None, help="with --launcher ray: an existing cluster's address (ray start --head)")
    s.add_argument("--shard", default=None, metavar="K/N", help="run only every N-th cell from the K-th (split a campaign)")
    s.add_argument("--cells", type=int, default=1, help="verify: how many stored cells to re-run (cheapest first)")
    s.add_argument("--seed", type=int, default=None, help="verify: choose the cells at random with this seed")
    s.add_argument("--tolerance", type=float, default=0.0, help="verify: relative tolerance (records made on a GPU)")
    s.set_defaults(fn=_cmd_bench)

    s = sub.add_parser("report", help="write a benchmark's report again from its records (suites: Markdown and HTML, "
                                     "tables, published numbers, figures); nothing is trained")
    s.add_argument("out_dir", metavar="OUT_DIR", help="output directory of `genzoo bench NAME` (e.g. bench/smoke)")
    s.add_argument("--format", default="md,html", help="comma-separated: md, html (default md,html)")
    s.set_defaults(fn=_cmd_report)

    s = sub.add_parser("data", help="load (and download/cache) a data set and describe it")
    s.add_argument("name", help="data set name or path")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="data set parameter")
    s.set_defaults(fn=_cmd_data)

    s = sub.add_parser("doctor", help="this machine's facts for speed: CPU features, torch build, threads, GPUs, "
                                      "what precision=auto picks")
    s.set_defaults(fn=_cmd_doctor)

    s = sub.add_parser("claims", help="render the claims ledger (docs/claims.md, claims.json) from stored records")
    s.add_argument("--reports", default="docs/reports", help="the folder of stored records (default: docs/reports)")
    s.add_argument("--out", default="docs/claims.md", help="the Markdown ledger to write (default: docs/claims.md)")
    s.set_defaults(fn=_cmd_claims)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun only rank 0 speaks
        sys.stdout = sys.stderr = open(os.devnull, "w")
    try:
        return args.fn(args)
    except GenzooError as e:
        print(f"genzoo: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a path or permission problem the commands did not foresee: still one line
        where = f": {e.filename!r}" if e.filename else ""
        print(f"genzoo: error: {e.strerror or e}{where}", file=sys.stderr)
        return 2
    except DivergenceError as e:
        print(f"genzoo: {e}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("genzoo: interrupted; the last checkpoint is kept (continue with --resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
