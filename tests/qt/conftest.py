"""Fixtures for the GUI tests: a real X server, tiny data, isolated settings, and no leaked threads.

pytest-xvfb (a test dependency) starts Xvfb for the session, so widgets are
shown, painted and clicked as on a desktop. Where no X server could be
started, Qt's offscreen platform is used instead.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

if not os.environ.get("DISPLAY") and shutil.which("Xvfb") is None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from cvstudio import DatasetSpec, Param, hookimpl  # noqa: E402
from cvstudio.core.runs import RunStore  # noqa: E402
from cvstudio.qt import workers  # noqa: E402
from cvstudio.qt.collector import gui_collection  # noqa: E402
from cvstudio.testing import write_tiny_experiment  # noqa: E402


class TinyData:
    """Datasets small enough to train on in a second."""

    @hookimpl
    def cvstudio_register_datasets(self):
        params = (
            Param("classes", "int", 3, minimum=2, maximum=8),
            Param("per_class", "int", 12, minimum=4, maximum=500),
            Param("size", "int", 16, minimum=8, maximum=64),
            Param("channels", "int", 3, minimum=1, maximum=3),
        )
        return [
            DatasetSpec(name="tiny", description="Tiny bands.", factory="cvstudio.testing:make_tiny_dataset",
                        params=params),
            DatasetSpec(name="tiny-gray", description="Tiny grey bands.", factory=_gray, params=params[:3]),
        ]


def _gray(**params):
    from cvstudio.testing import make_tiny_dataset

    return make_tiny_dataset(channels=1, **params)


@pytest.fixture(autouse=True)
def no_leaked_threads(qapp):
    """Garbage collected on the GUI thread only, as in the app; fail a test that leaves a thread running."""
    before = set(threading.enumerate())
    with gui_collection(qapp):
        yield
        qapp.processEvents()
        running = workers.running_threads()
    assert not running, f"QThreads left running: {[t.objectName() for t in running]}"
    leaked = [t for t in set(threading.enumerate()) - before
              if t.is_alive() and not isinstance(t, threading._DummyThread)]
    assert not leaked, f"threads left running: {leaked}"


@pytest.fixture
def registry_with(cvstudio_registry_with):
    """The built-ins, the tiny datasets and the given plugins."""
    return lambda *plugins: cvstudio_registry_with(TinyData(), *plugins)


@pytest.fixture
def registry(registry_with):
    return registry_with()


@pytest.fixture
def lesson(tmp_path) -> callable:
    """The tiny experiment on the tiny bands (``per_class`` of each), its network a LeNet-5 labelled CNN."""

    def write(epochs: int = 2, per_class: int = 12) -> Path:
        return write_tiny_experiment(tmp_path / f"lesson-{epochs}-{per_class}.toml", title="Tiny lesson",
                                     description=None, dataset={"name": "tiny", "params": {"per_class": per_class}},
                                     deep=[{"label": "CNN", "model": "lenet5"}], epochs=epochs)

    return write


@pytest.fixture
def settings_path(tmp_path) -> Path:
    """The settings file of the test's windows (cvstudio_main_window's ``settings_path``)."""
    return tmp_path / "settings.ini"


@pytest.fixture
def store(tmp_path) -> RunStore:
    """The runs of the test's windows (in cvstudio_main_window's ``runs_dir``)."""
    return RunStore(tmp_path / "runs")


@pytest.fixture
def make_window(cvstudio_main_window, registry, lesson):
    """The public window fixture's window (settings_path and store are its files) on the tiny lesson, data loaded."""

    def make(epochs: int = 2, per_class: int = 12, registry=registry, path: Path | None = None):
        return cvstudio_main_window(registry=registry, experiment=path or lesson(epochs, per_class), wait_ready=True)

    return make


@pytest.fixture
def wait_for_run(qtbot):
    """Wait until the window's Run has started and every part of it has finished."""

    def wait(window, timeout: int = 60000) -> None:
        qtbot.waitUntil(lambda: bool(window.runs) and not any(s in window.workers for s in ("classical", "deep")),
                        timeout=timeout)

    return wait
