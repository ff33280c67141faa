"""Render the views shown in the docs to docs/images/*.png, from real runs of the bundled lessons as shipped.

Run under a virtual display (``make screenshots`` does):
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshots.py [--runs DIR] [--only GROUP ...]

Every lesson runs at its shipped settings, so each picture shows what the lesson's text describes. The
studies take minutes each on a laptop CPU (the data-scaling sweep about seven), so ``--runs DIR`` keeps
the runs in DIR and, the next time, shows a study's saved run instead of training it again when a
completed run of DIR was made with exactly the same experiment settings (its config.json, less the
lesson's title and description). The default
lesson's pictures are of a live run (curves and feature maps while it learns): it always trains, about
a minute. Without ``--runs`` the runs go to a temporary folder. Settings are always temporary: the user's
own are never touched.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images"
SIZE = (1600, 1000)
STUDIES = {  # lesson: picture
    "learned-features": "feature-spaces",
    "hierarchical-features": "hierarchy",
    "data-scaling": "data-scaling",
    "architectures": "architectures",
    "gpu-vs-cpu": "gpu-vs-cpu",
}
GROUPS = ("window", "lesson", *STUDIES, "cluster-live")
STUDY_TIMEOUT_S = 3600
# The data-scaling lesson made small for the picture of a study on a Ray cluster, mid-run: its HOG pipeline and
# its CNN at three sizes with two seeds, on a cluster of two nodes of two CPUs each started on this computer.
CLUSTER_STUDY = {"sizes": [10, 30, 100], "seeds": 2, "min_steps": 120}
CLUSTER_DATA = {"per_class": 200}
CLUSTER_TRAINING = {"epochs": 6, "batch_size": 32}
CLUSTER_NODE = {"num_cpus": 2, "object_store_memory": 200 * 1024**2}


TEXT_KEYS = ("title", "description")  # what a lesson says, not what it runs: editing it keeps its runs


def settings(config: dict[str, Any]) -> dict[str, Any]:
    """What decides a run's results: its config as written to disk (tuples become lists), less its text."""
    return {key: value for key, value in json.loads(json.dumps(config)).items() if key not in TEXT_KEYS}


def saved_run(store: Any, config: dict[str, Any]) -> Any | None:
    """The newest completed run in ``store`` made with the settings of ``config`` (an experiment's ``to_dict()``).

    Any other run (another lesson, other settings, cancelled, failed, unreadable) is passed over; a run
    whose lesson's title or description has been reworded since is the same run.
    """
    wanted = settings(config)
    for run in store.runs():
        try:
            if run.status == "completed" and settings(run.read("config.json")) == wanted:
                return run
        except (OSError, ValueError, AttributeError):  # AttributeError: a config.json that is not a table
            continue
    return None


def wait(app, condition: Callable[[], bool], timeout: float = 300.0) -> None:
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


class Shooter:
    """Opens windows on lessons, in one scratch folder and one run store, and saves their pictures."""

    def __init__(self, app, store, scratch: Path) -> None:
        from cvstudio.plugins import load_registry

        self.app, self.store, self.scratch = app, store, scratch
        self.registry = load_registry()

    def open(self, lesson: Path, name: str):
        from cvstudio.qt.main_window import MainWindow
        from cvstudio.qt.settings import open_settings

        window = MainWindow(self.registry, lesson, settings=open_settings(self.scratch / f"{name}.ini"),
                            store=self.store)
        window.resize(*SIZE)
        window.show()
        wait(self.app, lambda: window.dataset is not None)
        return window

    def save(self, window, name: str, seconds: float = 0.5) -> None:
        settle(self.app, seconds)
        window.pull()
        settle(self.app, seconds)
        window.grab().save(str(OUT / f"{name}.png"))
        print(f"wrote {OUT / name}.png", flush=True)

    def shoot(self, window, panel, name: str) -> None:
        window.tabs.setCurrentWidget(panel)
        self.save(window, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, help="keep the runs here and show a study's saved run at the same "
                                                  "settings instead of training it again")
    parser.add_argument("--only", nargs="+", choices=GROUPS, help="render these groups of pictures only")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="cvstudio-screenshots-"))
    os.environ["CVSTUDIO_RUNS_DIR"] = str(args.runs or scratch / "runs")
    from PySide6.QtWidgets import QApplication

    from cvstudio.core.runs import RunStore

    app = QApplication(sys.argv[:1])
    shooter = Shooter(app, RunStore(Path(os.environ["CVSTUDIO_RUNS_DIR"])), scratch)
    OUT.mkdir(parents=True, exist_ok=True)
    groups = args.only or GROUPS
    if "window" in groups:
        shoot_window(shooter)
    if "lesson" in groups:
        shoot_lesson(shooter)
    for lesson, name in STUDIES.items():
        if lesson in groups:
            shoot_study(shooter, lesson, name)
    if "cluster-live" in groups:
        shoot_cluster(shooter)
    return 0


def shoot_window(shooter: Shooter) -> None:
    """The default lesson's views: before Run, while it learns, after it, and the Inference view on its network."""
    from cvstudio.core.experiment import bundled_lesson

    app = shooter.app
    window = shooter.open(bundled_lesson(), "window")
    window.dataset_panel.select(int(window.dataset.labels.searchsorted(3)))  # a star
    settle(app, 1.0)
    shooter.shoot(window, window.dataset_panel, "dataset")
    shooter.shoot(window, window.pipelines, "pipelines")
    window.run()
    wait(app, lambda: len(window.training.series["val_accuracy"].x) >= 1, timeout=STUDY_TIMEOUT_S)
    shooter.shoot(window, window.activations, "activations-live")
    wait(app, lambda: not any(slot in window.workers for slot in ("classical", "deep")), timeout=STUDY_TIMEOUT_S)
    shooter.shoot(window, window.training, "training")
    shooter.shoot(window, window.activations, "activations")
    wait(app, lambda: "explain" not in window.workers)
    shooter.shoot(window, window.features, "features")
    evaluation = window.results.evaluations[window.results.left.picker.currentText()]
    confusion = evaluation.confusion.copy()
    confusion[range(len(confusion)), range(len(confusion))] = -1
    true_class, predicted = divmod(int(confusion.argmax()), len(confusion))
    window.results.show_cell(window.results.left.picker.currentText(), true_class, predicted)
    shooter.shoot(window, window.results, "results")
    window.runs_panel.refresh()
    window.runs_panel.select(window.runs[slot] for slot in ("classical", "deep"))  # this lesson's runs, compared
    shooter.shoot(window, window.runs_panel, "runs")
    shooter.shoot(window, window.plugins, "plugins")
    shoot_inference(shooter, window)
    window.dark_action.setChecked(False)
    shooter.shoot(window, window.training, "training-light")
    window.close()


def shoot_inference(shooter: Shooter, window) -> None:
    """The Inference view: the run's CNN exported, a folder of test images classified, a clip played live."""
    import cv2

    app, panel = shooter.app, window.inference
    window.tabs.setCurrentWidget(panel)
    wait(app, lambda: panel.runs.count() > 0 and "inference-providers" not in window.workers)
    trained = window.runs["deep"].path  # the network just trained, not the newest run of the store
    panel.runs.setCurrentIndex(next(i for i in range(panel.runs.count()) if panel.runs.itemData(i)[0] == trained))
    panel.export_button.click()
    wait(app, lambda: panel.predictor is not None)
    folder, images = shooter.scratch / "inference-images", window.dataset.images[::37][:24]
    folder.mkdir()
    for i, image in enumerate(images):
        cv2.imwrite(str(folder / f"image-{i:02d}.png"), image[..., ::-1])
    panel.predict_paths([folder])
    wait(app, lambda: "inference-images" not in window.workers)
    video = shooter.scratch / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, images.shape[2:0:-1])
    for image in images:
        writer.write(image[..., ::-1].copy())
    writer.release()
    panel.live.start(video)
    wait(app, lambda: panel.live.worker is None)
    panel.compare()
    wait(app, lambda: "inference-compare" not in window.workers)
    shooter.save(window, "inference")


def shoot_study(shooter: Shooter, lesson: str, name: str) -> None:
    """A study lesson's Study view after a run at its shipped settings: a saved one where the store has it."""
    from cvstudio.core.experiment import bundled_lesson, parse_experiment

    app = shooter.app
    window = shooter.open(bundled_lesson(lesson), name)
    config = parse_experiment(window.experiment_state(), window.registry).to_dict()
    run = saved_run(shooter.store, config)
    if run is None:
        window.run()
        wait(app, lambda: "study" not in window.workers, timeout=STUDY_TIMEOUT_S)
        if window.runs["study"].status != "completed":
            raise RuntimeError(f"the {lesson} study ended {window.runs['study'].status}: see its run's log.txt")
    else:
        print(f"{lesson}: showing saved run {run.id}", flush=True)
        window.open_run(run)
    window.tabs.setCurrentWidget(window.study_view)
    settle(app)
    window.pull()
    if name == "feature-spaces":
        window.study_view.method.setCurrentText("t-SNE")  # shows the learned features' clusters best
    if name == "architectures":
        window.study_view.table.selectRow(1)
    shooter.save(window, name, 1.0)
    window.close()


def shoot_cluster(shooter: Shooter) -> None:
    """The Study view of a small data-scaling study on a two-node Ray cluster, while several networks train."""
    import ray
    from ray.cluster_utils import Cluster

    from cvstudio.core.experiment import bundled_lesson

    app = shooter.app
    cluster = Cluster(initialize_head=True, head_node_args={**CLUSTER_NODE, "include_dashboard": False})
    try:
        cluster.add_node(**CLUSTER_NODE)
        cluster.wait_for_nodes()
        window = shooter.open(bundled_lesson("data-scaling"), "cluster-live")
        for dock in window.plugin_docks.values():  # the study alone
            dock.hide()
        state = window.experiment_state()
        state["study"].update(CLUSTER_STUDY)
        state["dataset"]["params"].update(CLUSTER_DATA)
        state["classical"] = [p for p in state["classical"] if p["label"].startswith("HOG")]
        state["deep"] = [{**p, **CLUSTER_TRAINING} for p in state["deep"]]
        window.set_experiment(state)
        wait(app, lambda: "dataset" not in window.workers)
        window.experiment.set_cluster(cluster.address)
        window.run()
        view = window.study_view

        def several_training() -> bool:
            training = [c for c in view.cells.running() if len(c.series["val_accuracy"].x) >= 2]
            return len(training) >= 3 and any(p["kind"] == "deep" for p in view.points)

        wait(app, lambda: several_training() or "study" in window.runs and "study" not in window.workers,
             timeout=STUDY_TIMEOUT_S)
        if not several_training():
            raise RuntimeError("the cluster study ended before three networks trained at once: no picture")
        shooter.save(window, "cluster-live", 1.0)
        window.cancel()
        wait(app, lambda: not window.is_running)
        window.close()
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()


def shoot_lesson(shooter: Shooter) -> None:
    """The course's first step with its question answered, then the same step in presentation mode."""
    from cvstudio.core.lessons import default_course

    app = shooter.app
    window = shooter.open(default_course(), "lesson")
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
        print(f"wrote {OUT / name}.png", flush=True)
    window.presentation_action.setChecked(False)
    window.close()


if __name__ == "__main__":
    sys.exit(main())
