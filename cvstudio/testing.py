"""Pytest fixtures shipped with cvstudio, for its own tests and for plugin authors.

Installed as a ``pytest11`` plugin: any project that has cvstudio installed
can use these fixtures without importing anything.
"""

from __future__ import annotations

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
