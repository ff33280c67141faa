"""Studies on a Ray cluster: cells as tasks on two nodes, the same run folder as a local run, cancel,
a lost node, plugins shipped to workers, and the messages when something is wrong.

The two-node tests start a real Ray cluster on this computer (``ray.cluster_utils.Cluster``, one CPU
and a small object store per node): they are slow, run by `make test-slow`.
"""

import json
import socket
import textwrap

import pytest

ray = pytest.importorskip("ray")

from ray.cluster_utils import Cluster  # noqa: E402

from cvstudio.core.cells import (  # noqa: E402
    CellDone,
    CellEpoch,
    CellFailed,
    CellStarted,
    CellsFailed,
    CellsUnwatched,
    ray_executor,
)
from cvstudio.core.cluster import ClusterError, check_answers, explain_failure  # noqa: E402
from cvstudio.core.plugin_shipping import missing_plugin, ship_plugins, worker_registry  # noqa: E402
from cvstudio.core.experiment import (  # noqa: E402
    ExperimentError,
    PipelineFailed,
    PipelinesFailed,
    PipelineStarted,
    parse_experiment,
    run_experiment,
)
from cvstudio.core.runs import RunStore  # noqa: E402
from cvstudio.core.scaling import ScalingPoint  # noqa: E402
from cvstudio.core.tasks import Cancelled, TaskState, drain  # noqa: E402
from cvstudio.plugins import UnknownComponentError, load_registry  # noqa: E402

NODE = {"num_cpus": 1, "object_store_memory": 80 * 1024**2}


def scaling(min_steps=4, classical=None, **study):
    return {
        "title": "Tiny scaling",
        "study": {"kind": "scaling", "sizes": [2, 6], "seeds": 2, "min_steps": min_steps, **study},
        "dataset": {"name": "shapes", "params": {"per_class": 16, "image_size": 16, "classes": 3}},
        "split": {"val": 0.25, "test": 0.25},
        "classical": [classical or {"label": "moments", "features": ["color-moments"],
                                    "classifier": "logistic-regression"}],
        "deep": [{"label": "mlp", "model": "mlp", "epochs": 2, "batch_size": 4, "device": "cpu"}],
    }


@pytest.fixture(scope="module")
def two_nodes():
    """A head and a worker node on this computer, one CPU each; shut down, every process, at the end."""
    cluster = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
    try:
        cluster.add_node(**NODE)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()


def run_study(experiment, registry, tmp_path, executor=None, state=None, stop=None):
    """Run ``experiment``; ``stop(event, state)`` may act on each event. The run, the events, and what ended it."""
    run = RunStore(tmp_path).create(experiment.title)
    state = state or TaskState()
    events, outcome = [], None
    study = run_experiment(experiment, registry, run, state, executor=executor)
    try:
        for event in study:
            events.append(event)
            if stop is not None:
                stop(event, state)
    except Exception as exc:  # noqa: BLE001 - the test looks at it
        outcome = exc
    return run, events, outcome


def points(run):
    return {(p["pipeline"], p["per_class"], p["seed"]): p for p in run.read("summary.json")["points"]}


MEASURED = ("train_images", "val_accuracy", "test_accuracy", "steps", "train_accuracy", "kind")


@pytest.mark.slow
def test_a_study_on_two_nodes_writes_the_run_a_local_run_writes_seed_for_seed(two_nodes, cvstudio_registry, tmp_path):
    experiment = parse_experiment(scaling(), cvstudio_registry)
    local, _, error = run_study(experiment, cvstudio_registry, tmp_path / "local")
    assert error is None
    remote, events, error = run_study(experiment, cvstudio_registry, tmp_path / "cluster",
                                      ray_executor(two_nodes.address))
    assert error is None and remote.status == "completed"

    assert sorted(p.name for p in remote.path.iterdir()) == sorted(p.name for p in local.path.iterdir())
    here, there = points(local), points(remote)
    assert set(here) == set(there) and len(there) == 8
    for key, point in here.items():
        assert {k: there[key][k] for k in MEASURED} == {k: point[k] for k in MEASURED}, key
        assert "node" not in point
    nodes = {n["NodeID"] for n in ray_nodes(two_nodes)}
    assert {p["node"] for p in there.values()} == nodes  # cells landed on both nodes
    summary_here, summary_there = local.read("summary.json"), remote.read("summary.json")
    assert summary_there["curves"] == summary_here["curves"]
    assert set(summary_there) == set(summary_here)
    assert [r["kind"] for r in remote.metrics()] == ["scaling-point"] * 8
    # Per-epoch curves of the networks came back while they trained, before their points.
    epochs = [e for e in events if isinstance(e, CellEpoch)]
    assert {e.label for e in epochs} == {f"mlp, {size} per class, seed {seed}" for size in (2, 6) for seed in (0, 1)}
    first_epoch = next(i for i, e in enumerate(events) if isinstance(e, CellEpoch) and e.label == "mlp, 6 per class, seed 1")
    assert first_epoch < next(i for i, e in enumerate(events)
                              if getattr(e, "pipeline", None) == "mlp" and getattr(e, "per_class", None) == 6
                              and getattr(e, "seed", None) == 1)
    # No cell's start or epoch comes after its point (the views would take it for running again).
    for index, event in enumerate(events):
        if isinstance(event, ScalingPoint):
            label = f"{event.pipeline}, {event.per_class} per class, seed {event.seed}"
            assert not [e for e in events[index:] if isinstance(e, (CellStarted, CellEpoch)) and e.label == label]
    assert not ray.is_initialized()  # the study disconnected when it ended


def ray_nodes(cluster):
    ray.init(address=cluster.address)
    try:
        return [n for n in ray.nodes() if n["Alive"]]
    finally:
        ray.shutdown()


@pytest.mark.slow
def test_cancel_stops_the_remaining_cells_and_keeps_the_finished_ones(two_nodes, cvstudio_registry, tmp_path):
    experiment = parse_experiment(scaling(min_steps=400), cvstudio_registry)

    def cancel_after_two_points(event, state):
        if getattr(event, "done", 0) == 2:
            state.cancel()

    run, events, error = run_study(experiment, cvstudio_registry, tmp_path, ray_executor(two_nodes.address),
                                   stop=cancel_after_two_points)
    assert isinstance(error, Cancelled)
    assert run.status == "cancelled"
    kept = run.read("summary.json")["points"]
    assert 2 <= len(kept) < 8
    assert len(run.metrics()) == len(kept)
    assert_let_go(two_nodes)


def assert_let_go(cluster):
    """The study let go of Ray, and nothing of it still runs: every CPU of the cluster is free again."""
    assert not ray.is_initialized()
    ray.init(address=cluster.address)
    try:
        assert wait_for(lambda: ray.available_resources().get("CPU", 0) == 2)
    finally:
        ray.shutdown()


def wait_for(condition, seconds=30.0):
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
def test_a_node_lost_mid_study_has_its_cells_retried_and_the_study_finishes(two_nodes, cvstudio_registry, tmp_path):
    doomed = two_nodes.add_node(**NODE)
    two_nodes.wait_for_nodes()
    doomed_id = doomed.node_id
    experiment = parse_experiment(scaling(min_steps=400), cvstudio_registry)
    killed = []

    def kill_when_busy(event, state):
        if isinstance(event, CellStarted) and event.node == doomed_id and not killed:
            killed.append(event.label)
            two_nodes.remove_node(doomed, allow_graceful=False)

    run, events, error = run_study(experiment, cvstudio_registry, tmp_path, ray_executor(two_nodes.address),
                                   stop=kill_when_busy)
    assert killed, "no cell started on the node to kill"
    assert error is None, error
    assert run.status == "completed" and len(points(run)) == 8
    retried = [e for e in events if isinstance(e, CellStarted) and e.attempt > 1]
    assert killed[0] in {e.label for e in retried}
    assert "attempt 2" in retried[0].describe()
    assert doomed_id not in {p["node"] for p in points(run).values() if p["pipeline"] == killed[0].split(",")[0]
                             and f"{p['per_class']} per class, seed {p['seed']}" in killed[0]}


def pipelines(kind="compare", classical=None):
    """A head-to-head (or, without its classical pipeline, an architectures study) of three cells."""
    return {
        "title": f"Tiny {kind}",
        "study": {"kind": kind} if kind == "compare" else {"kind": kind, "repeats": 2},
        "dataset": {"name": "shapes", "params": {"per_class": 16, "image_size": 16, "classes": 3}},
        "split": {"val": 0.25, "test": 0.25},
        "classical": [] if kind != "compare" else [classical or {"label": "moments", "features": ["color-moments"],
                                                                 "classifier": "logistic-regression"}],
        "deep": [{"label": "mlp", "model": "mlp", "epochs": 2, "batch_size": 4, "device": "cpu"},
                 {"label": "wide mlp", "model": {"name": "mlp", "params": {"hidden": 64}}, "epochs": 1,
                  "batch_size": 4, "device": "cpu"}],
    }


def run_files(run):
    return sorted(str(p.relative_to(run.path)) for p in run.path.rglob("*") if p.is_file())


TIMED = {"seconds", "images_per_s", "time", "node", "latency_ms_batch1", "latency_ms_batch64"}


def same_evaluation(there, here):
    """The same predictions of the same images; confidences as close as thread counts allow."""
    for part in ("val", "test"):
        a, b = there[part], here[part]
        assert {k: v for k, v in a.items() if k != "samples"} == {k: v for k, v in b.items() if k != "samples"}
        assert {k: v for k, v in a["samples"].items() if k != "confidence"} == \
            {k: v for k, v in b["samples"].items() if k != "confidence"}
        assert a["samples"]["confidence"] == pytest.approx(b["samples"]["confidence"], abs=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["compare", "architectures"])
def test_each_pipeline_on_the_cluster_makes_the_run_a_local_run_makes(kind, two_nodes, cvstudio_registry, tmp_path):
    import torch

    experiment = parse_experiment(pipelines(kind), cvstudio_registry)
    local, _, error = run_study(experiment, cvstudio_registry, tmp_path / "local")
    assert error is None
    remote, events, error = run_study(experiment, cvstudio_registry, tmp_path / "cluster",
                                      ray_executor(two_nodes.address))
    assert error is None and remote.status == "completed"

    assert run_files(remote) == run_files(local)
    here, there = local.read("summary.json")["pipelines"], remote.read("summary.json")["pipelines"]
    assert list(there) == list(here)  # the experiment's order, whichever finished first
    nodes = {n["NodeID"] for n in ray_nodes(two_nodes)}
    for label, record in here.items():
        assert "node" not in record and there[label]["node"] in nodes  # each cell says where it ran
        assert {k: v for k, v in there[label].items() if k not in TIMED} == \
            {k: v for k, v in record.items() if k not in TIMED}
        same_evaluation(remote.read(record["evaluation"]), local.read(record["evaluation"]))
        if record["kind"] == "deep":
            saved = [torch.load(run.path / record["checkpoint"], weights_only=True) for run in (remote, local)]
            assert saved[0]["epoch"] == saved[1]["epoch"]
            for name, value in saved[1]["state_dict"].items():
                assert torch.allclose(saved[0]["state_dict"][name], value, atol=1e-4), name
    def curves(run):
        return sorted((r["pipeline"], r["epoch"], r["val_accuracy"]) for r in run.metrics() if r["kind"] == "epoch")

    assert curves(remote) == curves(local)
    assert {e.pipeline for e in events if isinstance(e, PipelineStarted)} == set(here)
    assert {e.label for e in events if isinstance(e, CellEpoch)} == {"mlp", "wide mlp"}  # watched while training
    assert not ray.is_initialized()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["compare", "architectures"])
def test_cancel_while_pipelines_train_on_the_cluster_stops_them_and_keeps_what_finished(kind, two_nodes,
                                                                                     cvstudio_registry, tmp_path):
    study = pipelines(kind)
    for deep in study["deep"]:
        deep["epochs"] = 400  # seconds of training: still at it when the first epoch comes back
    experiment = parse_experiment(study, cvstudio_registry)

    def cancel_at_the_first_epoch(event, state):
        if isinstance(event, CellEpoch):
            state.cancel()

    run, events, error = run_study(experiment, cvstudio_registry, tmp_path, ray_executor(two_nodes.address),
                                   stop=cancel_at_the_first_epoch)
    assert isinstance(error, Cancelled)
    assert run.status == "cancelled"
    kept = run.read("summary.json").get("pipelines", {})
    assert not {"mlp", "wide mlp"} & set(kept)  # neither network finished its 400 epochs
    assert_let_go(two_nodes)


@pytest.mark.slow
def test_a_study_whose_events_mailbox_is_lost_goes_on_unwatched_and_finishes(two_nodes, cvstudio_registry, tmp_path):
    experiment = parse_experiment(scaling(), cvstudio_registry)
    executor = ray_executor(two_nodes.address)

    def lose_the_mailbox(event, state):
        if isinstance(event, CellStarted) and not lost:
            lost.append(event)
            ray.kill(executor.events.mailbox)  # as if its node had gone

    lost = []
    run, events, error = run_study(experiment, cvstudio_registry, tmp_path, executor, stop=lose_the_mailbox)
    assert lost and error is None, error
    assert run.status == "completed" and len(points(run)) == 8
    (unwatched,) = [e for e in events if isinstance(e, CellsUnwatched)]
    assert "no longer come back" in unwatched.describe() and "ActorDiedError" in unwatched.reason
    after = events[events.index(unwatched) + 1:]
    assert not any(isinstance(e, (CellStarted, CellEpoch)) for e in after)


PLUGIN = '''
from cvstudio import FeatureExtractorSpec, hookimpl


@hookimpl
def cvstudio_register_feature_extractors():
    return [FeatureExtractorSpec(name="doubled-moments", description="Colour moments, under another name.",
                                 factory="cvstudio_features.moments:ColorMomentsExtractor")]
'''


@pytest.mark.slow
def test_a_plugin_from_a_folder_only_this_computer_has_goes_with_the_cells(two_nodes, tmp_path):
    folder = tmp_path / "my plugins"  # not on any worker's path, in no environment variable
    folder.mkdir()
    (folder / "doubled.py").write_text(PLUGIN)
    registry = load_registry(autoload=False, directories=[folder])
    assert registry.plugins["doubled"].status == "ok"
    experiment = parse_experiment(scaling(classical={"label": "doubled", "features": ["doubled-moments"],
                                                     "classifier": "logistic-regression"}), registry)
    run, _, error = run_study(experiment, registry, tmp_path / "runs", ray_executor(two_nodes.address))
    assert error is None, error
    assert len(points(run)) == 8 and {p["pipeline"] for p in points(run).values()} == {"doubled", "mlp"}


@pytest.mark.slow
def test_a_worker_that_cannot_import_a_plugin_says_so_and_names_it(two_nodes, tmp_path, monkeypatch):
    helper = tmp_path / "helpers"  # on this process's path only: the workers do not have it
    helper.mkdir()
    (helper / "only_here_helper.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(helper))
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "doubled.py").write_text("import only_here_helper\n" + PLUGIN)
    registry = load_registry(autoload=False, directories=[folder])
    experiment = parse_experiment(scaling(classical={"label": "doubled", "features": ["doubled-moments"],
                                                     "classifier": "logistic-regression"}, seeds=1, sizes=[2]),
                                  registry)
    run, events, error = run_study(experiment, registry, tmp_path / "runs", ray_executor(two_nodes.address))
    assert isinstance(error, CellsFailed)
    message = str(error)
    assert "cannot load plugin 'doubled'" in message and "only_here_helper" in message
    assert "doubled, 2 per class, seed 0" in message and "install" in message
    assert run.status == "failed"
    assert {p["pipeline"] for p in run.read("summary.json")["points"]} == {"mlp"}  # the other cell finished
    assert any(isinstance(e, CellFailed) for e in events)


BROKEN = '''
from cvstudio import ClassifierSpec, hookimpl


def no_estimator():
    raise ValueError("no estimator today")


@hookimpl
def cvstudio_register_classifiers():
    return [ClassifierSpec(name="broken", description="Raises.", factory=no_estimator)]
'''


@pytest.mark.slow
def test_a_pipeline_that_raises_on_the_cluster_is_named_and_the_others_finish(two_nodes, tmp_path):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "broken.py").write_text(BROKEN)
    registry = load_registry(autoload=False, directories=[folder])
    experiment = parse_experiment(pipelines(classical={"label": "broken", "features": ["color-moments"],
                                                       "classifier": "broken"}), registry)
    run, events, error = run_study(experiment, registry, tmp_path / "runs", ray_executor(two_nodes.address))
    assert isinstance(error, PipelinesFailed), error
    message = str(error)
    assert message.startswith("1 of 3 pipeline(s) failed ('broken': cell 'broken' raised on node ")
    assert "no estimator today" in message and "without a cluster" in message
    (failed,) = [e for e in events if isinstance(e, PipelineFailed)]
    assert failed.pipeline == "broken" and "in no_estimator" in failed.traceback  # the worker's traceback
    summary = run.read("summary.json")
    assert run.status == "failed" and set(summary["pipelines"]) == {"mlp", "wide mlp"}
    assert summary["failed"]["broken"]["kind"] == "classical"


# --- without a cluster: quick ----------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_address_where_nothing_answers_is_refused_at_once_with_the_fix():
    with pytest.raises(ClusterError, match=r"no Ray cluster answers at 127\.0\.0\.1:\d+ .*ray start --head"):
        check_answers(f"127.0.0.1:{free_port()}")
    with pytest.raises(ClusterError, match="not a Ray cluster address: give HOST:PORT"):
        ray_executor("my-cluster")


def test_bad_cell_resources_are_refused():
    with pytest.raises(ValueError, match="more than 0 CPUs"):
        ray_executor("local", cpus_per_cell=0)


def test_a_study_that_runs_only_here_is_not_sent_to_a_cluster(cvstudio_registry, tmp_path):
    experiment = parse_experiment({**scaling(), "study": {"kind": "hardware"}}, cvstudio_registry)
    run = RunStore(tmp_path).create("x")
    with pytest.raises(ExperimentError, match="'hardware' runs on this computer only.*'compare', 'scaling', "
                                              "'architectures'"):
        drain(run_experiment(experiment, cvstudio_registry, run, TaskState(), executor=object()))


class SlowMailbox:
    """Stands for the study's mailbox: it takes each event, and answers only when asked to wait (never, here)."""

    def __init__(self):
        self.items = []
        self.put = self

    def remote(self, item):
        self.items.append(item)
        return object()  # not an answer anyone can wait for


def test_a_cell_sends_its_events_without_waiting_for_the_study():
    # A task that waits on Ray lends its CPU to the next cell: a one-CPU node would train two at once.
    from cvstudio.core.cluster import _send

    mailbox = SlowMailbox()
    _send(mailbox, (0, "started", "node"))
    _send(mailbox, (0, "epoch", "first"))
    assert mailbox.items == [(0, "started", "node"), (0, "epoch", "first")]


def test_failures_are_explained_with_the_cell_and_the_fix():
    oom = ray.exceptions.OutOfMemoryError("killed")
    assert "cell 'mlp, 2 per class, seed 0': its worker on node abcdef012345 ran out of memory (tried 3 times)" in \
        explain_failure(oom, "mlp, 2 per class, seed 0", "abcdef0123456789", 2)
    lost = ray.exceptions.NodeDiedError("gone")
    assert "its worker or node was lost (tried 1 times" in explain_failure(lost, "c", None, 0)


def test_the_worker_registry_refuses_a_missing_plugin_by_name(tmp_path):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "doubled.py").write_text(PLUGIN)
    registry = load_registry(autoload=False, directories=[folder])
    experiment = parse_experiment(scaling(classical={"label": "doubled", "features": ["doubled-moments"],
                                                     "classifier": "logistic-regression"}), registry)
    shipment = ship_plugins(registry, experiment, tmp_path / "staging")
    assert shipment.needs == (("feature_extractors", "doubled-moments", "doubled"),)
    assert [p for p in shipment.py_modules if "cvstudio_shipped_plugins_" in p]
    shipped = next(p for p in (tmp_path / "staging").iterdir())
    assert (shipped / "doubled.py").read_text() == (folder / "doubled.py").read_text()
    worker, failures = worker_registry(type(shipment)(shipment.key))  # nothing shipped
    with pytest.raises(UnknownComponentError) as unknown:
        worker.get("feature_extractors", "doubled-moments")
    message = str(missing_plugin(unknown.value, shipment, worker, failures, "n" * 20))
    assert "cannot load plugin 'doubled', which gives feature extractor 'doubled-moments': not shipped" in message


def test_cvstudio_run_refuses_a_cluster_that_does_not_answer_before_making_a_run(tmp_path, capsys):
    from cvstudio.cli import main

    path = tmp_path / "study.toml"
    path.write_text('title = "S"\n[study]\nkind = "scaling"\nsizes = [2]\nseeds = 1\n[dataset]\nname = "shapes"\n'
                    '[[classical]]\nfeatures = ["color-moments"]\nclassifier = "logistic-regression"\n')
    address = f"127.0.0.1:{free_port()}"
    assert main(["run", str(path), "--out", str(tmp_path / "runs"), "--cluster", address]) == 1
    assert f"no Ray cluster answers at {address}" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_a_cell_that_raises_is_named_with_its_error_and_where_to_look():
    failure = ray.exceptions.RayTaskError("_run_cell", "Traceback ...", ValueError("bad pixels\nmore detail"))
    message = explain_failure(failure, "mlp, 2 per class, seed 0", "abcdef0123456789", 2)
    assert message.startswith("cell 'mlp, 2 per class, seed 0' raised on node abcdef012345: ValueError: bad pixels;")
    assert "without a cluster" in message and "more detail" not in message


def test_a_cell_error_whose_class_cannot_be_rebuilt_here_is_named_by_its_last_line():
    failure = ray.exceptions.UnserializableException(
        "Traceback (most recent call last):\n  File \"odd.py\", line 3, in fit\nodd.OddError: bad pixels\n")
    message = explain_failure(failure, "odd, 2 per class, seed 0", "abcdef0123456789", 2)
    assert message.startswith("cell 'odd, 2 per class, seed 0' raised on node abcdef012345: odd.OddError: bad pixels;")


def test_a_cluster_on_another_ray_version_is_refused_with_both_versions(monkeypatch):
    from cvstudio.core import cluster

    def mismatched(**options):
        raise RuntimeError("Version mismatch: The cluster was started with:\n    Ray: 2.41.0\n    Python: 3.11.7\n"
                           "This process on node 10.0.0.2 was started with:\n    Ray: 2.60.0\n    Python: 3.11.7\n")

    monkeypatch.setattr(cluster.ray, "is_initialized", lambda: False)
    monkeypatch.setattr(cluster.ray, "init", mismatched)
    with pytest.raises(ClusterError) as refused:
        cluster.connect(cluster.AUTO, {})
    message = str(refused.value)
    assert "runs another version of Ray or Python than this computer" in message
    assert "Ray: 2.41.0" in message and 'pip install "ray[default]==VERSION"' in message


def test_a_process_already_connected_to_ray_cannot_ship_plugins(monkeypatch):
    from cvstudio.core import cluster

    monkeypatch.setattr(cluster.ray, "is_initialized", lambda: True)
    assert cluster.connect(cluster.LOCAL, {"env_vars": {}}) is False  # nothing to ship: the connection is used
    with pytest.raises(ClusterError, match="already connected to Ray.*call ray.shutdown"):
        cluster.connect(cluster.LOCAL, {"py_modules": ["/somewhere"]})
