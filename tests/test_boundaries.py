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


RAY_HOME = PACKAGE / "core" / "cluster.py"  # the only module that imports Ray, and only when a cluster is asked for


def test_ray_is_imported_only_by_the_cluster_module():
    offenders = [f"{path}: {m}" for path in PACKAGE.rglob("*.py") if path != RAY_HOME
                 for m in imported_modules(path) if m.split(".")[0] == "ray"]
    assert offenders == []
    assert "ray" in list(imported_modules(RAY_HOME))


def test_a_run_without_a_cluster_never_imports_ray(tmp_path):
    import subprocess
    import sys

    from cvstudio.testing import write_tiny_experiment

    study = write_tiny_experiment(
        tmp_path / "study.toml", title="No cluster", study={"kind": "scaling", "sizes": [2], "seeds": 1, "min_steps": 1},
        dataset={"name": "shapes", "params": {"per_class": 8, "image_size": 16, "classes": 2}},
        classical=[{"label": "moments", "features": ["color-moments"], "classifier": "logistic-regression"}],
        deep=None)
    script = ("import sys; from cvstudio.cli import main; code = main(['run', sys.argv[1], '--out', sys.argv[2]]); "
              "print('RAY' if any(m == 'ray' or m.startswith('ray.') for m in sys.modules) else 'NO-RAY', code)")
    done = subprocess.run([sys.executable, "-c", script, str(study), str(tmp_path / "runs")],
                          capture_output=True, text=True, timeout=240)
    assert done.stdout.split()[-2:] == ["NO-RAY", "0"], done.stderr
