"""Start the desktop app: the window first, heavy work (torch, data) after it is on screen."""

from __future__ import annotations

import signal
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QWidget

from cvstudio import __version__
from cvstudio.appinfo import APP_ID, APP_NAME, ORGANIZATION, ORGANIZATION_DOMAIN, png_icons
from cvstudio.core.tasks import ENDING_SIGNALS
from cvstudio.plugins import load_registry
from cvstudio.qt.collector import install_gui_collector
from cvstudio.qt.main_window import MainWindow
from cvstudio.qt.settings import open_settings

SETTLE_MS = 500  # after the data are in: views build their plots when first shown, then paint


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
    with closing_on_signals(window):
        return app.exec()


@contextmanager
def closing_on_signals(window: QWidget) -> Iterator[None]:
    """Ctrl-C in the terminal, SIGTERM and SIGHUP close ``window`` as its close button would.

    The close cancels the jobs, marks their runs and saves the session, where
    Python's default would print a KeyboardInterrupt traceback and go on (or
    end the process with its runs left 'running'). Python runs a signal
    handler only between its own bytecodes, so a timer lets it in while Qt
    waits for events.
    """

    def close(signum: int, frame: Any) -> None:
        QTimer.singleShot(0, window.close)

    previous = {signum: signal.signal(signum, close) for signum in (signal.SIGINT, *ENDING_SIGNALS)}
    wake = QTimer(window, interval=200)
    wake.timeout.connect(lambda: None)
    wake.start()
    try:
        yield
    finally:
        wake.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def save_screenshot(experiment_path: Path, path: Path, view: str | None = None, timeout_s: float = 120.0) -> Path:
    """Open the window on ``experiment_path``, wait for its dataset, save a picture of ``view`` (or the view it
    opens on) to ``path``, and close it. Fresh settings: the user's session is left as it was."""
    app = setup_application()
    with tempfile.TemporaryDirectory(prefix="cvstudio-screenshot-") as workdir:
        window = MainWindow(load_registry(), Path(experiment_path), settings=open_settings(Path(workdir) / "s.ini"))
        loop = QEventLoop()
        window.dataset_loaded.connect(loop.quit)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        window.show()
        try:
            loop.exec()
            if window.dataset is None:
                raise RuntimeError(f"the dataset of {experiment_path} did not load within {timeout_s:g} s"
                                   + (f": {window.banner.message.text()}" if window.banner.isVisible() else ""))
            if view is not None:
                window.show_view(view)
            QTimer.singleShot(SETTLE_MS, loop.quit)
            loop.exec()
            return window.screenshot(Path(path))
        finally:
            window.close()
            window.deleteLater()
            app.processEvents()
