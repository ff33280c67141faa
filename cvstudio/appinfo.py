"""Who the app is to the desktop: its id, names and icon, shared by the window, the CLI and the packaging.

The reverse-DNS id names the desktop entry, the AppStream metainfo and the
icon; the window announces it (``QGuiApplication.setDesktopFileName``) so a
desktop groups the window with its launcher.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

APP_ID = "io.github.cvstudio.cvstudio"
APP_NAME = "cvstudio"
ORGANIZATION = "cvstudio"
ORGANIZATION_DOMAIN = "cvstudio.github.io"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)


def icons_dir() -> Path:
    """The shipped icons: ``APP_ID.svg`` and a hicolor tree of PNGs (``hicolor/NxN/apps/APP_ID.png``)."""
    return Path(str(resources.files("cvstudio.resources") / "icons"))


def scalable_icon() -> Path:
    return icons_dir() / f"{APP_ID}.svg"


def png_icons() -> list[Path]:
    """A PNG per size in ``ICON_SIZES``, rendered from the scalable icon by packaging/render_icons.py."""
    return [icons_dir() / "hicolor" / f"{n}x{n}" / "apps" / f"{APP_ID}.png" for n in ICON_SIZES]
