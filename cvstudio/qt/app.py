"""Start the desktop app: the window first, heavy work (torch, data) after it is on screen."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from cvstudio import __version__
from cvstudio.appinfo import APP_ID, APP_NAME, ORGANIZATION, ORGANIZATION_DOMAIN, png_icons
from cvstudio.plugins import load_registry
from cvstudio.qt.collector import install_gui_collector
from cvstudio.qt.main_window import MainWindow


def app_icon() -> QIcon:
    """The application icon at every rendered size (PNGs: no SVG plugin needed); it is every window's icon."""
    icon = QIcon()
    for path in png_icons():
        icon.addFile(str(path))
    return icon


def setup_application(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication, named as the desktop entry so that a desktop groups its windows with the launcher."""
    app = QApplication.instance() or QApplication(list(sys.argv if argv is None else argv))
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName(ORGANIZATION)
    app.setOrganizationDomain(ORGANIZATION_DOMAIN)
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    install_gui_collector(app)  # before any worker starts: Qt objects are freed on this thread only
    return app


def run_app(experiment_path: Path) -> int:
    """Open the main window on ``experiment_path`` and run the event loop; returns the exit code."""
    app = setup_application()
    window = MainWindow(load_registry(), Path(experiment_path))
    window.show()
    return app.exec()
