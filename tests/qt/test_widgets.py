"""The shared widgets that keep the window cheap while a network trains, and the first-frame hook."""

import pytest
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from cvstudio.qt.widgets import LiveBar, LiveText, after_first_frame


class EventCounter(QObject):
    def __init__(self, kind):
        super().__init__()
        self.kind, self.count = kind, 0

    def eventFilter(self, watched, event):  # noqa: N802 - Qt override
        if event.type() == self.kind:
            self.count += 1
        return False


def shown_in_a_layout(qtbot, widget):
    parent = QWidget()
    QVBoxLayout(parent).addWidget(widget)
    qtbot.addWidget(parent)
    parent.resize(400, 80)
    parent.show()
    qtbot.waitExposed(parent)
    qtbot.wait(20)  # the first layout and paint are done
    return parent


@pytest.mark.parametrize(("kind", "relayouts"), [(QLabel, True), (LiveText, False)])
def test_new_live_text_does_not_relayout_the_window_a_label_does(qtbot, kind, relayouts):
    text = kind("epoch 1/15")
    parent = shown_in_a_layout(qtbot, text)
    counter = EventCounter(QEvent.Type.LayoutRequest)
    parent.installEventFilter(counter)
    for epoch in range(2, 6):
        text.setText(f"epoch {epoch}/15, much longer detail than before")
        qtbot.wait(5)
    assert text.text() == "epoch 5/15, much longer detail than before"
    assert (counter.count > 0) is relayouts


def test_live_text_paints_its_new_text_with_the_next_frame(qtbot):
    text = LiveText("idle")
    parent = shown_in_a_layout(qtbot, text)  # noqa: F841 - it owns the widget: kept alive
    painted = EventCounter(QEvent.Type.Paint)
    text.installEventFilter(painted)
    text.setText("idle")  # unchanged: nothing to draw
    qtbot.wait(20)
    assert painted.count == 0
    text.setText("epoch 3/15")
    qtbot.waitUntil(lambda: painted.count > 0)
    assert text.sizeHint().width() > LiveText("e").sizeHint().width()


@pytest.mark.parametrize(("kind", "at_once"), [(QProgressBar, True), (LiveBar, False)])
def test_a_live_bar_repaints_with_the_next_frame_not_inside_set_value(qtbot, kind, at_once):
    bar = kind()
    bar.setRange(0, 1000)
    parent = shown_in_a_layout(qtbot, bar)  # noqa: F841 - it owns the widget: kept alive
    painted = EventCounter(QEvent.Type.Paint)
    bar.installEventFilter(painted)
    bar.setValue(500)
    assert (painted.count > 0) is at_once
    assert bar.value() == 500
    qtbot.waitUntil(lambda: painted.count > 0)


def test_after_first_frame_waits_for_the_window_then_calls_once(qtbot):
    calls = []
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    after_first_frame(window, lambda: calls.append(window.windowHandle().isExposed()))
    assert calls == []  # never inside the call
    qtbot.waitUntil(lambda: calls == [True])
    qtbot.wait(50)
    assert calls == [True]


def test_after_first_frame_of_a_hidden_widget_calls_at_the_next_turn_of_the_event_loop(qtbot):
    calls = []
    widget = QWidget()
    qtbot.addWidget(widget)
    after_first_frame(widget, lambda: calls.append("started"))
    assert calls == []
    qtbot.waitUntil(lambda: calls == ["started"])


def test_a_log_axis_labels_the_powers_of_ten_only_unless_the_values_lie_in_one_decade(qtbot):
    import pyqtgraph as pg

    from cvstudio.qt.plots import label_log_axis

    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.setLogMode(x=True, y=False)
    label_log_axis(plot, [136_546, 854_022, 11_171_910])
    major, minor = plot.getAxis("bottom")._tickLevels
    assert [text for _, text in major] == ["100k", "1M", "10M", "100M"]
    assert all(text == "" for _, text in minor) and len(minor) == 6
    label_log_axis(plot, [10, 50])
    major, minor = plot.getAxis("bottom")._tickLevels
    assert [text for _, text in major] == ["10", "20", "50", "100"] and minor == []


def test_after_first_frame_does_not_wait_forever_for_a_window_that_is_never_exposed(qtbot, monkeypatch):
    from cvstudio.qt import widgets

    monkeypatch.setattr(widgets, "FIRST_FRAME_PATIENCE_MS", 50)
    calls = []
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    monkeypatch.setattr(window.windowHandle(), "isExposed", lambda: False)  # as if minimised from the start
    after_first_frame(window, lambda: calls.append("started"))
    qtbot.waitUntil(lambda: calls == ["started"], timeout=2000)
    qtbot.wait(100)
    assert calls == ["started"]
