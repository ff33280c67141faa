"""What goes into the desktop bundle besides what PyInstaller finds by following imports.

PyInstaller sees ``import`` statements only. cvstudio loads its built-in
plugins through entry points (which need the ``cvstudio`` distribution's
metadata in the bundle) and builds components from ``"module:function"``
factory strings (modules nothing imports by name), and reads lessons, icons
and plugin templates as package data. Everything here is derived from
pyproject.toml, so a new built-in plugin, module or data file is bundled
without touching the spec; tests/test_packaging.py checks it.
"""

from __future__ import annotations

import sys
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
# Test helpers, and what only they or a developer's tools use: never imported by the app.
EXCLUDES = ["cvstudio.testing", "pytest", "_pytest", "pytest_qt", "pytestqt", "IPython", "tkinter", "matplotlib"]
# Bundled whole: `cvstudio plugin install` builds plugin projects in-process with setuptools, which
# imports its commands by name.
WHOLE_PACKAGES = ["setuptools"]
# Also kept as source: torch.export traces a model's Python code, and reads the source of what it calls.
WITH_SOURCE = ["cvstudio", "cvstudio_models", "onnxscript", "onnx_ir"]


def package_dir(package: str) -> Path:
    """Where a package listed in pyproject.toml lives in the source tree."""
    mapped = SETUPTOOLS.get("package-dir", {})
    for prefix in sorted(mapped, key=len, reverse=True):
        if package == prefix or package.startswith(prefix + "."):
            return ROOT / mapped[prefix] / Path(*package[len(prefix):].split(".")[1:])
    return ROOT / Path(*package.split("."))


def builtin_plugin_modules() -> dict[str, str]:
    """The built-in plugins' entry points: name -> module."""
    return dict(PYPROJECT["project"]["entry-points"]["cvstudio.plugins"])


def hidden_imports() -> list[str]:
    """Every module of every shipped package (factories are named by string), less the excluded ones.

    Read from the source tree, not imported, so it is quick and needs no PyInstaller.
    """
    modules = []
    for package in SETUPTOOLS["packages"]:
        folder = package_dir(package)
        modules += [package if path.stem == "__init__" else f"{package}.{path.stem}"
                    for path in sorted(folder.glob("*.py"))]
    return [m for m in modules if not any(m == e or m.startswith(e + ".") for e in EXCLUDES)]


def data_files() -> list[tuple[str, str]]:
    """(source file, folder in the bundle) for every package-data file of pyproject.toml."""
    datas = []
    for package, patterns in SETUPTOOLS.get("package-data", {}).items():
        folder = package_dir(package)
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder).as_posix()
            if any(fnmatch(relative, pattern) for pattern in patterns):
                target = Path(*package.split(".")) / Path(relative).parent
                datas.append((str(path), target.as_posix()))
    return datas


def metadata_files() -> list[tuple[str, str]]:
    """The metadata of cvstudio (its plugin entry points) and of every installed package it needs.

    Entry points are read from cvstudio's ``.dist-info``; ``cvstudio plugin
    install`` reads the others' versions to check a plugin's dependencies. A
    requirement that is not installed (torchvision beside a CPU torch) is not
    in the bundle either, so it is skipped.
    """
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from PyInstaller.utils.hooks import copy_metadata

    datas = copy_metadata("cvstudio")
    seen, wanted = {"cvstudio"}, list(distribution("cvstudio").requires or [])
    while wanted:
        requirement = Requirement(wanted.pop())
        name = canonicalize_name(requirement.name)
        if name in seen or (requirement.marker is not None and not requirement.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        try:
            wanted += distribution(name).requires or []
        except PackageNotFoundError:
            continue
        datas += copy_metadata(name)
    return datas


def analysis_options() -> dict[str, Any]:
    """The keyword arguments of the spec's ``Analysis``."""
    from PyInstaller.utils.hooks import collect_submodules

    whole = [m for package in WHOLE_PACKAGES
             for m in collect_submodules(package, filter=lambda name: ".tests" not in name)]
    return {
        "pathex": [str(ROOT), str(ROOT / "plugins")],
        "datas": data_files() + metadata_files(),
        "hiddenimports": hidden_imports() + whole,
        "excludes": EXCLUDES,
        "module_collection_mode": {package: "pyz+py" for package in WITH_SOURCE},
    }
