"""Start the desktop app: the window first, heavy work (torch, data) after it is on screen."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from cvstudio import __version__
from cvstudio.plugins import load_registry
from cvstudio.qt.main_window import MainWindow


def run_app(experiment_path: Path) -> int:
    """Open the main window on ``experiment_path`` and run the event loop; returns the exit code."""
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("cvstudio")
    app.setApplicationVersion(__version__)
    window = MainWindow(load_registry(), Path(experiment_path))
    window.show()
    return app.exec()
