"""Experiment files (TOML): which dataset, which classical and deep pipelines, and how to run them.

An experiment is parsed and validated against the plugin registry *before*
anything runs, so a typo in a plugin or parameter name fails in a second
with a message naming the file, the section and the fix.
"""

from __future__ import annotations

import importlib
import sys
import time
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Generator, Mapping

from cvstudio.core.classical import ClassicalResult
from cvstudio.core.data import ImageDataset, Split, describe_skipped, stratified_split
from cvstudio.core.features import CombinedFeatures, FeatureExtractor
from cvstudio.core.runs import Run
from cvstudio.core.tasks import Cancelled, Progress, TaskState
from cvstudio.core.training import TRAINING_PARAMS, BatchEnd, DeepResult, EpochEnd, TrainConfig, train_model
from cvstudio.plugins import Registry, UnknownComponentError
from cvstudio.specs import Param, SpecError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_LESSON = "why-deep-learning"
# Every pipeline's curves are measured on the validation part and its result on the test part,
# so neither may be empty; the window's split form is built from these too.
SPLIT_PARAMS = (
    Param("val", "float", 0.15, minimum=0.01, maximum=0.9,
          help="Fraction of each class kept for validation: the curves are measured on it."),
    Param("test", "float", 0.15, minimum=0.01, maximum=0.9,
          help="Fraction of each class kept for the final test, never seen while training."),
    Param("seed", "int", 0, minimum=0, help="Same seed, same split."),
)
SPLIT_DEFAULTS = {p.name: p.default for p in SPLIT_PARAMS}
COMPARE = "compare"
DEFAULT_TITLE = "Untitled experiment"
REFERENCE = "docs/experiments.md"  # named in messages about the file's form
# What an experiment can measure besides the default head-to-head comparison: the
# ``[study]`` table's ``kind`` → the module that parses its options and runs it.
# Each module has ``TITLE``, ``parse_options(table) -> dict`` (raising ExperimentError)
# and ``run(experiment, registry, run, state)``, a generator that returns the summary;
# ``NEEDS_PIPELINES = False`` lets an experiment of that kind have no pipelines.
# They are imported only when used, so reading an experiment file stays light.
STUDY_MODULES: dict[str, str] = {
    "scaling": "cvstudio.core.scaling",
    "architectures": "cvstudio.core.architectures",
    "hardware": "cvstudio.core.hardware",
    "features": "cvstudio.core.feature_spaces",
    "hierarchy": "cvstudio.core.hierarchy",
}


class ExperimentError(ValueError):
    """An experiment file is invalid; the message names where and how to fix it."""


@dataclass(frozen=True)
class ComponentRef:
    """A plugin component by name, with its validated parameters (defaults filled in)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "params": dict(self.params)}


@dataclass(frozen=True)
class ClassicalConfig:
    label: str
    features: tuple[ComponentRef, ...]
    classifier: ComponentRef


@dataclass(frozen=True)
class DeepConfig:
    label: str
    model: ComponentRef
    training: TrainConfig


@dataclass(frozen=True)
class Experiment:
    title: str
    description: str
    dataset: ComponentRef
    split: dict[str, Any]
    classical: tuple[ClassicalConfig, ...] = ()
    deep: tuple[DeepConfig, ...] = ()
    study: ComponentRef = ComponentRef(COMPARE)

    def to_dict(self) -> dict[str, Any]:
        """The fully resolved configuration, as written into a run (and accepted back by parse_experiment)."""
        return {
            "title": self.title,
            "description": self.description,
            "study": {"kind": self.study.name, **self.study.params},
            "dataset": self.dataset.to_dict(),
            "split": dict(self.split),
            "classical": [
                {"label": c.label, "features": [f.to_dict() for f in c.features], "classifier": c.classifier.to_dict()}
                for c in self.classical
            ],
            "deep": [
                {"label": d.label, "model": d.model.to_dict(),
                 **{p.name: getattr(d.training, p.name) for p in TRAINING_PARAMS}}
                for d in self.deep
            ],
        }

    def with_training(self, **changes: Any) -> Experiment:
        """A copy whose deep pipelines all use these training settings (e.g. fewer epochs)."""
        return replace(self, deep=tuple(replace(d, training=replace(d.training, **changes)) for d in self.deep))


def bundled_lesson(name: str = DEFAULT_LESSON) -> Path:
    """Path of a lesson file shipped with cvstudio."""
    path = resources.files("cvstudio.resources") / "lessons" / f"{name}.toml"
    return Path(str(path))


def part_title(title: str, part: str) -> str:
    """The title of the run holding the ``part`` ("classical" or "deep") of a comparison.

    The window runs the two parts side by side, one run each; reports find
    them again by these titles.
    """
    return f"{title} — {part}"


def read_toml(path: Path, what: str = "experiment") -> dict[str, Any]:
    """The TOML table in ``path``; an unreadable or invalid file raises ExperimentError naming it."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a byte-order mark (some Windows editors) is dropped
    except UnicodeDecodeError:
        raise ExperimentError(f"{path}: not a text file (it is not UTF-8); give a TOML {what} file") from None
    except FileNotFoundError:
        raise ExperimentError(f"{path}: no such {what} file") from None
    except OSError as exc:
        raise ExperimentError(f"{path}: cannot read it ({exc.strerror})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ExperimentError(f"{path}: not valid TOML: {exc}") from None


def load_experiment(path: Path, registry: Registry) -> Experiment:
    path = Path(path)
    data = read_toml(path)
    try:
        return parse_experiment(data, registry)
    except ExperimentError as exc:
        raise ExperimentError(f"{path}: {exc}") from None


def study_module(kind: str) -> Any:
    """The module that runs a ``[study]`` of this kind."""
    if kind not in STUDY_MODULES:
        known = ", ".join(sorted([COMPARE, *STUDY_MODULES]))
        raise ExperimentError(f"[study] kind {kind!r} is unknown; use one of {known}")
    return importlib.import_module(STUDY_MODULES[kind])


def _study(value: Any) -> ComponentRef:
    table = dict(_table(value, "[study]"))
    kind = table.pop("kind", COMPARE)
    if kind == COMPARE:
        check_keys(table, set(), "[study] of kind 'compare'")
        return ComponentRef(COMPARE)
    return ComponentRef(str(kind), study_module(str(kind)).parse_options(table))


def parse_experiment(data: Mapping[str, Any], registry: Registry) -> Experiment:
    check_keys(data, {"title", "description", "study", "dataset", "split", "classical", "deep"}, "the file")
    if "dataset" not in data:
        raise ExperimentError("missing [dataset] section; add e.g. [dataset] name = \"shapes\"")
    split = _split(data.get("split", {}))
    classical = tuple(_classical(entry, i, registry) for i, entry in enumerate(_array(data, "classical"), 1))
    deep = tuple(_deep(entry, i, registry) for i, entry in enumerate(_array(data, "deep"), 1))
    study = _study(data.get("study", {}))
    if not classical and not deep and (study.name == COMPARE or study_module(study.name).NEEDS_PIPELINES):
        raise ExperimentError("nothing to run: add a [[classical]] or a [[deep]] pipeline")
    labels = [p.label for p in (*classical, *deep)]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ExperimentError(f"pipeline label {duplicates[0]!r} is used twice; give each pipeline its own 'label'")
    return Experiment(
        title=str(data.get("title", DEFAULT_TITLE)),
        description=str(data.get("description", "")),
        dataset=_component(data["dataset"], "datasets", "[dataset]", registry),
        split=split,
        classical=classical,
        deep=deep,
        study=study,
    )


def _split(value: Any) -> dict[str, Any]:
    """The ``[split]`` table, checked now rather than when the data are split."""
    split = typed_options(_table(value, "[split]"), SPLIT_PARAMS, "[split]")
    if split["val"] + split["test"] >= 1:
        raise ExperimentError(f"[split] val + test = {split['val'] + split['test']:g} leaves no images to train on; "
                              "keep their sum below 1 (e.g. val = 0.15, test = 0.15)")
    return split


def _classical(entry: Any, number: int, registry: Registry) -> ClassicalConfig:
    where = f"[[classical]] #{number}"
    entry = _table(entry, where)
    check_keys(entry, {"label", "features", "classifier"}, where,
               "a component's parameters go with its name: features = [{ name = \"hog\", params = { ... } }], "
               "classifier = { name = \"knn\", params = { ... } }")
    features = entry.get("features")
    if isinstance(features, (str, dict)):
        features = [features]
    if not features or "classifier" not in entry:
        raise ExperimentError(f"{where} needs 'features' (a list of extractor names) and a 'classifier'")
    refs = tuple(_component(f, "feature_extractors", where, registry) for f in features)
    classifier = _component(entry["classifier"], "classifiers", where, registry)
    label = entry.get("label") or f"{' + '.join(r.name for r in refs)} → {classifier.name}"
    return ClassicalConfig(str(label), refs, classifier)


def _deep(entry: Any, number: int, registry: Registry) -> DeepConfig:
    where = f"[[deep]] #{number}"
    entry = dict(_table(entry, where))
    if "model" not in entry:
        raise ExperimentError(f"{where} needs a 'model', e.g. model = \"lenet5\"")
    label = entry.pop("label", None)
    model = _component(entry.pop("model"), "models", where, registry)
    model_params = {p.name for p in registry.get("models", model.name).params}
    misplaced = sorted(key for key in entry if key == "params" or key in model_params)
    if misplaced:
        what = "'params'" if misplaced == ["params"] else f"'{misplaced[0]}' is a parameter of model '{model.name}':"
        example = ", ".join(f"{key} = ..." for key in misplaced if key != "params") or "..."
        raise ExperimentError(f"{where}: {what} a model's parameters go with its name: "
                              f"model = {{ name = \"{model.name}\", params = {{ {example} }} }} (see {REFERENCE})")
    try:
        training = TrainConfig.from_params(entry)
    except SpecError as exc:
        raise ExperimentError(f"{where}: {exc}; a [[deep]] table holds 'model', 'label' and training settings "
                              f"(see {REFERENCE})") from None
    return DeepConfig(str(label or model.name), model, training)


def _component(value: Any, kind: str, where: str, registry: Registry) -> ComponentRef:
    """``"name"`` or ``{name = "...", params = {...}}`` → a validated reference."""
    if isinstance(value, str):
        name, params = value, {}
    elif isinstance(value, Mapping):
        extra = sorted(set(value) - {"name", "params"})
        check_keys(value, {"name", "params"}, where,
                   f"parameters go in the params table: {{ name = \"{value.get('name', '...')}\", "
                   f"params = {{ {extra[0] if extra else '...'} = ... }} }}")
        name, params = value.get("name"), _table(value.get("params", {}), f"{where} params")
    else:
        name, params = None, {}
    if not isinstance(name, str):
        raise ExperimentError(f"{where}: expected a name or {{name = ..., params = {{...}}}}, got {value!r}")
    try:
        spec = registry.get(kind, name)
        return ComponentRef(name, spec.resolve(params))
    except (UnknownComponentError, SpecError) as exc:
        raise ExperimentError(f"{where}: {exc.args[0]}") from None


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ExperimentError(f"{where} must be a table, got {value!r}")
    return value


def _array(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ExperimentError(f"'{key}' must be an array of tables: write [[{key}]]")
    return value


def study_options(table: Mapping[str, Any], options: tuple[Param, ...], kind: str,
                  extra: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A study's typed options, defaults filled in; ``extra`` keys are the study's own to check."""
    check_keys(table, {p.name for p in options} | extra, f"[study] of kind '{kind}'")
    return typed_options({k: v for k, v in table.items() if k not in extra}, options, "[study]")


def typed_options(table: Mapping[str, Any], options: tuple[Param, ...], where: str) -> dict[str, Any]:
    """``table``'s values checked against ``options`` (unknown keys refused), defaults filled in."""
    check_keys(table, {p.name for p in options}, where)
    try:
        return {p.name: p.validate(table.get(p.name, p.default)) for p in options}
    except SpecError as exc:
        raise ExperimentError(f"{where} {exc}") from None


def check_keys(table: Mapping[str, Any], allowed: set[str], where: str, hint: str = "") -> None:
    """Refuse a misspelled key at once, naming the keys that would be understood there (and ``hint``, the right form)."""
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ExperimentError(f"unknown key '{unknown[0]}' in {where} (allowed: {', '.join(sorted(allowed))})"
                              + (f"; {hint} (see {REFERENCE})" if hint else ""))


@dataclass(frozen=True)
class DatasetReady:
    dataset: ImageDataset
    sizes: dict[str, int]


@dataclass(frozen=True)
class PipelineStarted:
    pipeline: str
    kind: str


@dataclass(frozen=True)
class PipelineFailed:
    """A pipeline raised; the run goes on with the others and is marked failed at the end."""

    pipeline: str
    kind: str
    error: str
    traceback: str = ""


class PipelinesFailed(RuntimeError):
    """Some pipelines of a run failed (the others completed); ``summary`` holds both."""

    def __init__(self, summary: dict[str, Any]) -> None:
        self.summary = summary
        failed = summary["failed"]
        done = len(summary.get("pipelines", {}))
        details = "; ".join(f"'{label}': {record['error']}" for label, record in failed.items())
        super().__init__(f"{len(failed)} of {len(failed) + done} pipeline(s) failed ({details})")


@dataclass(frozen=True)
class PipelineFinished:
    pipeline: str
    kind: str
    summary: dict[str, Any]


def load_dataset(experiment: Experiment, registry: Registry) -> ImageDataset:
    spec = registry.get("datasets", experiment.dataset.name)
    return spec.create(**experiment.dataset.params)


def split_dataset(experiment: Experiment, dataset: ImageDataset) -> Split:
    return stratified_split(dataset.labels, experiment.split["val"], experiment.split["test"], experiment.split["seed"])


def run_experiment(
    experiment: Experiment, registry: Registry, run: Run, state: TaskState, dataset: ImageDataset | None = None,
    executor: Any = None,
) -> Generator[Any, None, dict[str, Any]]:
    """Run ``experiment`` into ``run``, yielding engine events; returns the summary.

    The default study runs every pipeline once, head to head
    (:func:`cvstudio.core.pipeline_cells.head_to_head`); other studies
    (``[study] kind = ...``) are run by their own module. ``dataset`` is the
    experiment's dataset where the caller holds it already (the window loaded
    it to show it): a head-to-head run then starts without building it again.
    ``executor`` (see :mod:`cvstudio.core.cells`) runs a study's independent cells
    elsewhere, on a cluster; without one everything runs here.
    """
    if executor is not None:
        check_runs_cells(experiment)
    run.write("config.json", experiment.to_dict())
    if experiment.study.name != COMPARE:
        extra = {} if executor is None else {"executor": executor}
        return (yield from study_module(experiment.study.name).run(experiment, registry, run, state, **extra))
    from cvstudio.core.pipeline_cells import head_to_head  # it builds on this module

    return (yield from head_to_head(experiment, registry, run, state, executor, dataset))


def cells_studies() -> list[str]:
    """The study kinds whose cells can run on a cluster."""
    return [COMPARE, *(kind for kind in STUDY_MODULES if getattr(study_module(kind), "RUNS_CELLS", False))]


def check_runs_cells(experiment: Experiment) -> None:
    """Refuse, before anything runs, to send a study that runs only here to a cluster."""
    kind = experiment.study.name
    if kind not in cells_studies():
        raise ExperimentError(f"a study of kind '{kind}' runs on this computer only; on a cluster run a study of "
                              f"kind {', '.join(repr(k) for k in cells_studies())} (see docs/cluster.md), "
                              "or run this one without a cluster")


def describe_dataset(experiment: Experiment, dataset: ImageDataset, split: Split) -> dict[str, Any]:
    """The dataset part of a run's summary."""
    return {
        **experiment.dataset.to_dict(),
        "images": len(dataset),
        "classes": list(dataset.class_names),
        "image_size": list(dataset.image_size),
        "channels": dataset.channels,
        "split": split.sizes(),
        "skipped": [vars(s) for s in dataset.skipped],
    }


def dataset_ready(experiment: Experiment, dataset: ImageDataset, split: Split, run: Run,
                  summary: dict[str, Any]) -> DatasetReady:
    """Record the loaded dataset in the run's summary and log (the files it skipped, and why, included);
    the event that tells the views."""
    summary["dataset"] = describe_dataset(experiment, dataset, split)
    run.log(f"dataset {dataset.name}: {len(dataset)} images, split {split.sizes()}")
    if dataset.skipped:
        run.log(describe_skipped(dataset.skipped))
    return DatasetReady(dataset, split.sizes())


def build_extractor(pipeline: ClassicalConfig, registry: Registry) -> FeatureExtractor:
    """A [[classical]] pipeline's feature extractors, combined into one when there are several."""
    extractors = [registry.get("feature_extractors", f.name).create(**f.params) for f in pipeline.features]
    return extractors[0] if len(extractors) == 1 else CombinedFeatures(extractors)


def build_classifier(ref: ComponentRef, registry: Registry) -> Any:
    return registry.get("classifiers", ref.name).create(**ref.params)


def train_deep(
    pipeline: DeepConfig, registry: Registry, dataset: ImageDataset, split: Split, run: Run, state: TaskState
) -> Generator[Any, None, DeepResult]:
    """Train one [[deep]] pipeline, its epochs recorded in ``run`` and its checkpoint saved there."""
    spec = registry.get("models", pipeline.model.name)
    events = train_model(spec, pipeline.model.params, dataset, split, pipeline.training, state,
                         pipeline.label, run.checkpoint_path(pipeline.label))
    return (yield from _recording_epochs(events, run))


def deep_record(result: DeepResult, run: Run) -> dict[str, Any]:
    """What a run's summary says about a trained network besides its accuracy."""
    return {
        "parameters": result.parameters,
        "device": result.device,
        "seconds": round(result.train_seconds, 3),
        "images_per_s": round(result.images_per_s, 1),
        "checkpoint": str(run.checkpoint_path(result.pipeline).relative_to(run.path)),
        **({"distributed": result.distributed} if result.distributed else {}),
    }


def _recording_epochs(events: Generator[Any, None, DeepResult], run: Run) -> Generator[Any, None, DeepResult]:
    """Pass training events through, appending each epoch's metrics to the run as it ends."""
    while True:
        try:
            event = next(events)
        except StopIteration as stop:
            return stop.value
        if isinstance(event, EpochEnd):
            record_epoch(run, event)
        yield event


def record_epoch(run: Run, epoch: EpochEnd) -> None:
    """Append a network's epoch to the run's metrics: its curves, as the Training view and reports draw them."""
    run.append_metrics({"kind": "epoch", **vars(epoch), "time": time.time()})


def finish_pipeline(run: Run, summary: dict[str, Any], result: ClassicalResult | DeepResult, kind: str,
                    extra: dict[str, Any]) -> PipelineFinished:
    """Save a finished pipeline's evaluation, metrics and summary line in the run; the event to yield."""
    record = {
        "kind": kind,
        "val_accuracy": round(result.val.accuracy, 4),
        "test_accuracy": round(result.test.accuracy, 4),
        **extra,
        "evaluation": f"evaluations/{run.file_stem(result.pipeline)}.json",
    }
    run.write(record["evaluation"], {"val": result.val.to_dict(), "test": result.test.to_dict()})
    run.append_metrics({**record, "kind": "final", "pipeline_kind": kind, "pipeline": result.pipeline, "time": time.time()})
    run.log(f"{kind} pipeline '{result.pipeline}': test accuracy {result.test.accuracy:.3f}")
    summary["pipelines"][result.pipeline] = record
    run.write("summary.json", summary)
    return PipelineFinished(result.pipeline, kind, record)


def close_run(run: Run, summary: dict[str, Any], status: str, error: str | None = None) -> None:
    """Write the run's last summary, its final status and a log line.

    Each write is tried even when one before it failed (a full disk may
    still take the small status file); the first failure is raised after.
    """
    summary["status"] = status
    if error:
        summary["error"] = error
    failures = []
    for write in (lambda: run.write("summary.json", summary), lambda: run.set_status(status, error),
                  lambda: run.log(f"{status}" + (f": {error}" if error else ""))):
        try:
            write()
        except OSError as exc:
            failures.append(exc)
    if failures:
        raise failures[0]


def open_summary(experiment: Experiment, run: Run, **fields: Any) -> dict[str, Any]:
    """A run's summary as every study starts it (title, run id, study kind, then ``fields``); the start is logged."""
    run.log(f"started '{experiment.title}' ({experiment.study.name})")
    return {"title": experiment.title, "run": run.id, "study": experiment.study.name, **fields}


def with_outcome(
    run: Run, summary: dict[str, Any], events: Generator[Any, None, Any]
) -> Generator[Any, None, dict[str, Any]]:
    """Pass a study's events through, then close ``run`` as completed, cancelled or failed.

    ``summary`` is the study's summary, filled in as it goes: whatever is in it
    when the study stops is what the run keeps.
    """
    under_way = "starting"
    try:
        for event in events:
            run.beat()
            under_way = _what_is_under_way(event, under_way)
            yield event
    except (Cancelled, KeyboardInterrupt) as exc:
        summary["stopped"] = f"{str(exc) or 'interrupted'} during {under_way}"  # what the cancel stopped
        _close_after(exc, run, summary, "cancelled")
        raise
    except Exception as exc:
        _close_after(exc, run, summary, "failed", f"{type(exc).__name__}: {exc}")
        raise
    except SystemExit as exc:  # plugin code calling sys.exit() must not end the program, its run left running
        error = f"plugin code called sys.exit({exc.code!r}) during the run; it should raise an exception instead"
        _close_after(exc, run, summary, "failed", error)
        raise RuntimeError(error) from exc
    close_run(run, summary, "completed")
    return summary


def _what_is_under_way(event: Any, before: str) -> str:
    """What a run is doing after ``event``, in words, for a cancelled run's summary."""
    if isinstance(event, Progress):
        return f"{event.stage} of '{event.pipeline}'"
    if isinstance(event, BatchEnd):
        return f"epoch {event.epoch} of '{event.pipeline}'"
    if isinstance(event, PipelineStarted):
        return f"'{event.pipeline}'"
    return before


def _close_after(stopped: BaseException, run: Run, summary: dict[str, Any], status: str,
                 error: str | None = None) -> None:
    """Close a run that ``stopped``; if that cannot be written, say so on ``stopped``, which goes on up."""
    try:
        close_run(run, summary, status, error)
    except OSError as exc:
        if hasattr(stopped, "add_note"):  # Python 3.11+
            stopped.add_note(f"the run could not be marked {status}: {exc}")
