"""Python's cyclic garbage collector, run on the GUI thread only.

CPython collects reference cycles in whichever thread happens to allocate past
the collector's threshold. A worker that trains a network allocates all the
time, so it is usually that worker which finds the GUI's garbage: pyqtgraph's
plot items and menus, a closed window's panels. Destroying a Qt object there
deadlocks (the worker's ``QObject::~QObject`` waits for a lock that the GUI
thread holds while it waits for the GIL) or corrupts Qt's state.

So automatic collection is switched off and a timer on the GUI thread collects
instead, generation by generation with Python's own thresholds: pyqtgraph's
``GarbageCollector`` pattern, as a child of the application so that it lives
exactly as long as the application does and is installed once however many
windows (or tests) ask for it.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Slot

INTERVAL_MS = 1000  # garbage waits at most this long; a collection of the young generation takes microseconds


class GuiGarbageCollector(QObject):
    """Owns garbage collection while it exists: ``gc`` is disabled, a GUI-thread timer collects."""

    def __init__(self, parent: QObject, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.setObjectName("cvstudio-garbage-collector")
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    @Slot()
    def check(self) -> None:
        """Collect each generation whose count passed its threshold, as automatic collection would."""
        young, middle, old = gc.get_count()
        if young > self.threshold[0]:
            gc.collect(0)
            if middle > self.threshold[1]:
                gc.collect(1)
                if old > self.threshold[2]:
                    gc.collect(2)

    def uninstall(self) -> None:
        """Hand collection back to Python (automatic, in any thread): only once no worker thread runs."""
        self.timer.stop()
        self.setParent(None)
        self.deleteLater()
        gc.enable()


def install_gui_collector(app: QCoreApplication | None = None) -> GuiGarbageCollector:
    """Collect garbage on ``app``'s thread only, from now on; returns the collector (one per application)."""
    app = app or QCoreApplication.instance()
    if app is None:
        raise RuntimeError("Create the QApplication before installing the garbage collector.")
    collector = app.findChild(GuiGarbageCollector)
    return collector if collector is not None else GuiGarbageCollector(app)


@contextmanager
def gui_collection(app: QCoreApplication | None = None) -> Iterator[GuiGarbageCollector]:
    """Collect on the GUI thread inside the block; at its end collect everything left, on the GUI thread.

    Installs the collector for the block only if the application had none, so a test can use it
    inside an app that already collects on its GUI thread. Leave the block once the workers have ended.
    """
    app = app or QCoreApplication.instance()
    installed = app is not None and app.findChild(GuiGarbageCollector) is None
    collector = install_gui_collector(app)
    try:
        yield collector
    finally:
        gc.collect()
        if installed:
            collector.uninstall()
