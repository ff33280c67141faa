"""The Results view: two confusion matrices side by side on the test split, per-class metrics,
and the images behind any cell, or a model's most confident mistakes, most confident first."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cvstudio.core.data import ImageDataset
from cvstudio.core.evaluation import Evaluation
from cvstudio.qt.images import to_pixmap
from cvstudio.qt.theme import DARK, Theme
from cvstudio.qt.widgets import name_widget

GALLERY_SIZE = 88
GALLERY_LIMIT = 200


def _read_only(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
    return item


class ConfusionView(QWidget):
    """A pipeline picker over a confusion matrix: rows are true classes, columns predictions."""

    cell_clicked = Signal(str, int, int)
    mistakes_clicked = Signal(str)
    changed = Signal()

    def __init__(self, side: str) -> None:
        super().__init__()
        self.picker = name_widget(QComboBox(), f"confusion-{side}-picker", f"Pipeline of the {side} confusion matrix")
        self.accuracy = QLabel()
        self.accuracy.setObjectName("heading")
        self.table = name_widget(QTableWidget(), f"confusion-{side}", f"Confusion matrix, {side}")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip("Rows: true class. Columns: predicted class. Click a cell to see its images.")
        self.mistakes = QPushButton("Most confident mistakes")
        self.mistakes.setToolTip("The misclassified test images, those the model was surest about first")
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(self.picker, 1)
        top.addWidget(self.accuracy)
        layout.addLayout(top)
        layout.addWidget(QLabel("rows: true class — columns: predicted class"), 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.mistakes, 0, Qt.AlignmentFlag.AlignHCenter)
        self.picker.currentIndexChanged.connect(self.changed)
        self.mistakes.clicked.connect(lambda: self.mistakes_clicked.emit(self.picker.currentText()))
        self.table.cellClicked.connect(lambda t, p: self.cell_clicked.emit(self.picker.currentText(), t, p))

    def display(self, evaluation: Evaluation | None, theme: Theme) -> None:
        if evaluation is None:
            self.table.clear()
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            self.accuracy.setText("")
            return
        confusion = evaluation.confusion
        k = len(evaluation.class_names)
        self.table.setRowCount(k)
        self.table.setColumnCount(k)
        self.table.setHorizontalHeaderLabels(list(evaluation.class_names))
        self.table.setVerticalHeaderLabels(list(evaluation.class_names))
        totals = confusion.sum(axis=1)
        for t in range(k):
            for p in range(k):
                item = _read_only(str(confusion[t, p]))
                share = confusion[t, p] / totals[t] if totals[t] else 0.0
                item.setBackground(QBrush(_cell_color(share, t == p, theme)))
                item.setForeground(QBrush(QColor("#ffffff" if share > 0.45 else theme.text)))
                self.table.setItem(t, p, item)
        self.accuracy.setText(f"test accuracy {evaluation.accuracy:.1%}")


def _cell_color(share: float, diagonal: bool, theme: Theme) -> QColor:
    """Diagonal cells in blue, mistakes in red, the stronger the larger their share of the row."""
    strong = QColor("#1f6feb" if diagonal else "#d1242f")
    base = QColor(theme.base)
    mix = min(share * 1.3, 1.0) if share else 0.0
    return QColor.fromRgbF(*(b + (s - b) * mix for b, s in zip(base.getRgbF()[:3], strong.getRgbF()[:3])))


class ResultsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = DARK
        self.evaluations: dict[str, Evaluation] = {}
        self.kinds: dict[str, str] = {}
        self.dataset: ImageDataset | None = None
        self.left = ConfusionView("left")
        self.right = ConfusionView("right")
        self.metrics = name_widget(QTableWidget(), "class-metrics", "Per-class precision, recall and F1")
        self.metrics.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.metrics.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.metrics_title = QLabel("Per-class precision, recall and F1")
        self.metrics_title.setWordWrap(True)
        self.gallery_title = QLabel("Click a cell of a confusion matrix to see its images.", wordWrap=True)
        self.gallery_title.setObjectName("big")
        self.gallery = name_widget(QListWidget(), "cell-images", "Images of the chosen cell")
        self.gallery.setViewMode(QListWidget.ViewMode.IconMode)
        self.gallery.setIconSize(QSize(GALLERY_SIZE, GALLERY_SIZE))
        self.gallery.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.gallery.setMovement(QListWidget.Movement.Static)
        self.gallery.setSpacing(6)
        matrices = QHBoxLayout()
        matrices.addWidget(self.left, 1)
        matrices.addWidget(self.right, 1)
        top = QWidget()
        top.setLayout(matrices)
        bottom = QSplitter()
        metrics = QWidget()
        metrics_layout = QVBoxLayout(metrics)
        metrics_layout.addWidget(self.metrics_title)
        metrics_layout.addWidget(self.metrics, 1)
        bottom.addWidget(metrics)
        gallery = QWidget()
        gallery_layout = QVBoxLayout(gallery)
        gallery_layout.addWidget(self.gallery_title)
        gallery_layout.addWidget(self.gallery, 1)
        bottom.addWidget(gallery)
        bottom.setSizes([500, 700])
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        QVBoxLayout(self).addWidget(splitter)
        for view in (self.left, self.right):
            view.changed.connect(self._redraw)
            view.cell_clicked.connect(self.show_cell)
            view.mistakes_clicked.connect(self.show_mistakes)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self._redraw()

    def clear(self) -> None:
        self.evaluations = {}
        self.kinds = {}
        for view in (self.left, self.right):
            view.picker.blockSignals(True)
            view.picker.clear()
            view.picker.blockSignals(False)
        self.gallery.clear()
        self._redraw()

    def set_dataset(self, dataset: ImageDataset | None) -> None:
        self.dataset = dataset

    def add_evaluation(self, label: str, kind: str, evaluation: Evaluation) -> None:
        """Left shows the best classical pipeline, right the network, unless the user picks others."""
        self.evaluations[label] = evaluation
        self.kinds[label] = kind
        for view in (self.left, self.right):
            view.picker.blockSignals(True)
            view.picker.addItem(label)
            view.picker.blockSignals(False)
        classical = [n for n, k in self.kinds.items() if k == "classical"]
        deep = [n for n, k in self.kinds.items() if k == "deep"]
        if classical:
            best = max(classical, key=lambda n: self.evaluations[n].accuracy)
            self.left.picker.setCurrentText(best)
        self.right.picker.setCurrentText(deep[0] if deep else label)
        self._redraw()

    @Slot()
    def _redraw(self) -> None:
        chosen = [v.picker.currentText() for v in (self.left, self.right)]
        for view, name in zip((self.left, self.right), chosen):
            view.display(self.evaluations.get(name), self.theme)
        shown = [n for n in dict.fromkeys(chosen) if n in self.evaluations]
        self.metrics.clear()
        if not shown:
            self.metrics.setRowCount(0)
            self.metrics.setColumnCount(0)
            return
        names = self.evaluations[shown[0]].class_names
        headers = [short for _ in shown for short in ("precision", "recall", "F1")]
        self.metrics_title.setText("Per-class precision, recall and F1 — " + ", then ".join(
            f"columns {3 * i + 1}–{3 * i + 3}: <b>{name}</b>" for i, name in enumerate(shown)))
        self.metrics.setColumnCount(len(headers))
        self.metrics.setRowCount(len(names))
        self.metrics.setHorizontalHeaderLabels(headers)
        self.metrics.setVerticalHeaderLabels(list(names))
        for column, name in enumerate(shown):
            for row, metrics in enumerate(self.evaluations[name].per_class()):
                for offset, value in enumerate((metrics.precision, metrics.recall, metrics.f1)):
                    self.metrics.setItem(row, 3 * column + offset, _read_only(f"{value:.2f}"))

    @Slot(str, int, int)
    def show_cell(self, label: str, true_class: int, predicted_class: int) -> None:
        """The images of one cell, most confident first, each with its confidence."""
        evaluation = self.evaluations.get(label)
        if evaluation is None:
            return
        members = evaluation.cell(true_class, predicted_class)
        names = evaluation.class_names
        verdict = "correct" if true_class == predicted_class else "mistakes"
        self.gallery_title.setText(
            f"{label}: true {names[true_class]} → predicted {names[predicted_class]} "
            f"({len(members)} {verdict}, most confident first)"
        )
        self._fill_gallery(evaluation, members, with_classes=False)

    @Slot(str)
    def show_mistakes(self, label: str) -> None:
        """Every misclassified image of one pipeline, most confident first: where it is surest and wrong."""
        evaluation = self.evaluations.get(label)
        if evaluation is None:
            return
        mistakes = evaluation.mistakes()
        self.gallery_title.setText(f"{label}: {len(mistakes)} mistakes, most confident first")
        self._fill_gallery(evaluation, mistakes, with_classes=True)

    def _fill_gallery(self, evaluation: Evaluation, positions: np.ndarray, with_classes: bool) -> None:
        """Thumbnails of ``positions`` with their confidence (and true → predicted class when they differ)."""
        self.gallery.clear()
        names = evaluation.class_names
        for position in positions[:GALLERY_LIMIT]:
            index = int(evaluation.indices[position])
            confidence = float(evaluation.confidences[position])
            verdict = f"{names[evaluation.labels[position]]} → {names[evaluation.predictions[position]]}"
            item = QListWidgetItem(f"{verdict}\n{confidence:.0%}" if with_classes else f"{confidence:.0%}")
            item.setToolTip(f"image #{index}: true {verdict.replace(' → ', ', predicted ')}, "
                            f"confidence {confidence:.3f}")
            if self.dataset is not None and index < len(self.dataset):
                item.setIcon(QIcon(to_pixmap(self.dataset.images[index], GALLERY_SIZE)))
            self.gallery.addItem(item)
