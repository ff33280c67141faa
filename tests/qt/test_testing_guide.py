"""The end-to-end example of docs/testing.md, run by the suite: the window driven through its public API only."""

from PySide6.QtCore import Qt

from cvstudio.testing import run_to_end, tiny_experiment


def test_the_window_from_outside(cvstudio_main_window, qtbot, tmp_path):
    window = cvstudio_main_window(experiment=tiny_experiment(), wait_ready=True)

    # Run to the end: one run for the classical part, one for the network, in the test's runs folder.
    runs = run_to_end(window, timeout=120)
    assert [run.status for run in runs] == ["completed", "completed"]
    assert all(run.path.parent == window.runs_dir for run in runs)

    # Another model and a harder dataset, through the experiment's state; a longer training.
    state = window.experiment_state()
    state["dataset"]["params"]["classes"] = 4
    state["deep"][0]["model"] = {"name": "mlp", "params": {}}
    state["deep"][0]["epochs"] = 300
    with qtbot.waitSignal(window.dataset_loaded, timeout=30000) as loaded:
        window.set_experiment(state)
    assert loaded.args[0].num_classes == 4

    # Watch the activations while it trains: the view draws each snapshot of the probe image.
    activations = window.show_view("activations")
    with qtbot.waitSignal(window.run_started):
        qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)  # the Run shortcut
    qtbot.waitUntil(lambda: activations.frames >= 1, timeout=60000)
    window.screenshot(tmp_path / "activations.png")

    # Esc cancels: the run ends as cancelled, what it did is kept.
    with qtbot.waitSignal(window.run_finished, timeout=60000) as finished:
        qtbot.keyClick(window, Qt.Key.Key_Escape)
    status, runs = finished.args
    assert status == "cancelled" and runs[-1].status == "cancelled"
    assert not window.is_running

    # Closing mid-training cancels the run and waits for its threads (the fixture checks none is left).
    with qtbot.waitSignal(window.epoch_finished, timeout=60000):
        window.run()
    with qtbot.waitSignal(window.run_finished, timeout=10000) as finished:
        window.close()
    assert finished.args[0] == "cancelled"
