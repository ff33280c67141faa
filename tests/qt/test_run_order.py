"""The order of a Run's parts: the network's live curve first, the classical part after its first batch."""

from __future__ import annotations

import threading

from cvstudio.core.experiment import DatasetReady
from cvstudio.core.tasks import TaskState
from cvstudio.core.training import BatchEnd
from cvstudio.qt.workers import gated


def record_events(window) -> list[tuple[str, object]]:
    """Every run event the window hands to its views, with the part (slot) it came from, in order."""
    events: list[tuple[str, object]] = []
    on_event = window.runner.on_event
    window.runner.on_event = lambda slot, event: (events.append((slot, event)), on_event(slot, event))
    return events


def test_the_classical_part_begins_after_the_networks_first_batch_on_the_shown_dataset(
        qtbot, make_window, wait_for_run):
    window = make_window(epochs=2, per_class=24)
    events = record_events(window)
    window.run_action.trigger()
    assert window.training.classical.detail.text() == "starts after the network's first batch"
    wait_for_run(window)
    window.pull()

    first_batch = next(i for i, (slot, event) in enumerate(events) if slot == "deep" and isinstance(event, BatchEnd))
    first_classical = next(i for i, (slot, _) in enumerate(events) if slot == "classical")
    assert first_batch < first_classical
    ready = [event for _, event in events if isinstance(event, DatasetReady)]
    assert len(ready) == 2 and all(event.dataset is window.dataset for event in ready)  # not built again
    assert window.runs["classical"].status == window.runs["deep"].status == "completed"


def test_cancelling_while_the_classical_part_waits_saves_it_as_cancelled(qtbot, make_window, wait_for_run):
    window = make_window(epochs=50)
    window.run_action.trigger()
    window.cancel()  # before any event was drained: the classical part is still waiting for the first batch
    wait_for_run(window)
    classical = window.runs["classical"]
    assert classical.status == "cancelled"
    assert classical.summary()["status"] == "cancelled"
    assert window.run_action.isEnabled()


def test_gated_job_waits_for_its_gate_or_its_cancellation():
    started: list[str] = []

    def job(state):
        started.append("began")
        yield "event"
        return "done"

    gate = threading.Event()
    events = gated(gate, job, poll_s=0.01)(TaskState())
    waiter = threading.Thread(target=lambda: started.append(next(events)))
    waiter.start()
    waiter.join(0.1)
    assert started == []  # still waiting
    gate.set()
    waiter.join(5)
    assert started == ["began", "event"]

    cancelled = TaskState()
    cancelled.cancel()
    assert next(gated(threading.Event(), job, poll_s=0.01)(cancelled)) == "event"  # begins, to record it
