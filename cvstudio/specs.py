"""Spec types that plugins return from their hooks.

A spec describes a component (name, learner-facing description, typed
parameters) and holds a *lazy* factory: discovering and listing plugins never
imports torch or any other heavy dependency. The factory is either a callable
or an ``"module.path:attribute"`` string imported on first use.
"""

from __future__ import annotations

import importlib
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping

PARAM_KINDS = ("int", "float", "bool", "str", "choice", "path")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")


class SpecError(ValueError):
    """A spec, or the parameters given to it, are invalid."""


class ComponentError(RuntimeError):
    """A plugin's factory raised: the message names the plugin, the component, the error and what to do."""

    def __init__(self, spec: Spec, error: BaseException) -> None:
        self.spec, self.error = spec, error
        source = f" from plugin '{spec.plugin}'" if spec.plugin else ""
        factory = spec.factory if isinstance(spec.factory, str) else getattr(spec.factory, "__qualname__", "factory")
        super().__init__(
            f"{spec.kind} '{spec.name}'{source} could not be built: its factory {factory} raised "
            f"{type(error).__name__}: {error}. Where that does not say what to change, it is a bug in the plugin: "
            "`cvstudio --debug` (in the app: Details…) shows the traceback to send to its author"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its message: a cluster's worker raises it, the study's computer rebuilds it, where the
        plugin's factory may not even be importable."""
        return _rebuilt_component_error, (str(self),)


def _rebuilt_component_error(message: str) -> ComponentError:
    """A ComponentError unpickled from its message; its ``spec`` and ``error`` stayed where it was raised (None)."""
    error = ComponentError.__new__(ComponentError)
    RuntimeError.__init__(error, message)
    error.spec = error.error = None
    return error


@dataclass(frozen=True)
class Param:
    """One typed parameter of a spec, enough to build a form field from.

    ``kind`` is one of int, float, bool, str, choice, path. ``minimum`` and
    ``maximum`` bound numbers (inclusive); ``choices`` lists the values of a
    choice parameter; ``log`` hints that a slider should be logarithmic.
    """

    name: str
    kind: str
    default: Any
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    log: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise SpecError(f"parameter name {self.name!r} must be a Python identifier")
        if self.kind not in PARAM_KINDS:
            raise SpecError(
                f"parameter {self.name!r} has kind {self.kind!r}; use one of {', '.join(PARAM_KINDS)}"
            )
        if self.kind == "choice" and not self.choices:
            raise SpecError(f"choice parameter {self.name!r} needs a non-empty 'choices'")
        # The default is checked by the spec that holds this parameter, so its message can name the spec.

    def check_default(self) -> None:
        """Raise SpecError, saying it is the default, unless the default is a valid value."""
        if self.default is None:
            return
        try:
            self.validate(self.default)
        except SpecError as exc:
            raise SpecError(f"the default of {exc}; fix the default in its Param") from None

    def validate(self, value: Any) -> Any:
        """Return ``value`` converted to this parameter's type, or raise SpecError."""
        where = f"parameter '{self.name}'"
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise SpecError(f"{where} must be true or false, got {value!r}")
        if self.kind in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SpecError(f"{where} must be a number, got {value!r}")
            if self.kind == "int":
                if isinstance(value, float) and not value.is_integer():
                    raise SpecError(f"{where} must be a whole number, got {value!r}")
                value = int(value)
            else:
                value = float(value)
                if math.isnan(value):
                    raise SpecError(f"{where} must be a number, got NaN")
            if self.minimum is not None and value < self.minimum:
                raise SpecError(f"{where} is {value}, below its minimum {self.minimum:g}")
            if self.maximum is not None and value > self.maximum:
                raise SpecError(f"{where} is {value}, above its maximum {self.maximum:g}")
            return value
        if self.kind == "choice":
            if value not in self.choices:
                options = ", ".join(repr(c) for c in self.choices)
                raise SpecError(f"{where} is {value!r}; choose one of {options}")
            return value
        if not isinstance(value, str):
            raise SpecError(f"{where} must be text, got {value!r}")
        return value

    def describe(self) -> str:
        """One line for listings: kind, default and bounds."""
        text = f"{self.name} ({self.kind}, default {self.default!r}"
        if self.choices:
            text += f", one of {list(self.choices)}"
        if self.minimum is not None or self.maximum is not None:
            low = "" if self.minimum is None else f"{self.minimum:g}"
            high = "" if self.maximum is None else f"{self.maximum:g}"
            text += f", range {low}..{high}"
        return text + ")"


def load_object(reference: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise SpecError(f"factory {reference!r} must look like 'package.module:attribute'")
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class Spec:
    """Common part of every spec: identity, learner-facing text, parameters, factory."""

    kind: ClassVar[str] = "component"

    name: str
    description: str
    factory: str | Callable[..., Any]
    params: tuple[Param, ...] = ()
    title: str = ""
    tags: tuple[str, ...] = field(default=())
    # Set by cvstudio when it registers the spec: the plugin that provided it, for error messages.
    plugin: str = field(default="", init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME_PATTERN.match(self.name):
            raise SpecError(
                f"{self.kind} name {self.name!r} must be lower-case letters, digits, '-', '_' or '.'"
            )
        if not isinstance(self.description, str) or not self.description.strip():
            raise SpecError(f"{self.kind} '{self.name}' needs a description for learners")
        if not (callable(self.factory) or isinstance(self.factory, str)):
            raise SpecError(f"{self.kind} '{self.name}' factory must be a callable or 'module:attr'")
        object.__setattr__(self, "params", tuple(self.params))
        seen: set[str] = set()
        for param in self.params:
            if not isinstance(param, Param):
                raise SpecError(f"{self.kind} '{self.name}' has a parameter that is not a Param: {param!r}")
            if param.name in seen:
                raise SpecError(f"{self.kind} '{self.name}' declares parameter '{param.name}' twice")
            seen.add(param.name)
            try:
                param.check_default()
            except SpecError as exc:
                raise SpecError(f"{self.kind} '{self.name}': {exc}") from None

    @property
    def display_name(self) -> str:
        """What the app shows: the title, or the name when there is none."""
        return self.title or self.name

    def param(self, name: str) -> Param:
        """The parameter called ``name``; SpecError listing the others if there is none."""
        for param in self.params:
            if param.name == name:
                return param
        known = ", ".join(p.name for p in self.params) or "none"
        raise SpecError(f"{self.kind} '{self.name}' has no parameter '{name}' (it has: {known})")

    def defaults(self) -> dict[str, Any]:
        """Every parameter's default, by name."""
        return {p.name: p.default for p in self.params}

    def resolve(self, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults overlaid with ``values``, each validated; unknown names are errors naming this spec."""
        resolved = self.defaults()
        for name, value in (values or {}).items():
            try:
                resolved[name] = self.param(name).validate(value)
            except SpecError as exc:
                message = str(exc)
                raise SpecError(message if message.startswith(self.kind) else f"{self.kind} '{self.name}': {message}") from None
        return resolved

    def load_factory(self) -> Callable[..., Any]:
        """The factory, imported now if it is a ``"module:attr"`` string."""
        return load_object(self.factory) if isinstance(self.factory, str) else self.factory

    def create(self, *args: Any, **values: Any) -> Any:
        """Build the component with validated parameters (positional args go first).

        An exception from the plugin's code (its factory, or importing it) is
        raised as :class:`ComponentError`, naming the plugin and component;
        cvstudio's own errors, whose messages already say what to fix, pass through.
        """
        resolved = self.resolve(values)
        try:
            return self.load_factory()(*args, **resolved)
        except Exception as exc:
            if type(exc).__module__.split(".")[0] == "cvstudio":
                raise
            raise ComponentError(self, exc) from exc


@dataclass(frozen=True)
class DatasetSpec(Spec):
    """A dataset: ``factory(**params)`` returns a :class:`cvstudio.core.data.ImageDataset`."""

    kind: ClassVar[str] = "dataset"


@dataclass(frozen=True)
class FeatureExtractorSpec(Spec):
    """A hand-crafted feature: ``factory(**params)`` returns a
    :class:`cvstudio.core.features.FeatureExtractor`."""

    kind: ClassVar[str] = "feature extractor"


@dataclass(frozen=True)
class ClassifierSpec(Spec):
    """A classical classifier: ``factory(**params)`` returns a scikit-learn estimator."""

    kind: ClassVar[str] = "classifier"


@dataclass(frozen=True)
class ModelSpec(Spec):
    """A neural network: ``factory(in_channels, image_size, num_classes, **params)``
    returns a ``torch.nn.Module`` mapping (N, C, H, W) floats to (N, classes) logits."""

    kind: ClassVar[str] = "model"
    year: int | None = None


PANEL_AREAS = ("left", "right", "bottom")


@dataclass(frozen=True)
class PanelSpec(Spec):
    """A panel docked in the main window: ``factory(window)`` returns a ``QWidget``.

    The factory is called only by the desktop app, so a ``"module:attr"``
    string keeps Qt out of plugin discovery. ``area`` is where the dock
    starts: left, right or bottom.
    """

    kind: ClassVar[str] = "panel"
    area: str = "right"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.area not in PANEL_AREAS:
            raise SpecError(f"panel '{self.name}' has area {self.area!r}; use one of {', '.join(PANEL_AREAS)}")


SPEC_TYPES: dict[str, type[Spec]] = {
    "datasets": DatasetSpec,
    "feature_extractors": FeatureExtractorSpec,
    "classifiers": ClassifierSpec,
    "models": ModelSpec,
    "panels": PanelSpec,
}

