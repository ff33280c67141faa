"""The Features view: what each hand-crafted extractor computes on one image, beside the CNN's first layer
on the same image.

Explanations are computed in a worker (some extractors, e.g. a visual
vocabulary, must first be fitted on a sample of the dataset).
"""

from __future__ import annotations

import json
import threading
from typing import Any, Generator, Mapping

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QScrollArea, QVBoxLayout, QWidget

from cvstudio.core.checkpoints import CheckpointMaps
from cvstudio.core.data import ImageDataset
from cvstudio.core.features import Explanation, FeatureExtractor
from cvstudio.core.tasks import TaskState
from cvstudio.core.training import ActivationSnapshot
from cvstudio.qt.images import activation_mosaic
from cvstudio.qt.plots import ImagePanel
from cvstudio.qt.theme import DARK, Theme, style_plots
from cvstudio.specs import Spec
from cvstudio.qt.widgets import name_widget

FIT_SAMPLE = 300
COLUMNS = 3
MAX_TICK_LABELS = 6
NO_NETWORK = "CNN first layer (after Run)"


class ExtractorCache:
    """Extractors fitted once per dataset and parameters, shared by successive explain jobs."""

    def __init__(self, dataset: ImageDataset) -> None:
        self.dataset = dataset
        self.lock = threading.Lock()
        self.fitted: dict[str, FeatureExtractor] = {}

    def get(self, spec: Spec, params: Mapping[str, Any]) -> FeatureExtractor:
        key = f"{spec.name}:{json.dumps(dict(params), sort_keys=True)}"
        with self.lock:
            if key not in self.fitted:
                rng = np.random.default_rng(0)
                sample = rng.choice(len(self.dataset), min(FIT_SAMPLE, len(self.dataset)), replace=False)
                self.fitted[key] = spec.create(**params).fit(self.dataset.images[np.sort(sample)])
            return self.fitted[key]


def explain_job(cache: ExtractorCache, specs: Mapping[str, tuple[Spec, dict[str, Any]]], index: int):
    """A worker job yielding ``(name, Explanation or error text)`` for every extractor."""

    def job(state: TaskState) -> Generator[tuple[str, Explanation | str], None, None]:
        image = cache.dataset.images[index]
        for name, (spec, params) in specs.items():
            state.check()
            try:
                yield name, cache.get(spec, params).explain(image)
            except Exception as exc:  # noqa: BLE001 - one broken extractor must not hide the others
                yield name, f"{type(exc).__name__}: {exc}"

    return job


def network_maps_job(maps: CheckpointMaps, index: int):
    """A worker job yielding the trained network's maps of dataset image ``index``."""

    def job(state: TaskState) -> Generator[ActivationSnapshot, None, None]:
        yield maps.snapshot(index)

    return job


class _Card(QGroupBox):
    """One extractor: its caption, its picture and/or its histogram.

    The picture and the chart are built with the first explanation: seven
    extractors' plots would otherwise cost the window a tenth of a second to open.
    """

    def __init__(self, spec: Spec) -> None:
        super().__init__(spec.display_name)
        self.spec = spec
        self.setToolTip(spec.description)
        self.caption = QLabel("Click an image in the Dataset view to see what this extractor computes.",
                              wordWrap=True)
        self.caption.setObjectName("description")
        self.picture: ImagePanel | None = None
        self.bars_plot: pg.PlotWidget | None = None
        self.setMinimumHeight(120)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)

    def _build_views(self, theme: Theme) -> tuple[ImagePanel, pg.PlotWidget]:
        if self.picture is None or self.bars_plot is None:
            self.picture = name_widget(ImagePanel(colormap="inferno"), f"{self.spec.name}-picture",
                                       self.spec.display_name)
            self.bars_plot = name_widget(pg.PlotWidget(enableMenu=False),  # a fixed chart: no menu to build
                                         f"{self.spec.name}-values", f"{self.spec.display_name} values")
            self.bars_plot.setMouseEnabled(False, False)
            self.bars_plot.hideButtons()
            self.bars = name_widget(pg.BarGraphItem(x=[], height=[], width=0.8), f"{self.spec.name}-bars")
            self.bars_plot.addItem(self.bars)
            for view in (self.picture, self.bars_plot):
                view.setMinimumHeight(180)
                self.layout().addWidget(view, 1)
            style_plots(self, theme)
        return self.picture, self.bars_plot

    def show_explanation(self, explanation: Explanation | str, theme: Theme) -> None:
        if isinstance(explanation, str):
            self.caption.setText(f"could not explain: {explanation}")
            for view in (self.picture, self.bars_plot):
                if view is not None:
                    view.hide()
            return
        picture, bars_plot = self._build_views(theme)
        self.caption.setText(explanation.caption)
        picture.setVisible(explanation.image is not None)
        if explanation.image is not None:
            picture.show_image(np.asarray(explanation.image))
        bars_plot.setVisible(explanation.values is not None)
        if explanation.values is not None:
            values = np.asarray(explanation.values, dtype=np.float64)
            self.bars.setOpts(x=np.arange(len(values)), height=values, brush=pg.mkBrush(theme.accent),
                              pen=pg.mkPen(None))
            axis = bars_plot.getAxis("bottom")
            labels = explanation.labels
            axis.setTicks([list(enumerate(labels))] if labels and len(labels) <= MAX_TICK_LABELS else None)
            bars_plot.autoRange()


class FeaturesPanel(QWidget):
    def __init__(self, specs: Mapping[str, Spec], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = DARK
        self.image = name_widget(ImagePanel("Click an image in the Dataset view", colormap=None), "explained-image")
        self.cnn = name_widget(ImagePanel(NO_NETWORK), "cnn-first-layer")
        side = QVBoxLayout()
        side.addWidget(self.image, 1)
        side.addWidget(self.cnn, 1)
        side_widget = QWidget()
        side_widget.setLayout(side)
        side_widget.setMaximumWidth(380)
        self.cards = {name: _Card(spec) for name, spec in specs.items()}
        grid_host = QWidget()
        grid = QGridLayout(grid_host)
        for i, card in enumerate(self.cards.values()):
            grid.addWidget(card, i // COLUMNS, i % COLUMNS)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(grid_host)
        layout = QGridLayout(self)
        layout.addWidget(side_widget, 0, 0)
        layout.addWidget(scroll, 0, 1)
        layout.setColumnStretch(1, 1)
        self.snapshot: ActivationSnapshot | None = None
        self.pending = False
        self.index: int | None = None  # the chosen image: the CNN's maps are shown only when they are of it
        self.image_title = ""
        self.explanations: dict[str, Explanation | str] = {}  # arrived while another view was shown

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme

    def show_image(self, dataset: ImageDataset, index: int) -> None:
        label = dataset.class_names[dataset.labels[index]]
        self.index, self.image_title = index, f"Image #{index} ({label})"
        self.image.show_image(dataset.images[index])
        self.image.set_title(self.image_title)
        for card in self.cards.values():
            card.caption.setText("computing…")
        self.pending = self.snapshot is not None  # the maps shown are of the image chosen before

    def no_network(self) -> None:
        """No network can give the chosen image's maps: none was trained on this dataset in this window,
        or the last run's network did not finish training."""
        self.snapshot, self.pending = None, False
        self.cnn.blank()
        self.cnn.set_title(NO_NETWORK)

    def on_explanation(self, name: str, explanation: Explanation | str) -> None:
        """Kept until the view is shown: a card's first explanation builds its plots."""
        if name in self.cards:
            self.explanations[name] = explanation

    def on_snapshot(self, snapshot: ActivationSnapshot) -> None:
        self.snapshot = snapshot
        self.pending = True

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        """Show the newest explanations and first-layer maps, only while this view is on screen."""
        if not self.isVisible():
            return
        explanations, self.explanations = self.explanations, {}
        for name, explanation in explanations.items():
            self.cards[name].show_explanation(explanation, self.theme)
        if not (self.pending and self.snapshot and self.snapshot.activations):
            return
        self.pending = False
        if self.snapshot.probe_index != self.index:  # the training's probe, or the image chosen before
            self.cnn.blank()
            self.cnn.set_title(f"CNN first layer<br>computing its maps of {self.image_title}…")
            return
        name, activation = next(iter(self.snapshot.activations.items()))
        self.cnn.show_image(activation_mosaic(activation))
        self.cnn.set_title(f"CNN first layer '{name}'<br>{self.image_title}, epoch {self.snapshot.epoch}")
