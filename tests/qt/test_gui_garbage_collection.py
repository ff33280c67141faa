"""Qt objects are garbage-collected on the GUI thread only, however much a worker thread allocates.

Python collects reference cycles in whichever thread allocates past its threshold; a worker that
trains allocates all the time. A worker that destroys the GUI's garbage (pyqtgraph's menus and plot
items live in cycles) deadlocks against the GUI thread or crashes Qt.
"""

from __future__ import annotations

import gc
import threading

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication

from cvstudio.qt.collector import GuiGarbageCollector, install_gui_collector
from cvstudio.qt.panels.activations import ActivationsPanel
from cvstudio.qt.panels.results import ResultsPanel
from cvstudio.qt.panels.training import TrainingPanel
from cvstudio.qt.workers import Worker, single


class Cycle:
    """Garbage only the cyclic collector can free; remembers the thread that freed it."""

    freed_in: list[str] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        Cycle.freed_in.append(threading.current_thread().name)


@pytest.fixture
def collections():
    """The name of the thread of every garbage collection during the test."""
    threads: list[str] = []

    def record(phase: str, info: dict) -> None:
        if phase == "start":
            threads.append(threading.current_thread().name)

    gc.callbacks.append(record)
    yield threads
    gc.callbacks.remove(record)


def allocate_cycles(count: int = 300_000) -> int:
    """What a training step looks like to the collector: many short-lived container objects."""
    for _ in range(count):
        box: list = []
        box.append(box)
    return count


def test_garbage_made_on_the_gui_thread_is_freed_there_while_a_worker_allocates(qtbot, qapp):
    assert isinstance(install_gui_collector(qapp), GuiGarbageCollector)
    Cycle.freed_in.clear()
    Cycle()  # unreachable at once: only a collection frees it
    worker = Worker(single(allocate_cycles), "allocate")
    worker.start()
    worker.wait()  # the GUI thread sleeps while the worker allocates: any collection now runs in the worker
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qtbot.waitUntil(lambda: bool(Cycle.freed_in), timeout=5000)  # the collector's timer, on the GUI thread
    assert Cycle.freed_in == [threading.main_thread().name]


@pytest.mark.timeout(240, method="thread")  # a deadlock fails the test (with every thread's stack) instead of hanging
def test_windows_with_plots_come_and_go_while_a_network_trains(qtbot, make_window, collections):
    """Windows, plots and their menus become garbage while workers train and allocate: nothing hangs or crashes."""
    training = make_window(epochs=500)
    training.run()
    qtbot.waitUntil(lambda: len(training.training.series["batch_loss"].x) >= 1, timeout=30000)
    allocating = Worker(single(lambda: sum(allocate_cycles() for _ in range(40))), "allocate")
    allocating.start()
    for _ in range(2):
        second = make_window()
        second.tabs.setCurrentWidget(second.activations)
        second.close()
        del second
        for _ in range(6):
            panels = [TrainingPanel(), ActivationsPanel(), ResultsPanel(), *(pg.PlotWidget() for _ in range(5))]
            for panel in panels:
                panel.show()
            QApplication.processEvents()
            for panel in panels:
                panel.close()
            del panels  # left to the garbage collector, with their cycles, as a dropped view would be
            qtbot.wait(5)
    allocating.wait()
    assert "deep" in training.workers
    training.close()
    assert training.runs["deep"].status == "cancelled"
    assert collections and set(collections) == {threading.main_thread().name}
