"""The folder tree is the architecture: imports point down only, with no cycle, and the two flows
(site_gen: knowledge base -> outputs -> site; repro: library -> records -> commands) stay apart.

The graph is read from the source with `ast`, so imports inside functions count too: a lazy
import is still an arrow, and a cycle through one is still a cycle to untangle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("site_gen", "repro")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules(package: str) -> dict[str, Path]:
    """Every module of `package`, by dotted name (task and solution files are data, not modules)."""
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(("repro/tasks/level", "repro/solutions/", "repro/results/")):
            continue
        out[module_name(path)] = path
    return out


def runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those under `if TYPE_CHECKING:`: an import for annotations only is no arrow."""
    out: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return out


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """The project modules `name` imports, anywhere in its file (relative imports resolved)."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in runtime_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in known and "." in target:
                target = target.rsplit(".", 1)[0]
            if target.split(".")[0] in PACKAGES:
                out.add(target)
    out.discard(name)
    return out


def import_graph() -> dict[str, set[str]]:
    modules = {name: path for package in PACKAGES for name, path in package_modules(package).items()}
    known = set(modules)
    return {name: imports_of(path, name, known) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


GRAPH = import_graph()
SITE_MAY_READ = "repro.records"  # the torch-free result formats the site reads


def test_the_graph_sees_the_packages() -> None:
    # A guard for the guard: if module discovery broke, every check below would pass vacuously.
    assert "site_gen.kb.check" in GRAPH and "site_gen.kb.model" in GRAPH["site_gen.kb.check"]
    assert "repro.harness.evaluate" in GRAPH and "repro.cli" in GRAPH


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle(package: str) -> None:
    found = [c for c in cycles(GRAPH) if c[0].split(".")[0] == package]
    assert not found, "import cycles (break each by moving the shared piece down a layer): " + "; ".join(
        " <-> ".join(c) for c in found
    )


def test_type_checking_imports_are_no_arrows() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\nelse:\n    import b\nimport c\n"
    )
    names = {
        alias.name for node in runtime_nodes(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    assert names == {"b", "c"}


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


# The one exception: site_gen reads repro's result files through their format modules in
# repro.records, which are torch-free (test_record_formats_import_without_torch).


@pytest.mark.parametrize(("source", "target"), [("site_gen", "repro"), ("repro", "site_gen")])
def test_the_flows_stay_apart(source: str, target: str) -> None:
    # site_gen reads repro's result files, never its code; repro never needs the site.
    wrong = sorted(
        f"{m} imports {t}"
        for m, ts in GRAPH.items()
        if m.split(".")[0] == source
        for t in ts
        if t.split(".")[0] == target and not t.startswith(SITE_MAY_READ + ".")
    )
    assert not wrong, f"{source} must not import {target}: " + ", ".join(wrong)


def test_record_formats_import_without_torch() -> None:
    # The site builds with `pip install .[site]`: no torch. Importing what it reads must not need it.
    records = sorted(m for m in GRAPH if m.startswith(SITE_MAY_READ))
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['triton'] = None\n"
        f"import importlib; [importlib.import_module(m) for m in {records + ['site_gen.site.reproduced']!r}]"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


# Each layer may import only the layers listed for it (and itself). Commands sit on top.
# Import nothing from repro; every layer may use them (names, and thread-safe parsing of Python source).
SHARED = {"repro.registry", "repro.pysource"}
SITE_GEN_LAYERS = {
    "site_gen.kb": {"site_gen.kb"},
    "site_gen.outputs": {"site_gen.kb", "site_gen.outputs"},
    "site_gen.site": {"site_gen.kb", "site_gen.outputs", "site_gen.site", SITE_MAY_READ},
}


def layer_of(module: str, layers: dict[str, set[str]]) -> str | None:
    return next((layer for layer in layers if module == layer or module.startswith(layer + ".")), None)


_LIBRARY = {
    "repro.records",
    "repro.tasks",
    "repro.harness",
    "repro.proposers",
    "repro.backends",
    "repro.loops",
}
REPRO_LAYERS = {
    "repro.records": {"repro.records"},  # torch-free formats the site may read: the bottom
    "repro.tasks": {"repro.tasks", "repro.records"},
    "repro.harness": {"repro.harness", "repro.records"},
    "repro.proposers": {"repro.proposers", "repro.tasks", "repro.records"},
    "repro.backends": {"repro.backends", "repro.harness", "repro.records"},
    "repro.loops": _LIBRARY,
    "repro.runners": _LIBRARY | {"repro.runners"},
    "repro.published": {
        "repro.published",
        "repro.harness",
        "repro.records",
    },  # audits and the KernelBench suite
    "repro.commands": _LIBRARY | {"repro.runners", "repro.commands", "repro.published"},
    "repro.bench": _LIBRARY | {"repro.runners", "repro.commands", "repro.published", "repro.bench"},
}


@pytest.mark.parametrize("layers", [SITE_GEN_LAYERS, REPRO_LAYERS], ids=["site_gen", "repro"])
def test_imports_point_down(layers: dict[str, set[str]]) -> None:
    wrong = []
    for module, targets in sorted(GRAPH.items()):
        layer = layer_of(module, layers)
        if layer is None:
            continue
        for target in sorted(targets):
            allowed = layers[layer] | SHARED
            if not any(target == a or target.startswith(a + ".") for a in allowed):
                wrong.append(f"{module} imports {target}")
    assert not wrong, "imports must point down the layers: " + ", ".join(wrong)


def test_shared_modules_import_nothing_from_repro() -> None:
    """Every layer may import them, so they must not lead back into any layer."""
    leading = {m: sorted(GRAPH.get(m, ())) for m in SHARED if GRAPH.get(m)}
    assert not leading, f"shared modules import from repro: {leading}"
    assert all(m in GRAPH for m in SHARED), (
        f"shared modules missing from the import graph: {SHARED - set(GRAPH)}"
    )
