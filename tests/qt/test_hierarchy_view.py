"""The hierarchical-features study in the window: layers, descriptors, Grad-CAM, any image."""

from __future__ import annotations

import pytest

from cvstudio.qt.panels.hierarchy import HierarchyView, PictureCard
from cvstudio.testing import write_tiny_experiment


@pytest.fixture
def window(make_window, tmp_path, qtbot):
    def make(model: str = "lenet5"):
        path = write_tiny_experiment(
            tmp_path / f"hierarchy-{model}.toml", title="Tiny hierarchy", study="hierarchy", dataset={"name": "tiny"},
            classical=[{"label": "HOG", "features": ["hog"], "classifier": "logistic-regression"}],
            deep=[{"label": "CNN", "model": model}], epochs=1)
        window = make_window(path=path)
        window.run_action.trigger()
        qtbot.waitUntil(lambda: "study" in window.runs and "study" not in window.workers, timeout=120000)
        window.pull()
        return window

    return make


def cards(view):
    return [view.strip.itemAt(i).widget() for i in range(view.strip.count())]


def test_layers_from_input_to_answer_beside_the_descriptors_and_gradcam(window, qtbot):
    window = window()
    view = window.study_view
    assert isinstance(view, HierarchyView) and window.tabs.currentWidget() is view
    view.refresh()
    assert view.index.value() == 2 and view.index.isEnabled()
    strip = cards(view)
    cards_shown = [c for c in strip if isinstance(c, PictureCard)]
    descriptor, layers = cards_shown[0], cards_shown[1:]
    assert descriptor.title() == "hog" and "edges point" in descriptor.caption.text()  # beside the first layer
    assert not descriptor.picture.pixmap().isNull()
    assert [c.title() for c in layers] == [layer.name for layer in view.report.layers]
    assert "edges" in layers[0].caption.text() and "class" in layers[-1].caption.text()
    assert not view.gradcam.pixmap().isNull() and "features.conv2" in view.gradcam_title.text()
    assert "<b>CNN</b> says" in view.decisions.text() and "<b>HOG</b> says" in view.decisions.text()
    first_maps = view.report.layers[0].activation.copy()
    view.index.setValue(20)
    assert view.report.index == 20 and view.truth.text().startswith("true class: class 1")
    assert (view.report.layers[0].activation != first_maps).any()
    assert [c.title() for c in cards(view) if isinstance(c, PictureCard)][1:] == [c.title() for c in layers]


def test_a_network_without_convolutions_says_why_there_is_no_gradcam(window):
    window = window("mlp")
    view = window.study_view
    view.refresh()
    assert view.gradcam.pixmap().isNull()
    assert "no convolution layer" in view.gradcam_title.text()


def test_a_saved_run_shows_its_pictures(window):
    window = window()
    run = window.runs["study"]
    view = window.study_view
    view.reset()
    assert view.strip.count() == 0
    window.open_run(run)
    summary = run.read("summary.json")
    layers = [c for c in cards(view) if isinstance(c, PictureCard)]
    assert [c.title() for c in layers] == ["hog", *[layer["name"] for layer in summary["hierarchy"]["layers"]]]
    assert not view.gradcam.pixmap().isNull() and not view.index.isEnabled()
    assert run.id in view.status.text()
