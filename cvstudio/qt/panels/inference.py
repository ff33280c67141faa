"""The Inference view: a run's ONNX export or any ONNX classifier, on images, folders, video or a webcam.

The view only starts and cancels engine jobs (:mod:`cvstudio.core.inference_jobs`)
through the main window's ``launch``; their events come back through
:meth:`InferencePanel.on_event` and are drawn at most once per timer tick by
:meth:`InferencePanel.refresh`. Nothing here imports onnxruntime or torch: the
engine does, in the workers, when a model is first loaded.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Sequence

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cvstudio.core.export import deep_pipelines, export_run
from cvstudio.core.data import SkippedFile, describe_skipped
from cvstudio.core.inference import GUESSED, METADATA, Predictor
from cvstudio.core.sessions import PROVIDER_CHOICES, InferenceError, usable_providers
from cvstudio.core.inference_jobs import (
    FileResult,
    FilesClassified,
    LiveFrame,
    compare_with_torch,
    list_images,
    predict_files,
    write_csv,
)
from cvstudio.core.preprocessing import FORM_PARAMS, Preprocessing, PreprocessingError
from cvstudio.core.runs import RunStore
from cvstudio.core.tasks import Progress, TaskState
from cvstudio.plugins import Registry
from cvstudio.qt.forms import ParamForm
from cvstudio.qt.panels.live_view import Launch, LiveView
from cvstudio.qt.workers import Worker, single
from cvstudio.qt.widgets import fit_to_width, name_widget

JOB_TITLES = {
    "inference-providers": "Detecting ONNX Runtime providers", "inference-load": "Loading the ONNX model",
    "inference-images": "Classifying the images", "inference-live": "The live view",
    "inference-compare": "Timing torch against ONNX Runtime", "inference-export": "Exporting to ONNX",
}


class InferencePanel(QWidget):
    """Pick a model and a provider; classify dropped images or folders; watch a video or webcam live."""

    def __init__(self, store: RunStore, registry: Registry, launch: Launch, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.registry, self.launch = store, registry, launch
        self.predictor: Predictor | None = None
        self.results: list[FileResult] = []
        self.providers_known = False
        self.setAcceptDrops(True)

        self.runs = name_widget(QComboBox(toolTip="A run's network, to export to ONNX (verified against torch)"),
                                "export-run-picker", "Run to export")
        self.export_button = QPushButton("Export to ONNX", clicked=self.export_selected)
        self.models = name_widget(QComboBox(toolTip="cvstudio's exports of the saved runs, and ONNX files you opened"),
                                  "onnx-model-picker", "ONNX model")
        for picker in (self.runs, self.models):  # long run ids are elided, whole in the list and the tooltip
            fit_to_width(picker, 14)
        self.models.activated.connect(lambda _: self.load_model())
        self.providers = name_widget(
            QComboBox(toolTip="Where ONNX Runtime runs; only providers that start here can be chosen"),
            "provider-picker", "Execution provider")
        for choice in PROVIDER_CHOICES:
            self.providers.addItem(choice, choice)
        self.providers.activated.connect(lambda _: self.load_model())
        self.topk = name_widget(QSpinBox(minimum=1, maximum=20, value=3, toolTip="Classes shown per image"),
                                "top-k", "Classes shown per image")
        self.info = QLabel("Export a run's network, or open any ONNX image classifier.", wordWrap=True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice = QLabel(wordWrap=True, visible=False)
        self.notice.setStyleSheet("color: #d08700;")
        source = QHBoxLayout()
        source.addWidget(QLabel("Run:"))
        source.addWidget(self.runs, 1)
        source.addWidget(self.export_button)
        source.addSpacing(16)
        source.addWidget(QLabel("Model:"))
        source.addWidget(self.models, 2)
        source.addWidget(QPushButton("Open .onnx…", clicked=self.choose_model))
        settings = QHBoxLayout()  # a row of its own beside the model's description, so both rows fit a laptop
        settings.addWidget(self.info, 1)
        settings.addWidget(QLabel("Provider:"))
        settings.addWidget(self.providers)
        settings.addWidget(QLabel("Top-k:"))
        settings.addWidget(self.topk)

        self.form = ParamForm(FORM_PARAMS)
        for side in ("height", "width"):  # 0 stands for the model's own size, not a size of 0 pixels
            self.form.fields[side].setSpecialValueText("the model's")
        self.save_config = QPushButton("Apply and save", clicked=self.apply_config,
                                       toolTip="Apply, and save next to the model as <model>.preprocess.json, "
                                               "found again next time")
        config = QGroupBox("Preprocessing")
        config_layout = QVBoxLayout(config)
        config_layout.addWidget(self.form)
        config_layout.addWidget(self.save_config)

        self.table = name_widget(QTableWidget(0, 4), "predictions", "Predictions")
        self.table.setHorizontalHeaderLabels(["File", "Class", "Probability", "Top-k"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.progress = QProgressBar(visible=False)
        self.stop_images = name_widget(QPushButton("Stop", visible=False, clicked=self.stop_classifying,
                                                   toolTip="Stop classifying: the files done so far stay in the table"),
                                       "stop-images", "Stop classifying")
        self.images_job: Worker | None = None
        # what the last images came to, under the table's buttons: the model's description above stays
        self.outcome = name_widget(QLabel(wordWrap=True, visible=False), "images-outcome", "Classified images")
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        images = QGroupBox("Images: drop files or folders here")
        images_buttons, table_buttons = QHBoxLayout(), QHBoxLayout()  # two rows: the view fits beside the others
        for text, slot in (("Open images…", self.choose_images), ("Open folder…", self.choose_folder)):
            images_buttons.addWidget(QPushButton(text, clicked=slot))
        table_buttons.addWidget(self.progress, 1)
        table_buttons.addWidget(self.stop_images)
        table_buttons.addStretch()
        table_buttons.addWidget(QPushButton("Export CSV…", clicked=lambda: self.export_csv()))
        images_layout = QVBoxLayout(images)
        images_layout.addLayout(images_buttons)
        images_layout.addLayout(table_buttons)
        images_layout.addWidget(self.outcome)
        images_layout.addWidget(self.table, 1)

        self.live = LiveView(launch, lambda: self.predictor, self.topk.value)
        self.compare_label = QLabel(wordWrap=True)
        self.live.layout().addWidget(QPushButton("Time torch vs ONNX Runtime", clicked=self.compare,
                                                 toolTip="Latency of one image at a time (batch 1) in each"))
        self.live.layout().addWidget(self.compare_label)
        splitter = QSplitter()
        for widget in (config, images, self.live):
            splitter.addWidget(widget)
        splitter.setSizes([300, 600, 450])
        layout = QVBoxLayout(self)
        layout.addLayout(source)
        layout.addLayout(settings)
        layout.addWidget(self.notice)
        layout.addWidget(splitter, 1)
        self._set_model_ready(False)

    # ------------------------------------------------------------ models

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        """Exports are listed when the view is shown, and providers probed the first time, not at startup."""
        super().showEvent(event)
        self.refresh_models()
        if not self.providers_known:
            self.providers_known = True
            self.launch("inference-providers", single(usable_providers), self._providers_detected)

    def _providers_detected(self, worker: Worker) -> None:
        usable = worker.result or ["cpu"]
        for row in range(self.providers.count()):
            choice = self.providers.itemData(row)
            item = self.providers.model().item(row)
            item.setEnabled(choice == "auto" or choice in usable)
        self.providers.setToolTip(f"ONNX Runtime providers that start on this machine: {', '.join(usable)}")

    @Slot()
    def refresh_models(self) -> None:
        """List the runs' networks and every export under the runs, keeping ONNX files opened by hand."""
        self.runs.clear()
        opened = [self.models.itemData(i) for i in range(self.models.count())
                  if not str(self.models.itemData(i)).startswith(str(self.store.root))]
        current = self.models.currentData()
        self.models.clear()
        for run in self.store.runs():
            try:
                labels = deep_pipelines(run)
            except Exception:  # noqa: BLE001 - an unreadable run is simply not listed
                continue
            for label in labels:
                if run.checkpoint_path(label).exists():
                    self.runs.addItem(f"{run.id} — {label}", (run.path, label))
            for path in sorted((run.path / "exports").glob("*.onnx")):
                self.models.addItem(f"{run.id} — {path.stem}", str(path))
        for path in opened:
            self.models.addItem(Path(path).name, path)
        self.export_button.setEnabled(self.runs.count() > 0)
        if current is not None and self.models.findData(current) >= 0:
            self.models.setCurrentIndex(self.models.findData(current))

    @Slot()
    def export_selected(self) -> None:
        if self.runs.currentData() is None:
            return
        run_dir, label = self.runs.currentData()
        self.info.setText(f"Exporting {label!r} and checking it against torch…")
        self.launch("inference-export", single(partial(export_run, run_dir, self.registry, None, label)),
                    self._exported)

    def _exported(self, worker: Worker) -> None:
        if worker.result is None:
            self.info.setText("The export failed: see the message above.")
            return
        result = worker.result
        self.refresh_models()
        self.open_model(result.path)
        self.compare_label.setText(f"Exported {result.pipeline!r} with {result.exporter}; on {result.verified_on} "
                                   f"ONNX Runtime and torch differ by at most {result.max_abs_diff:.1g}."
                                   + (f"\nNote: {result.notice}." if result.notice else ""))

    @Slot()
    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an ONNX model", str(Path.home()), "ONNX models (*.onnx)")
        if path:
            self.open_model(Path(path))

    def open_model(self, path: Path) -> None:
        if self.models.findData(str(path)) < 0:
            self.models.addItem(path.name, str(path))
        self.models.setCurrentIndex(self.models.findData(str(path)))
        self.load_model()

    def load_model(self) -> None:
        path = self.models.currentData()
        if path is None:
            return
        self.live.stop()
        self._set_model_ready(False)
        self.info.setText(f"Loading {Path(path).name}…")
        job = single(partial(Predictor, Path(path), self.providers.currentData()))
        self.launch("inference-load", job, self._model_loaded)

    def _model_loaded(self, worker: Worker) -> None:
        self.predictor = worker.result
        if self.predictor is None:
            self.info.setText("The model could not be loaded: see the message above.")
            return
        self.info.setText(f"{self.predictor.path.name}: {self.predictor.describe()}")
        self.notice.setText(self.predictor.notice or "")
        self.notice.setVisible(self.predictor.notice is not None)
        self.form.set_values(self.predictor.preprocessing.form_values())
        self._show_sources()
        self._set_model_ready(True)

    def _show_sources(self) -> None:
        """Beside each preprocessing field: guessed from the model, from its metadata, or from a config file
        (named in the line above the form)."""
        notes = {}
        for name in self.form.fields:
            origin = self.predictor.sources["size" if name in ("height", "width") else name]
            notes[name] = {GUESSED: "guessed", METADATA: "from the model"}.get(origin, "from config")
        self.form.set_notes(notes)

    def _set_model_ready(self, ready: bool) -> None:
        external = ready and self.predictor is not None and self.predictor.metadata is None
        self.form.setEnabled(external)
        self.save_config.setEnabled(external)
        self.form.setToolTip("" if external else "cvstudio's exports carry their preprocessing in their metadata")

    @Slot()
    def apply_config(self) -> None:
        if self.predictor is None:
            return
        try:
            config = Preprocessing.from_form(self.form.values())
        except PreprocessingError as exc:
            self.info.setText(f"Cannot use this preprocessing: {exc}")
            return
        try:
            path = self.predictor.save_preprocessing(config)
        except (InferenceError, OSError) as exc:
            self.info.setText(f"Cannot use this preprocessing: {exc}")
            return
        self._show_sources()
        self.info.setText(f"Saved as {path.name}. {self.predictor.describe()}")

    # ------------------------------------------------------------ images

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        self.predict_paths([Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()])

    @Slot()
    def choose_images(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images", str(Path.home()),
                                                "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp)")
        if paths:
            self.predict_paths([Path(p) for p in paths])

    @Slot()
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images", str(Path.home()))
        if folder:
            self.predict_paths([Path(folder)])

    def predict_paths(self, paths: Sequence[Path]) -> None:
        if self.predictor is None:
            self.info.setText("Choose a model first: export a run or open an .onnx file.")
            return
        predictor, topk = self.predictor, self.topk.value()

        def job(state: TaskState) -> Any:
            return (yield from predict_files(predictor, list_images(paths), state, topk))

        self.results = []
        self.table.setRowCount(0)
        self._say("")
        self.progress.setVisible(True)
        self.progress.setValue(0)
        self.stop_images.setVisible(True)
        self.images_job = self.launch("inference-images", job, self._images_done)

    @Slot()
    def stop_classifying(self) -> None:
        if self.images_job is not None:
            self.images_job.cancel()

    def _show_results(self, results: Sequence[FileResult]) -> None:
        """Rows for a batch just classified, below those before it; the first batch sizes the columns."""
        first = self.table.rowCount()
        self.results.extend(results)
        self.table.setRowCount(first + len(results))
        for row, result in enumerate(results, first):
            top = result.prediction.top if result.prediction else ()
            cells = (result.path.name, top[0][0] if top else "unreadable",
                     f"{top[0][1]:.3f}" if top else "", ", ".join(f"{n} {p:.2f}" for n, p in top) or result.error)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(str(result.path) if column == 0 else text)
                self.table.setItem(row, column, item)
        if first == 0:
            self.table.resizeColumnsToContents()

    def _images_done(self, worker: Worker) -> None:
        self.images_job = None
        self.progress.setVisible(False)
        self.stop_images.setVisible(False)
        self.table.resizeColumnsToContents()
        unreadable = [SkippedFile(str(r.path), r.error or "")
                      for r in self.results if r.prediction is None]
        classified, done = len(self.results) - len(unreadable), len(self.results)
        if worker.error is not None:  # the banner says what went wrong; here, what was done before it
            ending = f"Stopped by the error above after {done} files: {classified} classified." if done else ""
        elif worker.state.cancelled:
            ending = f"Stopped after {done} files: {classified} classified."
        else:
            ending = f"{classified} of {done} files classified."
        self._say("\n".join(filter(None, [ending, describe_skipped(unreadable)])))

    def _say(self, text: str) -> None:
        self.outcome.setText(text)
        self.outcome.setVisible(bool(text))

    def export_csv(self, path: Path | None = None) -> Path | None:
        if not self.results:
            self._say("No predictions to export yet: drop images or open a folder first.")
            return None
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(self, "Export predictions", str(Path.home() / "predictions.csv"),
                                                    "CSV files (*.csv)")
            if not chosen:
                return None
            path = Path(chosen)
        write_csv(path, self.results, self.topk.value())
        return path

    def on_event(self, event: Any) -> None:
        if isinstance(event, LiveFrame):
            self.live.latest = event
        elif isinstance(event, FilesClassified):
            self._show_results(event.results)
        elif isinstance(event, Progress):
            self.progress.setMaximum(event.total)
            self.progress.setValue(event.done)

    def refresh(self) -> None:
        self.live.refresh()

    @Slot()
    def compare(self) -> None:
        if self.predictor is None:
            return
        self.compare_label.setText("Timing torch and ONNX Runtime on one image…")
        self.launch("inference-compare", single(partial(compare_with_torch, self.predictor, self.registry)),
                    self._compared)

    def _compared(self, worker: Worker) -> None:
        c = worker.result
        if c is None:
            self.compare_label.setText("The comparison failed: see the message above.")
            return
        self.compare_label.setText(f"Batch-1 latency: torch eager (CPU) {c.torch_ms:.3f} ms · ONNX Runtime "
                                   f"({c.providers[0]}) {c.onnxruntime_ms:.3f} ms · ratio {c.ratio:.2f}")
