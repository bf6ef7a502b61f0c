"""The engine stays Qt-free and imports flow app → ingest → core."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def python_files(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("package", ["core", "ingest"])
def test_engine_never_imports_qt(package: str) -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(m for m in imported_modules(path)
                                            if m.split(".")[0] in {"PySide6", "shiboken6", "PyQt5", "PyQt6"})
        for path in python_files(package)
    }
    assert python_files(package), f"no python files found in {package}/"
    assert {k: v for k, v in offenders.items() if v} == {}


def test_core_imports_neither_ingest_nor_app() -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(m for m in imported_modules(path)
                                            if m.split(".")[0] in {"ingest", "app"})
        for path in python_files("core")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_ingest_does_not_import_app() -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(m for m in imported_modules(path)
                                            if m.split(".")[0] == "app")
        for path in python_files("ingest")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_cli_is_qt_free_until_the_window_opens() -> None:
    """`engram search` etc. must not pay for (or need) Qt."""
    for path in python_files("app/cli") + [REPO / "app" / "bootstrap.py"]:
        qt = [m for m in imported_modules(path) if m.startswith(("PySide6", "shiboken6"))]
        assert not qt, f"{path} imports Qt: {qt}"
