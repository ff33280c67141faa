"""The window fixture's clean-up: windows closed and deleted, a worker left running reported."""

from __future__ import annotations

import threading

import pytest
from shiboken6 import isValid

from cvstudio.qt.testing import MainWindowFactory
from cvstudio.qt.workers import Worker, single
from cvstudio.testing import tiny_experiment


def test_close_all_closes_and_deletes_the_windows_and_names_a_worker_left_running(qtbot, tmp_path):
    factory = MainWindowFactory(qtbot, tmp_path)
    window = factory(experiment=tiny_experiment(), wait_ready=True)
    assert window.isActiveWindow() and window.runs_dir == factory.runs_dir == tmp_path / "runs"
    release = threading.Event()
    stray = Worker(single(release.wait), "stray")  # a thread no window knows about
    stray.start()
    try:
        assert factory.close_all() == ["cvstudio-stray"]
        assert not isValid(window) and factory.windows == []
    finally:
        release.set()
        stray.wait()
    assert factory.close_all() == []


def test_a_window_on_a_registry_the_test_built(cvstudio_main_window, cvstudio_registry):
    window = cvstudio_main_window(registry=cvstudio_registry, experiment=tiny_experiment())
    assert window.registry is cvstudio_registry
    with pytest.raises(TypeError, match="give plugins or a registry, not both"):
        cvstudio_main_window(object(), registry=cvstudio_registry)
