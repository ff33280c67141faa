"""The desktop entry, AppStream metainfo and icons agree with the app's id and names, and validate."""

from __future__ import annotations

import configparser
import fnmatch
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlparse

import pytest

import cvstudio
from cvstudio.appinfo import APP_ID, APP_NAME, ICON_SIZES, icons_dir, png_icons, scalable_icon

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(cvstudio.__file__).parent.parent
LINUX = ROOT / "packaging" / "linux"
DESKTOP_FILE = LINUX / f"{APP_ID}.desktop"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP_FILE)
    return parser["Desktop Entry"]


def test_desktop_entry_names_the_app_its_icon_and_window_class():
    entry = desktop_entry()
    assert entry["Name"] == APP_NAME and entry["Icon"] == APP_ID and entry["StartupWMClass"] == APP_NAME
    assert entry["Exec"].split()[:2] == ["cvstudio", "gui"]


def test_metainfo_launches_the_desktop_entry_and_lists_this_release():
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == DESKTOP_FILE.name
    assert root.find("provides/binary").text == "cvstudio"
    assert root.find("releases/release").get("version") == cvstudio.__version__


def test_metainfo_screenshot_is_one_of_the_docs_images():
    url = ET.parse(METAINFO).getroot().find("screenshots/screenshot/image").text
    assert (ROOT / "docs" / "images" / Path(urlparse(url).path).name).is_file()


def png_size(path: Path) -> tuple[int, int]:
    with open(path, "rb") as file:
        header = file.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def test_every_icon_size_is_rendered_at_its_size():
    assert scalable_icon().is_file()
    assert [png_size(png) for png in png_icons()] == [(n, n) for n in ICON_SIZES]


def test_icons_ship_as_package_data():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    resources_root = icons_dir().parent
    for path in [scalable_icon(), *png_icons()]:
        relative = path.relative_to(resources_root).as_posix()
        assert any(fnmatch.fnmatch(relative, p) for p in patterns["cvstudio.resources"]), relative


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None,
                    reason="desktop-file-validate missing: apt-get install desktop-file-utils")
def test_desktop_file_validates():
    result = subprocess.run(["desktop-file-validate", str(DESKTOP_FILE)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstreamcli missing: apt-get install appstream")
def test_metainfo_validates():
    result = subprocess.run(["appstreamcli", "validate", "--no-net", "--pedantic", str(METAINFO)],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "Validation was successful." in result.stdout, result.stdout
