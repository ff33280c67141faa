"""The Pipelines view: classical pipelines on the left, the network and its training on the right.

Its state is the ``classical`` and ``deep`` parts of an experiment file, so
what the teacher sets here runs exactly like ``cvstudio run`` would.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

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
from cvstudio.qt.widgets import name_widget


def _scrolling(widget: QWidget) -> QScrollArea:
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(widget)
    return scroll


class FeatureChecklist(QWidget):
    """Every feature extractor, checkable, with the parameter form of each checked one.

    A form is built when its extractor is first checked: building one for
    every extractor of every pipeline would cost the window its quick start.
    """

    changed = Signal()

    def __init__(self, specs: Mapping[str, Spec], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.specs = specs
        self.list = name_widget(QListWidget(), "feature-list", "Feature extractors")
        self.boxes: dict[str, QGroupBox] = {}
        self.forms: dict[str, ParamForm] = {}
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(0, 0, 0, 0)
        self.column.addWidget(self.list)
        for name, spec in specs.items():
            item = QListWidgetItem(spec.display_name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(spec.description)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.list.setFixedHeight(self.list.sizeHintForRow(0) * len(specs) + 8)
        self.list.itemChanged.connect(self._toggled)

    def _form(self, name: str) -> ParamForm | None:
        """The extractor's parameter form (made on first use), or None when it has no parameters."""
        spec = self.specs[name]
        if spec.params and name not in self.forms:
            box = QGroupBox(f"{spec.display_name} parameters")
            form = ParamForm(spec.params)
            form.changed.connect(self.changed)
            QVBoxLayout(box).addWidget(form)
            box.hide()
            self.column.addWidget(box)
            self.boxes[name] = box
            self.forms[name] = form
        return self.forms.get(name)

    def _items(self) -> Iterable[QListWidgetItem]:
        return (self.list.item(i) for i in range(self.list.count()))

    @Slot(QListWidgetItem)
    def _toggled(self, item: QListWidgetItem) -> None:
        name = item.data(Qt.ItemDataRole.UserRole)
        checked = item.checkState() == Qt.CheckState.Checked
        if checked:
            self._form(name)
        if name in self.boxes:
            self.boxes[name].setVisible(checked)
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
            form = self._form(name) if name in chosen else None
            if form is not None:
                form.set_values(chosen[name])


class PipelineEditor(QGroupBox):
    """One pipeline's box: an optional label, the subclass's fields, a Remove button."""

    removed = Signal(QWidget)

    def __init__(self, title: str, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.label = name_widget(QLineEdit(placeholderText=placeholder), "pipeline-label", "Pipeline label")
        self.fields = QVBoxLayout()
        remove = QPushButton("Remove")
        remove.setToolTip("Remove this pipeline from the experiment")
        remove.clicked.connect(lambda: self.removed.emit(self))
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addLayout(self.fields)
        layout.addWidget(remove, 0, Qt.AlignmentFlag.AlignRight)

    def labelled(self, state: dict[str, Any]) -> dict[str, Any]:
        if self.label.text().strip():
            state["label"] = self.label.text().strip()
        return state


class ClassicalEditor(PipelineEditor):
    """One classical pipeline: the features, the classifier."""

    def __init__(self, registry: Registry, parent: QWidget | None = None) -> None:
        super().__init__("Classical pipeline", "label (default: features → classifier)", parent)
        self.features = FeatureChecklist(registry.specs("feature_extractors"))
        self.classifier = ComponentPicker(registry.specs("classifiers"), "classifier")
        self.fields.addWidget(QLabel("<b>Hand-crafted features</b>"))
        self.fields.addWidget(self.features)
        self.fields.addWidget(QLabel("<b>Classifier</b>"))
        self.fields.addWidget(self.classifier)

    def state(self) -> dict[str, Any]:
        return self.labelled({"features": self.features.state(), "classifier": self.classifier.state()})

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.label.setText(state.get("label", ""))
        features = state.get("features", [])
        self.features.set_state([features] if isinstance(features, (str, dict)) else features)
        if "classifier" in state:
            self.classifier.set_state(state["classifier"])


class DeepEditor(PipelineEditor):
    """One network and how it is trained."""

    def __init__(self, registry: Registry, parent: QWidget | None = None) -> None:
        super().__init__("Network", "label (default: the model's name)", parent)
        self.model = ComponentPicker(registry.specs("models"), "model")
        self.training = ParamForm(TRAINING_PARAMS)
        self.fields.addWidget(self.model)
        self.fields.addWidget(QLabel("<b>Training</b>"))
        self.fields.addWidget(self.training)

    def state(self) -> dict[str, Any]:
        return self.labelled({"model": self.model.state(), **self.training.values()})

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.label.setText(state.get("label", ""))
        if "model" in state:
            self.model.set_state(state["model"])
        self.training.set_values({k: v for k, v in state.items() if k not in ("label", "model")})

    def set_devices(self, devices: list[DeviceInfo]) -> None:
        """Grey out the devices this machine lacks, with the reason as a tooltip."""
        combo = self.training.fields["device"]
        usable = {d.name: d for d in devices}
        for row in range(combo.count()):
            device = usable.get(combo.itemData(row))
            if device is not None:
                combo.model().item(row).setEnabled(device.available)
                combo.setItemData(row, device.detail, Qt.ItemDataRole.ToolTipRole)


class EditorList(QWidget):
    """A column of pipeline editors of one kind, with an Add button below them."""

    added = Signal(QWidget)

    def __init__(self, make: Callable[[], PipelineEditor], add_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.make = make
        self.editors: list[PipelineEditor] = []
        self.column = QVBoxLayout(self)
        add = QPushButton(add_text)
        add.clicked.connect(lambda: self.add({}))
        self.column.addWidget(add)
        self.column.addStretch(1)

    def add(self, state: Mapping[str, Any]) -> PipelineEditor:
        editor = self.make()
        editor.set_state(state)
        editor.removed.connect(self._remove)
        self.column.insertWidget(len(self.editors), editor)
        self.editors.append(editor)
        self.added.emit(editor)
        return editor

    @Slot(QWidget)
    def _remove(self, editor: PipelineEditor) -> None:
        self.editors.remove(editor)
        editor.deleteLater()

    def state(self) -> list[dict[str, Any]]:
        return [editor.state() for editor in self.editors]

    def set_state(self, states: Iterable[Mapping[str, Any]]) -> None:
        for editor in list(self.editors):
            self._remove(editor)
        for state in states:
            self.add(state)


class PipelinesPanel(QWidget):
    def __init__(self, registry: Registry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.classical = EditorList(lambda: ClassicalEditor(registry), "Add a classical pipeline")
        self.deep = EditorList(lambda: DeepEditor(registry), "Add a network")
        self.deep.added.connect(self._show_devices)
        self.device_list: list[DeviceInfo] = []
        self.devices = QLabel("Detecting devices…")
        self.devices.setObjectName("description")
        self.devices.setWordWrap(True)
        left = QVBoxLayout()
        left.addWidget(_heading("Classical: features a person designed → classifier"))
        left.addWidget(_scrolling(self.classical), 1)
        right = QVBoxLayout()
        right.addWidget(_heading("Deep: a network learns its own features"))
        right.addWidget(self.devices)
        right.addWidget(_scrolling(self.deep), 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addLayout(right, 1)

    def state(self) -> dict[str, Any]:
        return {"classical": self.classical.state(), "deep": self.deep.state()}

    def set_state(self, classical: Iterable[Mapping[str, Any]], deep: Iterable[Mapping[str, Any]]) -> None:
        self.classical.set_state(classical)
        self.deep.set_state(deep)

    def set_devices(self, devices: list[DeviceInfo]) -> None:
        """Say what this machine offers, and grey out devices it lacks in every network's form."""
        self.device_list = devices
        found = [f"{d.name} ({d.detail})" for d in devices if d.available]
        self.devices.setText("Devices detected: " + ", ".join(found))
        for editor in self.deep.editors:
            editor.set_devices(devices)

    @Slot(QWidget)
    def _show_devices(self, editor: DeepEditor) -> None:
        if self.device_list:
            editor.set_devices(self.device_list)


def _heading(text: str) -> QLabel:
    label = QLabel(text, wordWrap=True)  # the two sides' headings wrap rather than widen the window
    label.setObjectName("heading")
    return label
