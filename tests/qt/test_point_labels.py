"""Point labels keep clear of each other, of the points and of the plot's edges (the architectures plot)."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtWidgets import QApplication

from cvstudio.qt.panels.architectures import ArchitecturesView
from cvstudio.qt.plots import place_labels
from cvstudio.qt.theme import DARK, apply_theme

AREA = (0.0, 0.0, 400.0, 300.0)


def overlaps(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def test_crowded_points_get_labels_that_do_not_overlap():
    points = [(200.0, 150.0), (212.0, 156.0), (224.0, 146.0)]  # three networks of nearly one size and accuracy
    sizes = [(120.0, 20.0)] * 3
    boxes = place_labels(points, sizes, AREA)
    assert not any(overlaps(a, b) for a, b in itertools.combinations(boxes, 2))
    for box, (width, height) in zip(boxes, sizes):
        assert (box[2] - box[0], box[3] - box[1]) == (width, height)
        assert AREA[0] <= box[0] and box[2] <= AREA[2] and AREA[1] <= box[1] and box[3] <= AREA[3]
    markers = [(x - 8, y - 8, x + 8, y + 8) for x, y in points]  # the points' symbols
    assert not any(overlaps(box, marker) for box in boxes for marker in markers)


def test_a_lone_label_goes_above_its_point_and_stays_inside_at_an_edge():
    (box,) = place_labels([(200.0, 150.0)], [(80.0, 20.0)], AREA, gap=10)
    assert box == (160.0, 120.0, 240.0, 140.0)  # centred above
    (box,) = place_labels([(395.0, 5.0)], [(80.0, 20.0)], AREA, gap=10)  # top right corner
    assert box[2] <= AREA[2] and box[1] >= AREA[1]


@pytest.fixture
def view(qtbot, cvstudio_registry):
    apply_theme(QApplication.instance(), DARK)  # the app's fonts, as in its window
    view = ArchitecturesView(cvstudio_registry)
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_the_architectures_plot_labels_close_networks_without_overlap(qtbot, view):
    # the figures of a 3-epoch run where three networks fell on one spot and their names ran together
    figures = {"MLP (1986)": (854_022, 0.170), "LeNet-5 (1998)": (136_546, 0.222),
               "VGG-style CNN (2014)": (288_230, 0.356), "ResNet-18 (2015)": (11_171_910, 0.252),
               "Vision Transformer (2020)": (545_670, 0.163), "MLP-Mixer (2021)": (569_478, 0.185)}
    view.records = {name: {"parameters": weights, "test_accuracy": accuracy, "seconds": 1.0, "year": None,
                           **{f"latency_ms_batch{b}": 1.0 for b in (1, 64)}}
                    for name, (weights, accuracy) in figures.items()}
    view.dirty = True
    view.refresh()
    items = view.labels.items
    assert [item.toPlainText() for item in items] == list(figures)

    def clear() -> bool:  # once the layout has settled (a busy machine lays out late)
        rects = [item.sceneBoundingRect() for item in items]
        area = view.plot.getViewBox().sceneBoundingRect()
        return (not any(a.intersects(b) for a, b in itertools.combinations(rects, 2))
                and all(area.contains(rect) for rect in rects))

    qtbot.waitUntil(clear, timeout=5000)
    view.plot.resize(500, 400)  # a narrower plot crowds them more: they are placed again
    qtbot.waitUntil(clear, timeout=5000)
