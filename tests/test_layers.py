"""The import graph of genzoo: no circles between modules, and no import from a lower layer to a higher one.

Every ``import`` statement counts, including the ones inside functions (a lazy import is still a
dependency). One kind of edge is left out: a package's ``__init__`` importing its own submodules
(it is their namespace and re-exports them). The layers follow DESIGN.md, lowest first.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "genzoo"

# lowest first; a module may import its own layer and the layers below it
LAYERS: list[set[str]] = [
    {"genzoo", "errors", "registry", "discovery", "files", "config", "progress", "optim", "hardware", "resources"},
    {"nn", "distributions", "losses", "estimators", "data", "viz"},
    {"sampling"},
    {"models"},
    {"metrics"},
    {"train"},
    {"run", "run_sampling", "metric_table", "catalog"},
    {"bench", "doctor", "cli", "__main__"},
]


def _modules() -> dict[str, Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = path
    return mods


def import_graph() -> dict[str, set[str]]:
    """module -> the genzoo modules it imports (anywhere in its source)."""
    mods = _modules()
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(pkg + ([node.module] if node.module else []))
                # `from X import a`: the submodule X.a when there is one, else X itself
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            else:
                continue
            for target in targets:
                while target not in mods and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target not in mods or target == name:
                    continue
                if path.name == "__init__.py" and target.startswith(name + "."):
                    continue  # a package importing its own submodules
                edges[name].add(target)
    return edges


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else module
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i
    raise AssertionError(f"{module}: its package {top!r} is in no layer of tests/test_layers.py")


def test_every_module_has_a_layer():
    for module in _modules():
        _layer(module)


def test_no_import_points_up():
    upward = sorted(f"{a} -> {b}" for a, bs in import_graph().items() for b in bs if _layer(b) > _layer(a))
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(upward)


def test_no_import_circles():
    edges = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in _modules():
        if v not in index:
            visit(v)
    assert not circles, f"import circles: {circles}"


def test_the_checker_sees_a_lazy_upward_import(tmp_path, monkeypatch):
    """The test can fail: a function-level import of the run layer from a model is caught."""
    fake = tmp_path / "genzoo"
    (fake / "models").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "run.py").write_text("")
    (fake / "models" / "__init__.py").write_text("")
    (fake / "models" / "m.py").write_text("def f():\n    from genzoo import run\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", fake)
    edges = import_graph()
    assert edges["genzoo.models.m"] == {"genzoo.run"}
    assert _layer("genzoo.run") > _layer("genzoo.models.m")


def test_the_experiment_engine_knows_no_experiment():
    """Experiments import the engine, never the reverse: the engine reaches them only through the
    registry (``genzoo.bench``'s namespace), so a new experiment is one file with no other edit."""
    inside = sorted(t for t in import_graph()["genzoo.bench.engine"] if t.startswith("genzoo.bench."))
    assert not inside, f"genzoo.bench.engine imports experiment modules: {inside}"
