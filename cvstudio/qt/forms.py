"""Parameter forms built from spec ``Param``s, and a picker of one component with its form.

The GUI never hard-codes a plugin's parameters: whatever a spec declares
(kind, range, choices, help) becomes a field, so a plugin written today shows
up with a usable form.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cvstudio.qt.widgets import name_widget
from cvstudio.specs import Param, Spec

INT_LIMIT = 2**31 - 1


def humanize(name: str) -> str:
    """``batch_size`` → ``Batch size``: labels a learner can read."""
    return name.replace("_", " ").capitalize()


class _PathField(QWidget):
    """A line edit and a folder picker button."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit()
        button = QToolButton(text="…", toolTip="Choose a folder")
        button.setAccessibleName("Choose a folder")
        button.clicked.connect(self._pick)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(button)
        self.edit.editingFinished.connect(self.changed)

    def _pick(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", self.edit.text())
        if folder:
            self.edit.setText(folder)
            self.changed.emit()


class ParamForm(QWidget):
    """One field per parameter; ``values()`` gives what the spec's ``resolve`` accepts."""

    changed = Signal()

    def __init__(self, params: Iterable[Param] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_ = QFormLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.params: dict[str, Param] = {}
        self.fields: dict[str, QWidget] = {}
        self.set_params(params)

    def set_params(self, params: Iterable[Param]) -> None:
        while self.layout_.rowCount():
            self.layout_.removeRow(0)
        self.params = {p.name: p for p in params}
        self.fields = {}
        for param in self.params.values():
            field = self._field(param)
            field.setToolTip(param.help)
            label = QLabel(humanize(param.name))
            label.setToolTip(param.help)
            label.setBuddy(field)
            name_widget(field, param.name, humanize(param.name))
            if isinstance(field, _PathField):
                field.edit.setAccessibleName(humanize(param.name))
            self.layout_.addRow(label, field)
            self.fields[param.name] = field
            self._set(param, field, param.default)

    def _field(self, param: Param) -> QWidget:
        if param.kind == "int":
            field = QSpinBox()
            field.setRange(_bound(param.minimum, -INT_LIMIT), _bound(param.maximum, INT_LIMIT))
            field.valueChanged.connect(self.changed)
        elif param.kind == "float":
            field = QDoubleSpinBox()
            field.setDecimals(6 if param.log or (param.minimum is not None and 0 < param.minimum < 1e-3) else 3)
            field.setRange(_bound(param.minimum, -1e12), _bound(param.maximum, 1e12))
            field.setSingleStep(_step(param))
            field.valueChanged.connect(self.changed)
        elif param.kind == "bool":
            field = QCheckBox()
            field.toggled.connect(self.changed)
        elif param.kind == "choice":
            field = QComboBox()
            for choice in param.choices:
                field.addItem(str(choice), choice)
            field.currentIndexChanged.connect(self.changed)
        elif param.kind == "path":
            field = _PathField()
            field.changed.connect(self.changed)
        else:
            field = QLineEdit()
            field.editingFinished.connect(self.changed)
        return field

    def values(self) -> dict[str, Any]:
        return {name: self._get(self.params[name], field) for name, field in self.fields.items()}

    def set_notes(self, notes: Mapping[str, str]) -> None:
        """A short note after each named field's label, e.g. where its value came from; the others have none."""
        for name, field in self.fields.items():
            note = notes.get(name)
            self.layout_.labelForField(field).setText(humanize(name) + (f" ({note})" if note else ""))

    def set_values(self, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            if name in self.fields:
                self._set(self.params[name], self.fields[name], value)

    @staticmethod
    def _get(param: Param, field: Any) -> Any:
        if param.kind in ("int", "float"):
            return field.value()
        if param.kind == "bool":
            return field.isChecked()
        if param.kind == "choice":
            return field.currentData()
        if param.kind == "path":
            return field.edit.text()
        return field.text()

    @staticmethod
    def _set(param: Param, field: Any, value: Any) -> None:
        if value is None:
            return
        if param.kind in ("int", "float"):
            field.setValue(value)
        elif param.kind == "bool":
            field.setChecked(bool(value))
        elif param.kind == "choice":
            index = field.findData(value)
            if index >= 0:
                field.setCurrentIndex(index)
        else:
            edit = field.edit if param.kind == "path" else field
            edit.setText(str(value))
            edit.setCursorPosition(0)  # a text longer than the field shows its start, not its end


def _bound(value: float | None, fallback: float) -> Any:
    return fallback if value is None else type(fallback)(value)


def _step(param: Param) -> float:
    if param.log and param.minimum:
        return max(param.minimum, abs(param.default or 0) / 2 or param.minimum)
    span = (param.maximum or 1.0) - (param.minimum or 0.0)
    return 0.01 if span <= 1 else 0.1 if span <= 10 else 1.0


class ComponentPicker(QWidget):
    """A combo box of every spec of one kind, its description, and its parameter form."""

    changed = Signal()

    def __init__(self, specs: Mapping[str, Spec], role: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.specs = dict(specs)
        self.combo = name_widget(QComboBox(), f"{role}-picker", role.capitalize())  # e.g. "model-picker"
        for name, spec in self.specs.items():
            self.combo.addItem(spec.display_name, name)
            self.combo.setItemData(self.combo.count() - 1, spec.description, Qt.ItemDataRole.ToolTipRole)
        self.description = QLabel(wordWrap=True)
        self.description.setObjectName("description")
        self.form = ParamForm()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo)
        layout.addWidget(self.description)
        layout.addWidget(self.form)
        self.combo.currentIndexChanged.connect(self._switch)
        self.form.changed.connect(self.changed)
        self._switch()

    @property
    def name(self) -> str:
        return self.combo.currentData()

    def _switch(self) -> None:
        spec = self.specs.get(self.name)
        self.description.setText(spec.description if spec else "")
        self.form.set_params(spec.params if spec else ())
        self.changed.emit()

    def state(self) -> dict[str, Any]:
        return {"name": self.name, "params": self.form.values()}

    def set_state(self, value: str | Mapping[str, Any]) -> None:
        """``"name"`` or ``{"name": ..., "params": {...}}``, as in an experiment file."""
        name, params = (value, {}) if isinstance(value, str) else (value["name"], value.get("params", {}))
        index = self.combo.findData(name)
        if index >= 0:
            self.combo.setCurrentIndex(index)
            self.form.set_values(params)
