"""lambda_kit's modules import one way: the graph of their imports has no cycle.

Every import statement counts, at module level or inside a function (a function-level
import is a circle that closes on first call instead of at import), and so does every
module named in a ``lazy_exports`` table; imports under ``if TYPE_CHECKING:`` do not
run, and do not count. Importing a module's parent package is implicit and does not
count either, but ``from lambda_kit.handler import compose`` (a name, not a module)
is an edge to ``lambda_kit.handler``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lambda_kit"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` except those inside an ``if TYPE_CHECKING:`` body."""
    found: list[ast.AST] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        found.append(node)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return found


def _targets(module: str, source: str, known: set[str], *, is_package: bool = False) -> set[str]:
    """The lambda_kit modules that ``module`` (its ``source``) imports at run time."""
    package = module if is_package else module.rpartition(".")[0]
    targets: set[str] = set()
    for node in _runtime_nodes(ast.parse(source, module)):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in known else base)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == "lazy_exports"
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Dict)
        ):
            targets.update(
                value.value
                for value in node.args[1].values
                if isinstance(value, ast.Constant) and isinstance(value.value, str)
            )
    return {target for target in targets if target in known and target != module}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {
        module: _targets(module, path.read_text(), known, is_package=path.name == "__init__.py")
        for module, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The graph's strongly connected components of more than one module, each sorted (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_graph_is_read_from_every_module() -> None:
    graph = import_graph()
    assert "lambda_kit.handler._http" in graph
    assert "lambda_kit.handler._middleware" in graph["lambda_kit.handler._http"]
    assert "lambda_kit.handler._http" in graph["lambda_kit.handler"]  # lazy_exports and http()
    assert "lambda_kit.handler._batch" in graph["lambda_kit.handler"]  # function-level imports


def test_what_counts_as_an_import() -> None:
    known = {"pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.d", "pkg.e", "pkg.h", "pkg.sub", "pkg.sub.f"}
    source = (
        "import pkg.a\n"
        "from pkg import b, name_in_pkg\n"
        "from . import c\n"
        "from .sub import f\n"
        "TYPE_CHECKING = False\n"
        "if TYPE_CHECKING:\n"
        "    import pkg.d\n"
        "else:\n"
        "    import pkg.e\n"
        "def later():\n"
        "    from pkg import sub\n"
        "__getattr__, __dir__ = lazy_exports(__name__, {'Name': 'pkg.h'})\n"
        "import os\n"
    )
    targets = _targets("pkg.g", source, known)
    assert targets == {"pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.e", "pkg.h", "pkg.sub", "pkg.sub.f"}
    assert _targets("pkg.sub", "from . import f\nfrom .. import c", known, is_package=True) == {
        "pkg.sub.f",
        "pkg.c",
    }


def test_lambda_kit_has_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_old_handler_circle_would_be_found() -> None:
    graph = import_graph()
    graph["lambda_kit.handler._http"] = graph["lambda_kit.handler._http"] | {"lambda_kit.handler"}
    assert ["lambda_kit.handler", "lambda_kit.handler._http"] in cycles(graph)
