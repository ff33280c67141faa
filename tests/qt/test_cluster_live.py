"""A study on a cluster watched live: each running cell's epochs drawn as they arrive, labelled by cell and node;
finished cells faded, a retried cell's curves restarted, a failed cell named with its reason, Cancel said.

The view tests feed the executor's events by hand; the window tests run the cells here through an executor
that tells of them as the Ray executor does, so no Ray is needed.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from cvstudio.core import cells
from cvstudio.core.cells import CellDone, CellEpoch, CellFailed, CellStarted, CellsUnwatched
from cvstudio.core.scaling import ScalingPoint, ScalingStarted
from cvstudio.core.tasks import Cancelled
from cvstudio.core.training import EpochEnd
from cvstudio.testing import write_tiny_experiment
from cvstudio.qt.panels.cell_curves import FADED_ALPHA, KEPT_FINISHED
from cvstudio.qt.panels.scaling import ScalingView
from cvstudio.qt.theme import LIGHT

NODES = ("a1b2c3d4e5f60718", "ffee00112233aabb")
CELLS = [f"MLP, {size} per class, seed {seed}" for seed in (0, 1) for size in (10, 30)]


def epoch(label: str, n: int, of: int = 3, val: float = 0.5) -> CellEpoch:
    return CellEpoch(label, EpochEnd("MLP", n, of, 1.5 / n, val + 0.1, 1.6 / n, val, 0.1, 100.0))


def point(per_class: int, seed: int, node: str, done: int = 1) -> ScalingPoint:
    return ScalingPoint("MLP", "deep", per_class, 3 * per_class, seed, 0.8, 0.75, 1.0, 40, 0.9, done, 8, node)


@pytest.fixture
def view(qtbot):
    view = ScalingView()
    qtbot.addWidget(view)
    view.resize(1400, 800)
    view.show()
    view.on_event(ScalingStarted((("MLP", "deep"),), (10, 30), 2))
    return view


def curve(view: ScalingView, label: str, metric: str = "val_accuracy"):
    return view.cells.cells[label].items[metric]


def test_four_cells_on_two_nodes_each_get_a_curve_as_their_epochs_arrive(view):
    assert not view.cells.isVisible()  # nothing on a cluster yet: the points plot has the room
    for i, label in enumerate(CELLS):
        view.on_event(CellStarted(label, NODES[i % 2]))
    for n in (1, 2):
        for i, label in enumerate(CELLS):
            view.on_event(epoch(label, n, val=0.2 * n + 0.05 * i))
    view.refresh()
    assert view.cells.isVisible()
    for i, label in enumerate(CELLS):
        x, y = curve(view, label).getData()
        assert list(x) == [1, 2] and list(y) == pytest.approx([0.2 + 0.05 * i, 0.4 + 0.05 * i])
        assert list(curve(view, label, "train_loss").getData()[1]) == pytest.approx([1.5, 0.75])
    colors = {curve(view, label).opts["pen"].color().name() for label in CELLS}
    assert len(colors) == 4  # four cells at once: four colours
    rows = view.cells.rows.text()
    assert "MLP, 10 per class, seed 0 · node 1 · epoch 2/3: validation 40.0%" in rows
    assert "MLP, 30 per class, seed 0 · node 2 · epoch 2/3" in rows
    assert "node 1 (a1b2c3d4e5f6): 2 training, 0 done" in view.cells.nodes.text()
    assert "epoch 2/3" in view.status.text()

    view.on_event(epoch(CELLS[0], 3, val=0.9))  # a new epoch extends the curve
    view.refresh()
    assert list(curve(view, CELLS[0]).getData()[1]) == pytest.approx([0.2, 0.4, 0.9])
    left, right = view.cells.accuracy_plot.getViewBox().viewRange()[0]
    assert left <= 0 and 3 <= right  # the cells' epochs in view

    view.apply_theme(LIGHT)
    view.refresh()
    colors = [curve(view, label).opts["pen"].color().name() for label in CELLS]
    assert colors == [LIGHT.val, LIGHT.train, *LIGHT.references[:2]]  # each cell's colour, in the light theme


def test_a_finished_cell_fades_and_leaves_the_list_of_cells_training(view):
    for i, label in enumerate(CELLS[:2]):
        view.on_event(CellStarted(label, NODES[i]))
        view.on_event(epoch(label, 1))
    view.refresh()
    assert curve(view, CELLS[0]).opts["pen"].color().alpha() == 255
    view.on_event(point(10, 0, NODES[0]))
    view.refresh()
    assert curve(view, CELLS[0]).opts["pen"].color().alpha() == FADED_ALPHA  # kept, faded
    assert list(curve(view, CELLS[0]).getData()[0]) == [1]
    assert curve(view, CELLS[0]).zValue() < curve(view, CELLS[1]).zValue()  # the running cell drawn over it
    assert CELLS[0] not in view.cells.rows.text() and CELLS[1] in view.cells.rows.text()
    assert "node 1 (a1b2c3d4e5f6): 0 training, 1 done" in view.cells.nodes.text()
    assert len(view.points) == 1  # and its point is on the points plot


def test_only_the_newest_finished_cells_stay_on_the_plot(view):
    labels = [f"MLP, {size} per class, seed 0" for size in range(1, KEPT_FINISHED + 3)]
    for size, label in enumerate(labels, start=1):
        view.on_event(CellStarted(label, NODES[0]))
        view.on_event(epoch(label, 1))
        view.on_event(point(size, 0, NODES[0]))
    view.refresh()
    drawn = [label for label in labels if view.cells.cells[label].items]
    assert drawn == labels[-KEPT_FINISHED:]
    assert len(view.cells.accuracy_plot.getPlotItem().listDataItems()) == 2 * KEPT_FINISHED


def test_a_cell_started_again_after_its_node_was_lost_starts_its_curve_again(view):
    view.on_event(CellStarted(CELLS[0], NODES[0]))
    view.on_event(epoch(CELLS[0], 1))
    view.on_event(epoch(CELLS[0], 2))
    view.refresh()
    view.on_event(CellStarted(CELLS[0], NODES[1], attempt=2))
    assert "attempt 2: its worker or node was lost" in view.status.text()
    view.refresh()
    assert len(curve(view, CELLS[0]).getData()[0] or []) == 0  # the lost attempt's epochs are gone
    assert f"{CELLS[0]} · node 2, attempt 2" in view.cells.rows.text()
    view.on_event(epoch(CELLS[0], 1, val=0.3))
    view.refresh()
    assert list(curve(view, CELLS[0]).getData()[1]) == [0.3]


def test_a_failed_cell_is_named_with_its_reason(view):
    view.on_event(CellStarted(CELLS[0], NODES[0]))
    view.on_event(epoch(CELLS[0], 1))
    reason = (f"cell '{CELLS[0]}': its worker or node was lost on node a1b2c3d4e5f6 (tried 3 times, NodeDiedError); "
              "the study went on with the other cells: run it again for this one")
    view.on_event(CellFailed(3, CELLS[0], reason))
    view.refresh()
    assert f"{CELLS[0]} failed" in view.status.text()
    assert view.cells.failures.isVisible() and reason in view.cells.failures.text()
    assert curve(view, CELLS[0]).opts["pen"].color().name() == view.theme.error
    assert CELLS[0] not in view.cells.rows.text()


def test_epochs_that_no_longer_come_back_are_said_and_the_points_still_finish_the_cells(view):
    view.on_event(CellStarted(CELLS[0], NODES[0]))
    view.on_event(epoch(CELLS[0], 1))
    view.on_event(CellsUnwatched("their mailbox on the driver's node was lost: ActorDiedError"))
    view.refresh()
    assert "epochs no longer come back (their mailbox on the driver's node was lost" in view.cells.nodes.text()
    view.on_event(point(10, 0, NODES[0]))
    view.refresh()
    assert view.cells.cells[CELLS[0]].state == "done" and len(view.points) == 1


def test_stopping_the_study_stops_the_running_cells(view):
    view.on_event(CellStarted(CELLS[0], NODES[0]))
    view.on_event(epoch(CELLS[0], 1))
    view.stopped("cancelled — the run so far is saved")
    view.refresh()
    assert view.status.text() == "cancelled — the run so far is saved"
    assert view.cells.rows.text() == "No cell is training now."
    assert curve(view, CELLS[0]).opts["pen"].color().alpha() == FADED_ALPHA
    view.reset()
    assert not view.cells.isVisible() and not view.cells.cells
    assert not view.cells.accuracy_plot.getPlotItem().listDataItems()


# --- the window, with the cells run here by an executor that tells of them as the Ray executor does ----------

TINY = {"dataset": {"name": "tiny", "params": {"per_class": 16}}, "classical": None}  # networks only, 16 per class


class AsOnACluster:
    """Runs the cells here, one after the other, yielding what the Ray executor yields: each cell's start on one
    of two nodes, its epochs, its result; the cells named in ``lost`` fail as a cell whose node was lost."""

    def __init__(self, lost: tuple[str, ...] = ()) -> None:
        self.lost = lost

    def run(self, experiment, context, cells, state):
        remote = replace(context, run=None)  # a worker's context: its cells pass on their epochs
        for index, cell in enumerate(cells):
            if state.cancelled:
                raise Cancelled("cancelled")
            node = NODES[index % 2]
            yield CellStarted(cell.label, node)
            if cell.label in self.lost:
                yield CellFailed(index, cell.label, f"cell '{cell.label}': its worker or node was lost on node "
                                                    f"{node[:12]} (tried 3 times, NodeDiedError)")
                continue
            events = cell.run(remote, state)
            while True:
                try:
                    event = next(events)
                except StopIteration as stop:
                    yield CellDone(index, stop.value, node)
                    break
                if isinstance(event, EpochEnd):
                    yield CellEpoch(cell.label, event)


@pytest.fixture
def cluster_window(make_window, tmp_path, monkeypatch):
    def make(epochs: int = 2, executor: AsOnACluster | None = None):
        monkeypatch.setattr(cells, "ray_executor", lambda address: executor or AsOnACluster())
        path = write_tiny_experiment(tmp_path / "scaling.toml", study="scaling", epochs=epochs, **TINY,
                                     deep=[{"label": "MLP", "model": "mlp", "batch_size": 4}])
        window = make_window(path=path)
        window.experiment.set_cluster("10.0.0.5:6379")
        return window

    return make


def test_the_window_draws_each_cells_epochs_and_fades_it_when_its_point_arrives(qtbot, cluster_window):
    window = cluster_window()
    view = window.study_view
    curves_when_point_arrived = []
    window.study_point.connect(lambda kind, p: curves_when_point_arrived.append(
        list(view.cells.cells[p.cell].series["val_accuracy"].x)))
    with qtbot.waitSignal(window.run_finished, timeout=120000) as finished:
        window.run()
    assert finished.args[0] == "completed"
    window.pull()
    assert curves_when_point_arrived == [[1, 2]] * 4  # every cell's epochs came before its point
    assert window.tabs.currentWidget() is view and view.cells.isVisible()
    assert all(cell.state == "done" and cell.items for cell in view.cells.cells.values())
    assert "node 1 (a1b2c3d4e5f6): 0 training, 2 done" in view.cells.nodes.text()
    assert len(view.points) == 4
    said = view.status.text()
    window.cancel()  # with nothing running: the view still says how the study ended
    assert view.status.text() == said and "4/4" in said


def test_a_lost_cell_is_named_in_the_view_and_the_study_finishes_with_the_others(qtbot, cluster_window):
    lost = "MLP, 6 per class, seed 0"
    window = cluster_window(executor=AsOnACluster(lost=(lost,)))
    with qtbot.waitSignal(window.run_finished, timeout=120000) as finished:
        window.run()
    window.pull()
    view = window.study_view
    assert finished.args[0] == "failed" and window.runs["study"].status == "failed"
    assert f"cell '{lost}': its worker or node was lost on node {NODES[1][:12]}" in view.cells.failures.text()
    assert view.cells.cells[lost].state == "failed"
    assert len(view.points) == 3  # the others finished
    assert "1 of 4 cell(s) failed" in view.status.text()


def test_cancel_during_a_cluster_study_stops_it_and_the_view_says_cancelled(qtbot, cluster_window):
    window = cluster_window(epochs=200)
    view = window.study_view
    window.run()
    qtbot.waitUntil(lambda: any(c.series["val_accuracy"].x for c in view.cells.cells.values()), timeout=60000)
    with qtbot.waitSignal(window.run_finished, timeout=60000) as finished:
        window.cancel_action.trigger()
    window.pull()
    assert finished.args[0] == "cancelled" and window.runs["study"].status == "cancelled"
    assert "cancelled" in view.status.text()
    assert view.cells.rows.text() == "No cell is training now."
    assert [c.state for c in view.cells.cells.values()] == ["stopped"]


def test_an_architectures_study_on_a_cluster_draws_each_networks_epochs(qtbot, make_window, tmp_path, monkeypatch):
    monkeypatch.setattr(cells, "ray_executor", lambda address: AsOnACluster())
    path = write_tiny_experiment(tmp_path / "architectures.toml", study={"kind": "architectures", "repeats": 1}, **TINY,
                                 deep=[{"label": "MLP", "model": "mlp"}, {"label": "LeNet-5", "model": "lenet5"}])
    window = make_window(path=path)
    window.experiment.set_cluster("10.0.0.5:6379")
    view = window.study_view
    with qtbot.waitSignal(window.run_finished, timeout=120000) as finished:
        window.run()
    assert finished.args[0] == "completed", window.banner.message.text()
    window.pull()
    assert view.table.rowCount() == 2 and view.cells.isVisible()
    for label in ("MLP", "LeNet-5"):
        assert view.cells.cells[label].state == "done"  # its row in the table finished it
        assert list(view.cells.cells[label].series["val_accuracy"].x) == [1, 2]
    assert "node 1 (a1b2c3d4e5f6): 0 training, 1 done" in view.cells.nodes.text()
