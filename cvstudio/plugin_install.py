"""Install a plugin (a wheel, a project folder or a single file) without pip or a Python installation.

The packaged app carries no Python beside it, so pip cannot run there. A wheel
is checked here the way pip would check it (a readable archive, tags for this
Python and platform, RECORD hashes, dependencies the app has) and unpacked
into the per-user plugin site (:func:`cvstudio.plugins.plugin_site_dir`),
which the app puts on its path. A project folder is first built into a wheel
in-process by its setuptools backend. A single ``.py`` plugin is copied into
the user plugin folder, as if dropped there.
"""

from __future__ import annotations

import base64
import configparser
import csv
import hashlib
import importlib
import io
import os
import shutil
import sys
import tempfile
import zipfile
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from email.parser import Parser
from importlib.metadata import distributions
from pathlib import Path, PurePosixPath
from typing import Iterator

from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import sys_tags
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from cvstudio.plugins import ENTRY_POINT_GROUP, plugin_site_dir, user_plugin_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SUPPORTED_BACKENDS = ("setuptools.build_meta",)
INSTALLER = "cvstudio"


class PluginInstallError(Exception):
    """Why a plugin cannot be installed, and what to do instead."""


@dataclass(frozen=True)
class Installed:
    """What an install put where; ``replaced`` is the version it upgraded, if any."""

    name: str
    version: str
    location: Path
    plugins: tuple[str, ...]
    replaced: str | None = None

    def describe(self) -> str:
        if self.replaced == self.version:
            action = f"Reinstalled {self.name} {self.version}"
        elif self.replaced:
            action = f"Upgraded {self.name} {self.replaced} to {self.version}"
        else:
            action = f"Installed {self.name}" + (f" {self.version}" if self.version else "")
        provides = (f"; plugins: {', '.join(self.plugins)}" if self.plugins
                    else f"; it declares no {ENTRY_POINT_GROUP!r} entry point, so it adds no plugin by itself")
        return f"{action} into {self.location}{provides}"


def install_plugin(source: Path, site: Path | None = None, single_files: Path | None = None) -> Installed:
    """Install ``source``: a ``.whl``, a project folder (with pyproject.toml or setup.py) or a ``.py`` plugin."""
    source = Path(source)
    if not source.exists():
        raise PluginInstallError(f"{source} does not exist; give a wheel (.whl), a plugin project folder or a .py file")
    if source.is_dir():
        with tempfile.TemporaryDirectory(prefix="cvstudio-build-") as out:
            return install_wheel(build_wheel(source, Path(out)), site)
    if source.suffix == ".whl":
        return install_wheel(source, site)
    if source.suffix == ".py":
        return _install_single_file(source, single_files or user_plugin_dir())
    raise PluginInstallError(f"{source.name} is not a plugin: give a wheel (.whl), a project folder "
                             "(with pyproject.toml) or a single-file plugin (.py)")


def install_wheel(wheel: Path, site: Path | None = None) -> Installed:
    """Check ``wheel`` and unpack it into ``site`` (default: the per-user plugin site), replacing an older copy."""
    site = Path(site or plugin_site_dir())
    _check_tags(wheel)
    try:
        archive = zipfile.ZipFile(wheel)
    except (zipfile.BadZipFile, OSError) as exc:
        raise PluginInstallError(f"{wheel.name} is not a readable wheel ({exc}); download or build it again") from None
    with archive:
        dist_info = _dist_info(archive, wheel)
        metadata = Parser().parsestr(archive.read(f"{dist_info}/METADATA").decode("utf-8", "replace"))
        name, version = metadata["Name"], metadata["Version"]
        _check_archive(archive, dist_info, wheel)
        _check_requirements(name, metadata.get_all("Requires-Dist") or [], site)
        plugins = _entry_point_names(archive, dist_info)
        with _writable(site) as staging:
            archive.extractall(staging)
            _flatten_data_dir(staging, dist_info)
            (staging / dist_info / "INSTALLER").write_text(f"{INSTALLER}\n")
            replaced = _remove_installed(name, site)
            _merge(staging, site)
    importlib.invalidate_caches()  # new modules under a folder already on sys.path
    return Installed(name, version, site, plugins, replaced)


def build_wheel(project: Path, out: Path) -> Path:
    """Build ``project`` into a wheel in ``out`` with its setuptools backend, in this process.

    The project is copied first, so the build leaves nothing behind in it.
    """
    project = Path(project)
    pyproject = project / "pyproject.toml"
    if not pyproject.exists() and not (project / "setup.py").exists():
        raise PluginInstallError(f"{project} has no pyproject.toml or setup.py, so it is not a Python project; "
                                 "give the plugin's project folder, a wheel or a .py file")
    backend = _build_backend(pyproject)
    if backend not in SUPPORTED_BACKENDS:
        raise PluginInstallError(
            f"{project.name} builds with {backend!r}, which cvstudio cannot run by itself; build a wheel where "
            f"Python is installed (pip wheel --no-deps {project}) and install that wheel")
    import setuptools.build_meta

    with tempfile.TemporaryDirectory(prefix="cvstudio-src-") as copy:
        source = Path(copy) / project.name
        shutil.copytree(project, source, ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache"))
        out.mkdir(parents=True, exist_ok=True)
        with _working_directory(source), _quiet():
            try:
                name = setuptools.build_meta.build_wheel(str(out))
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - a broken setup.py raises anything
                raise PluginInstallError(f"{project.name} could not be built into a wheel: {exc}") from None
    return out / name


def _build_backend(pyproject: Path) -> str:
    if not pyproject.exists():
        return "setuptools.build_meta"  # a setup.py project
    try:
        data = tomllib.loads(pyproject.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PluginInstallError(f"{pyproject} cannot be read: {exc}") from None
    return data.get("build-system", {}).get("build-backend", "setuptools.build_meta")


def _check_tags(wheel: Path) -> None:
    try:
        _, _, _, tags = parse_wheel_filename(wheel.name)
    except InvalidWheelFilename as exc:
        raise PluginInstallError(f"{wheel.name} is not named like a wheel ({exc}); "
                                 "a wheel is named NAME-VERSION-PYTHON-ABI-PLATFORM.whl") from None
    if not tags & set(sys_tags()):
        here = next(iter(sys_tags()))
        wanted = ", ".join(sorted(str(tag) for tag in tags))
        raise PluginInstallError(
            f"{wheel.name} is built for {wanted}, but this cvstudio runs Python "
            f"{sys.version_info.major}.{sys.version_info.minor} on {here.platform} ({here}); "
            "get the wheel built for this Python and platform, or a pure-Python one (py3-none-any)")


def _dist_info(archive: zipfile.ZipFile, wheel: Path) -> str:
    folders = {PurePosixPath(n).parts[0] for n in archive.namelist() if n.split("/")[0].endswith(".dist-info")}
    if len(folders) != 1 or f"{next(iter(folders))}/METADATA" not in archive.namelist():
        raise PluginInstallError(f"{wheel.name} is broken: it has no single .dist-info folder with METADATA; "
                                 "build the wheel again")
    return folders.pop()


def _check_archive(archive: zipfile.ZipFile, dist_info: str, wheel: Path) -> None:
    """Every member stays inside the target and matches the hash its RECORD gives."""
    for member in archive.namelist():
        path = PurePosixPath(member)
        if path.is_absolute() or ".." in path.parts:
            raise PluginInstallError(f"{wheel.name} is broken: it would write outside the plugin folder ({member})")
    try:
        record = archive.read(f"{dist_info}/RECORD").decode()
    except KeyError:
        raise PluginInstallError(f"{wheel.name} is broken: it has no RECORD; build the wheel again") from None
    for row in csv.reader(io.StringIO(record)):
        if len(row) < 2 or not row[1]:
            continue
        algorithm, _, expected = row[1].partition("=")
        try:
            data = archive.read(row[0])
        except (KeyError, zipfile.BadZipFile, OSError) as exc:
            raise PluginInstallError(f"{wheel.name} is broken: {row[0]} cannot be read ({exc}); "
                                     "download or build it again") from None
        digest = base64.urlsafe_b64encode(hashlib.new(algorithm, data).digest()).rstrip(b"=").decode()
        if digest != expected:
            raise PluginInstallError(f"{wheel.name} is broken: {row[0]} does not match the hash in its RECORD; "
                                     "download or build it again")


def installed_versions(site: Path) -> dict[str, str]:
    """Every distribution the app can import from, the plugin site included: canonical name -> version."""
    versions = {}
    for dist in distributions(path=[*sys.path, str(site)]):
        name = dist.metadata["Name"]
        if name:
            versions.setdefault(canonicalize_name(name), dist.version)
    return versions


def _check_requirements(name: str, requires: list[str], site: Path) -> None:
    versions = installed_versions(site)
    missing = []
    for line in requires:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            missing.append(line)
            continue
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        version = versions.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            missing.append(str(requirement) + (f" (this app has {version})" if version else ""))
    if missing:
        raise PluginInstallError(
            f"{name} needs {', '.join(missing)}, which this cvstudio does not have. Install wheels of those "
            "packages first with `cvstudio plugin install` (pure-Python ones work), or use a cvstudio "
            "installed with pip (pip install cvstudio), where pip brings dependencies")


def _entry_point_names(archive: zipfile.ZipFile, dist_info: str) -> tuple[str, ...]:
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str
    try:
        parser.read_string(archive.read(f"{dist_info}/entry_points.txt").decode())
    except KeyError:
        return ()
    return tuple(parser[ENTRY_POINT_GROUP]) if parser.has_section(ENTRY_POINT_GROUP) else ()


@contextmanager
def _writable(site: Path) -> Iterator[Path]:
    """A staging folder inside ``site`` (same file system, so files move in by rename), removed afterwards."""
    try:
        site.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".installing-", dir=site))
    except OSError as exc:
        raise PluginInstallError(
            f"cannot write to the plugin folder {site} ({exc.strerror or exc}); give your user write access "
            "to it, or point XDG_DATA_HOME at a folder you own, and install again") from None
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _flatten_data_dir(staging: Path, dist_info: str) -> None:
    """Move a wheel's ``NAME.data/purelib`` and ``platlib`` to the top; scripts and data files are not installed."""
    data = staging / dist_info.replace(".dist-info", ".data")
    for scheme in ("purelib", "platlib"):
        if (data / scheme).is_dir():
            _merge(data / scheme, staging)
    shutil.rmtree(data, ignore_errors=True)


def _remove_installed(name: str, site: Path) -> str | None:
    """Delete the files an earlier install of ``name`` in ``site`` recorded; return its version."""
    wanted = canonicalize_name(name)
    for dist in distributions(path=[str(site)]):
        if canonicalize_name(dist.metadata["Name"] or "") != wanted:
            continue
        version = dist.version  # read before its METADATA goes
        folders = set()
        for file in dist.files or []:
            path = Path(dist.locate_file(file))
            if site in path.parents:
                path.unlink(missing_ok=True)
                folders.add(path.parent)
        for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
            while folder != site and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
                folder = folder.parent
        return version
    return None


def _merge(source: Path, target: Path) -> None:
    """Move every file under ``source`` to the same place under ``target``, replacing what is there."""
    for root, _, files in os.walk(source):
        destination = target / Path(root).relative_to(source)
        destination.mkdir(parents=True, exist_ok=True)
        for file in files:
            os.replace(Path(root) / file, destination / file)


def _install_single_file(source: Path, folder: Path) -> Installed:
    with _writable(folder) as staging:
        shutil.copy2(source, staging / source.name)
        os.replace(staging / source.name, folder / source.name)
    return Installed(source.stem, "", folder, (source.stem,))


@contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


@contextmanager
def _quiet() -> Iterator[None]:
    """setuptools narrates every file it copies; the user needs the outcome only."""
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        yield
