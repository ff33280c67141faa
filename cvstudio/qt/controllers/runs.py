"""Runs from the window: starting the experiment's parts (or its study), their live events, cancelling,
reopening a saved run, and the report of the runs on screen."""

from __future__ import annotations

import threading
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generator

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QFileDialog

from cvstudio.core import cells
from cvstudio.core.evaluation import Evaluation
from cvstudio.core.experiment import (
    COMPARE,
    DatasetReady,
    Experiment,
    ExperimentError,
    PipelineFinished,
    PipelineStarted,
    parse_experiment,
    part_title,
    run_experiment,
)
from cvstudio.core.feature_spaces import FeatureSpaceProjected
from cvstudio.core.hardware import Timing
from cvstudio.core.hierarchy import HierarchyReady
from cvstudio.core.runs import Run, slugify
from cvstudio.core.scaling import ScalingPoint
from cvstudio.core.tasks import Cancelled, Progress, TaskState
from cvstudio.core.training import ActivationSnapshot, BatchEnd, EpochEnd
from cvstudio.qt.study_views import study_view_class
from cvstudio.qt.workers import Job, Worker, gated, single

if TYPE_CHECKING:
    from cvstudio.qt.main_window import MainWindow

CLUSTER_CHECK = "cluster-check"  # the job that checks a Ray cluster before a study starts there
RUN_SLOTS = ("classical", "deep", "study", CLUSTER_CHECK)
StartOn = Callable[[Experiment, cells.Executor, str], None]  # starts a run on the checked cluster's executor
STUDY_POINTS = (ScalingPoint, Timing, FeatureSpaceProjected, HierarchyReady, PipelineFinished)  # a study's results


class RunController(QObject):
    """The runs of the last Run (one per part, or the study's), and the runs on screen."""

    run_started = Signal(list)  # the runs
    epoch_finished = Signal(str, dict)  # pipeline label, the epoch's metrics
    run_finished = Signal(str, list)  # "completed", "cancelled" or "failed"; the runs
    study_point = Signal(str, object)  # study kind, the result event

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.runs: dict[str, Run] = {}
        self.outcomes: dict[str, str] = {}  # each part's outcome, by slot, as the parts end
        self.status_message = ""  # what the status bar says when the parts of a run have all ended
        self.shown_runs: list[Run] = []
        self.network_started = threading.Event()  # set at the network's first batch: the classical part begins  # what File → Export report… writes: the last run, or the one reopened

    @property
    def running(self) -> bool:
        return self.window.jobs.busy(RUN_SLOTS)

    @Slot()
    def run(self) -> None:
        """Classical and deep pipelines as two runs side by side: the network starts at once, the classical part
        at the network's first batch."""
        window = self.window
        if self.running:
            return
        try:
            experiment = parse_experiment(window.experiment_state(), window.registry)
        except ExperimentError as exc:
            window.banner.show_error(f"Cannot run: {exc}")
            return
        window.banner.hide()
        self.status_message = "Run finished; saved in the Runs view."
        window.experiment.save()
        window.training.reset(experiment.deep[0].training.epochs if experiment.deep else 0)
        window.results.clear()
        window.activations.reset()
        window.experiment.network_maps = None  # the network shown from now on is this run's
        if experiment.study.name != COMPARE:
            self._run_study(experiment)
            return
        address = window.experiment.cluster_for(experiment)
        if address is not None:
            self._show_live_view(window.training)
            self._check_cluster(experiment, address, self._start_comparison_there)
            return
        parts = {
            "classical": replace(experiment, title=part_title(experiment.title, "classical"), deep=()),
            "deep": replace(experiment, title=part_title(experiment.title, "deep"), classical=()),
        }
        self.runs, self.outcomes = {}, {}
        self.network_started = threading.Event()
        shown = window.experiment.dataset if window.experiment.dataset_ref == experiment.dataset.to_dict() else None
        for slot, part in parts.items():
            if part.classical or part.deep:
                self.runs[slot] = window.store.create(part.title)
                job: Job = partial(run_experiment, part, window.registry, self.runs[slot], dataset=shown)
                if slot == "classical" and experiment.deep:
                    # The network's live curve first: on two cores, features extracted beside it would hold the
                    # interpreter and the CPU while it builds its model, and its first batch came 15 s later.
                    job = gated(self.network_started, job)
                    window.training.classical.set(0, "starts after the network's first batch")
                window.jobs.launch(slot, job, self._run_done)
        self.focus(window.experiment.chosen)
        self.show_runs(list(self.runs.values()))
        self._show_live_view(window.training)
        window.statusBar().showMessage(window.experiment.running_message(experiment))
        self.run_started.emit(list(self.runs.values()))

    def _run_study(self, experiment: Experiment) -> None:
        """A study is one run, one job: its events go to its view (and the usual views, if it shares them).

        On a Ray cluster the cluster is checked first, in a worker (importing Ray and reaching an address
        that does not answer take seconds): the study starts once it answers, and nothing runs if not.
        """
        window = self.window
        address = window.experiment.cluster_for(experiment)
        if address is None:
            self._start_study(experiment, None)
            return
        window.set_study_view(experiment.study.name)
        if window.study_view is not None:
            self._show_live_view(window.study_view)
        self._check_cluster(experiment, address, self._start_study)

    def _check_cluster(self, experiment: Experiment, address: str, start: StartOn) -> None:
        """Check the cluster in a worker, then ``start(experiment, executor, address)``; nothing runs if it
        does not answer."""
        window = self.window
        self.runs, self.outcomes = {}, {}
        message = (f"Checking the Ray cluster at {address}…" if address != "local"
                   else "Loading Ray to start it on this computer…")
        window.jobs.launch(CLUSTER_CHECK, cluster_executor(address),
                           partial(self._cluster_checked, experiment, address, start))
        if window.study_view is not None and experiment.study.name != COMPARE:
            window.study_view.say(message)
        window.statusBar().showMessage(message)

    def _cluster_checked(self, experiment: Experiment, address: str, start: StartOn, worker: Worker) -> None:
        window = self.window
        if worker.cancelled:
            self._stopped("cancelled before it started: nothing ran")
            window.statusBar().showMessage("Run cancelled before it started.", 10000)
        elif worker.error is not None:
            window.banner.show_error(f"Cannot run on the Ray cluster '{address}': {worker.error}")
            self._stopped("not run: see the message above")
            window.statusBar().clearMessage()
        else:
            start(experiment, worker.result, address)

    def _start_comparison_there(self, experiment: Experiment, executor: cells.Executor, address: str) -> None:
        """A head-to-head on a cluster: one run, as ``cvstudio run --cluster`` makes, each pipeline a cell.

        Its networks send their epochs back, not their batches: the Training view draws epoch by epoch.
        """
        window = self.window
        self.runs, self.outcomes = {"deep": window.store.create(experiment.title)}, {}
        window.jobs.launch("deep", partial(run_experiment, experiment, window.registry, self.runs["deep"],
                                           executor=executor), self._run_done)
        for side in (window.training.classical, window.training.deep):
            side.set(0, f"sent to the Ray cluster '{address}'")
        self.show_runs(list(self.runs.values()))
        window.statusBar().showMessage(window.experiment.running_message(experiment, address))
        self.run_started.emit(list(self.runs.values()))

    def _start_study(self, experiment: Experiment, executor: cells.Executor | None, address: str | None = None) -> None:
        window = self.window
        window.set_study_view(experiment.study.name)
        if window.study_view is not None:
            window.study_view.reset(experiment)
        self.runs, self.outcomes = {"study": window.store.create(experiment.title)}, {}
        window.jobs.launch("study", partial(run_experiment, experiment, window.registry, self.runs["study"],
                                            executor=executor), self._run_done)
        self.focus(window.experiment.chosen)
        self.show_runs(list(self.runs.values()))
        self._show_live_view(window.study_view or window.training)
        window.statusBar().showMessage(window.experiment.running_message(experiment, address))
        self.run_started.emit(list(self.runs.values()))

    def focus(self, index: int | None) -> None:
        """Ask the running parts to snapshot the network's maps of dataset image ``index`` from now on."""
        for slot in RUN_SLOTS:
            worker = self.window.jobs.workers.get(slot)
            if worker is not None:
                worker.state.focus = index

    def _show_live_view(self, view: Any) -> None:
        """Show ``view`` unless a view that draws the run live is shown already: whoever watches it keeps it."""
        window = self.window
        study = window.study_view
        live = [window.training, window.activations] if study is None or study.SHARES_EVENTS else []
        if window.tabs.currentWidget() not in [*live, study]:
            window.tabs.setCurrentWidget(view)

    @Slot()
    def cancel(self) -> None:
        """Ask every part of the run to stop; each part ends, saved as cancelled, at its next check."""
        if not self.running:
            return  # nothing to stop: what the views say of the last run stays
        self.window.jobs.cancel(RUN_SLOTS)
        self._stopped("cancelling…")

    def _stopped(self, message: str) -> None:
        self.window.training.stopped(message)
        if self.window.study_view is not None:
            self.window.study_view.stopped(message)

    def _run_done(self, worker: Worker) -> None:
        self.network_started.set()  # a network that ended, however, lets the classical part begin
        self.outcomes[worker.name] = "completed"
        if worker.cancelled:
            self._stopped("cancelled — the run so far is saved")
            self.status_message = "Run cancelled; what it did is saved in the Runs view."
            self.outcomes[worker.name] = "cancelled"
        elif worker.error is not None:
            self._stopped(f"failed: {worker.error}")
            self.status_message = "Run failed (see the message above); what it did is saved in the Runs view."
            self.outcomes[worker.name] = "failed"
        if not self.running:
            self.window.runs_panel.refresh()
            self.window.statusBar().showMessage(self.status_message, 10000)
            status = next((o for o in ("failed", "cancelled") if o in self.outcomes.values()), "completed")
            self.run_finished.emit(status, list(self.runs.values()))

    def on_event(self, slot: str, event: Any) -> None:
        """One event of a run's job (or of a job that shares the run's views): to the views that show it."""
        window = self.window
        if slot == "study" and isinstance(event, STUDY_POINTS):
            self.study_point.emit(window.study.get("kind", ""), event)
        if slot == "study" and window.study_view is not None:
            window.study_view.on_event(event)
            if not window.study_view.SHARES_EVENTS:
                return
        if isinstance(event, BatchEnd):
            self.network_started.set()
            window.training.on_batch(event)
        elif isinstance(event, Progress):
            window.training.on_progress(event)
        elif isinstance(event, ActivationSnapshot):
            window.activations.on_snapshot(event)
            window.features.on_snapshot(event)
        elif isinstance(event, (EpochEnd, cells.CellEpoch)):
            epoch = event.epoch if isinstance(event, cells.CellEpoch) else event  # a network's, on a cluster
            window.training.on_epoch(epoch)
            if slot == "deep" and isinstance(event, cells.CellEpoch):  # no batches come back: epochs are the progress
                window.training.deep.set(epoch.epoch / epoch.epochs,
                                         f"epoch {epoch.epoch}/{epoch.epochs} ended on the cluster")
            self.epoch_finished.emit(epoch.pipeline, asdict(epoch))
        elif isinstance(event, DatasetReady):
            window.results.set_dataset(event.dataset)
            window.activations.set_dataset(event.dataset)
        elif isinstance(event, PipelineStarted):
            window.training.pipeline_started(event.pipeline, event.kind)
        elif isinstance(event, PipelineFinished):
            self._pipeline_finished(self.runs[slot], event)

    def _pipeline_finished(self, run: Run, event: PipelineFinished) -> None:
        window = self.window
        window.training.pipeline_finished(event.pipeline, event.kind, event.summary)
        if event.kind == "deep" and "checkpoint" in event.summary:
            window.experiment.network_trained(run.path / event.summary["checkpoint"], event.pipeline)
        evaluation = Evaluation.from_dict(run.read(event.summary["evaluation"])["test"])
        window.results.add_evaluation(event.pipeline, event.kind, evaluation)

    @Slot(object)
    def open_run(self, run: Run) -> None:
        """Show a saved run's curves and results again."""
        window = self.window
        try:
            summary = run.summary()
            evaluations = {
                label: (record["kind"], Evaluation.from_dict(run.read(record["evaluation"])["test"]))
                for label, record in summary.get("pipelines", {}).items()
            }
            config = run.read("config.json")
            dataset_ref = config["dataset"]
            kind = config.get("study", {}).get("kind", COMPARE)
            if study_view_class(kind) is not None:
                window.set_study_view(kind)
                window.study_view.load_run(run)
        except (OSError, ValueError, KeyError) as exc:
            window.banner.show_error(f"Cannot open run {run.id}: {exc}")
            return
        records = run.metrics()
        window.training.load_history(records)
        window.results.clear()
        for label, (pipeline_kind, evaluation) in evaluations.items():
            window.results.add_evaluation(label, pipeline_kind, evaluation)
        if dataset_ref == window.experiment.dataset_ref:
            window.results.set_dataset(window.experiment.dataset)
        else:
            window.results.set_dataset(None)
            spec = window.registry.get("datasets", dataset_ref["name"])
            window.jobs.launch("run-dataset", single(partial(spec.create, **dataset_ref["params"])),
                               lambda w: window.results.set_dataset(w.result))
        has_epochs = any(r.get("kind") == "epoch" for r in records)
        window.tabs.setCurrentWidget(window.study_view if study_view_class(kind) else
                                     window.training if has_epochs else window.results)
        self.show_runs([run])
        window.statusBar().showMessage(f"Showing run {run.id}", 10000)

    def show_runs(self, runs: list[Run]) -> None:
        self.shown_runs = runs
        self.window.report_action.setEnabled(bool(runs))

    def export_report(self, path: Path | None = None) -> Path | None:
        """Save the runs on screen (the last run, or the one reopened) as one self-contained HTML file."""
        if not self.shown_runs:
            return None
        title = self.window.experiment.title if len(self.shown_runs) > 1 else None
        return self.write_report(self.shown_runs, title, path)

    def write_report(self, runs: list[Run], title: str | None, path: Path | None) -> Path | None:
        """Write ``runs`` as one HTML report to ``path`` (asked for when None); the path, or None with a message."""
        from cvstudio.core.report import ReportError, write_report

        window = self.window
        if path is None:
            suggested = Path.home() / f"{slugify(title or window.experiment.title)}-report.html"
            chosen, _ = QFileDialog.getSaveFileName(window, "Export report", str(suggested), "HTML files (*.html)")
            if not chosen:
                return None
            path = Path(chosen)
        try:
            write_report(runs, path, title)
        except (ReportError, OSError) as exc:
            window.banner.show_error(f"Cannot write the report: {exc}")
            return None
        window.statusBar().showMessage(f"Report saved to {path}", 10000)
        return path


def cluster_executor(address: str) -> Job:
    """A job whose result runs a study's cells on the Ray cluster at ``address``: it imports Ray and checks
    that the address answers, which take seconds, so it runs in a worker, never on the GUI thread."""

    def job(state: TaskState) -> Generator[Any, None, Any]:
        yield from ()
        executor = cells.ray_executor(address)  # raises, saying what to fix, where the cluster cannot be used
        if state.cancelled:
            raise Cancelled("cancelled")
        return executor

    return job
