"""The live views draw only while shown, catch up when shown, and keep long curves bounded."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QTabWidget, QWidget

from cvstudio.core.training import ActivationSnapshot, BatchEnd, EpochEnd
from cvstudio.qt.images import activation_mosaic
from cvstudio.qt.panels.activations import ActivationsPanel
from cvstudio.qt.panels.training import TrainingPanel
from cvstudio.qt.plots import Series


def behind_another_tab(qtbot, panel: QWidget) -> QTabWidget:
    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    tabs.addTab(QWidget(), "other")
    tabs.addTab(panel, "live")
    tabs.show()
    qtbot.waitExposed(tabs)
    return tabs


def test_hidden_training_view_draws_nothing_and_catches_up_when_shown(qtbot):
    panel = TrainingPanel()
    tabs = behind_another_tab(qtbot, panel)
    panel.reset(epochs=4)
    for batch in range(1, 6):
        panel.on_batch(BatchEnd("cnn", 1, batch, 5, 2.0 - 0.1 * batch, 0.1 * batch, 1000.0))
    panel.on_epoch(EpochEnd("cnn", 1, 4, 1.5, 0.4, 1.6, 0.35, 1.0, 1000.0))
    panel.refresh(force=True)
    assert len(panel.curves["batch_loss"].getData()[0] or []) == 0

    tabs.setCurrentWidget(panel)
    assert list(panel.curves["val_accuracy"].getData()[1]) == [0.35]
    assert list(panel.curves["batch_loss"].getData()[0]) == [0.2, 0.4, 0.6, 0.8, 1.0]
    left, right = panel.loss_plot.getViewBox().viewRange()[0]
    assert left < 0 < 4 < right < 4.2  # the whole run's epochs, from the first batch on
    assert panel.loss_plot.getViewBox().viewRange()[1][1] >= 1.9  # the highest loss is in view
    assert "batch 5/5" in panel.deep.detail.text()


def test_hidden_activations_view_catches_up_with_the_newest_snapshot(qtbot):
    panel = ActivationsPanel()
    tabs = behind_another_tab(qtbot, panel)
    rng = np.random.default_rng(0)
    snapshots = [ActivationSnapshot("cnn", 1, b, {"conv1": rng.random((6, 8, 8), dtype=np.float32)}, None, 0)
                 for b in (1, 2)]
    for snapshot in snapshots:
        panel.on_snapshot(snapshot)
        panel.refresh()
    assert panel.frames == 0

    tabs.setCurrentWidget(panel)
    assert panel.frames == 1
    assert np.array_equal(panel.maps.item.image, activation_mosaic(snapshots[-1].activations["conv1"]))


def test_a_long_series_is_thinned_and_keeps_its_newest_point():
    series = Series(limit=100)
    for i in range(1000):
        series.add(i, -i)
    assert 50 <= len(series.x) <= 100 and len(series.x) == len(series.y)
    assert series.x[0] == 0 and series.x[-1] == 999 and series.y[-1] == -999
    assert series.x == sorted(series.x)


def test_activations_shown_when_run_starts_stay_shown_and_draw_the_first_snapshot(qtbot, make_window):
    window = make_window(epochs=500)
    window.tabs.setCurrentWidget(window.activations)
    window.run()
    assert window.tabs.currentWidget() is window.activations  # whoever watches it keeps it
    assert window.activations.status.text() == "Waiting for the network…"
    qtbot.waitUntil(lambda: window.activations.frames >= 1, timeout=30000)
    assert window.activations.status.text().startswith("epoch ")
    assert window.activations.maps.item.image is not None
    window.cancel()
    qtbot.waitUntil(lambda: not window.is_running, timeout=30000)
