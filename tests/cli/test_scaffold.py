"""`cvstudio plugin new`: the package it creates installs, passes its own tests and is listed.

End to end without touching the shared environment: the packages are built
and installed with pip into a folder of the test (``--target``), then their
tests and ``cvstudio plugins`` run in subprocesses with that folder on
PYTHONPATH, the way cvstudio finds an installed plugin: by its entry point.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cvstudio
from cvstudio.cli import main
from cvstudio.scaffold import KINDS, ScaffoldError, create_plugin

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def run(*args, cwd, site):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)}
    env.pop("CVSTUDIO_DISABLE_PLUGIN_AUTOLOAD", None)  # the installed plugins are found by their entry points
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240)


def test_packages_of_one_and_of_every_kind_install_pass_their_tests_and_the_plugin_check(tmp_path, capsys):
    packages = {"cvstudio-texture": list(KINDS), "my-feature": ["feature"]}
    assert main(["plugin", "new", "cvstudio-texture", "--kind", "feature,classifier", "--kind", "model",
                 "--kind", "dataset,panel", "--dir", str(tmp_path)]) == 0
    assert main(["plugin", "new", "my-feature", "--kind", "feature", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"created {tmp_path / 'cvstudio-texture'}" in out and "cvstudio plugin check cvstudio_texture" in out
    site = tmp_path / "site"
    pip = run("-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
              "--target", str(site), *(str(tmp_path / n) for n in packages), cwd=tmp_path, site="")
    assert pip.returncode == 0, pip.stderr

    # pytest-xvfb gives the panel's window test a display, as it would in the package's CI.
    tests = run("-m", "pytest", "-q", "-p", "no:cacheprovider", *packages, cwd=tmp_path, site=site)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    # per package: loads, loads through its entry point, a contract test per kind; the panel's window test
    assert f"{sum(2 + len(kinds) for kinds in packages.values()) + 1} passed" in tests.stdout

    check = run("-m", "cvstudio", "plugin", "check", "cvstudio_texture", "my-feature", cwd=tmp_path, site=site)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.rstrip().endswith("2 plugin(s), 6 component(s) checked: all passed")

    listing = run("-m", "cvstudio", "plugins", "--json", cwd=tmp_path, site=site)
    plugins = {p["name"]: p for p in json.loads(listing.stdout)}
    assert plugins["cvstudio_texture"]["specs"] == {KINDS[kind].registry_kind: ["texture"] for kind in KINDS}
    assert plugins["my_feature"]["specs"] == {"feature_extractors": ["my-feature"]}
    assert all((plugins[p]["source"], plugins[p]["status"]) == ("entry point", "ok") for p in ("cvstudio_texture", "my_feature"))


def test_a_typo_in_the_entry_point_fails_the_scaffolded_tests(tmp_path):
    target = create_plugin("cvstudio-typo", "classifier", tmp_path)
    pyproject = target / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('cvstudio_typo = "cvstudio_typo"', 'cvstudio_typo = "cvstudio_tpyo"'))
    site = tmp_path / "site"
    pip = run("-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
              "--target", str(site), str(target), cwd=tmp_path, site="")
    assert pip.returncode == 0, pip.stderr
    tests = run("-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xvfb", str(target), cwd=tmp_path, site=site)
    assert "1 failed, 2 passed" in tests.stdout, tests.stdout
    assert "No module named 'cvstudio_tpyo'" in tests.stdout


@pytest.mark.parametrize("name, problem", [
    ("My Plugin", "must be lower-case letters and digits"),
    ("2fast", "starting with a letter"),
    ("cvstudio", "is taken by Python or cvstudio itself"),
    ("cvstudio-features", "is taken by Python or cvstudio itself"),  # the built-in plugin package cvstudio_features
    ("class", "is taken by Python or cvstudio itself"),
])
def test_bad_names_are_refused_with_an_example_of_a_good_one(tmp_path, capsys, name, problem):
    assert main(["plugin", "new", name, "--kind", "feature", "--dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert problem in error and "e.g. 'cvstudio-texture'" in error
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("name", ["cvstudio-texture", "cvstudio_texture"])
def test_the_recommended_cvstudio_prefix_is_accepted(tmp_path, name):
    target = create_plugin(name, "feature", tmp_path)
    assert (target / "cvstudio_texture" / "__init__.py").exists()
    assert f'name = "{name}"' in (target / "pyproject.toml").read_text()


def test_an_existing_folder_is_never_overwritten(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ScaffoldError, match="already exists and is not empty; choose another name or --dir"):
        create_plugin("mine", "model", tmp_path)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_unknown_kind_names_the_kinds_there_are(tmp_path, capsys):
    with pytest.raises(ScaffoldError, match="unknown plugin kind 'filter'; use one or more of feature, classifier, model"):
        create_plugin("mine", "filter", tmp_path)
    assert main(["plugin", "new", "mine", "--kind", "feature,filter", "--dir", str(tmp_path)]) == 2
    assert "unknown plugin kind 'filter'" in capsys.readouterr().err and not any(tmp_path.iterdir())


def test_the_templates_ship_as_package_data():
    package = Path(cvstudio.__file__).parent
    patterns = tomllib.loads((package.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = {p for pattern in patterns["cvstudio"] for p in package.glob(pattern)}
    needed = {package / "templates" / "plugin" / f"{kind}.py.tmpl" for kind in KINDS}
    assert "panel" in KINDS
    assert needed <= shipped and len(shipped) == len(list((package / "templates" / "plugin").iterdir()))
