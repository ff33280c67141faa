"""The self-test's window check: the main window opens on the course, paints, loads its data, and is photographed."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop

from cvstudio.core.lessons import default_course
from cvstudio.core.runs import RunStore
from cvstudio.plugins import load_registry
from cvstudio.qt.app import setup_application
from cvstudio.qt.main_window import MainWindow
from cvstudio.qt.settings import open_settings
from cvstudio.qt.widgets import after_first_frame

PATIENCE_S = 120.0


def check_window(screenshot: Path | None) -> dict[str, Any]:
    """Open the main window as `cvstudio` does (own settings and runs, so the user's are untouched)."""
    app = setup_application()
    with tempfile.TemporaryDirectory(prefix="cvstudio-selftest-window-") as workdir:
        window = MainWindow(load_registry(), default_course(), settings=open_settings(Path(workdir) / "settings.ini"),
                            store=RunStore(Path(workdir) / "runs"))
        first_frame: list[float] = []
        window.show()
        after_first_frame(window, lambda: first_frame.append(time.time()))
        start = time.perf_counter()
        try:
            while not (first_frame and window.dataset is not None) and time.perf_counter() - start < PATIENCE_S:
                app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            if not first_frame:
                raise RuntimeError(f"the window was not painted within {PATIENCE_S:.0f} s")
            if window.dataset is None:
                raise RuntimeError(f"the window opened but the course's dataset did not load within {PATIENCE_S:.0f} s")
            app.processEvents()
            details = {"title": window.windowTitle(), "first_frame_unix_time": first_frame[0],
                       "seconds_to_data": time.perf_counter() - start,
                       "size": [window.width(), window.height()]}
            if screenshot is not None:
                screenshot = Path(screenshot)
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                if not window.grab().save(str(screenshot)):
                    raise RuntimeError(f"the screenshot could not be written to {screenshot}")
                details["screenshot"] = str(screenshot)
        finally:
            window.close()
            window.deleteLater()
            app.processEvents()
    return details
