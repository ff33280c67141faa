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
    shoot_inference(app, window, scratch)
    window.dark_action.setChecked(False)
    shoot(window.training, "training-light")
    window.close()
    shoot_lesson(app, scratch)
    shoot_studies(app, scratch)
    shoot_measurements(app, scratch)
    return 0


def shoot_inference(app, window, scratch: Path) -> None:
    """The Inference view: the run's CNN exported, a folder of test images classified, a clip played live."""
    import cv2

    panel = window.inference
    window.tabs.setCurrentWidget(panel)
    wait(app, lambda: panel.runs.count() > 0 and "inference-providers" not in window.workers)
    panel.export_button.click()
    wait(app, lambda: panel.predictor is not None)
    folder, images = scratch / "inference-images", window.dataset.images[::37][:24]
    folder.mkdir()
    for i, image in enumerate(images):
        cv2.imwrite(str(folder / f"image-{i:02d}.png"), image[..., ::-1])
    panel.predict_paths([folder])
    wait(app, lambda: "inference-images" not in window.workers)
    video = scratch / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, images.shape[2:0:-1])
    for image in images:
        writer.write(image[..., ::-1].copy())
    writer.release()
    panel.live.start(video)
    wait(app, lambda: panel.live.worker is None)
    panel.compare()
    wait(app, lambda: "inference-compare" not in window.workers)
    settle(app)
    window.pull()
    settle(app)
    window.grab().save(str(OUT / "inference.png"))
    print(f"wrote {OUT / 'inference'}.png")


def shoot_measurements(app, scratch: Path) -> None:
    """The Study view of the data-scaling, architectures and GPU-against-CPU lessons after a real run each.

    The sweep and the architectures are cut short (fewer sizes, seeds and epochs) so this takes minutes:
    the pictures show the views, not the lessons' full results.
    """
    from cvstudio.core.experiment import bundled_lesson
    from cvstudio.plugins import load_registry
    from cvstudio.qt.main_window import MainWindow
    from cvstudio.qt.settings import open_settings

    shorter = {"data-scaling": ({"sizes": [10, 50, 250], "seeds": 2, "min_steps": 100}, 3),
               "architectures": ({"repeats": 5}, 1), "gpu-vs-cpu": ({}, None)}
    for lesson, (study, epochs) in shorter.items():
        window = MainWindow(load_registry(), bundled_lesson(lesson), settings=open_settings(scratch / f"{lesson}.ini"))
        window.resize(*SIZE)
        window.show()
        wait(app, lambda: window.dataset is not None)
        window.study.update(study)
        if epochs:
            for editor in window.pipelines.deep.editors:
                editor.training.fields["epochs"].setValue(epochs)
        window.run()
        wait(app, lambda: "study" not in window.workers, timeout=1800)
        window.tabs.setCurrentWidget(window.study_view)
        if lesson == "architectures":
            window.study_view.table.selectRow(1)
        settle(app)
        window.pull()
        settle(app, 1.0)
        window.grab().save(str(OUT / f"{lesson}.png"))
        print(f"wrote {OUT / lesson}.png")
        window.close()


def shoot_studies(app, scratch: Path, epochs: int = 6) -> None:
    """The Study view of the learned-features and hierarchical-features lessons, after a short real run each."""
    from cvstudio.core.experiment import bundled_lesson
    from cvstudio.plugins import load_registry
    from cvstudio.qt.main_window import MainWindow
    from cvstudio.qt.settings import open_settings

    for lesson, name in (("learned-features", "feature-spaces"), ("hierarchical-features", "hierarchy")):
        window = MainWindow(load_registry(), bundled_lesson(lesson), settings=open_settings(scratch / f"{name}.ini"))
        window.resize(*SIZE)
        window.show()
        wait(app, lambda: window.dataset is not None)
        window.pipelines.deep.editors[0].training.fields["epochs"].setValue(epochs)
        window.run()
        wait(app, lambda: "study" not in window.workers, timeout=1200)
        window.tabs.setCurrentWidget(window.study_view)
        settle(app)
        window.pull()
        if name == "feature-spaces":
            window.study_view.method.setCurrentText("t-SNE")  # shows the learned features' clusters best
        settle(app, 1.0)
        window.grab().save(str(OUT / f"{name}.png"))
        print(f"wrote {OUT / name}.png")
        window.close()


def shoot_lesson(app, scratch: Path) -> None:
    """The course's first step with its question answered, then the same step in presentation mode."""
    from cvstudio.core.lessons import default_course
    from cvstudio.plugins import load_registry
    from cvstudio.qt.main_window import MainWindow
    from cvstudio.qt.settings import open_settings

    window = MainWindow(load_registry(), default_course(), settings=open_settings(scratch / "lesson.ini"))
    window.resize(*SIZE)
    window.show()
    wait(app, lambda: window.dataset is not None)
    for dock in window.plugin_docks.values():  # the lesson alone on the right
        dock.hide()
    question = window.lesson_panel.question
    question.choose(question.question.answer)
    question.check()
    for name in ("lesson", "presentation"):
        window.presentation_action.setChecked(name == "presentation")
        settle(app, 1.0)
        window.lesson_panel.scroll.ensureWidgetVisible(question.explanation if name == "lesson" else question.prompt)
        settle(app, 0.3)
        window.grab().save(str(OUT / f"{name}.png"))
        print(f"wrote {OUT / name}.png")
    window.presentation_action.setChecked(False)
    window.close()


if __name__ == "__main__":
    sys.exit(main())
