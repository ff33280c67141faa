"""Render the main views, after a short real training on the default lesson, to docs/images/*.png.

Run under a virtual display:
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshots.py
Settings and runs go to a temporary directory, never to the user's own.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

EPOCHS = 8
SIZE = (1600, 1000)
OUT = Path(__file__).resolve().parent.parent / "docs" / "images"


def wait(app, condition, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there in time")
        app.processEvents()
        time.sleep(0.02)


def settle(app, seconds: float = 0.5) -> None:
    """Let the event loop run a while: layouts, the 30 Hz pull, painting."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="cvstudio-screenshots-"))
    os.environ["CVSTUDIO_RUNS_DIR"] = str(scratch / "runs")
    from PySide6.QtWidgets import QApplication

    from cvstudio.core.experiment import bundled_lesson
    from cvstudio.plugins import load_registry
    from cvstudio.qt.main_window import MainWindow
    from cvstudio.qt.settings import open_settings

    app = QApplication(sys.argv)
    window = MainWindow(load_registry(), bundled_lesson(), settings=open_settings(scratch / "settings.ini"))
    window.resize(*SIZE)
    window.show()
    wait(app, lambda: window.dataset is not None)
    OUT.mkdir(parents=True, exist_ok=True)

    def shoot(panel, name: str) -> None:
        window.tabs.setCurrentWidget(panel)
        settle(app)
        window.pull()
        settle(app)
        window.grab().save(str(OUT / f"{name}.png"))
        print(f"wrote {OUT / name}.png")

    window.dataset_panel.select(int(window.dataset.labels.searchsorted(3)))  # a star
    settle(app, 1.0)
    shoot(window.dataset_panel, "dataset")
    shoot(window.pipelines, "pipelines")
    window.pipelines.deep.editors[0].training.fields["epochs"].setValue(EPOCHS)
    window.run()
    wait(app, lambda: len(window.training.series["val_accuracy"].x) >= 1)
    shoot(window.activations, "activations-live")
    wait(app, lambda: not any(slot in window.workers for slot in ("classical", "deep")))
    shoot(window.training, "training")
    shoot(window.activations, "activations")
    wait(app, lambda: "explain" not in window.workers)
    shoot(window.features, "features")
    evaluation = window.results.evaluations[window.results.left.picker.currentText()]
    confusion = evaluation.confusion.copy()
    confusion[range(len(confusion)), range(len(confusion))] = -1
    true_class, predicted = divmod(int(confusion.argmax()), len(confusion))
    window.results.show_cell(window.results.left.picker.currentText(), true_class, predicted)
    shoot(window.results, "results")
    window.runs_panel.refresh()
    shoot(window.runs_panel, "runs")
    shoot(window.plugins, "plugins")
    window.dark_action.setChecked(False)
    shoot(window.training, "training-light")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
