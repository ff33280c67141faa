"""The wheel ships every package and the bundled lessons."""

import sys
from pathlib import Path

import cvstudio

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(cvstudio.__file__).parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_cvstudio_package_is_listed_in_pyproject():
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "cvstudio").rglob("__init__.py")
    }
    assert on_disk <= set(PYPROJECT["tool"]["setuptools"]["packages"])


def test_builtin_plugins_are_entry_points_that_ship():
    entry_points = PYPROJECT["project"]["entry-points"]["cvstudio.plugins"]
    packages = set(PYPROJECT["tool"]["setuptools"]["packages"])
    package_dirs = PYPROJECT["tool"]["setuptools"]["package-dir"]
    for module in entry_points.values():
        assert module in packages and (ROOT / package_dirs[module] / "__init__.py").exists()


def test_lessons_ship_as_package_data():
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["cvstudio.resources"]
    assert "lessons/*.toml" in patterns
    assert list((ROOT / "resources" / "lessons").glob("*.toml"))
