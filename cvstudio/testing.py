"""Pytest fixtures shipped with cvstudio, for its own tests and for plugin authors.

Installed as a ``pytest11`` plugin: any project that has cvstudio installed
can use these fixtures without importing anything.
"""

from __future__ import annotations

import json
import re
import sys
from importlib import resources
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pytest

from cvstudio.contracts import (
    ContractError,
    check_classifier,
    check_dataset,
    check_feature_extractor,
    check_model,
    check_panel,
    make_tiny_dataset,
)
from cvstudio.core.data import ImageDataset
from cvstudio.plugins import ENTRY_POINT_GROUP, Registry, load_registry

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["ContractError", "check_classifier", "check_dataset", "check_feature_extractor", "check_model",
           "check_panel", "make_tiny_dataset"]


@pytest.fixture
def cvstudio_registry() -> Registry:
    """A fresh registry of the built-in plugins only: no installed packages, no plugin folders.

    Whatever the shell sets (``CVSTUDIO_PLUGIN_PATH``) or the user plugin folder holds stays out.
    """
    return load_registry(autoload=False, directories=[])


@pytest.fixture
def cvstudio_installed_plugin() -> Callable[..., Registry]:
    """Load installed plugins through their ``cvstudio.plugins`` entry points, as the app does, with the built-ins.

    Call it with the entry points' names (as in ``pyproject.toml``); it fails
    the test when one is not installed, so a typo in the entry point fails a
    test instead of hiding the plugin from users. Plugin folders stay out.
    """

    def build(*names: str) -> Registry:
        registry = load_registry(autoload=False, directories=[], entry_point_names=names)
        missing = [name for name in names if name not in registry.plugins]
        if missing:
            installed = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
            pytest.fail(
                f"no installed distribution has a '{ENTRY_POINT_GROUP}' entry point named {', '.join(missing)} "
                f"(installed: {', '.join(installed)}); check [project.entry-points.\"{ENTRY_POINT_GROUP}\"] "
                "in pyproject.toml, then install the package again (pip install -e .)",
                pytrace=False,
            )
        return registry

    return build


@pytest.fixture
def cvstudio_registry_with() -> Callable[..., Registry]:
    """Build a fresh built-ins registry plus the given plugin modules or objects, for one test."""

    def build(*plugins: Any, directories: Iterable[Any] = ()) -> Registry:
        return load_registry(autoload=False, extra_plugins=plugins, directories=list(directories))

    return build


def tiny_experiment() -> Path:
    """A bundled experiment small enough to run to its end in a UI test: 36 shapes, logistic regression, LeNet-5."""
    return Path(str(resources.files("cvstudio.resources") / "testing" / "tiny.toml"))


# A study's smallest settings that still show what it is for, by kind: ``tiny_experiment_toml(study="scaling")``.
TINY_STUDIES: dict[str, dict[str, Any]] = {
    "scaling": {"kind": "scaling", "sizes": [2, 6], "seeds": 2, "min_steps": 4},
    "architectures": {"kind": "architectures", "repeats": 2},
    "hardware": {"kind": "hardware", "repeats": 1, "matrix_size": 64, "conv_channels": 4, "batch_size": 8},
    "hierarchy": {"kind": "hierarchy", "image": 2},
    "features": {"kind": "features", "pretrained": "none", "points": 20},
}
# What every ``[[deep]]`` pipeline of the tiny experiment trains with unless it says otherwise.
TINY_TRAINING = {"epochs": 2, "batch_size": 8, "device": "cpu"}


def tiny_experiment_toml(*, epochs: int | None = None, **changes: Any) -> str:
    """The tiny experiment (see :func:`tiny_experiment`) as TOML text, changed for one test.

    Each keyword replaces a top-level key of the file (``title``, ``dataset``, ``split``, ``classical``,
    ``deep``...); ``None`` removes it. ``study`` may be a table or a kind, e.g. ``"scaling"``, for that
    study's smallest settings (two sizes, two seeds...). Each ``deep`` pipeline given trains as the tiny
    one does (2 epochs, batches of 8, on the CPU) unless it says otherwise; ``epochs`` sets every one's.
    """
    data = tomllib.loads(tiny_experiment().read_text(encoding="utf-8"))
    if isinstance(changes.get("study"), str):
        if changes["study"] not in TINY_STUDIES:
            raise ValueError(f"no tiny settings for a study of kind {changes['study']!r}: give its [study] table, "
                             f"or one of {', '.join(TINY_STUDIES)}")
        changes["study"] = dict(TINY_STUDIES[changes["study"]])
    if "deep" in changes and changes["deep"] is not None:
        changes["deep"] = [{**pipeline, **{k: v for k, v in TINY_TRAINING.items() if k not in pipeline}}
                           for pipeline in changes["deep"]]
    data.update(changes)
    if epochs is not None and data.get("deep"):
        data["deep"] = [{**pipeline, "epochs": epochs} for pipeline in data["deep"]]
    return _toml_text({key: value for key, value in data.items() if value is not None})


def write_tiny_experiment(path: Path, *, epochs: int | None = None, **changes: Any) -> Path:
    """Write :func:`tiny_experiment_toml` with these changes to ``path``; returns ``path``."""
    path = Path(path)
    path.write_text(tiny_experiment_toml(epochs=epochs, **changes), encoding="utf-8")
    return path


def _toml_text(data: dict[str, Any]) -> str:
    """An experiment's table as TOML: plain keys first, then each table, then each array of tables."""
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    arrays = {k: v for k, v in data.items() if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)}
    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data.items() if k not in tables and k not in arrays]
    for name, table in tables.items():
        lines += ["", f"[{_toml_key(name)}]", *(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items())]
    for name, items in arrays.items():
        for item in items:
            lines += ["", f"[[{_toml_key(name)}]]", *(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in item.items())]
    return "\n".join(lines) + "\n"


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"{value!r} ({type(value).__name__}) has no TOML form")


def run_to_end(window: Any, timeout: float = 120.0) -> list[Any]:
    """Run the window's experiment and wait for its end; the runs (see :func:`cvstudio.qt.testing.run_to_end`)."""
    from cvstudio.qt.testing import run_to_end as run

    return run(window, timeout)


@pytest.fixture
def cvstudio_main_window(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Open main windows for a test: a :class:`cvstudio.qt.testing.MainWindowFactory`, cleaned up after it.

    Qt objects are garbage-collected on the GUI thread only during the test, as in the app. After
    the test every window is closed, Qt's deferred deletes are processed, the garbage is collected on
    the GUI thread, and the test fails if a worker thread is still running. Needs pytest-qt; Qt is
    imported only here, so this module stays importable without it.
    """
    qtbot = request.getfixturevalue("qtbot")
    from cvstudio.qt.collector import gui_collection
    from cvstudio.qt.testing import MainWindowFactory

    factory = MainWindowFactory(qtbot, tmp_path)
    with gui_collection():
        yield factory
        running = factory.close_all()
    assert not running, f"worker threads left running after the test: {running}"


@pytest.fixture
def tiny_dataset() -> ImageDataset:
    """Three classes of 16×16 RGB images, 12 each: enough to train and evaluate in a second."""
    return make_tiny_dataset()


class SlowClassifier:
    """A classifier whose fit takes ``seconds`` (then it predicts the commonest class): for testing cancellation."""

    def __init__(self, seconds: float = 3600.0) -> None:
        self.seconds = seconds

    def fit(self, features: Any, labels: Any) -> SlowClassifier:
        import time

        import numpy as np

        time.sleep(self.seconds)
        self.classes_, counts = np.unique(labels, return_counts=True)
        self.commonest_ = int(np.argmax(counts))
        return self

    def predict_proba(self, features: Any) -> Any:
        import numpy as np

        probabilities = np.zeros((len(features), len(self.classes_)))
        probabilities[:, self.commonest_] = 1.0
        return probabilities

    def predict(self, features: Any) -> Any:
        return self.classes_[self.predict_proba(features).argmax(1)]
