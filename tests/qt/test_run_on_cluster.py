"""Run › Run on: a study's cells on a Ray cluster, watched in the window as they finish; the choice remembered."""

import socket
import threading

import pytest

from cvstudio.qt.settings import open_settings, read_json
from cvstudio.testing import write_tiny_experiment


@pytest.fixture
def study_window(make_window, cvstudio_registry, tmp_path):
    path = write_tiny_experiment(tmp_path / "scaling.toml", title="Tiny scaling on Ray", study="scaling",
                                 dataset={"name": "shapes", "params": {"per_class": 16, "image_size": 16, "classes": 3}},
                                 deep=[{"label": "MLP", "model": "mlp", "batch_size": 4}])
    return make_window(path=path, registry=cvstudio_registry)  # built-ins only: what a worker loads too


def test_the_run_on_choice_starts_on_this_computer_and_is_remembered(study_window, settings_path):
    window = study_window
    assert window.experiment.cluster is None and window.run_here_action.isChecked()
    window.experiment.set_cluster(" 10.0.0.5:6379 ")
    assert window.run_cluster_action.isChecked() and not window.run_here_action.isChecked()
    assert window.run_cluster_action.text() == "Ray cluster at 10.0.0.5:6379…"
    window.run_here_action.trigger()
    assert window.experiment.cluster is None and window.run_here_action.isChecked()
    assert read_json(open_settings(settings_path), "run_on") == {"cluster": None, "last": "10.0.0.5:6379"}
    assert window.experiment.last_cluster == "10.0.0.5:6379"  # offered again next time


def test_a_cluster_that_does_not_answer_is_checked_off_the_gui_thread_and_nothing_runs(qtbot, study_window,
                                                                                      monkeypatch):
    from cvstudio.core import cells

    window = study_window
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the socket is closed
    checking, go_on = threading.Event(), threading.Event()
    checked_in = []
    real = cells.ray_executor

    def held(address):  # the real check, held until the test has seen the window answer meanwhile
        checked_in.append(threading.current_thread())
        checking.set()
        go_on.wait(10)
        return real(address)

    monkeypatch.setattr(cells, "ray_executor", held)
    window.experiment.set_cluster(f"127.0.0.1:{port}")
    window.run()
    assert checking.wait(10)
    assert checked_in[0] is not threading.main_thread()
    assert window.study_view.status.text() == f"Checking the Ray cluster at 127.0.0.1:{port}…"
    assert window.statusBar().currentMessage() == f"Checking the Ray cluster at 127.0.0.1:{port}…"
    assert window.is_running and not window.run_action.isEnabled() and window.cancel_action.isEnabled()
    ticks = []
    window.timer.timeout.connect(lambda: ticks.append(1))
    qtbot.waitUntil(lambda: len(ticks) >= 3, timeout=5000)  # the window's own timer goes on: it answers
    go_on.set()
    qtbot.waitUntil(lambda: not window.is_running, timeout=20000)
    assert window.runs == {}
    assert f"Cannot run on the Ray cluster '127.0.0.1:{port}': no Ray cluster answers" in window.banner.message.text()
    assert window.study_view.status.text() == "not run: see the message above"
    assert window.run_action.isEnabled() and not window.cancel_action.isEnabled()


def test_cancel_while_the_cluster_is_checked_starts_nothing(qtbot, study_window, monkeypatch):
    from cvstudio.core import cells

    go_on = threading.Event()
    monkeypatch.setattr(cells, "ray_executor", lambda address: go_on.wait(10) and cells.InProcess())
    window = study_window
    window.experiment.set_cluster("10.0.0.5:6379")
    window.run()
    window.cancel_action.trigger()
    go_on.set()
    qtbot.waitUntil(lambda: not window.is_running, timeout=20000)
    assert window.runs == {} and "study" not in window.workers
    assert window.study_view.status.text() == "cancelled before it started: nothing ran"


@pytest.mark.slow
def test_a_study_on_a_local_ray_runtime_draws_its_points_as_they_arrive(qtbot, study_window, settings_path):
    ray = pytest.importorskip("ray")
    window = study_window
    window.experiment.set_cluster("local")
    view = window.study_view
    seen = []  # how many points the plot held when each point arrived
    epochs = {}  # each network's epochs on the cells' curves when its point arrived
    window.study_point.connect(lambda kind, point: seen.append((point.node, len(view.points))))
    window.study_point.connect(lambda kind, point: point.kind == "deep" and epochs.setdefault(
        point.cell, list(view.cells.cells[point.cell].series["val_accuracy"].x)))
    with qtbot.waitSignal(window.run_finished, timeout=300000) as finished:
        window.run()
    assert finished.args[0] == "completed", window.banner.message.text()
    assert len(seen) == 8 and all(node for node, _ in seen)
    assert [count for _, count in seen] == list(range(8))  # one by one, each before the view drew it
    assert len(view.points) == 8
    assert epochs == {f"MLP, {size} per class, seed {seed}": [1, 2] for size in (2, 6) for seed in (0, 1)}
    window.pull()
    assert view.cells.isVisible() and "node 1 (" in view.cells.nodes.text()
    assert window.runs["study"].status == "completed"
    assert not ray.is_initialized()  # the study let go of its Ray runtime


@pytest.mark.slow
def test_cancel_during_a_study_on_a_local_ray_runtime_stops_it_and_the_view_says_so(qtbot, study_window):
    ray = pytest.importorskip("ray")
    window = study_window
    window.experiment.set_cluster("local")
    window.run()
    qtbot.waitUntil(lambda: bool(window.study_view.points), timeout=300000)
    with qtbot.waitSignal(window.run_finished, timeout=120000) as finished:
        window.cancel_action.trigger()
    window.pull()
    assert finished.args[0] == "cancelled" and window.runs["study"].status == "cancelled"
    assert len(window.study_view.points) < 8
    assert "cancelled" in window.study_view.status.text()
    assert window.study_view.cells.rows.text() == "No cell is training now."
    assert not ray.is_initialized()


def test_a_study_that_runs_only_here_says_so_with_a_cluster_chosen(qtbot, make_window, cvstudio_registry, tmp_path):
    path = write_tiny_experiment(tmp_path / "here.toml", title="Runs here", study="hardware")
    window = make_window(path=path, registry=cvstudio_registry)
    window.experiment.set_cluster("10.0.0.5:6379")  # nothing answers there: it must not be asked
    with qtbot.waitSignal(window.run_finished, timeout=120000) as finished:
        window.run()
        assert window.statusBar().currentMessage() == (
            "Running on this computer, not on the Ray cluster '10.0.0.5:6379': "
            "a 'hardware' study runs on this computer only (see docs/cluster.md).")
    assert finished.args[0] == "completed", window.banner.message.text()
    assert "cluster-check" not in window.workers


@pytest.fixture
def compare_window(make_window, cvstudio_registry, tmp_path):
    path = write_tiny_experiment(tmp_path / "compare.toml", title="Tiny head-to-head on Ray",
                                 dataset={"name": "shapes", "params": {"per_class": 16, "image_size": 16, "classes": 3}},
                                 classical=[{"label": "moments", "features": ["color-moments"],
                                             "classifier": "logistic-regression"}],
                                 deep=[{"label": "MLP", "model": "mlp", "batch_size": 4}])
    return make_window(path=path, registry=cvstudio_registry)


def test_a_head_to_head_on_a_cluster_is_one_run_of_every_pipeline(qtbot, compare_window, monkeypatch):
    """As `cvstudio run --cluster` makes it: each pipeline a cell of one run (the cluster stood in for here)."""
    from cvstudio.core import cells

    monkeypatch.setattr(cells, "ray_executor", lambda address: cells.InProcess(isolated=True))
    window = compare_window
    window.experiment.set_cluster("10.0.0.5:6379")
    with qtbot.waitSignal(window.run_finished, timeout=120000) as finished:
        window.run()
        qtbot.waitUntil(lambda: "deep" in window.workers, timeout=20000)
        assert window.statusBar().currentMessage() == "Running on the Ray cluster '10.0.0.5:6379'…"
    assert finished.args[0] == "completed", window.banner.message.text()
    (run,) = finished.args[1]
    assert set(run.summary()["pipelines"]) == {"MLP", "moments"}
    assert set(window.results.evaluations) == {"MLP", "moments"}


@pytest.mark.slow
def test_a_head_to_head_on_a_local_ray_runtime_draws_the_networks_epochs(qtbot, compare_window):
    ray = pytest.importorskip("ray")
    window = compare_window
    window.experiment.set_cluster("local")
    epochs, progress = [], []  # each epoch as the window hears of it, and what the network's row then says
    window.epoch_finished.connect(lambda pipeline, metrics: epochs.append((pipeline, metrics["epoch"])))
    window.epoch_finished.connect(lambda *_: progress.append(window.training.deep.detail.text()))
    with qtbot.waitSignal(window.run_finished, timeout=300000) as finished:
        window.run()
    assert finished.args[0] == "completed", window.banner.message.text()
    (run,) = finished.args[1]
    pipelines = run.summary()["pipelines"]
    assert set(pipelines) == {"MLP", "moments"} and all(record["node"] for record in pipelines.values())
    assert epochs == [("MLP", 1), ("MLP", 2)]  # each as it ended on its node
    assert progress == ["epoch 1/2 ended on the cluster", "epoch 2/2 ended on the cluster"]
    assert set(window.results.evaluations) == {"MLP", "moments"}
    assert not ray.is_initialized()
