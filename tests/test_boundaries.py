"""Architecture rules: Qt lives only under cvstudio/qt."""

import ast
from pathlib import Path

import cvstudio

QT_MODULES = ("PySide6", "pyqtgraph", "PyQt5", "PyQt6", "shiboken6")
PACKAGE = Path(cvstudio.__file__).parent
PLUGINS = PACKAGE.parent / "plugins"


def imported_modules(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_qt_is_imported_only_under_cvstudio_qt():
    offenders = []
    for path in [*PACKAGE.rglob("*.py"), *PLUGINS.glob("cvstudio_*/**/*.py")]:
        if PACKAGE / "qt" in path.parents:
            continue
        offenders += [f"{path}: {m}" for m in imported_modules(path) if m.split(".")[0] in QT_MODULES]
    assert offenders == []


def test_the_rule_would_catch_a_qt_import(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text("def f():\n    from PySide6.QtWidgets import QWidget\n")
    assert "PySide6.QtWidgets" in list(imported_modules(sample))
