"""The hierarchical-features view: one image through the network, layer by layer, beside the
hand-crafted descriptors; Grad-CAM of where the network looked, beside the classical model's answer.

Once the study has trained its models, choosing another image explains it at
once: one forward and one backward pass of a small network take milliseconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cvstudio.core.hierarchy import Decision, HierarchyReady, HierarchyReport, TrainedModels
from cvstudio.core.pictures import colorize, layer_picture, normalized, overlay
from cvstudio.qt.images import to_pixmap
from cvstudio.qt.panels.study import StudyPanel
from cvstudio.qt.theme import Theme
from cvstudio.qt.widgets import name_widget

PICTURE_SIZE = 200
CARD_WIDTH = 250
STRIP_HEIGHT = 380
TOP_CLASSES = 3


class PictureCard(QGroupBox):
    """A titled picture with a caption under it: one layer, or one hand-crafted descriptor
    (whose explanation may be numbers only: then the caption alone)."""

    def __init__(self, title: str, picture: np.ndarray | None, caption: str) -> None:
        super().__init__(title)
        self.setFixedWidth(CARD_WIDTH)
        self.picture = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.picture.setFixedSize(PICTURE_SIZE, PICTURE_SIZE)
        if picture is not None:
            self.picture.setPixmap(to_pixmap(picture, PICTURE_SIZE))
        self.picture.setVisible(picture is not None)
        self.caption = QLabel(caption, wordWrap=True)
        self.caption.setObjectName("description")
        layout = QVBoxLayout(self)
        layout.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.caption)
        layout.addStretch(1)


class HierarchyView(StudyPanel):
    SHARES_EVENTS = True  # its pipelines are ordinary ones: curves in Training, confusion matrices in Results
    TITLE = "Hierarchical features"
    PROMPT = "Press Run (Ctrl+R): the models are trained, then any image can be explained."

    def __init__(self, registry: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = name_widget(QSpinBox(), "image-index", "Image number")
        self.index.setKeyboardTracking(False)
        self.index.setToolTip("Any image of the dataset: its layers, descriptors and Grad-CAM follow")
        self.truth = QLabel()
        self.image = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.gradcam = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.gradcam_title = QLabel(wordWrap=True)
        self.decisions = QLabel(wordWrap=True)
        self.decisions.setTextFormat(Qt.TextFormat.RichText)
        self.decisions.setObjectName("big")
        for picture in (self.image, self.gradcam):
            picture.setFixedSize(PICTURE_SIZE, PICTURE_SIZE)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Image #"))
        controls.addWidget(self.index)
        controls.addWidget(self.truth)
        controls.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(_titled("The image", self.image))
        gradcam_box = _titled("Grad-CAM: where the network looked", self.gradcam)
        gradcam_box.layout().addWidget(self.gradcam_title)
        top.addWidget(gradcam_box)
        top.addWidget(_titled("The answers", self.decisions), 1)
        self.strip_host = QWidget()
        self.strip = QHBoxLayout(self.strip_host)
        self.strip.setAlignment(Qt.AlignmentFlag.AlignLeft)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.strip_host)
        scroll.setMinimumHeight(STRIP_HEIGHT)
        layout = self.layout()
        layout.addLayout(controls)
        layout.addLayout(top)
        layout.addWidget(QLabel("Hand-crafted descriptors, then the network's layers from the input to the answer:"))
        layout.addWidget(scroll, 1)
        self.index.valueChanged.connect(self.explain)
        self.models: TrainedModels | None = None
        self.report: HierarchyReport | None = None
        self.reset()

    def reset(self, experiment: Any = None) -> None:
        self.models = None
        self.report = None
        self.dirty = False
        self.index.setEnabled(False)
        super().reset(experiment)
        for label in (self.image, self.gradcam, self.gradcam_title, self.decisions, self.truth):
            label.clear()
        self._clear_strip()

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.dirty = self.report is not None

    def on_event(self, event: Any) -> None:
        if isinstance(event, HierarchyReady):
            self.models, self.report = event.models, event.report
            self.dirty = True

    def refresh(self) -> None:
        if not self.dirty or self.models is None or self.report is None:
            return
        self.dirty = False
        self.index.blockSignals(True)
        self.index.setRange(0, len(self.models.dataset) - 1)
        self.index.setValue(self.report.index)
        self.index.blockSignals(False)
        self.index.setEnabled(True)
        self.status.setText("Choose any image: the network and the classical model explain it at once.")
        self._show_report(self.report)

    @Slot(int)
    def explain(self, index: int) -> None:
        if self.models is not None:
            self.report = self.models.explain(index)
            self._show_report(self.report)

    def _show_report(self, report: HierarchyReport) -> None:
        models = self.models
        assert models is not None
        dataset = models.dataset
        names = dataset.class_names
        image = dataset.images[report.index]
        self.truth.setText(f"true class: {names[dataset.labels[report.index]]}")
        self.image.setPixmap(to_pixmap(image, PICTURE_SIZE))
        if report.gradcam is not None:
            self.gradcam.setPixmap(to_pixmap(overlay(image, report.gradcam.heatmap), PICTURE_SIZE))
            self.gradcam_title.setText(f"for '{names[report.gradcam.target]}', on layer {report.gradcam.layer}")
        else:
            self.gradcam.clear()
            self.gradcam_title.setText(report.gradcam_note)
        self.decisions.setText("<br><br>".join(_decision_html(d, names) for d in (report.deep, report.classical)))
        self._clear_strip()
        for name, explanation in report.explanations.items():
            if isinstance(explanation, str):
                self.strip.addWidget(PictureCard(name, None, f"could not explain: {explanation}"))
            else:
                picture = None if explanation.image is None else np.asarray(explanation.image)
                if picture is not None and picture.ndim == 2:
                    picture = colorize(normalized(picture), "inferno")
                self.strip.addWidget(PictureCard(name, picture, explanation.caption))
        self._add_separator()
        for layer in report.layers:
            self.strip.addWidget(PictureCard(layer.name, colorize(layer_picture(layer.activation)), layer.caption))

    def load_run(self, run: Any) -> None:
        """A saved run's pictures as they were written (Run again to explain other images)."""
        summary = self.read_summary(run)
        report = summary.get("hierarchy")
        if report is None:
            self.status.setText(f"Run {run.id} ({summary.get('status', 'running')}) has no pictures yet.")
            return
        folder = run.path / Path(report["file"]).parent
        names = list(summary["dataset"]["classes"])
        self.status.setText(f"Run {run.id}: the pictures it saved. Press Run to explain other images.")
        self.truth.setText(f"image #{report['image']}, true class: {report['label']}")
        self.image.setPixmap(to_pixmap(_read_png(folder / "image.png"), PICTURE_SIZE))
        gradcam = report["gradcam"]
        if "file" in gradcam:
            self.gradcam.setPixmap(to_pixmap(_read_png(folder / gradcam["file"]), PICTURE_SIZE))
            self.gradcam_title.setText(f"for '{gradcam['target']}', on layer {gradcam['layer']}")
        else:
            self.gradcam_title.setText(gradcam["unavailable"])
        self.decisions.setText("<br><br>".join(
            _decision_html(Decision(d["pipeline"], np.array([d["probabilities"][n] for n in names])), names)
            for d in (report["deep"], report["classical"])))
        for feature in report["features"]:
            picture = _read_png(folder / feature["file"]) if "file" in feature else None
            caption = feature.get("caption") or f"could not explain: {feature.get('error')}"
            self.strip.addWidget(PictureCard(feature["name"], picture, caption))
        self._add_separator()
        for layer in report["layers"]:
            self.strip.addWidget(PictureCard(layer["name"], _read_png(folder / layer["file"]), layer["caption"]))

    def _clear_strip(self) -> None:
        while self.strip.count():
            widget = self.strip.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()

    def _add_separator(self) -> None:
        line = QFrame()
        line.setFrameShape(QFrame.Shape.VLine)
        self.strip.addWidget(line)


def _titled(title: str, widget: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    QVBoxLayout(box).addWidget(widget)
    return box


def _decision_html(decision: Decision, names: tuple[str, ...] | list[str]) -> str:
    ranked = np.argsort(-decision.probabilities)[:TOP_CLASSES]
    odds = " · ".join(f"{names[i]} {decision.probabilities[i]:.0%}" for i in ranked)
    return f"<b>{decision.pipeline}</b> says <b>{names[decision.predicted]}</b><br>{odds}"


def _read_png(path: Path) -> np.ndarray:
    import cv2

    picture = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if picture is None:
        raise OSError(f"cannot read the picture {path}")
    return cv2.cvtColor(picture, cv2.COLOR_BGR2RGB)
