"""The Pipelines view: classical pipelines on the left, the network and its training on the right.

Its state is the ``classical`` and ``deep`` parts of an experiment file, so
what the teacher sets here runs exactly like ``cvstudio run`` would.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from cvstudio.core.devices import DeviceInfo
from cvstudio.core.training import TRAINING_PARAMS
from cvstudio.plugins import Registry
from cvstudio.qt.forms import ComponentPicker, ParamForm
from cvstudio.specs import Spec


def _scrolling(widget: QWidget) -> QScrollArea:
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(widget)
    return scroll


class FeatureChecklist(QWidget):
    """Every feature extractor, checkable, with the parameter form of each checked one."""

    changed = Signal()

    def __init__(self, specs: Mapping[str, Spec], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.boxes: dict[str, QGroupBox] = {}
        self.forms: dict[str, ParamForm] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        for name, spec in specs.items():
            item = QListWidgetItem(spec.display_name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(spec.description)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.list.addItem(item)
            if spec.params:
                box = QGroupBox(f"{spec.display_name} parameters")
                form = ParamForm(spec.params)
                form.changed.connect(self.changed)
                QVBoxLayout(box).addWidget(form)
                box.hide()
                layout.addWidget(box)
                self.boxes[name] = box
                self.forms[name] = form
        self.list.setFixedHeight(self.list.sizeHintForRow(0) * len(specs) + 8)
        self.list.itemChanged.connect(self._toggled)

    def _items(self) -> Iterable[QListWidgetItem]:
        return (self.list.item(i) for i in range(self.list.count()))

    @Slot(QListWidgetItem)
    def _toggled(self, item: QListWidgetItem) -> None:
        name = item.data(Qt.ItemDataRole.UserRole)
        if name in self.boxes:
            self.boxes[name].setVisible(item.checkState() == Qt.CheckState.Checked)
        self.changed.emit()

    def state(self) -> list[dict[str, Any]]:
        checked = [i.data(Qt.ItemDataRole.UserRole) for i in self._items() if i.checkState() == Qt.CheckState.Checked]
        return [{"name": n, "params": self.forms[n].values() if n in self.forms else {}} for n in checked]

    def set_state(self, features: Iterable[Any]) -> None:
        chosen = {}
        for feature in features:
            name, params = (feature, {}) if isinstance(feature, str) else (feature["name"], feature.get("params", {}))
            chosen[name] = params
        for item in self._items():
            name = item.data(Qt.ItemDataRole.UserRole)
            item.setCheckState(Qt.CheckState.Checked if name in chosen else Qt.CheckState.Unchecked)
            if name in chosen and name in self.forms:
                self.forms[name].set_values(chosen[name])


class ClassicalEditor(QGroupBox):
    """One classical pipeline: a label, the features, the classifier."""

    removed = Signal(QWidget)

    def __init__(self, registry: Registry, parent: QWidget | None = None) -> None:
        super().__init__("Classical pipeline", parent)
        self.label = QLineEdit(placeholderText="label (default: features → classifier)")
        self.features = FeatureChecklist(registry.specs("feature_extractors"))
        self.classifier = ComponentPicker(registry.specs("classifiers"))
        remove = QPushButton("Remove this pipeline")
        remove.clicked.connect(lambda: self.removed.emit(self))
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(QLabel("<b>Hand-crafted features</b>"))
        layout.addWidget(self.features)
        layout.addWidget(QLabel("<b>Classifier</b>"))
        layout.addWidget(self.classifier)
        layout.addWidget(remove, 0, Qt.AlignmentFlag.AlignRight)

    def state(self) -> dict[str, Any]:
        state = {"features": self.features.state(), "classifier": self.classifier.state()}
        if self.label.text().strip():
            state["label"] = self.label.text().strip()
        return state

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.label.setText(state.get("label", ""))
        features = state.get("features", [])
        self.features.set_state([features] if isinstance(features, (str, dict)) else features)
        if "classifier" in state:
            self.classifier.set_state(state["classifier"])


class PipelinesPanel(QWidget):
    def __init__(self, registry: Registry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.editors: list[ClassicalEditor] = []
        self.classical_host = QWidget()
        self.classical_layout = QVBoxLayout(self.classical_host)
        add = QPushButton("Add a classical pipeline")
        add.clicked.connect(lambda: self.add_classical({}))
        self.classical_layout.addWidget(add)
        self.classical_layout.addStretch(1)

        self.deep_label = QLineEdit(placeholderText="label (default: the model's name)")
        self.model = ComponentPicker(registry.specs("models"))
        self.training = ParamForm(TRAINING_PARAMS)
        self.devices = QLabel("Detecting devices…")
        self.devices.setObjectName("description")
        self.devices.setWordWrap(True)
        deep = QWidget()
        deep_layout = QVBoxLayout(deep)
        deep_layout.addWidget(self.deep_label)
        model_box = QGroupBox("Network")
        QVBoxLayout(model_box).addWidget(self.model)
        training_box = QGroupBox("Training")
        training_layout = QVBoxLayout(training_box)
        training_layout.addWidget(self.training)
        training_layout.addWidget(self.devices)
        deep_layout.addWidget(model_box)
        deep_layout.addWidget(training_box)
        deep_layout.addStretch(1)

        left = QVBoxLayout()
        left.addWidget(_heading("Classical: features a person designed → classifier"))
        left.addWidget(_scrolling(self.classical_host), 1)
        right = QVBoxLayout()
        right.addWidget(_heading("Deep: a network learns its own features"))
        right.addWidget(_scrolling(deep), 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addLayout(right, 1)

    def add_classical(self, state: Mapping[str, Any]) -> ClassicalEditor:
        editor = ClassicalEditor(self.registry)
        editor.set_state(state)
        editor.removed.connect(self._remove)
        self.classical_layout.insertWidget(len(self.editors), editor)
        self.editors.append(editor)
        return editor

    @Slot(QWidget)
    def _remove(self, editor: ClassicalEditor) -> None:
        self.editors.remove(editor)
        editor.deleteLater()

    def state(self) -> dict[str, Any]:
        deep = {"model": self.model.state(), **self.training.values()}
        if self.deep_label.text().strip():
            deep["label"] = self.deep_label.text().strip()
        return {"classical": [e.state() for e in self.editors], "deep": [deep]}

    def set_state(self, classical: Iterable[Mapping[str, Any]], deep: Iterable[Mapping[str, Any]]) -> None:
        for editor in list(self.editors):
            self._remove(editor)
        for state in classical:
            self.add_classical(state)
        first = next(iter(deep), None)
        if first is not None:
            self.deep_label.setText(first.get("label", ""))
            self.model.set_state(first["model"])
            self.training.set_values({k: v for k, v in first.items() if k not in ("label", "model")})

    def set_devices(self, devices: list[DeviceInfo]) -> None:
        """Say what this machine offers, and grey out devices it lacks."""
        combo = self.training.fields["device"]
        usable = {d.name: d for d in devices}
        for row in range(combo.count()):
            device = usable.get(combo.itemData(row))
            if device is not None:
                combo.model().item(row).setEnabled(device.available)
                combo.setItemData(row, device.detail, Qt.ItemDataRole.ToolTipRole)
        found = [f"{d.name} ({d.detail})" for d in devices if d.available]
        self.devices.setText("Detected: " + ", ".join(found))


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("heading")
    return label
