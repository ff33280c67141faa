"""The Dataset view: pick a dataset and its split, and see a row of samples per class."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from cvstudio.core.data import ImageDataset, describe_skipped
from cvstudio.core.experiment import SPLIT_PARAMS
from cvstudio.core.tasks import Progress
from cvstudio.qt.forms import ComponentPicker, ParamForm
from cvstudio.qt.widgets import Thumbnail
from cvstudio.specs import DatasetSpec

SAMPLES_PER_CLASS = 10
THUMBNAIL_SIZE = 72
SKIPPED_IN_TOOLTIP = 30  # skipped files named in the tooltip; the label names the first few


class DatasetPanel(QWidget):
    """Loading is the main window's job (in a worker); this view edits the choice and shows the result."""

    load_requested = Signal()
    image_selected = Signal(int)

    def __init__(self, specs: Mapping[str, DatasetSpec], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picker = ComponentPicker(specs, "dataset")
        self.split_form = ParamForm(SPLIT_PARAMS)
        self.load_button = QPushButton("Load dataset")
        self.load_button.clicked.connect(self.load_requested)
        self.picker.combo.currentIndexChanged.connect(self._picked)
        self.restoring = False

        choice = QGroupBox("Dataset")
        QVBoxLayout(choice).addWidget(self.picker)
        split = QGroupBox("Split")
        QVBoxLayout(split).addWidget(self.split_form)
        side = QVBoxLayout()
        side.addWidget(choice)
        side.addWidget(split)
        side.addWidget(self.load_button)
        side.addStretch(1)
        side_widget = QWidget()
        side_widget.setLayout(side)
        side_widget.setMaximumWidth(420)

        self.info = QLabel("Loading…")
        self.info.setObjectName("heading")
        self.info.setWordWrap(True)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.grid_host)
        self.skipped = QLabel(wordWrap=True)  # files the loader passed over, and why
        self.skipped.setObjectName("description")
        self.skipped.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.skipped.hide()
        hint = QLabel("Click an image to see what each hand-crafted feature computes on it (Features view).",
                      wordWrap=True)
        hint.setObjectName("description")
        main = QVBoxLayout()
        main.addWidget(self.info)
        main.addWidget(self.skipped)
        main.addWidget(hint)
        main.addWidget(scroll, 1)

        layout = QHBoxLayout(self)
        layout.addWidget(side_widget)
        layout.addLayout(main, 1)
        self.thumbnails: dict[int, Thumbnail] = {}
        self.selected: int | None = None

    @Slot()
    def _picked(self) -> None:
        if not self.restoring:
            self.load_requested.emit()

    def state(self) -> dict[str, Any]:
        return {"dataset": self.picker.state(), "split": self.split_form.values()}

    def set_state(self, dataset: Any, split: Mapping[str, Any]) -> None:
        self.restoring = True
        self.picker.set_state(dataset)
        self.restoring = False
        self.split_form.set_values(split)

    def set_loading(self, loading: bool) -> None:
        self.load_button.setEnabled(not loading)
        if loading:
            self.info.setText(f"Loading {self.picker.combo.currentText()}…")

    def on_progress(self, event: Progress) -> None:
        """How far the loading has come, for datasets that report it (an image folder being decoded)."""
        self.info.setText(f"Loading {self.picker.combo.currentText()}… {event.stage} {event.done:,}/{event.total:,}")

    def show_dataset(self, dataset: ImageDataset, sizes: Mapping[str, int]) -> None:
        """A header with the facts, then per class: name, count and the first samples."""
        height, width = dataset.image_size
        split = ", ".join(f"{part} {count}" for part, count in sizes.items())
        self.info.setText(
            f"{dataset.name}: {len(dataset)} images of {width}×{height}×{dataset.channels}, "
            f"{dataset.num_classes} classes — split: {split}"
        )
        self.skipped.setText(describe_skipped(dataset.skipped))
        self.skipped.setToolTip(describe_skipped(dataset.skipped, named=SKIPPED_IN_TOOLTIP))
        self.skipped.setVisible(bool(dataset.skipped))
        while self.grid.count():
            self.grid.takeAt(0).widget().deleteLater()
        self.thumbnails = {}
        for label, (name, count) in enumerate(zip(dataset.class_names, dataset.class_counts())):
            title = QLabel(f"<b>{name}</b><br>{count} images")
            title.setObjectName("big")
            self.grid.addWidget(title, label, 0)
            for column, index in enumerate(np.flatnonzero(dataset.labels == label)[:SAMPLES_PER_CLASS], 1):
                thumbnail = Thumbnail(dataset.images[index], int(index), THUMBNAIL_SIZE, f"{name} — image #{index}")
                thumbnail.clicked.connect(self.select)
                self.grid.addWidget(thumbnail, label, column)
                self.thumbnails[int(index)] = thumbnail
        self.selected = None

    @Slot(int)
    def select(self, index: int) -> None:
        if self.selected in self.thumbnails:
            self.thumbnails[self.selected].set_selected(False)
        self.selected = index
        if index in self.thumbnails:
            self.thumbnails[index].set_selected(True)
        self.image_selected.emit(index)
