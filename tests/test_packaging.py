"""The wheel ships every package and the bundled lessons; the desktop bundle collects what imports do not show."""

import importlib.util
import re
import sys
import types
from pathlib import Path

import pytest
from packaging.requirements import Requirement

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


# The desktop bundle: what the PyInstaller spec collects beyond followed imports (packaging/bundle.py).

BUNDLE_SPEC = ROOT / "packaging" / "cvstudio.spec"


def spec_analysis() -> dict:
    """The keyword arguments the spec hands to PyInstaller's Analysis, read by running the spec with stand-ins."""
    recorded = {}

    def analysis(scripts, **options):
        recorded.update(options, scripts=scripts)
        return types.SimpleNamespace(pure=[], scripts=[], binaries=[], datas=[])

    def record(name):
        return lambda *args, **kwargs: recorded.setdefault(name, kwargs)

    namespace = {"SPECPATH": str(BUNDLE_SPEC.parent), "Analysis": analysis, "PYZ": record("PYZ"),
                 "EXE": record("EXE"), "COLLECT": record("COLLECT")}
    exec(compile(BUNDLE_SPEC.read_text(), str(BUNDLE_SPEC), "exec"), namespace)
    return recorded


@pytest.fixture(scope="module")
def analysis():
    pytest.importorskip("PyInstaller", reason="the spec's metadata needs PyInstaller: pip install pyinstaller")
    return spec_analysis()


def test_spec_builds_one_folder_named_cvstudio(analysis):
    assert analysis["EXE"]["exclude_binaries"] is True and analysis["COLLECT"]["name"] == "cvstudio"
    assert [Path(s).name for s in analysis["scripts"]] == ["launcher.py"]


def test_spec_bundles_every_module_a_builtin_spec_or_study_names_by_string(analysis):
    from cvstudio.core.experiment import STUDY_MODULES
    from cvstudio.plugins import load_registry
    from cvstudio.specs import SPEC_TYPES

    hidden = set(analysis["hiddenimports"])
    registry = load_registry(autoload=False)
    factories = {spec.factory.split(":")[0] for kind in SPEC_TYPES for spec in registry.specs(kind).values()
                 if isinstance(spec.factory, str)}
    assert factories and factories <= hidden
    assert set(STUDY_MODULES.values()) <= hidden
    assert set(PYPROJECT["project"]["entry-points"]["cvstudio.plugins"].values()) <= hidden
    # `cvstudio plugin install` builds projects in-process; setuptools imports its commands by name
    assert {"setuptools.build_meta", "setuptools.command.build_py", "setuptools.command.bdist_wheel"} <= hidden
    assert "cvstudio.testing" not in hidden and "pytest" in analysis["excludes"]


def test_spec_bundles_every_module_of_the_shipped_packages(analysis):
    hidden = set(analysis["hiddenimports"])
    package_dirs = PYPROJECT["tool"]["setuptools"]["package-dir"]
    for package in PYPROJECT["tool"]["setuptools"]["packages"]:
        folder = ROOT / package_dirs.get(package, package.replace(".", "/"))
        modules = {f"{package}.{p.stem}" for p in folder.glob("*.py") if p.stem != "__init__"}
        assert modules - {"cvstudio.testing"} <= hidden, package


def test_spec_bundles_lessons_templates_and_icons_where_the_package_reads_them(analysis):
    datas = {(Path(source).relative_to(ROOT).as_posix(), target) for source, target in analysis["datas"]
             if Path(source).is_file()}
    lessons = {(f"resources/lessons/{p.name}", "cvstudio/resources/lessons")
               for p in (ROOT / "resources" / "lessons").glob("*.toml")}
    templates = {(f"cvstudio/templates/plugin/{p.name}", "cvstudio/templates/plugin")
                 for p in (ROOT / "cvstudio" / "templates" / "plugin").glob("*.tmpl")}
    assert lessons and templates and lessons | templates <= datas
    assert ("resources/icons/io.github.cvstudio.cvstudio.svg", "cvstudio/resources/icons") in datas
    assert ("resources/icons/hicolor/256x256/apps/io.github.cvstudio.cvstudio.png",
            "cvstudio/resources/icons/hicolor/256x256/apps") in datas


def test_spec_bundles_the_metadata_that_holds_the_builtin_entry_points(analysis):
    metadata = {re.split(r"[-.]", Path(source).name)[0]: Path(source) for source, _ in analysis["datas"]
                if source.endswith((".dist-info", ".egg-info"))}
    entry_points = (metadata["cvstudio"] / "entry_points.txt").read_text()
    for name, module in PYPROJECT["project"]["entry-points"]["cvstudio.plugins"].items():
        assert f"{name} = {module}" in entry_points
    assert {"numpy", "torch", "onnxruntime_gpu" if "onnxruntime_gpu" in metadata else "onnxruntime"} <= set(metadata)


def test_a_cpu_bundle_takes_the_cpu_onnxruntime_and_brings_its_own_torch():
    spec = importlib.util.spec_from_file_location("bundle_requirements", ROOT / "packaging" / "requirements.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names = [Requirement(line).name for line in module.requirements(cpu=True, without_torch=True)]
    assert "onnxruntime" in names and "onnxruntime-gpu" not in names and not {"torch", "torchvision"} & set(names)
    assert {"PySide6-Essentials", "numpy", "setuptools"} <= set(names)
    assert "torch" in [Requirement(line).name for line in module.requirements(cpu=False, without_torch=False)]
