"""The documentation runs: every ```python block of README.md and docs/*.md executes, every `genzoo …` line parses.

Conventions (docs/contributing.md):

* A ```python block executes as written, in a fresh namespace, in an empty working directory.
  A block that needs MNIST, trained runs or long compute carries a directive — an HTML comment on
  the line just before its fence, invisible on GitHub::

      <!-- genzoo-doc: {"small": {"steps=2000": "steps=5"}, "runs": {"gan_ring8": "genzoo train gan --data ring8 --set steps=5 --name gan_ring8"}} -->

  ``small`` maps text of the block to its small-data substitute (each must occur, so a
  directive cannot silently go stale); ``runs`` are `genzoo` command lines run first (in the same
  directory, so ``runs/NAME`` exists for the block); ``fixtures`` maps a file name to a kind of
  file the test writes there (``inception``: an Inception-v3 with random weights, since the real
  weights are not redistributable).
* Every line of a ```bash (or unlabelled) block that runs ``genzoo …`` (also after ``&&``, ``;``,
  ``do``) must parse with genzoo's own argparse parser; ``train`` lines are resolved with
  :func:`genzoo.run.resolve` (model name, every ``--set`` key and value), data names and
  ``data.*`` keys are checked against the data set's parameters, ``--resume`` keys against the
  train config, ``bench`` names against the registry and ``--sampler`` names against the samplers
  — all without training or loading data, so the whole check takes a second.
"""

from __future__ import annotations

import inspect
import json
import re
import shlex
import sys
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DIRECTIVE = re.compile(r"^\s*<!--\s*genzoo-doc:\s*(\{.*\})\s*-->\s*$")
INVOCATION = re.compile(r"(^|[;&|]|\bdo)\s*genzoo\s")
SHELL_LANGS = {"", "bash", "sh", "shell", "console"}


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    directive: dict[str, Any]

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks() -> list[Block]:
    """Every fenced block of the documentation, with the directive on the line before it (if any)."""
    out = []
    for path in DOCS:
        lines = path.read_text().split("\n")
        i = 0
        while i < len(lines):
            m = re.match(r"^\s*```(\S*)\s*$", lines[i])
            if not m:
                i += 1
                continue
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            d = DIRECTIVE.match(lines[i - 1]) if i else None
            out.append(Block(path, i + 1, m.group(1).lower(), "\n".join(lines[i + 1 : j]) + "\n",
                             json.loads(d.group(1)) if d else {}))
            i = j + 1
    return out


PYTHON = [b for b in blocks() if b.lang == "python"]


def genzoo_commands(code: str) -> list[list[str]]:
    """argv (without 'genzoo') of every genzoo invocation in a shell block."""
    commands = []
    for line in code.replace("\\\n", " ").split("\n"):
        if not INVOCATION.search(line):  # output lines of an unlabelled block are not shell
            continue
        lex = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lex.whitespace_split = True  # words as the shell splits them ('runs/<name>' stays one word)
        lex.commenters = "#"
        words, cmd = list(lex), []
        for w in [*words, ";"]:
            if w in {";", "&", "&&", "|", "||"}:
                while cmd and cmd[0] in {"do", "then", "else", "time"}:
                    cmd = cmd[1:]
                if cmd and cmd[0] == "genzoo":
                    commands.append(cmd[1:])
                cmd = []
            else:
                cmd.append(w)
    return commands


SHELL = [(b, argv) for b in blocks() if b.lang in SHELL_LANGS for argv in genzoo_commands(b.code)]


def _looks_like_path(name: str) -> bool:
    return "/" in name or "." in name or "<" in name


def _check_data(name: str, sets: list[str]) -> None:
    """A registered data set name (or a path) and data parameters its loader takes."""
    from genzoo import config as cfg
    from genzoo.data import DATASETS

    if _looks_like_path(name):
        return
    loader = DATASETS.get(name)
    params = inspect.signature(loader).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    for key in cfg.parse_sets(sets):
        assert key in params, f"data set {name!r} takes no parameter {key!r} (valid: {', '.join(params)})"


def check_command(argv: list[str]) -> None:
    """Parse ``argv`` with genzoo's parser, then the cheap semantic checks of the module docstring."""
    from genzoo import run
    from genzoo.cli import parser

    try:
        args = parser().parse_args(argv)
    except SystemExit as e:  # argparse exits on a bad line (and with 0 on --version/--help)
        assert e.code == 0, f"argparse rejected it (exit {e.code})"
        return
    if args.command == "train":
        if args.resume:
            from genzoo.config import parse_sets
            from genzoo.train import TrainConfig

            fields = set(TrainConfig.__dataclass_fields__)
            for key in parse_sets(args.set):
                section, dot, field = key.rpartition(".")
                assert field in fields and section in ("", "train"), f"--resume takes train.* overrides, not {key!r}"
            return
        data_sets = [s.partition("=")[0].removeprefix("data.") + "=" + s.partition("=")[2]
                     for s in args.set if s.startswith("data.")]
        run.resolve(args.model, args.data, None, args.set)  # model name, keys and values (--config files are the user's)
        _check_data(args.data, data_sets)
    elif args.command == "data":
        _check_data(args.name, args.set)
    elif args.command == "bench":
        from genzoo.bench import engine
        from genzoo.errors import GenzooError
        from genzoo.config import parse_sets

        if args.names[0] in ("merge", "verify"):  # directories, made by earlier lines
            return
        sets = parse_sets(args.set)
        fixed = {k: v for k, v in sets.items() if "$" not in v}  # a shell variable's value is the loop's
        for name in args.names:  # the name, every --set key and value, checked as the engine does before a run
            if not name.endswith(".toml"):
                try:
                    exp, _, _, _ = engine.plan(name, fixed, args.quick)
                except GenzooError as e:  # a run an earlier line of the page trains is not here
                    if "run directory not found" not in str(e):
                        raise
                    exp = engine.get(name)
                for key in set(sets) - set(fixed):
                    assert key in exp.options, f"unknown option {key!r} for {name!r}"
    elif args.command == "sample" and args.sampler:
        from genzoo.sampling import SAMPLERS

        SAMPLERS.get(args.sampler)


@pytest.mark.parametrize("block,argv", SHELL, ids=[f"{b.where}:{' '.join(a[:2])}" for b, a in SHELL])
def test_cli_line_parses(block: Block, argv: list[str]) -> None:
    try:
        check_command(argv)
    except Exception as e:  # noqa: BLE001 - report any refusal with the line it came from
        pytest.fail(f"{block.where}: `genzoo {shlex.join(argv)}` does not parse: {type(e).__name__}: {e}")


def _registries() -> list[Any]:
    from genzoo.registry import Registry

    return [v for name, m in list(sys.modules.items()) if name.startswith("genzoo")
            for v in vars(m).values() if isinstance(v, Registry)]


def _fixture(kind: str, path: Path) -> None:
    if kind == "inception":  # the real weights are not redistributable; the architecture is what is tested
        from genzoo.metrics.inception import FIDInceptionV3

        torch.manual_seed(0)
        torch.save(FIDInceptionV3().state_dict(), path)
    else:
        raise AssertionError(f"unknown fixture kind {kind!r}")


@pytest.mark.parametrize("block", PYTHON, ids=[b.where for b in PYTHON])
def test_python_block_runs(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from genzoo.cli import main

    monkeypatch.chdir(tmp_path)
    code = block.code
    for old, new in block.directive.get("small", {}).items():
        assert old in code, f"{block.where}: directive substitutes {old!r}, which the block no longer contains"
        code = code.replace(old, new)
    for name, kind in block.directive.get("fixtures", {}).items():
        _fixture(kind, tmp_path / name)
    for line in block.directive.get("runs", {}).values():
        assert main(shlex.split(line)[1:]) == 0, f"{block.where}: setup `{line}` failed"
    # a block may register a model, an objective, a sampler: leave the registries as they were
    saved = [(r, dict(r._items)) for r in _registries()]
    torch.manual_seed(0)
    start = time.perf_counter()
    module = types.ModuleType("genzoo_doc_block")  # a real module: dataclasses look their class's module up
    monkeypatch.setitem(sys.modules, module.__name__, module)
    try:
        exec(compile(code, block.where, "exec"), module.__dict__)
    finally:
        for r, items in saved:
            r._items.clear()
            r._items.update(items)
    assert time.perf_counter() - start < 30, f"{block.where} took too long for the docs test: shrink it with a directive"


def test_every_block_is_seen() -> None:
    """The parser finds the blocks it should (a broken fence would silently hide the rest of a file)."""
    assert len(PYTHON) >= 10 and len(SHELL) >= 80
    for path in DOCS:
        assert path.read_text().count("```") % 2 == 0, f"{path.name}: unbalanced code fences"
