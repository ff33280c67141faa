"""The main window: the views, the menus and the Run/Cancel actions, over the controllers that do the work.

The window builds the views and routes what happens to the controllers of
:mod:`cvstudio.qt.controllers` (the experiment and its data, runs, lessons).
Every job runs in a worker of :class:`~cvstudio.qt.jobs.Jobs`; a ~30 Hz timer
drains their events and hands them to the views, which redraw at most once per tick.

Its public API (signals, properties, methods documented below and in
docs/testing.md) is what plugin panels and tests use; everything else may change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import os

import pyqtgraph as pg
from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cvstudio.core.data import ImageDataset
from cvstudio.core.devices import available_devices
from cvstudio.core.experiment import COMPARE, ExperimentError, parse_experiment
from cvstudio.core.lessons import Lesson
from cvstudio.core.runs import Run, RunStore
from cvstudio.core.training import warm_up
from cvstudio.plugins import Registry
from cvstudio.qt.collector import install_gui_collector
from cvstudio.qt.controllers.experiment import ExperimentController
from cvstudio.qt.controllers.lessons import LessonController
from cvstudio.qt.controllers.runs import RunController
from cvstudio.qt.jobs import Jobs
from cvstudio.qt.panels.activations import ActivationsPanel
from cvstudio.qt.panels.dataset import DatasetPanel
from cvstudio.qt.panels.features import FeaturesPanel
from cvstudio.qt.panels.inference import JOB_TITLES as INFERENCE_JOB_TITLES
from cvstudio.qt.panels.inference import InferencePanel
from cvstudio.qt.panels.lesson import ArrowKeysToWidgets, LessonPanel
from cvstudio.qt.panels.pipelines import PipelinesPanel
from cvstudio.qt.panels.plugins import PluginsPanel, with_disabled_plugins
from cvstudio.qt.panels.results import ResultsPanel
from cvstudio.qt.panels.runs import RunsPanel
from cvstudio.qt.panels.training import TrainingPanel
from cvstudio.qt.plugin_panels import add_plugin_docks, remove_plugin_docks
from cvstudio.qt.settings import open_settings, read_value
from cvstudio.qt.study_views import StudyView, study_view_class
from cvstudio.qt.theme import DARK, LIGHT, THEMES, apply_theme, style_plots
from cvstudio.qt.widgets import ErrorBanner, after_first_frame, name_widget
from cvstudio.qt.workers import Worker, single

PULL_INTERVAL_MS = 33
VIEWS = ("dataset", "pipelines", "features", "study", "training", "activations", "results", "runs", "inference",
         "plugins")  # the names show_view and screenshot take; "study" only while a study is loaded
JOB_TITLES = {
    "dataset": "Loading the dataset", "devices": "Detecting devices", "explain": "Explaining the features",
    "network-maps": "Computing the CNN's maps of the chosen image",
    "classical": "The classical pipelines", "deep": "Training the network", "run-dataset": "Loading the run's dataset",
    "study": "The study", "cluster-check": "Checking the Ray cluster", "warm-up": "Preparing torch for training",
    **INFERENCE_JOB_TITLES,
}


DEFAULT_SIZE = QSize(1500, 950)  # the first size; a smaller screen (a 1280×800 laptop) bounds it


class MainWindow(QMainWindow):
    """The cvstudio window on one experiment or lesson.

    Signals (emitted on the GUI thread):

    - ``dataset_loaded(dataset)``: the experiment's dataset (an ImageDataset) has loaded and is
      shown; the window is ready to run.
    - ``run_started(runs)``: Run started these :class:`~cvstudio.core.runs.Run` folders (the
      classical and the deep part, or the study's one; on a Ray cluster, once the cluster answered).
    - ``epoch_finished(pipeline, metrics)``: a network finished an epoch; ``metrics`` holds
      ``epoch``, ``epochs``, ``train_loss``, ``train_accuracy``, ``val_loss``, ``val_accuracy``,
      ``seconds``, ``images_per_s``.
    - ``run_finished(status, runs)``: every part of the run has ended; ``status`` is
      ``"completed"``, ``"cancelled"`` (Cancel, Esc, or the window closed) or ``"failed"``.
    - ``study_point(kind, point)``: a study produced a result: a ScalingPoint, Timing,
      FeatureSpaceProjected, HierarchyReady or PipelineFinished event, as its view draws it.
    """

    dataset_loaded = Signal(object)
    run_started = Signal(list)
    epoch_finished = Signal(str, dict)
    run_finished = Signal(str, list)
    study_point = Signal(str, object)

    def __init__(
        self,
        registry: Registry,
        experiment_path: Path,
        settings: QSettings | None = None,
        store: RunStore | None = None,
    ) -> None:
        super().__init__()
        install_gui_collector()  # where the app did not already: workers must never free this window's objects
        self.settings = settings if settings is not None else open_settings()
        self.registry = registry = with_disabled_plugins(registry, self.settings)
        self.store = store or RunStore()
        self.theme = THEMES.get(read_value(self.settings, "theme", str, DARK.name), DARK)
        pg.setConfigOptions(imageAxisOrder="row-major")
        apply_theme(QApplication.instance(), self.theme)

        self.jobs = Jobs(self._deliver, self)
        self.experiment = ExperimentController(self, experiment_path)
        self.runner = RunController(self)
        self.lessons = LessonController(self)
        self.experiment.dataset_loaded.connect(self.dataset_loaded)
        self.runner.run_started.connect(self.run_started)
        self.runner.epoch_finished.connect(self.epoch_finished)
        self.runner.run_finished.connect(self.run_finished)
        self.runner.study_point.connect(self.study_point)
        self.study_view: StudyView | None = None  # shown in the "Study" tab while a study is loaded
        self.started = False

        self._build_component_views(registry)
        self.training = TrainingPanel()
        self.activations = ActivationsPanel()
        self.results = ResultsPanel()
        self.runs_panel = RunsPanel(self.store)
        self.plugins = PluginsPanel(registry, self.settings)
        self.inference = InferencePanel(self.store, registry, self.jobs.launch)  # loads nothing until first shown
        self.tabs = name_widget(QTabWidget(), "views", "Views")
        for panel, name in (
            (self.dataset_panel, "Dataset"), (self.pipelines, "Pipelines"), (self.features, "Features"),
            (self.training, "Training"), (self.activations, "Activations"), (self.results, "Results"),
            (self.runs_panel, "Runs"), (self.inference, "Inference"), (self.plugins, "Plugins"),
        ):
            self.tabs.addTab(panel, name)
        self._name_views()
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
        self.lesson_panel.step_requested.connect(self.lessons.show_step)
        self.arrow_keys = ArrowKeysToWidgets(self)
        self._build_actions()
        self.plugin_docks = add_plugin_docks(self, registry)
        self.plugins.show_registry(registry)  # with the errors of panels that could not be built
        self.plugins.registry_changed.connect(self.set_registry)

        self.runs_panel.open_requested.connect(self.open_run)
        self.jobs.failed.connect(self._job_failed)
        self.jobs.changed.connect(self._update_actions)
        self.timer = QTimer(self)
        self.timer.setInterval(PULL_INTERVAL_MS)
        self.timer.timeout.connect(self.pull)
        self.timer.start()
        self.style_views(self.theme)  # the application-wide part was applied above, before any widget
        self.resize(DEFAULT_SIZE.boundedTo(self.screen().availableGeometry().size()))
        geometry, layout = (read_value(self.settings, key, QByteArray) for key in ("geometry", "window_state"))
        if geometry is not None:
            self.restoreGeometry(geometry)
        if layout is not None:
            self.restoreState(layout)
        if registry.errors:
            self.banner.show_error(registry.error_summary())
        after_first_frame(self, self.start)  # loading data and importing torch would slow the first frame

    # ------------------------------------------------------ state, for tests and plugins

    @property
    def is_running(self) -> bool:
        """True from Run until every part of the run has ended."""
        return self.runner.running

    @property
    def runs_dir(self) -> Path:
        """The folder where runs are saved (one subfolder each)."""
        return self.store.root

    @property
    def workers(self) -> dict[str, Worker]:
        """The running job of each slot ("dataset", "classical", "deep", "study", ...)."""
        return self.jobs.workers

    @property
    def runs(self) -> dict[str, Run]:
        """The runs of the last Run, by part: "classical" and "deep", or "study"."""
        return self.runner.runs

    @property
    def dataset(self) -> ImageDataset | None:
        """The dataset loaded into the Dataset view (None until it has loaded)."""
        return self.experiment.dataset

    @property
    def experiment_path(self) -> Path:
        """The experiment file shown (a lesson's current step)."""
        return self.experiment.path

    @property
    def title(self) -> str:
        return self.experiment.title

    @property
    def study(self) -> dict[str, Any]:
        """The study of the experiment and its options (``{"kind": "compare"}`` for a plain comparison)."""
        return self.experiment.study

    @property
    def lesson(self) -> Lesson | None:
        return self.lessons.lesson

    @property
    def presenting(self) -> bool:
        return self.lessons.presenting

    # ----------------------------------------------------------------- setup

    def _build_component_views(self, registry: Registry) -> None:
        """The views that list what plugins provide: built again when the plugins are reloaded."""
        self.dataset_panel = DatasetPanel(registry.specs("datasets"))
        self.pipelines = PipelinesPanel(registry)
        self.features = FeaturesPanel(registry.specs("feature_extractors"))
        self.dataset_panel.load_requested.connect(self.load_dataset)
        self.dataset_panel.image_selected.connect(self.experiment.explain)

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
        self._name_views()
        remove_plugin_docks(self, self.plugin_docks)
        self.plugin_docks = add_plugin_docks(self, registry)
        self.plugins.show_registry(registry)
        self.style_views(self.theme)
        messages = []
        if registry.errors:
            messages.append(registry.error_summary())
        try:
            state = parse_experiment(state, registry).to_dict()
        except ExperimentError as exc:
            messages.append(f"The experiment no longer fits the plugins ({exc}); reopened {self.experiment_path.name}.")
            state = self.experiment.initial_state()
        if messages:
            self.banner.show_error(" ".join(messages))
        else:
            self.banner.hide()
        self.inference.registry = registry
        self.set_study_view(COMPARE)  # the study's view is made again, with the new plugins
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
        self.presentation_action.toggled.connect(self.lessons.set_presentation)
        self.lesson_report_action.triggered.connect(lambda: self.export_lesson_report())
        self.addActions([self.next_action, self.back_action, self.advance_action])  # work with the menu bar hidden
        self.dark_action.toggled.connect(lambda dark: self._apply_theme(DARK if dark else LIGHT))
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addActions([open_action, self.report_action, quit_action])
        run_menu = self.menuBar().addMenu("&Run")
        run_menu.addActions([self.run_action, self.cancel_action])
        self._build_run_on(run_menu.addMenu("Run &on"))
        self.menuBar().addMenu("&Lesson").addActions([self.back_action, self.next_action, self.lesson_report_action])
        self.menuBar().addMenu("&View").addActions([self.dark_action, self.presentation_action])
        toolbar = self.addToolBar("Run")
        toolbar.setObjectName("run-toolbar")
        toolbar.setMovable(False)
        toolbar.addActions([self.run_action, self.cancel_action])
        for action, name, label in ((self.run_action, "run", "Run"), (self.cancel_action, "cancel", "Cancel")):
            name_widget(action, f"{name}-action")
            name_widget(toolbar.widgetForAction(action), f"{name}-button", label)

    def _build_run_on(self, menu: Any) -> None:
        """Run › Run on: this computer, or a Ray cluster (an address asked for); the choice is remembered."""
        self.run_here_action = QAction("This computer", self, checkable=True,
                                       toolTip="Run everything in this app, as always")
        self.run_cluster_action = QAction("Ray cluster…", self, checkable=True,
                                          toolTip="Run a study's trainings as tasks on a Ray cluster (docs/cluster.md)")
        group = QActionGroup(self)
        for action in (self.run_here_action, self.run_cluster_action):
            group.addAction(action)
            menu.addAction(action)
        self.run_here_action.triggered.connect(lambda: self.experiment.set_cluster(None))
        self.run_cluster_action.triggered.connect(self._choose_cluster)
        self.experiment.run_on_changed.connect(self._show_run_on)
        self._show_run_on(self.experiment.cluster)

    @Slot()
    def _choose_cluster(self) -> None:
        address, ok = QInputDialog.getText(
            self, "Run on a Ray cluster", "Address of the cluster's head node (HOST:PORT),\n"
            "or local to start Ray on this computer:", text=self.experiment.cluster or self.experiment.last_cluster)
        if ok and address.strip():
            self.experiment.set_cluster(address)
        else:
            self._show_run_on(self.experiment.cluster)

    @Slot(object)
    def _show_run_on(self, address: str | None) -> None:
        self.run_here_action.setChecked(address is None)
        self.run_cluster_action.setChecked(address is not None)
        self.run_cluster_action.setText(f"Ray cluster at {address}…" if address else "Ray cluster…")

    @Slot()
    def start(self) -> None:
        """After the window is on screen: restore or load the experiment (a lesson's step), then load the data."""
        lesson_error = self.lessons.read_lesson()
        self.set_experiment(self.experiment.initial_state())
        if lesson_error:
            self.banner.show_error(lesson_error)
        self.presentation_action.setChecked(read_value(self.settings, "presentation", bool, False))
        self.started = True
        self._detect_devices()
        # Torch's lazy imports, beside the dataset's loading: off the path of Run (the window is painted already).
        self.jobs.launch("warm-up", single(warm_up))

    def _detect_devices(self) -> None:
        self.jobs.launch("devices", single(available_devices), lambda w: self.pipelines.set_devices(w.result))

    # ------------------------------------------------------------ experiment

    def set_experiment(self, state: dict[str, Any]) -> None:
        """Fill the forms from an experiment's state (as ``experiment_state()`` returns it) and load its data."""
        self.experiment.set_state(state)

    def experiment_state(self) -> dict[str, Any]:
        """What the forms say now, as the experiment file would: a dict of plain values.

        Keys: ``title``, ``description``, ``study`` (``{"kind": "compare"}`` or a study and its
        options), ``dataset`` (``{"name", "params"}``), ``split`` (``{"val", "test", "seed"}``),
        ``classical`` (a list of ``{"label", "features", "classifier", ...}``) and ``deep`` (a list of
        ``{"label", "model", "epochs", "batch_size", "device", ...}``). ``parse_experiment`` accepts
        it as is, and ``set_experiment`` fills the forms from it.
        """
        return self.experiment.state()

    def set_study_view(self, kind: str) -> None:
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
            self._name_views()
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
        self.experiment.open_file(Path(path))

    def open_experiment(self, path: Path) -> bool:
        """Load an experiment file into the window (nothing runs); False, with a message, if it is invalid."""
        return self.experiment.open_experiment(path)

    @Slot()
    def load_dataset(self) -> None:
        """Load the dataset that the Dataset view names, in a worker; ``dataset_loaded`` fires when it is shown."""
        self.experiment.load_dataset()

    # ----------------------------------------------------------------- views

    def views(self) -> dict[str, QWidget]:
        """The views by stable name (see ``VIEWS``), in tab order."""
        views = {"dataset": self.dataset_panel, "pipelines": self.pipelines, "features": self.features,
                 "study": self.study_view, "training": self.training, "activations": self.activations,
                 "results": self.results, "runs": self.runs_panel, "inference": self.inference,
                 "plugins": self.plugins}
        return {name: view for name, view in views.items() if view is not None}

    def _name_views(self) -> None:
        """Each view's objectName is its name and "-view" (``training-view``); its accessible name, its tab's."""
        for name, view in self.views().items():
            name_widget(view, f"{name}-view", self.tabs.tabText(self.tabs.indexOf(view)))

    def show_view(self, name: str) -> QWidget:
        """Bring the view called ``name`` to the front (one of ``VIEWS``); returns it."""
        views = self.views()
        if name not in views:
            raise ValueError(f"No view called {name!r}: choose one of {', '.join(views)}.")
        self.tabs.setCurrentWidget(views[name])
        return views[name]

    def screenshot(self, path: Path, view: str | None = None) -> Path:
        """Save the window (after showing ``view``, if given) as an image; the format follows the suffix (.png).

        What the workers produced so far is drawn first. Raises OSError if the file cannot be written.
        """
        if view is not None:
            self.show_view(view)
        self.pull()
        QApplication.processEvents()
        path = Path(path)
        partial = path.with_name(f".{path.stem}.partial{path.suffix}")
        if not self.grab().save(str(partial)):
            partial.unlink(missing_ok=True)
            raise OSError(f"Cannot write the screenshot {path}: check the folder exists and the suffix "
                          "is an image format (.png, .jpg).")
        os.replace(partial, path)
        return path

    # ------------------------------------------------------------------- run

    @Slot()
    def run(self) -> None:
        """Classical and deep pipelines as two runs in parallel (or the experiment's study); nothing if running."""
        self.runner.run()

    @Slot()
    def cancel(self) -> None:
        """Stop the running parts; each is saved as cancelled with what it finished."""
        self.runner.cancel()

    @Slot(object)
    def open_run(self, run: Run) -> None:
        """Show a saved run's curves and results again."""
        self.runner.open_run(run)

    def export_report(self, path: Path | None = None) -> Path | None:
        """Save the runs on screen (the last run, or the one reopened) as one self-contained HTML file."""
        return self.runner.export_report(path)

    def export_lesson_report(self, path: Path | None = None) -> Path | None:
        """Save the newest run of every step of the lesson as one HTML file."""
        return self.lessons.export_report(path)

    @Slot(bool)
    def set_presentation(self, on: bool) -> None:
        """Presentation mode: large fonts, full screen, no editing views; Space goes to the next step."""
        self.lessons.set_presentation(on)

    # --------------------------------------------------------------- workers

    @Slot()
    def pull(self) -> None:
        """The ~30 Hz tick: hand buffered events to the views, then let them redraw once."""
        self.jobs.drain()
        self.training.refresh()
        self.activations.refresh()
        self.features.refresh()
        self.inference.refresh()
        if self.study_view is not None:
            self.study_view.refresh()

    def _deliver(self, slot: str, events: list[Any]) -> None:
        for event in events:
            if slot.startswith("inference"):
                self.inference.on_event(event)
            elif slot == "explain":
                self.features.on_explanation(*event)
            elif slot == "dataset":
                self.dataset_panel.on_progress(event)  # the only events a dataset load has
            else:
                self.runner.on_event(slot, event)

    @Slot(str, str, str)
    def _job_failed(self, slot: str, message: str, details: str) -> None:
        self.banner.show_error(f"{JOB_TITLES.get(slot, slot)} failed: {message}", details)

    @Slot()
    def _update_actions(self) -> None:
        running = self.runner.running
        self.run_action.setEnabled(not running)
        self.cancel_action.setEnabled(running)

    # ------------------------------------------------------ theme, settings

    def _apply_theme(self, theme: Any) -> None:
        apply_theme(QApplication.instance(), theme, large=self.presenting)
        self.style_views(theme)
        self.settings.setValue("theme", theme.name)

    def style_views(self, theme: Any) -> None:
        """The plots' colours and fonts; restyling the whole application again would cost startup time."""
        self.theme = theme
        style_plots(self, theme, large=self.presenting)
        for panel in (self.training, self.features, self.results, self.runs_panel.compare, self.study_view,
                      self.plugins):
            if panel is not None:
                panel.apply_theme(theme)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Save the session, then cancel every job and wait for its thread before going away."""
        self.timer.stop()
        if self.started:
            self.experiment.save()
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        self.settings.sync()
        running = self.is_running
        self.jobs.stop_all()
        if running:  # its parts are saved as cancelled; their workers will not report any more
            self.run_finished.emit("cancelled", list(self.runs.values()))
        event.accept()
