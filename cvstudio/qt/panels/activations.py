"""The Activations view: what every layer of the network makes of one probe image, live.

Snapshots arrive about once a second; only the newest is kept and only the
chosen layer is tiled, on the next refresh while the view is shown (a hidden
view catches up when shown).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Slot
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from cvstudio.core.data import ImageDataset
from cvstudio.core.training import ActivationSnapshot
from cvstudio.qt.images import activation_mosaic, filter_mosaic
from cvstudio.qt.plots import ImagePanel
from cvstudio.qt.widgets import name_widget

COLORMAPS = ("viridis", "inferno", "magma", "plasma", "CET-L1")


class ActivationsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layer = name_widget(QComboBox(), "layer-picker", "Layer")
        self.layer.setMinimumContentsLength(24)
        self.colormap = name_widget(QComboBox(), "colormap-picker", "Colormap")
        self.colormap.addItems(COLORMAPS)
        self.status = QLabel("Run a network to see its activations.", wordWrap=True)
        self.status.setObjectName("big")
        self.probe = name_widget(ImagePanel("Probe image", colormap=None), "probe-image")
        self.maps = name_widget(ImagePanel("Feature maps"), "feature-maps")
        self.filters = name_widget(ImagePanel("First-layer filters", colormap="CET-L1"), "first-layer-filters")
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Layer"))
        controls.addWidget(self.layer)
        controls.addSpacing(20)
        controls.addWidget(QLabel("Colormap"))
        controls.addWidget(self.colormap)
        controls.addStretch(1)
        controls.addWidget(self.status, 2)
        grid = QGridLayout()
        grid.addWidget(self.probe, 0, 0)
        grid.addWidget(self.filters, 1, 0)
        grid.addWidget(self.maps, 0, 1, 2, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addLayout(grid, 1)
        self.layer.currentTextChanged.connect(self._redraw)
        self.colormap.currentTextChanged.connect(self._set_colormap)
        self.dataset: ImageDataset | None = None
        self.snapshot: ActivationSnapshot | None = None
        self.pending = False
        self.frames = 0

    def set_dataset(self, dataset: ImageDataset) -> None:
        self.dataset = dataset

    def reset(self) -> None:
        self.snapshot = None
        self.pending = False
        self.layer.clear()
        self.maps.blank()
        self.filters.blank()
        self.status.setText("Waiting for the network…")

    def on_snapshot(self, snapshot: ActivationSnapshot) -> None:
        self.snapshot = snapshot
        self.pending = True

    def refresh(self) -> None:
        if self.pending and self.isVisible():
            self.pending = False
            self._redraw()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.refresh()

    @Slot()
    def _redraw(self) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            return
        layers = list(snapshot.activations)
        if layers != [self.layer.itemText(i) for i in range(self.layer.count())]:
            self.layer.blockSignals(True)
            current = self.layer.currentText()
            self.layer.clear()
            self.layer.addItems(layers)
            self.layer.setCurrentIndex(max(layers.index(current) if current in layers else 0, 0))
            self.layer.blockSignals(False)
        name = self.layer.currentText()
        if name in snapshot.activations:
            activation = snapshot.activations[name]
            self.maps.show_image(activation_mosaic(activation))
            self.maps.set_title(f"{name}: {_describe(activation)}")
        if snapshot.filters is not None:
            self.filters.show_image(filter_mosaic(snapshot.filters))
            o, i, h, w = snapshot.filters.shape
            self.filters.set_title(f"First-layer filters: {o} of {h}×{w}×{i}")
        if self.dataset is not None and snapshot.probe_index < len(self.dataset):
            label = self.dataset.class_names[self.dataset.labels[snapshot.probe_index]]
            self.probe.show_image(self.dataset.images[snapshot.probe_index])
            self.probe.set_title(f"Probe image #{snapshot.probe_index} ({label})")
        self.status.setText(f"epoch {snapshot.epoch}, batch {snapshot.batch}")
        self.frames += 1

    @Slot(str)
    def _set_colormap(self, name: str) -> None:
        self.maps.set_colormap(name)


def _describe(activation: np.ndarray) -> str:
    if activation.ndim == 3:
        return f"{activation.shape[0]} channels of {activation.shape[1]}×{activation.shape[2]}"
    return f"{activation.shape[-1]} values" + (f" × {activation.shape[0]} tokens" if activation.ndim == 2 else "")
