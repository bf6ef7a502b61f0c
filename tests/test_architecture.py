"""The house's shape: the engine stays Qt-free, imports flow app → ingest → core, no
cycles, sources only emit, the UI reads and writes only through core services."""
from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "core", "ingest")
QT = {"PySide6", "shiboken6", "PyQt5", "PyQt6"}


def python_files(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@lru_cache(maxsize=None)
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text("utf-8"), filename=str(path))


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at any level (function-level and TYPE_CHECKING
    imports count), relative imports resolved, and ``from pkg import mod`` seen as
    importing ``pkg.mod`` too."""
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    names: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names.add(prefix)
            names.update(f"{prefix}.{alias.name}" for alias in node.names)
    return names


def _offenders(package: str, bad) -> dict[str, list[str]]:
    found = {str(p.relative_to(REPO)): sorted(m for m in imported_modules(p) if bad(m))
             for p in python_files(package)}
    return {k: v for k, v in found.items() if v}


def _under(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


# -- layers -------------------------------------------------------------------------------
@pytest.mark.parametrize("package", ["core", "ingest"])
def test_engine_never_imports_qt(package: str) -> None:
    assert python_files(package), f"no python files found in {package}/"
    assert _offenders(package, lambda m: m.split(".")[0] in QT) == {}


def test_core_imports_neither_ingest_nor_app() -> None:
    assert _offenders("core", lambda m: _under(m, "ingest", "app")) == {}


def test_ingest_does_not_import_app() -> None:
    assert _offenders("ingest", lambda m: _under(m, "app")) == {}


def test_store_layer_knows_nothing_of_memories() -> None:
    """The memory layer builds on the store; forgetting's cascade lives in the pipeline."""
    assert _offenders("core/store", lambda m: _under(m, "core.memory")) == {}


def test_sources_only_emit() -> None:
    """A source hands items to its sink; it never holds the pipeline or the store."""
    assert _offenders("ingest", lambda m: _under(m, "core.pipeline", "core.store")) == {}


def test_views_and_cli_never_import_each_other() -> None:
    assert _offenders("app/views", lambda m: _under(m, "app.cli")) == {}
    assert _offenders("app/cli", lambda m: _under(m, "app.views", "app.windows",
                                                  "app.models")) == {}


def test_cli_is_qt_free_until_the_window_opens() -> None:
    """`engram search` etc. must not pay for (or need) Qt."""
    for path in python_files("app/cli") + [REPO / "app" / "bootstrap.py"]:
        qt = [m for m in imported_modules(path) if m.split(".")[0] in QT]
        assert not qt, f"{path} imports Qt: {qt}"


# -- no cycles ----------------------------------------------------------------------------
def import_graph() -> dict[str, set[str]]:
    """Project module → the project modules it imports (a package's own submodules
    importing the package's ``__init__`` do not count: that is how packages work)."""
    modules = {module_name(p): p for pkg in PACKAGES for p in python_files(pkg)}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for target in imported_modules(path):
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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
    return found


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_project_modules() -> None:
    assert cycles(import_graph()) == []


# -- no reflection, no SQL in the app -------------------------------------------------------
def _dynamic_imports(path: Path) -> list[str]:
    """``importlib.import_module("core…")`` / ``__import__`` of a project module."""
    found = []
    for node in ast.walk(_tree(path)):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        if name not in ("import_module", "__import__"):
            continue
        arg = node.args[0] if node.args else None
        if not isinstance(arg, ast.Constant) or not isinstance(arg.value, str) or \
                arg.value.split(".")[0] in PACKAGES:
            found.append(f"line {node.lineno}")  # a project module, or a name computed at runtime
    return found


def test_no_dynamic_imports_of_project_modules() -> None:
    """Every dependency is visible to a reader (and to the cycle check above)."""
    found = {str(p.relative_to(REPO)): _dynamic_imports(p)
             for pkg in PACKAGES for p in python_files(pkg)}
    assert {k: v for k, v in found.items() if v} == {}


_SQL = re.compile(r"\b(SELECT\s+.+\s+FROM|INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET|"
                  r"CREATE\s+TABLE|PRAGMA)\b", re.DOTALL)  # SQL is written in capitals here


def _sql_in(path: Path) -> list[str]:
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in ("execute", "executemany"):
            found.append(f"line {node.lineno}: .{node.func.attr}(")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                _SQL.search(node.value):
            found.append(f"line {node.lineno}: {node.value[:40]!r}")
    return found


def test_the_sql_finder_finds_sql(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('db.execute("SELECT id FROM events")\nq = f"DELETE FROM x WHERE {y}"\n'
                      'label = "Select a file from the list"\n')
    assert [f.split(":")[0] for f in _sql_in(sample)] == ["line 1", "line 1", "line 2"]


def test_no_sql_in_the_app() -> None:
    """The UI and the CLI ask core services; only core/ knows the tables."""
    found = {str(p.relative_to(REPO)): _sql_in(p) for p in python_files("app")}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_composition_root_is_typed() -> None:
    """The engine's parts have real types: nothing ``object``, nothing ignored."""
    text = (REPO / "app" / "bootstrap.py").read_text("utf-8")
    assert "type: ignore" not in text and not re.search(r":\s*object\b", text)
