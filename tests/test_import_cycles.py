"""No import cycles among xinyong's modules: each layer can be read, and loaded, on its own.

Every import counts, those inside functions too (a cycle deferred into a function is still a
cycle a reader must untangle), except those under TYPE_CHECKING, which never run; `from package
import name` counts as an import of the submodule when `name` is one, else of the package."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

SRC = Path(__file__).resolve().parents[1] / "src"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    class Walk(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            if "TYPE_CHECKING" in ast.unparse(node.test):
                for n in node.orelse:
                    self.visit(n)
            else:
                self.generic_visit(node)

        def visit_Import(self, node: ast.Import) -> None:
            found.append(node)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            found.append(node)

    Walk().visit(tree)
    return found


# Cycles that remain; none may be added, and one that is broken must leave this list (the test
# says so). None remains.
KNOWN: list[set[str]] = []


def import_graph() -> nx.DiGraph:
    files = {_module_name(p): p for p in (SRC / "xinyong").rglob("*.py")}
    graph = nx.DiGraph()
    for name, path in files.items():
        graph.add_node(name)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            graph.add_edges_from((name, t) for t in targets if t in files and t != name)
    return graph


def test_the_import_graph_is_read_from_the_source() -> None:
    graph = import_graph()
    assert graph.has_edge("xinyong.store.unit_of_work", "xinyong.store.clock")
    assert graph.number_of_nodes() > 100


def test_no_module_imports_itself_through_others() -> None:
    cycles = [c for c in nx.strongly_connected_components(import_graph()) if len(c) > 1]
    new = [sorted(c) for c in cycles if c not in KNOWN]
    assert new == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in new)
    gone = [sorted(c) for c in KNOWN if c not in cycles]
    assert gone == [], "no longer cycles (take them off KNOWN): " + "; ".join(" <-> ".join(c) for c in gone)


def test_a_cycle_is_found() -> None:
    """The check itself: two modules importing each other, one inside a function, are a cycle."""
    graph = nx.DiGraph([("a", "b"), ("b", "a"), ("b", "c")])
    assert [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1] == [["a", "b"]]
