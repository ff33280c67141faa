"""The main window: the views, the Run/Cancel actions, and the workers that do the work.

The window only starts, cancels and listens to engine jobs. Every job runs in
a :class:`~cvstudio.qt.workers.Worker`; a ~30 Hz timer drains their events
and hands them to the views, which redraw at most once per tick.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, Callable

import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cvstudio.core.data import stratified_split
from cvstudio.core.devices import available_devices
from cvstudio.core.evaluation import Evaluation
from cvstudio.core.experiment import (
    COMPARE,
    DatasetReady,
    Experiment,
    ExperimentError,
    PipelineFinished,
    PipelineStarted,
    load_experiment,
    parse_experiment,
    part_title,
    run_experiment,
)
from cvstudio.core.lessons import Lesson, is_lesson_file, load_lesson
from cvstudio.core.runs import Run, RunStore, slugify
from cvstudio.core.tasks import Progress
from cvstudio.core.training import ActivationSnapshot, BatchEnd, EpochEnd, warm_up
from cvstudio.plugins import Registry
from cvstudio.qt.panels.activations import ActivationsPanel
from cvstudio.qt.panels.dataset import DatasetPanel
from cvstudio.qt.panels.features import ExtractorCache, FeaturesPanel, explain_job
from cvstudio.qt.panels.inference import JOB_TITLES as INFERENCE_JOB_TITLES
from cvstudio.qt.panels.inference import InferencePanel
from cvstudio.qt.panels.lesson import ArrowKeysToWidgets, LessonPanel
from cvstudio.qt.panels.pipelines import PipelinesPanel
from cvstudio.qt.panels.plugins import PluginsPanel, with_disabled_plugins
from cvstudio.qt.panels.results import ResultsPanel
from cvstudio.qt.panels.runs import RunsPanel
from cvstudio.qt.panels.training import TrainingPanel
from cvstudio.qt.plugin_panels import add_plugin_docks, remove_plugin_docks
from cvstudio.qt.settings import open_settings, read_json, write_json
from cvstudio.qt.study_views import StudyView, study_view_class
from cvstudio.qt.theme import DARK, LIGHT, THEMES, apply_theme, style_plots
from cvstudio.qt.widgets import ErrorBanner, after_first_frame
from cvstudio.qt.workers import Job, Worker, single

PULL_INTERVAL_MS = 33
LESSON_WIDTH, PRESENTATION_LESSON_WIDTH = 460, 640  # the Lesson panel's starting width, in pixels
RUN_SLOTS = ("classical", "deep", "study")
JOB_TITLES = {
    "dataset": "Loading the dataset", "devices": "Detecting devices", "explain": "Explaining the features",
    "classical": "The classical pipelines", "deep": "Training the network", "run-dataset": "Loading the run's dataset",
    "study": "The study", "warm-up": "Preparing torch for training", **INFERENCE_JOB_TITLES,
}


class MainWindow(QMainWindow):
    def __init__(
        self,
        registry: Registry,
        experiment_path: Path,
        settings: QSettings | None = None,
        store: RunStore | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings if settings is not None else open_settings()
        self.registry = registry = with_disabled_plugins(registry, self.settings)
        self.experiment_path = Path(experiment_path)
        self.store = store or RunStore()
        self.theme = THEMES.get(str(self.settings.value("theme", DARK.name)), DARK)
        pg.setConfigOptions(imageAxisOrder="row-major")
        apply_theme(QApplication.instance(), self.theme)

        self.workers: dict[str, Worker] = {}
        self.retired: list[Worker] = []
        self.on_done: dict[str, Callable[[Worker], None]] = {}
        self.runs: dict[str, Run] = {}
        self.generation = 0
        self.dataset = None
        self.dataset_ref: dict[str, Any] | None = None
        self.extractors: ExtractorCache | None = None
        self.title = "Untitled experiment"
        self.description = ""
        self.study: dict[str, Any] = {"kind": COMPARE}
        self.warmed_up = False
        self.study_view: StudyView | None = None  # shown in the "Study" tab while a study is loaded
        self.started = False
        self.run_outcome = ""  # what the status bar says when the parts of a run have all ended
        self.shown_runs: list[Run] = []  # what File → Export report… writes: the last run, or the one reopened
        self.lesson: Lesson | None = None
        self.presenting = False

        self._build_component_views(registry)
        self.training = TrainingPanel()
        self.activations = ActivationsPanel()
        self.results = ResultsPanel()
        self.runs_panel = RunsPanel(self.store)
        self.plugins = PluginsPanel(registry, self.settings)
        self.inference = InferencePanel(self.store, registry, self._launch)  # loads nothing until first shown
        self.tabs = QTabWidget()
        for panel, name in (
            (self.dataset_panel, "Dataset"), (self.pipelines, "Pipelines"), (self.features, "Features"),
            (self.training, "Training"), (self.activations, "Activations"), (self.results, "Results"),
            (self.runs_panel, "Runs"), (self.inference, "Inference"), (self.plugins, "Plugins"),
        ):
            self.tabs.addTab(panel, name)
        self.banner = ErrorBanner()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.status = QLabel()
        self.statusBar().addPermanentWidget(self.status)
        self.lesson_panel = LessonPanel()
        self.lesson_dock = QDockWidget("Lesson", self)
        self.lesson_dock.setObjectName("lesson-dock")
        self.lesson_dock.setWidget(self.lesson_panel)
        self.lesson_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.lesson_dock.setMinimumWidth(340)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.lesson_dock)
        self.lesson_dock.hide()
        self.lesson_panel.step_requested.connect(self.show_step)
        self.arrow_keys = ArrowKeysToWidgets(self)
        self._build_actions()
        self.plugin_docks = add_plugin_docks(self, registry)
        self.plugins.show_registry(registry)  # with the errors of panels that could not be built
        self.plugins.registry_changed.connect(self.set_registry)

        self.runs_panel.open_requested.connect(self.open_run)
        self.timer = QTimer(self)
        self.timer.setInterval(PULL_INTERVAL_MS)
        self.timer.timeout.connect(self.pull)
        self.timer.start()
        self._style_views(self.theme)  # the application-wide part was applied above, before any widget
        self.resize(1500, 950)
        if self.settings.value("geometry") is not None:
            self.restoreGeometry(self.settings.value("geometry"))
            self.restoreState(self.settings.value("window_state"))
        if registry.errors:
            self.banner.show_error(f"{len(registry.errors)} plugin error(s): see the Plugins view for details.")
        after_first_frame(self, self.start)  # loading data and importing torch would slow the first frame

    # ----------------------------------------------------------------- setup

    def _build_component_views(self, registry: Registry) -> None:
        """The views that list what plugins provide: built again when the plugins are reloaded."""
        self.dataset_panel = DatasetPanel(registry.specs("datasets"))
        self.pipelines = PipelinesPanel(registry)
        self.features = FeaturesPanel(registry.specs("feature_extractors"))
        self.dataset_panel.load_requested.connect(self.load_dataset)
        self.dataset_panel.image_selected.connect(self.explain)

    @Slot(object)
    def set_registry(self, registry: Registry) -> None:
        """Use freshly loaded plugins: rebuild the views and docks, keeping the experiment where it still fits."""
        state = self.experiment_state()
        self.registry = registry
        old = (self.dataset_panel, self.pipelines, self.features)
        self._build_component_views(registry)
        for before, after in zip(old, (self.dataset_panel, self.pipelines, self.features)):
            index = self.tabs.indexOf(before)
            label = self.tabs.tabText(index)
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, after, label)
            before.deleteLater()
        remove_plugin_docks(self, self.plugin_docks)
        self.plugin_docks = add_plugin_docks(self, registry)
        self.plugins.show_registry(registry)
        self._style_views(self.theme)
        messages = []
        if registry.errors:
            messages.append(f"{len(registry.errors)} plugin error(s): see the Plugins view for details.")
        try:
            state = parse_experiment(state, registry).to_dict()
        except ExperimentError as exc:
            messages.append(f"The experiment no longer fits the plugins ({exc}); reopened {self.experiment_path.name}.")
            state = self._initial_state()
        if messages:
            self.banner.show_error(" ".join(messages))
        else:
            self.banner.hide()
        self.inference.registry = registry
        self._set_study_view(COMPARE)  # the study's view is made again, with the new plugins
        self.set_experiment(state)
        self._detect_devices()

    def _build_actions(self) -> None:
        self.run_action = QAction("▶  Run", self, shortcuts=[QKeySequence("Ctrl+R"), QKeySequence("F5")],
                                  toolTip="Run the classical pipelines and train the network (Ctrl+R, F5)")
        self.cancel_action = QAction("■  Cancel", self, shortcuts=[QKeySequence("Esc"), QKeySequence("Ctrl+.")],
                                     toolTip="Stop the running jobs (Esc, Ctrl+.)", enabled=False)
        open_action = QAction("Open lesson or experiment…", self, shortcut=QKeySequence.StandardKey.Open)
        self.report_action = QAction("Export report…", self, shortcut=QKeySequence("Ctrl+E"), enabled=False,
                                     toolTip="Save the results shown as one HTML file (charts and tables inside)")
        quit_action = QAction("Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        self.next_action = QAction("Next step", self, enabled=False,
                                   shortcuts=[QKeySequence(Qt.Key.Key_PageDown), QKeySequence(Qt.Key.Key_Right)])
        self.back_action = QAction("Previous step", self, enabled=False,
                                   shortcuts=[QKeySequence(Qt.Key.Key_PageUp), QKeySequence(Qt.Key.Key_Left)])
        self.advance_action = QAction("Next step (presentation)", self, shortcut=QKeySequence(Qt.Key.Key_Space),
                                      enabled=False)  # Space advances in presentation mode only
        self.lesson_report_action = QAction("Export lesson report…", self, enabled=False,
                                            toolTip="One HTML file with the newest run of every step")
        self.presentation_action = QAction("Presentation mode", self, checkable=True,
                                           shortcut=QKeySequence(Qt.Key.Key_F11),
                                           toolTip="Large fonts, full screen, fewer controls (F11)")
        self.dark_action = QAction("Dark theme", self, checkable=True, checked=self.theme.dark)
        self.run_action.triggered.connect(self.run)
        self.cancel_action.triggered.connect(self.cancel)
        open_action.triggered.connect(self._choose_experiment)
        self.report_action.triggered.connect(lambda: self.export_report())
        quit_action.triggered.connect(self.close)
        self.next_action.triggered.connect(self.lesson_panel.next)
        self.advance_action.triggered.connect(self.lesson_panel.next)
        self.back_action.triggered.connect(self.lesson_panel.back)
        self.presentation_action.toggled.connect(self.set_presentation)
        self.lesson_report_action.triggered.connect(lambda: self.export_lesson_report())
        self.addActions([self.next_action, self.back_action, self.advance_action])  # work with the menu bar hidden
        self.dark_action.toggled.connect(lambda dark: self._apply_theme(DARK if dark else LIGHT))
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addActions([open_action, self.report_action, quit_action])
        run_menu = self.menuBar().addMenu("&Run")
        run_menu.addActions([self.run_action, self.cancel_action])
        self.menuBar().addMenu("&Lesson").addActions([self.back_action, self.next_action, self.lesson_report_action])
        self.menuBar().addMenu("&View").addActions([self.dark_action, self.presentation_action])
        toolbar = self.addToolBar("Run")
        toolbar.setObjectName("run-toolbar")
        toolbar.setMovable(False)
        toolbar.addActions([self.run_action, self.cancel_action])

    @Slot()
    def start(self) -> None:
        """After the window is on screen: restore or load the experiment (a lesson's step), then load the data."""
        lesson_error = self._read_lesson()
        self.set_experiment(self._initial_state())
        if lesson_error:
            self.banner.show_error(lesson_error)
        self.presentation_action.setChecked(self.settings.value("presentation", False, type=bool))
        self.started = True
        self._detect_devices()

    def _detect_devices(self) -> None:
        self._launch("devices", single(available_devices), lambda w: self.pipelines.set_devices(w.result))

    def _initial_state(self) -> dict[str, Any]:
        """The last session's experiment if it came from the same file, else the file itself."""
        saved = read_json(self.settings, "experiment")
        if isinstance(saved, dict) and saved.get("source") == str(self.experiment_path):
            try:
                return parse_experiment(saved["state"], self.registry).to_dict()
            except (ExperimentError, KeyError, TypeError):
                pass  # plugins changed since: fall back to the file
        try:
            return load_experiment(self.experiment_path, self.registry).to_dict()
        except ExperimentError as exc:
            self.banner.show_error(str(exc))
            return {"dataset": {"name": next(iter(self.registry.specs("datasets")), None)}, "classical": [], "deep": []}

    def set_experiment(self, state: dict[str, Any]) -> None:
        self.title = state.get("title", self.title)
        self.description = state.get("description", "")
        self.setWindowTitle(f"cvstudio — {self.title}")
        self.study = state.get("study", {"kind": COMPARE})
        self._set_study_view(self.study["kind"])
        self.dataset_panel.set_state(state["dataset"], state.get("split", {}))
        self.pipelines.set_state(state.get("classical", []), state.get("deep", []))
        self.load_dataset()

    def experiment_state(self) -> dict[str, Any]:
        """What the forms say, as an experiment file would: parse_experiment accepts it as is."""
        return {"title": self.title, "description": self.description, "study": dict(self.study),
                **self.dataset_panel.state(), **self.pipelines.state()}

    def _set_study_view(self, kind: str) -> None:
        """The "Study" tab with the view for this study kind (made when first needed); none for a comparison."""
        view_class = study_view_class(kind)
        if type(self.study_view) is view_class:
            return
        if self.study_view is not None:
            self.tabs.removeTab(self.tabs.indexOf(self.study_view))
            self.study_view.deleteLater()
            self.study_view = None
        if view_class is not None:
            self.study_view = view_class(self.registry)
            self.tabs.insertTab(self.tabs.indexOf(self.training), self.study_view, "Study")
            style_plots(self.study_view, self.theme, large=self.presenting)
            self.study_view.apply_theme(self.theme)

    @Slot()
    def _choose_experiment(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open lesson or experiment", str(self.experiment_path.parent),
                                              "Lessons and experiments (*.toml)")
        if path:
            self.open_file(Path(path))

    def open_file(self, path: Path) -> None:
        """Open a lesson on its first step, or an experiment file (leaving any lesson)."""
        try:
            lesson = load_lesson(path) if is_lesson_file(path) else None
        except ExperimentError as exc:
            self.banner.show_error(str(exc))
            return
        if lesson is None:
            if self.open_experiment(path):
                self.lesson = None
                self.lesson_dock.hide()
                self._update_lesson_actions()
        elif self.open_experiment(lesson.steps[0].experiment):
            self._show_lesson(lesson, 0)

    def open_experiment(self, path: Path) -> bool:
        """Load an experiment file into the window (nothing runs); False, with a message, if it is invalid."""
        try:
            state = load_experiment(Path(path), self.registry).to_dict()
        except ExperimentError as exc:
            self.banner.show_error(str(exc))
            return False
        self.experiment_path = Path(path)
        self.set_experiment(state)
        return True

    # ---------------------------------------------------------------- lesson

    def _read_lesson(self) -> str | None:
        """If the window was opened on a lesson, go to the step of the last session; returns a lesson error."""
        try:
            if not is_lesson_file(self.experiment_path):
                return None
            lesson = load_lesson(self.experiment_path)
        except ExperimentError as exc:
            return str(exc)
        saved = read_json(self.settings, "lesson")
        step = saved.get("step") if isinstance(saved, dict) and saved.get("source") == str(lesson.path) else 0
        index = min(max(step, 0), len(lesson.steps) - 1) if isinstance(step, int) else 0
        self.experiment_path = lesson.steps[index].experiment
        self._show_lesson(lesson, index)
        return None

    @Slot(int)
    def show_step(self, index: int) -> None:
        """Go to step ``index``: its text and question, and its experiment in the window (not run)."""
        if self.lesson is None:
            return
        experiment = self.lesson.steps[index].experiment
        if experiment == self.experiment_path or self.open_experiment(experiment):
            self._show_lesson(self.lesson, index)

    def _show_lesson(self, lesson: Lesson, index: int) -> None:
        self.lesson = lesson
        self.lesson_panel.show_step(lesson, index)
        if not self.lesson_dock.isVisible():
            self.lesson_dock.show()
            self.lesson_dock.raise_()  # in front of any plugin panel sharing its side
            self.resizeDocks([self.lesson_dock], [LESSON_WIDTH], Qt.Orientation.Horizontal)
        self._update_lesson_actions()
        write_json(self.settings, "lesson", {"source": str(lesson.path), "step": index})

    def _update_lesson_actions(self) -> None:
        """Disabled actions leave their keys (arrows, Space) to the widgets."""
        index, last = self.lesson_panel.index, len(self.lesson.steps) - 1 if self.lesson else -1
        self.next_action.setEnabled(index < last)
        self.back_action.setEnabled(self.lesson is not None and index > 0)
        self.advance_action.setEnabled(self.presenting and index < last)
        self.lesson_report_action.setEnabled(self.lesson is not None)

    @Slot(bool)
    def set_presentation(self, on: bool) -> None:
        """Presentation mode: large fonts, full screen, no editing views; Space goes to the next step."""
        self.presenting = on
        apply_theme(QApplication.instance(), self.theme, large=on)
        self._style_views(self.theme)
        for panel in (self.pipelines, self.runs_panel, self.plugins):
            self.tabs.setTabVisible(self.tabs.indexOf(panel), not on)
        self._update_lesson_actions()
        if on:
            self.showFullScreen()
        elif self.isFullScreen():
            self.showNormal()
        width = PRESENTATION_LESSON_WIDTH if on else LESSON_WIDTH
        self.resizeDocks([self.lesson_dock], [width], Qt.Orientation.Horizontal)
        self.settings.setValue("presentation", on)

    # ---------------------------------------------------------------- report

    def export_report(self, path: Path | None = None) -> Path | None:
        """Save the runs on screen (the last run, or the one reopened) as one self-contained HTML file."""
        if not self.shown_runs:
            return None
        return self._write_report(self.shown_runs, self.title if len(self.shown_runs) > 1 else None, path)

    def export_lesson_report(self, path: Path | None = None) -> Path | None:
        """Save the newest run of every step of the lesson as one HTML file."""
        from cvstudio.core.report import lesson_runs  # reports draw with OpenCV: loaded when first asked for

        if self.lesson is None:
            return None
        runs = lesson_runs(self.lesson, self.store.runs())
        if not runs:
            self.banner.show_error(f"No runs of '{self.lesson.title}' yet: run a step (Ctrl+R), then export again.")
            return None
        return self._write_report(runs, self.lesson.title, path)

    def _write_report(self, runs: list[Run], title: str | None, path: Path | None) -> Path | None:
        from cvstudio.core.report import ReportError, write_report

        if path is None:
            suggested = Path.home() / f"{slugify(title or self.title)}-report.html"
            chosen, _ = QFileDialog.getSaveFileName(self, "Export report", str(suggested), "HTML files (*.html)")
            if not chosen:
                return None
            path = Path(chosen)
        try:
            write_report(runs, path, title)
        except (ReportError, OSError) as exc:
            self.banner.show_error(f"Cannot write the report: {exc}")
            return None
        self.statusBar().showMessage(f"Report saved to {path}", 10000)
        return path

    # --------------------------------------------------------------- workers

    def _launch(self, slot: str, job: Job, on_done: Callable[[Worker], None] | None = None) -> Worker:
        """Start ``job`` in ``slot``; a job already there is cancelled and its results dropped."""
        self._retire(slot)
        self.generation += 1
        worker = Worker(job, slot, self.generation)
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._on_finished)
        self.workers[slot] = worker
        if on_done is not None:
            self.on_done[slot] = on_done
        else:
            self.on_done.pop(slot, None)
        worker.start()
        self._update_actions()
        return worker

    def _retire(self, slot: str) -> None:
        worker = self.workers.pop(slot, None)
        if worker is not None:
            worker.cancel()
            self.retired.append(worker)

    def _is_current(self, worker: Worker) -> bool:
        return self.workers.get(worker.name) is worker

    @Slot(object, str)
    def _on_error(self, error: BaseException, details: str) -> None:
        worker = self.sender()
        if isinstance(worker, Worker) and self._is_current(worker):
            self.banner.show_error(f"{JOB_TITLES.get(worker.name, worker.name)} failed: {error}", details)

    @Slot()
    def _on_finished(self) -> None:
        worker = self.sender()
        if not isinstance(worker, Worker):
            return
        worker.wait()
        if worker in self.retired:
            self.retired.remove(worker)
            return
        if not self._is_current(worker):
            return
        self._deliver(worker.name, worker.drain())
        del self.workers[worker.name]
        handler = self.on_done.pop(worker.name, None)
        if handler is not None:
            handler(worker)
        self._update_actions()

    @Slot()
    def pull(self) -> None:
        """The ~30 Hz tick: hand buffered events to the views, then let them redraw once."""
        for slot, worker in list(self.workers.items()):
            self._deliver(slot, worker.drain())
        self.training.refresh()
        self.activations.refresh()
        self.features.refresh()
        self.inference.refresh()
        if self.study_view is not None:
            self.study_view.refresh()

    def _deliver(self, slot: str, events: list[Any]) -> None:
        for event in events:
            if slot == "study" and self.study_view is not None:
                self.study_view.on_event(event)
                if not self.study_view.SHARES_EVENTS:
                    continue
            if slot.startswith("inference"):
                self.inference.on_event(event)
            elif slot == "explain":
                self.features.on_explanation(*event)
            elif isinstance(event, BatchEnd):
                self.training.on_batch(event)
            elif isinstance(event, Progress):
                self.training.on_progress(event)
            elif isinstance(event, ActivationSnapshot):
                self.activations.on_snapshot(event)
                self.features.on_snapshot(event)
            elif isinstance(event, EpochEnd):
                self.training.on_epoch(event)
            elif isinstance(event, DatasetReady):
                self.results.set_dataset(event.dataset)
                self.activations.set_dataset(event.dataset)
            elif isinstance(event, PipelineStarted):
                self.training.pipeline_started(event.pipeline, event.kind)
            elif isinstance(event, PipelineFinished):
                self._pipeline_finished(self.runs[slot], event)

    def _pipeline_finished(self, run: Run, event: PipelineFinished) -> None:
        self.training.pipeline_finished(event.pipeline, event.kind, event.summary)
        evaluation = Evaluation.from_dict(run.read(event.summary["evaluation"])["test"])
        self.results.add_evaluation(event.pipeline, event.kind, evaluation)

    def _update_actions(self) -> None:
        running = any(slot in self.workers for slot in RUN_SLOTS)
        self.run_action.setEnabled(not running)
        self.cancel_action.setEnabled(running)

    # --------------------------------------------------------------- dataset

    @Slot()
    def load_dataset(self) -> None:
        state = self.dataset_panel.state()
        ref, split = state["dataset"], state["split"]
        if ref["name"] is None:
            self.dataset_panel.info.setText("No dataset plugin is available: see the Plugins view.")
            return
        spec = self.registry.get("datasets", ref["name"])

        def load() -> tuple[Any, dict[str, int], dict[str, Any]]:
            dataset = spec.create(**ref["params"])
            sizes = stratified_split(dataset.labels, split["val"], split["test"], split["seed"]).sizes()
            return dataset, sizes, ref

        self.dataset_panel.set_loading(True)
        self._launch("dataset", single(load), self._dataset_loaded)

    def _dataset_loaded(self, worker: Worker) -> None:
        self.dataset_panel.set_loading(False)
        if worker.result is None:
            self.dataset_panel.info.setText("The dataset could not be loaded: see the message above.")
            return
        self.dataset, sizes, self.dataset_ref = worker.result
        self.extractors = ExtractorCache(self.dataset)
        self.dataset_panel.show_dataset(self.dataset, sizes)
        self.activations.set_dataset(self.dataset)
        self.dataset_panel.select(0)
        if not self.warmed_up:  # once the window is painted and the data are in: off the path of Run
            self.warmed_up = True
            self._launch("warm-up", single(warm_up))

    @Slot(int)
    def explain(self, index: int) -> None:
        """Every feature extractor explains the chosen image, with the parameters a pipeline gives it."""
        if self.dataset is None or self.extractors is None:
            return
        self.features.show_image(self.dataset, index)
        params: dict[str, dict[str, Any]] = {}
        for pipeline in self.pipelines.state()["classical"]:
            for feature in pipeline["features"]:
                params.setdefault(feature["name"], feature["params"])
        specs = {name: (spec, params.get(name, {})) for name, spec in self.registry.specs("feature_extractors").items()}
        self._launch("explain", explain_job(self.extractors, specs, index))

    # ------------------------------------------------------------------- run

    @Slot()
    def run(self) -> None:
        """Classical and deep pipelines as two runs in parallel: the network starts at once."""
        if any(slot in self.workers for slot in RUN_SLOTS):
            return
        state = self.experiment_state()
        try:
            experiment = parse_experiment(state, self.registry)
        except ExperimentError as exc:
            self.banner.show_error(f"Cannot run: {exc}")
            return
        self.banner.hide()
        self.run_outcome = "Run finished; saved in the Runs view."
        self._save_experiment()
        self.training.reset(experiment.deep[0].training.epochs if experiment.deep else 0)
        self.results.clear()
        self.activations.reset()
        if experiment.study.name != COMPARE:
            self._run_study(experiment)
            return
        parts = {
            "classical": replace(experiment, title=part_title(experiment.title, "classical"), deep=()),
            "deep": replace(experiment, title=part_title(experiment.title, "deep"), classical=()),
        }
        self.runs = {}
        for slot, part in parts.items():
            if part.classical or part.deep:
                self.runs[slot] = self.store.create(part.title)
                self._launch(slot, partial(run_experiment, part, self.registry, self.runs[slot]), self._run_done)
        self._show_runs(list(self.runs.values()))
        self.tabs.setCurrentWidget(self.training)
        self.statusBar().showMessage("Running…")

    def _run_study(self, experiment: Experiment) -> None:
        """A study is one run, one job: its events go to its view (and the usual views, if it shares them)."""
        self._set_study_view(experiment.study.name)
        if self.study_view is not None:
            self.study_view.reset(experiment)
        self.runs = {"study": self.store.create(experiment.title)}
        self._launch("study", partial(run_experiment, experiment, self.registry, self.runs["study"]), self._run_done)
        self._show_runs(list(self.runs.values()))
        self.tabs.setCurrentWidget(self.study_view or self.training)
        self.statusBar().showMessage("Running…")

    @Slot()
    def cancel(self) -> None:
        for slot in RUN_SLOTS:
            if slot in self.workers:
                self.workers[slot].cancel()
        self._stopped("cancelling…")

    def _stopped(self, message: str) -> None:
        self.training.stopped(message)
        if self.study_view is not None:
            self.study_view.stopped(message)

    def _run_done(self, worker: Worker) -> None:
        if worker.cancelled:
            self._stopped("cancelled — the run so far is saved")
            self.run_outcome = "Run cancelled; what it did is saved in the Runs view."
        elif worker.error is not None:
            self._stopped(f"failed: {worker.error}")
            self.run_outcome = "Run failed (see the message above); what it did is saved in the Runs view."
        if not any(slot in self.workers for slot in RUN_SLOTS):
            self.runs_panel.refresh()
            self.statusBar().showMessage(self.run_outcome, 10000)

    @Slot(object)
    def open_run(self, run: Run) -> None:
        """Show a saved run's curves and results again."""
        try:
            summary = run.read("summary.json")
            evaluations = {
                label: (record["kind"], Evaluation.from_dict(run.read(record["evaluation"])["test"]))
                for label, record in summary.get("pipelines", {}).items()
            }
            config = run.read("config.json")
            dataset_ref = config["dataset"]
            kind = config.get("study", {}).get("kind", COMPARE)
            if study_view_class(kind) is not None:
                self._set_study_view(kind)
                self.study_view.load_run(run)
        except (OSError, ValueError, KeyError) as exc:
            self.banner.show_error(f"Cannot open run {run.id}: {exc}")
            return
        records = run.metrics()
        self.training.load_history(records)
        self.results.clear()
        for label, (pipeline_kind, evaluation) in evaluations.items():
            self.results.add_evaluation(label, pipeline_kind, evaluation)
        if dataset_ref == self.dataset_ref:
            self.results.set_dataset(self.dataset)
        else:
            self.results.set_dataset(None)
            spec = self.registry.get("datasets", dataset_ref["name"])
            self._launch("run-dataset", single(partial(spec.create, **dataset_ref["params"])),
                         lambda w: self.results.set_dataset(w.result))
        has_epochs = any(r.get("kind") == "epoch" for r in records)
        self.tabs.setCurrentWidget(self.study_view if study_view_class(kind) else
                                   self.training if has_epochs else self.results)
        self._show_runs([run])
        self.statusBar().showMessage(f"Showing run {run.id}", 10000)

    def _show_runs(self, runs: list[Run]) -> None:
        self.shown_runs = runs
        self.report_action.setEnabled(bool(runs))

    # ------------------------------------------------------ theme, settings

    def _apply_theme(self, theme: Any) -> None:
        apply_theme(QApplication.instance(), theme, large=self.presenting)
        self._style_views(theme)
        self.settings.setValue("theme", theme.name)

    def _style_views(self, theme: Any) -> None:
        """The plots' colours and fonts; restyling the whole application again would cost startup time."""
        self.theme = theme
        style_plots(self, theme, large=self.presenting)
        for panel in (self.training, self.features, self.results, self.runs_panel.compare, self.study_view,
                      self.plugins):
            if panel is not None:
                panel.apply_theme(theme)

    def _save_experiment(self) -> None:
        write_json(self.settings, "experiment", {"source": str(self.experiment_path), "state": self.experiment_state()})

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Save the session, then cancel every job and wait for its thread before going away."""
        self.timer.stop()
        if self.started:
            self._save_experiment()
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        self.settings.sync()
        for worker in [*self.workers.values(), *self.retired]:
            worker.stop()
        self.workers.clear()
        self.retired.clear()
        event.accept()
