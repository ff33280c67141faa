"""Run › Run on: a study's cells on a Ray cluster, watched in the window as they finish; the choice remembered."""

import socket

import pytest

from cvstudio.qt.settings import open_settings, read_json

STUDY = """
title = "Tiny scaling on Ray"
[study]
kind = "scaling"
sizes = [2, 6]
seeds = 2
min_steps = 4
[dataset]
name = "shapes"
params = { per_class = 16, image_size = 16, classes = 3 }
[split]
val = 0.25
test = 0.25
[[classical]]
label = "Moments + logistic"
features = ["color-moments"]
classifier = "logistic-regression"
[[deep]]
label = "MLP"
model = "mlp"
epochs = 2
batch_size = 4
device = "cpu"
"""


@pytest.fixture
def study_window(make_window, cvstudio_registry, tmp_path):
    path = tmp_path / "scaling.toml"
    path.write_text(STUDY, encoding="utf-8")
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


def test_a_cluster_that_does_not_answer_is_said_at_once_and_nothing_runs(study_window):
    window = study_window
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    window.experiment.set_cluster(f"127.0.0.1:{port}")
    window.run()
    assert not window.is_running and window.runs == {}
    assert f"Cannot run on the Ray cluster '127.0.0.1:{port}': no Ray cluster answers" in window.banner.message.text()


@pytest.mark.slow
def test_a_study_on_a_local_ray_runtime_draws_its_points_as_they_arrive(qtbot, study_window, settings_path):
    ray = pytest.importorskip("ray")
    window = study_window
    window.experiment.set_cluster("local")
    seen = []  # how many points the plot held when each point arrived
    window.study_point.connect(lambda kind, point: seen.append((point.node, len(window.study_view.points))))
    with qtbot.waitSignal(window.run_finished, timeout=300000) as finished:
        window.run()
    assert finished.args[0] == "completed", window.banner.message.text()
    assert len(seen) == 8 and all(node for node, _ in seen)
    assert [count for _, count in seen] == list(range(8))  # one by one, each before the view drew it
    assert len(window.study_view.points) == 8
    assert window.runs["study"].status == "completed"
    assert not ray.is_initialized()  # the study let go of its Ray runtime
