"""The Qt half of cvstudio's test kit: windows opened for a test, and driving them from outside.

The fixtures of :mod:`cvstudio.testing` use these; plugin authors and course
maintainers can too. Only the window's public API is used (its signals and
documented methods), never a private attribute.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QTimer
from shiboken6 import isValid

from cvstudio.core.experiment import bundled_lesson
from cvstudio.core.runs import Run, RunStore
from cvstudio.plugins import Registry, load_registry
from cvstudio.qt.main_window import MainWindow
from cvstudio.qt.settings import open_settings
from cvstudio.qt.workers import running_threads


class MainWindowFactory:
    """What the ``cvstudio_main_window`` fixture gives a test: call it to open a window.

    Every window shares the test's settings file and runs folder, so a second window
    sees what the first saved.
    """

    def __init__(self, qtbot: Any, folder: Path) -> None:
        self.qtbot = qtbot
        self.settings_path = folder / "settings.ini"
        self.runs_dir = folder / "runs"
        self.windows: list[MainWindow] = []

    def __call__(self, *plugins: Any, experiment: Path | None = None, wait_ready: bool = False,
                 timeout: int = 30000, registry: Registry | None = None) -> MainWindow:
        """A shown, active main window with the built-ins plus ``plugins``, on ``experiment`` or the bundled lesson.

        Active, so that its shortcuts (Ctrl+R, Esc) work at once; with ``wait_ready``, returned once its
        dataset has loaded (within ``timeout`` milliseconds), ready to run. ``registry``: one the test
        built (e.g. with ``cvstudio_registry_with``), used instead of the built-ins plus ``plugins``.
        """
        if registry is not None and plugins:
            raise TypeError("give plugins or a registry, not both: the registry already holds its plugins")
        registry = registry or load_registry(autoload=False, extra_plugins=plugins)
        window = MainWindow(registry, experiment or bundled_lesson(), settings=open_settings(self.settings_path),
                            store=RunStore(self.runs_dir))
        self.windows.append(window)
        window.show()
        window.activateWindow()
        self.qtbot.waitUntil(window.isActiveWindow)  # shortcuts fire in the active window only
        if wait_ready:
            self.qtbot.waitUntil(lambda: window.dataset is not None, timeout=timeout)
        return window

    def close_all(self) -> list[str]:
        """Close and delete every window opened here; the names of the worker threads still running after."""
        for window in self.windows:
            if isValid(window):
                window.close()  # cancels its jobs and waits for their threads
                window.deleteLater()
        self.windows.clear()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()
        return [thread.objectName() for thread in running_threads()]


def run_to_end(window: MainWindow, timeout: float = 120.0) -> list[Run]:
    """Run the window's experiment as the Run button does and wait until every part has ended.

    Returns the runs (their ``status`` on disk says completed, cancelled or failed). Raises
    RuntimeError if the run cannot start (the window's message says why) and TimeoutError if it
    has not ended within ``timeout`` seconds (it is cancelled then).
    """
    if window.is_running:
        raise RuntimeError("A run is already going: wait for run_finished, or cancel() it first.")
    loop = QEventLoop()
    ended: list[list[Run]] = []

    def finished(status: str, runs: list[Run]) -> None:
        ended.append(runs)
        loop.quit()

    window.run_finished.connect(finished)
    timer = QTimer(singleShot=True, interval=int(timeout * 1000))
    timer.timeout.connect(loop.quit)
    try:
        window.run()
        if not window.is_running and not ended:
            raise RuntimeError(f"The run did not start: {window.banner.message.text() or 'no experiment to run'}")
        timer.start()
        if not ended:
            loop.exec()
    finally:
        timer.stop()
        window.run_finished.disconnect(finished)
    if not ended:
        window.cancel()
        raise TimeoutError(f"The run did not end within {timeout:g} s; it was cancelled.")
    return ended[0]
