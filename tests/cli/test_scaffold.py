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
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("CVSTUDIO_DISABLE_PLUGIN_AUTOLOAD", None)  # the installed plugins are found by their entry points
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240)


def test_every_kind_installs_passes_its_tests_and_is_listed(tmp_path, capsys):
    names = {kind: f"my-{kind}" for kind in KINDS}
    for kind, name in names.items():
        assert main(["plugin", "new", name, "--kind", kind, "--dir", str(tmp_path)]) == 0
        assert f"created {tmp_path / name}" in capsys.readouterr().out
    site = tmp_path / "site"
    pip = run("-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
              "--target", str(site), *(str(tmp_path / n) for n in names.values()), cwd=tmp_path, site="")
    assert pip.returncode == 0, pip.stderr

    tests = run("-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xvfb", *names.values(),
                cwd=tmp_path, site=site)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert f"{2 * len(KINDS)} passed" in tests.stdout

    listing = run("-m", "cvstudio", "plugins", "--json", cwd=tmp_path, site=site)
    plugins = {p["name"]: p for p in json.loads(listing.stdout)}
    for kind, name in names.items():
        plugin = plugins[name.replace("-", "_")]
        assert (plugin["source"], plugin["status"]) == ("entry point", "ok")
        assert plugin["specs"] == {KINDS[kind].registry_kind: [name]}


@pytest.mark.parametrize("name, problem", [
    ("My Plugin", "must be lower-case letters and digits"),
    ("2fast", "starting with a letter"),
    ("cvstudio", "is reserved"),
    ("class", "is reserved"),
])
def test_bad_names_are_refused_with_an_example_of_a_good_one(tmp_path, capsys, name, problem):
    assert main(["plugin", "new", name, "--kind", "feature", "--dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert problem in error and "e.g. 'my-" in error
    assert not any(tmp_path.iterdir())


def test_an_existing_folder_is_never_overwritten(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ScaffoldError, match="already exists and is not empty; choose another name or --dir"):
        create_plugin("mine", "model", tmp_path)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_unknown_kind_names_the_kinds_there_are(tmp_path):
    with pytest.raises(ScaffoldError, match="unknown plugin kind 'filter'; use one of feature, classifier, model"):
        create_plugin("mine", "filter", tmp_path)


def test_the_templates_ship_as_package_data():
    package = Path(cvstudio.__file__).parent
    patterns = tomllib.loads((package.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = {p for pattern in patterns["cvstudio"] for p in package.glob(pattern)}
    needed = {package / "templates" / "plugin" / f"{kind}.py.tmpl" for kind in KINDS}
    assert needed <= shipped and len(shipped) == len(list((package / "templates" / "plugin").iterdir()))
