"""The Results view's gallery of a model's most confident mistakes."""

import numpy as np
from PySide6.QtCore import Qt

from cvstudio.core.evaluation import evaluate
from cvstudio.qt.panels.results import ResultsPanel
from cvstudio.testing import make_tiny_dataset


def test_most_confident_mistakes_come_first_with_their_classes(qtbot):
    dataset = make_tiny_dataset(per_class=4)
    labels = np.array([0, 0, 1, 1, 2, 2])
    probabilities = np.array([
        [0.9, 0.05, 0.05],  # right
        [0.3, 0.6, 0.1],    # wrong, 60 %
        [0.05, 0.9, 0.05],  # right
        [0.1, 0.1, 0.8],    # wrong, 80 %
        [0.7, 0.1, 0.2],    # wrong, 70 %
        [0.1, 0.1, 0.8],    # right
    ])
    indices = np.array([0, 1, 4, 5, 8, 9])
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    panel.set_dataset(dataset)
    panel.add_evaluation("model", "deep", evaluate(labels, probabilities, dataset.class_names, indices))
    panel.show()
    qtbot.mouseClick(panel.right.mistakes, Qt.MouseButton.LeftButton)
    texts = [panel.gallery.item(i).text() for i in range(panel.gallery.count())]
    assert texts == ["class 1 → class 2\n80%", "class 2 → class 0\n70%", "class 0 → class 1\n60%"]
    assert panel.gallery.item(0).toolTip().startswith("image #5: true class 1, predicted class 2")
    assert not panel.gallery.item(0).icon().isNull()
    assert panel.gallery_title.text() == "model: 3 mistakes, most confident first"


def test_a_model_without_mistakes_shows_an_empty_gallery(qtbot):
    dataset = make_tiny_dataset(per_class=4)
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    panel.add_evaluation("perfect", "classical", evaluate(np.array([0, 1]), np.eye(3)[:2], dataset.class_names))
    panel.show_mistakes("perfect")
    assert panel.gallery.count() == 0 and "0 mistakes" in panel.gallery_title.text()
