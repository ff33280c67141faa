"""Installing plugin packages without pip: wheels, project folders, single files, and every way it can fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from cvstudio.cli import main
from cvstudio.plugin_install import PluginInstallError, build_wheel, install_plugin, install_wheel
from cvstudio.plugins import load_registry, plugin_site_dir, user_plugin_dir
from cvstudio.scaffold import create_plugin


def make_project(parent: Path, name: str = "tiny-edges", dependencies: str = '"cvstudio"') -> Path:
    """A plugin project as `cvstudio plugin new` writes it, with the given dependency list."""
    project = create_plugin(name, "feature", parent)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('dependencies = ["cvstudio"]',
                                                       f"dependencies = [{dependencies}]"))
    return project


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A pure-Python plugin wheel, built once for the module."""
    parent = tmp_path_factory.mktemp("wheel")
    return build_wheel(make_project(parent), parent / "dist")


def test_project_folder_installs_and_its_plugin_loads(tmp_path):
    project = make_project(tmp_path)
    installed = install_plugin(project)
    assert installed.plugins == ("tiny_edges",) and installed.location == plugin_site_dir()
    assert sorted(p.name for p in project.iterdir()) == ["README.md", "pyproject.toml", "tests", "tiny_edges"]
    registry = load_registry(autoload=True)
    assert registry.plugins["tiny_edges"].status == "ok"
    assert registry.plugin_of("feature_extractors", "tiny-edges") == "tiny_edges"


def test_installing_again_replaces_the_earlier_copy(wheel):
    install_wheel(wheel)
    stale = plugin_site_dir() / "tiny_edges" / "stale.py"
    stale.write_text("")
    (plugin_site_dir() / "tiny_edges-0.1.0.dist-info" / "RECORD").write_text(
        "tiny_edges/stale.py,,\n" + (plugin_site_dir() / "tiny_edges-0.1.0.dist-info" / "RECORD").read_text())
    installed = install_wheel(wheel)
    assert installed.replaced == "0.1.0" and installed.describe().startswith("Reinstalled tiny-edges 0.1.0")
    assert not stale.exists() and (plugin_site_dir() / "tiny_edges" / "__init__.py").exists()


def test_single_file_plugin_is_copied_into_the_user_plugin_folder(tmp_path):
    source = tmp_path / "brightness.py"
    source.write_text("# a plugin\n")
    installed = install_plugin(source)
    assert (user_plugin_dir() / "brightness.py").read_text() == "# a plugin\n"
    assert installed.describe() == f"Installed brightness into {user_plugin_dir()}; plugins: brightness"


def test_a_file_that_is_not_a_zip_is_a_broken_wheel(tmp_path):
    broken = tmp_path / "tiny_edges-0.1.0-py3-none-any.whl"
    broken.write_bytes(b"not a zip at all")
    with pytest.raises(PluginInstallError, match="not a readable wheel .*download or build it again"):
        install_wheel(broken)
    assert not plugin_site_dir().exists() or not any(plugin_site_dir().iterdir())


def test_a_wheel_whose_file_was_changed_is_refused(wheel, tmp_path):
    tampered = tmp_path / wheel.name
    with zipfile.ZipFile(wheel) as original, zipfile.ZipFile(tampered, "w") as copy:
        for item in original.infolist():
            data = original.read(item)
            copy.writestr(item, data + b"\n# changed\n" if item.filename == "tiny_edges/__init__.py" else data)
    with pytest.raises(PluginInstallError, match="tiny_edges/__init__.py does not match the hash in its RECORD"):
        install_wheel(tampered)
    assert not (plugin_site_dir() / "tiny_edges").exists()


def test_a_wheel_for_another_python_and_platform_is_refused(wheel, tmp_path):
    foreign = tmp_path / "tiny_edges-0.1.0-cp39-cp39-win_amd64.whl"
    shutil.copy(wheel, foreign)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    with pytest.raises(PluginInstallError, match=f"built for cp39-cp39-win_amd64, but this cvstudio runs "
                                                 f"Python {version}.*pure-Python one"):
        install_wheel(foreign)


def test_a_plugin_needing_packages_the_app_lacks_names_them(tmp_path):
    project = make_project(tmp_path, dependencies='"cvstudio", "no-such-package>=1.0", "numpy>=999"')
    with pytest.raises(PluginInstallError) as error:
        install_plugin(project)
    message = str(error.value)
    assert "tiny-edges needs no-such-package>=1.0, numpy>=999 (this app has " in message
    assert "which this cvstudio does not have" in message
    assert not (plugin_site_dir() / "tiny_edges").exists()


def test_a_project_without_pyproject_or_setup_is_explained(tmp_path):
    with pytest.raises(PluginInstallError, match="has no pyproject.toml or setup.py"):
        install_plugin(tmp_path)


def test_a_project_with_another_build_backend_is_sent_to_pip_wheel(tmp_path):
    project = make_project(tmp_path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("setuptools.build_meta", "hatchling.build"))
    with pytest.raises(PluginInstallError, match="builds with 'hatchling.build'.*pip wheel --no-deps"):
        install_plugin(project)


def test_something_else_is_not_a_plugin(tmp_path):
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(PluginInstallError, match="notes.txt is not a plugin"):
        install_plugin(tmp_path / "notes.txt")
    with pytest.raises(PluginInstallError, match="does not exist"):
        install_plugin(tmp_path / "missing.whl")


def test_cli_installs_and_reports_errors_in_one_line(wheel, tmp_path, capsys):
    assert main(["plugin", "install", str(wheel)]) == 0
    assert "Installed tiny-edges 0.1.0" in capsys.readouterr().out
    broken = tmp_path / "tiny_edges-0.1.0-py3-none-any.whl"
    broken.write_bytes(b"")
    assert main(["plugin", "install", str(broken)]) == 1
    assert capsys.readouterr().err.startswith("error: tiny_edges-0.1.0-py3-none-any.whl is not a readable wheel")


def test_no_write_access_to_the_plugin_folder_is_explained(wheel):
    """Run as a user who cannot write the data folder (as root: the `nobody` user, since root may write anywhere)."""
    shared = Path(tempfile.mkdtemp())
    try:
        os.chmod(shared, 0o755)
        data = shared / "data"
        data.mkdir(mode=0o555)
        shutil.copy(wheel, shared / wheel.name)
        os.chmod(shared / wheel.name, 0o644)
        command = [sys.executable, "-m", "cvstudio", "plugin", "install", str(shared / wheel.name)]
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                pytest.skip("running as root without setpriv: no user to lack write access")
            command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
        env = {**os.environ, "XDG_DATA_HOME": str(data), "HOME": str(shared), "PYTHONDONTWRITEBYTECODE": "1"}
        result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=shared)
    finally:
        shutil.rmtree(shared)
    assert result.returncode == 1, result.stderr
    assert f"cannot write to the plugin folder {data}/cvstudio/plugins/site-packages (Permission denied)" \
        in result.stderr
