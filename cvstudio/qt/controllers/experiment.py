"""The experiment in the window: which file it came from, what the forms say, and its dataset.

Opening a file fills the forms; the dataset is then loaded in a worker, and a
clicked image is explained by every feature extractor in another. Where a
study's cells run (this computer, or a Ray cluster) is remembered here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal, Slot

from cvstudio.core.checkpoints import CheckpointMaps
from cvstudio.core.data import ImageDataset, stratified_split
from cvstudio.core.experiment import COMPARE, Experiment, ExperimentError, check_runs_cells, load_experiment, parse_experiment
from cvstudio.core.lessons import is_lesson_file, load_lesson
from cvstudio.qt.panels.features import ExtractorCache, explain_job, network_maps_job
from cvstudio.qt.settings import read_json, write_json
from cvstudio.qt.workers import Worker, single

if TYPE_CHECKING:
    from cvstudio.qt.main_window import MainWindow


RUN_ON = "run_on"  # the settings key: {"cluster": address or null, "last": the last address given}


class ExperimentController(QObject):
    """The experiment's file, title and study; the forms' state; the loaded dataset; where studies run."""

    dataset_loaded = Signal(object)  # the ImageDataset, once loaded and shown
    run_on_changed = Signal(object)  # the Ray cluster's address, or None: this computer

    def __init__(self, window: MainWindow, experiment_path: Path) -> None:
        super().__init__(window)
        self.window = window
        self.path = Path(experiment_path)
        self.title = "Untitled experiment"
        self.description = ""
        self.study: dict[str, Any] = {"kind": COMPARE}
        self.dataset: ImageDataset | None = None
        self.dataset_ref: dict[str, Any] | None = None
        self.extractors: ExtractorCache | None = None
        self.chosen: int | None = None  # the image chosen in the Dataset view: every view shows this one
        self.network_maps: CheckpointMaps | None = None  # the last trained network, for images chosen after

    def initial_state(self) -> dict[str, Any]:
        """The last session's experiment if it came from the same file, else the file itself."""
        window = self.window
        saved = read_json(window.settings, "experiment")
        if isinstance(saved, dict) and saved.get("source") == str(self.path):
            try:
                return parse_experiment(saved["state"], window.registry).to_dict()
            except (ExperimentError, KeyError, TypeError):
                pass  # plugins changed since: fall back to the file
        try:
            return load_experiment(self.path, window.registry).to_dict()
        except ExperimentError as exc:
            window.banner.show_error(str(exc))
            return {"dataset": {"name": next(iter(window.registry.specs("datasets")), None)}, "classical": [],
                    "deep": []}

    def set_state(self, state: dict[str, Any]) -> None:
        """Fill the forms from an experiment's state (as ``state()`` returns it), then load its dataset."""
        window = self.window
        self.title = state.get("title", self.title)
        self.description = state.get("description", "")
        window.setWindowTitle(f"cvstudio — {self.title}")
        self.study = state.get("study", {"kind": COMPARE})
        window.set_study_view(self.study["kind"])
        window.dataset_panel.set_state(state["dataset"], state.get("split", {}))
        window.pipelines.set_state(state.get("classical", []), state.get("deep", []))
        self.load_dataset()

    def state(self) -> dict[str, Any]:
        """What the forms say, as an experiment file would: parse_experiment accepts it as is."""
        window = self.window
        return {"title": self.title, "description": self.description, "study": dict(self.study),
                **window.dataset_panel.state(), **window.pipelines.state()}

    @property
    def cluster(self) -> str | None:
        """The Ray cluster a study's cells run on (``local``: a Ray runtime here); None: this computer."""
        return self._run_on().get("cluster")

    @property
    def last_cluster(self) -> str:
        """The cluster address given last, to offer again (``local`` at first)."""
        return self._run_on().get("last") or "local"

    def set_cluster(self, address: str | None) -> None:
        """Run studies on the Ray cluster at ``address`` from now on (None: on this computer); remembered."""
        address = address.strip() if address and address.strip() else None
        write_json(self.window.settings, RUN_ON, {"cluster": address, "last": address or self.last_cluster})
        self.run_on_changed.emit(address)

    def _run_on(self) -> dict[str, str | None]:
        saved = read_json(self.window.settings, RUN_ON)
        if not isinstance(saved, dict):
            return {}
        return {key: value for key, value in saved.items() if isinstance(value, str) and value.strip()}

    def cluster_for(self, experiment: Experiment) -> str | None:
        """The Ray cluster ``experiment``'s cells run on: None for this computer (also for a study that runs
        only here)."""
        return None if self.runs_here_because(experiment) else self.cluster

    def runs_here_because(self, experiment: Experiment) -> str | None:
        """Why ``experiment`` runs on this computer though a Ray cluster is chosen; None when it goes there
        or none is chosen."""
        if self.cluster is None:
            return None
        try:
            check_runs_cells(experiment)
        except ExperimentError:
            return f"a '{experiment.study.name}' study runs on this computer only (see docs/cluster.md)"
        return None

    def running_message(self, experiment: Experiment, address: str | None = None) -> str:
        """What the status bar says while ``experiment`` runs: on the cluster at ``address``, or here (and why
        here, if a cluster is chosen)."""
        if address is not None:
            return f"Running on the Ray cluster '{address}'…"
        reason = self.runs_here_because(experiment)
        if reason is None:
            return "Running…"
        return f"Running on this computer, not on the Ray cluster '{self.cluster}': {reason}."

    def save(self) -> None:
        """Remember the forms for the next session, with the file they came from."""
        write_json(self.window.settings, "experiment", {"source": str(self.path), "state": self.state()})

    def open_file(self, path: Path) -> None:
        """Open a lesson on its first step, or an experiment file (leaving any lesson)."""
        lessons = self.window.lessons
        try:
            lesson = load_lesson(path) if is_lesson_file(path) else None
        except ExperimentError as exc:
            self.window.banner.show_error(str(exc))
            return
        if lesson is None:
            if self.open_experiment(path):
                lessons.leave()
        elif self.open_experiment(lesson.steps[0].experiment):
            lessons.show_lesson(lesson, 0)

    def open_experiment(self, path: Path) -> bool:
        """Load an experiment file into the window (nothing runs); False, with a message, if it is invalid."""
        try:
            state = load_experiment(Path(path), self.window.registry).to_dict()
        except ExperimentError as exc:
            self.window.banner.show_error(str(exc))
            return False
        self.path = Path(path)
        self.set_state(state)
        return True

    # --------------------------------------------------------------- dataset

    @Slot()
    def load_dataset(self) -> None:
        """Load the dataset the Dataset view names, in a worker; ``dataset_loaded`` fires once it is shown."""
        window = self.window
        state = window.dataset_panel.state()
        ref, split = state["dataset"], state["split"]
        if ref["name"] is None:
            window.dataset_panel.info.setText("No dataset plugin is available: see the Plugins view.")
            return
        spec = window.registry.get("datasets", ref["name"])

        def load() -> tuple[Any, dict[str, int], dict[str, Any]]:
            dataset = spec.create(**ref["params"])
            sizes = stratified_split(dataset.labels, split["val"], split["test"], split["seed"]).sizes()
            return dataset, sizes, ref

        window.dataset_panel.set_loading(True)
        window.jobs.launch("dataset", single(load), self._loaded)

    def _loaded(self, worker: Worker) -> None:
        window = self.window
        window.dataset_panel.set_loading(False)
        if worker.result is None:
            window.dataset_panel.info.setText("The dataset could not be loaded: see the message above.")
            return
        self.dataset, sizes, self.dataset_ref = worker.result
        self.extractors = ExtractorCache(self.dataset)
        self.network_maps = None  # a network of the dataset shown before has no maps of these images
        window.dataset_panel.show_dataset(self.dataset, sizes)
        window.activations.set_dataset(self.dataset)
        window.dataset_panel.select(0)
        self.dataset_loaded.emit(self.dataset)

    @Slot(int)
    def explain(self, index: int) -> None:
        """Every feature extractor explains the chosen image, with the parameters a pipeline gives it."""
        window = self.window
        if self.dataset is None or self.extractors is None:
            return
        window.features.show_image(self.dataset, index)
        params: dict[str, dict[str, Any]] = {}
        for pipeline in window.pipelines.state()["classical"]:
            for feature in pipeline["features"]:
                params.setdefault(feature["name"], feature["params"])
        specs = {name: (spec, params.get(name, {}))
                 for name, spec in window.registry.specs("feature_extractors").items()}
        window.jobs.launch("explain", explain_job(self.extractors, specs, index))
        self.show_network_maps(index)

    def show_network_maps(self, index: int) -> None:
        """The CNN's maps of the chosen image: a running training snapshots it next, a finished one's
        checkpoint is asked for them."""
        window = self.window
        self.chosen = index
        if window.runner.running:
            window.runner.focus(index)
        elif self.network_maps is not None:
            window.jobs.launch("network-maps", network_maps_job(self.network_maps, index))
        else:
            window.features.no_network()

    def network_trained(self, checkpoint: Path, pipeline: str) -> None:
        """A network finished training on this window's dataset: its checkpoint answers for images chosen later."""
        if self.dataset is not None:
            self.network_maps = CheckpointMaps(checkpoint, pipeline, self.window.registry, self.dataset)
