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


# Experiments that still call ``model.step`` in a loop of their own instead of training through the
# trainer (genzoo.bench.engine.train). Each is pinned by committed numbers that its batch stream made;
# moving it to the trainer changes them (a version bump and a re-run). The list may only shrink.
PRIVATE_LOOPS = {
    "ddls": "claim 8's committed cells",
    "ebm_density": "the committed EBM densities",
    "fgan1d": "claim 2's committed fits",
    "m2_semisupervised": "M2 and its labels-only null share one batch stream within a cell",
    "rate_distortion": "claim 10's committed cells (its fit also serves vae_dynamics and vqvae)",
    "rbm_2d": "the committed RBM rings",
    "rbm_mnist": "claim 7: seeds 0-2 must share one training code while the campaign runs",
    "rbm_pca": "the committed RBM/PCA comparison",
    "wgan_critic": "claim 9's committed critics",
}
TIMING = {"throughput", "family_throughput"}  # a plain loop beside genzoo's step is what they measure


def _calls_model_step_in_a_loop(path: Path) -> bool:
    for loop in (n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, (ast.For, ast.While))):
        for call in (n for n in ast.walk(loop) if isinstance(n, ast.Call)):
            f = call.func
            if isinstance(f, ast.Attribute) and f.attr == "step" and isinstance(f.value, ast.Name) and f.value.id in ("model", "vae"):
                return True
    return False


def test_experiments_train_through_the_trainer_except_the_pinned_private_loops():
    found = {p.stem for p in (ROOT / "bench").glob("*.py") if _calls_model_step_in_a_loop(p)} - TIMING
    assert found <= set(PRIVATE_LOOPS), f"new private training loops (train through genzoo.bench.engine.train): {sorted(found - set(PRIVATE_LOOPS))}"
    assert set(PRIVATE_LOOPS) <= found, f"no longer a private loop: remove from PRIVATE_LOOPS: {sorted(set(PRIVATE_LOOPS) - found)}"
