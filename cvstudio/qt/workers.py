"""Engine generators run in QThreads; their events wait in a buffer the GUI drains at its own pace.

A worker never emits one signal per event: a training job yields dozens of
batches a second, and a queued signal per batch would turn into a redraw per
batch. Events are appended to a thread-safe deque instead, and the main
window pulls them from a ~30 Hz timer. Only the lifecycle (started, errored,
finished) is signalled.
"""

from __future__ import annotations

import threading
import traceback
import weakref
from collections import deque
from typing import Any, Callable, Generator

from PySide6.QtCore import QObject, QThread, Signal

from cvstudio.core.tasks import Cancelled, TaskState, progress_to

Job = Callable[[TaskState], Generator[Any, None, Any]]

_threads: weakref.WeakSet[QThread] = weakref.WeakSet()


def running_threads() -> list[QThread]:
    """QThreads started by workers that have not finished yet (tests assert this is empty)."""
    return [thread for thread in list(_threads) if thread.isRunning()]


class _Thread(QThread):
    """Runs ``target`` once, then lets go of it.

    Holding the worker only while running means no Worker↔thread reference
    cycle outlives the job: the worker is freed by reference counting in the
    GUI thread, never by a garbage collection that happens to run in another
    thread (deleting a QObject there breaks its timers).
    """

    def __init__(self, target: Callable[[], None]) -> None:
        super().__init__()
        self.target: Callable[[], None] | None = target

    def run(self) -> None:
        target, self.target = self.target, None
        if target is not None:
            target()


class Worker(QObject):
    """One engine job on its own thread.

    ``job(state)`` returns a generator; its events land in :meth:`drain`, its
    return value in :attr:`result`. ``finished`` always fires, after an error
    or a cancellation too. ``generation`` lets the owner drop a stale job's
    results when a newer job of the same kind has replaced it.
    """

    started = Signal()
    errored = Signal(object, str)
    finished = Signal()

    def __init__(self, job: Job, name: str, generation: int = 0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self.name = name
        self.generation = generation
        self.state = TaskState()
        self.result: Any = None
        self.error: BaseException | None = None
        self.cancelled = False
        self._events: deque[Any] = deque()
        self._thread = _Thread(self._run)
        self._thread.setObjectName(f"cvstudio-{name}")

    def start(self) -> None:
        _threads.add(self._thread)
        self._thread.start()

    def cancel(self) -> None:
        self.state.cancel()

    def drain(self) -> list[Any]:
        """Every event yielded since the last call, oldest first."""
        events = []
        while self._events:
            events.append(self._events.popleft())
        return events

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, milliseconds: int = -1) -> bool:
        """Block until the thread has ended; true if it did in time."""
        return self._thread.wait() if milliseconds < 0 else self._thread.wait(milliseconds)

    def stop(self) -> None:
        """Cancel and wait: what an owner does before it goes away."""
        self.cancel()
        self.wait()

    def _run(self) -> None:
        self.started.emit()
        try:
            events = self.job(self.state)
            with progress_to(self._events.append):  # a plain call's progress (a dataset decoding) is an event too
                while True:
                    try:
                        event = next(events)
                    except StopIteration as stop:
                        self.result = stop.value
                        break
                    self._events.append(event)
        except Cancelled:
            self.cancelled = True
        except Exception as exc:  # noqa: BLE001 - every error is shown in the window, never swallowed
            self.error = exc
            self.errored.emit(exc, "".join(traceback.format_exception(exc)))
        finally:
            self.finished.emit()


def single(function: Callable[[], Any]) -> Job:
    """A job for plain blocking work: no events, the return value is the result."""

    def job(state: TaskState) -> Generator[Any, None, Any]:
        yield from ()
        return function()

    return job


def gated(gate: threading.Event, job: Job, poll_s: float = 0.05) -> Job:
    """``job``, begun once ``gate`` is set: a part that gives another the CPU first.

    Cancelling while it waits begins it too, so that the job records its own
    cancellation (its run saved as cancelled) as if it had been running.
    """

    def waiting(state: TaskState) -> Generator[Any, None, Any]:
        while not gate.wait(poll_s) and not state.cancelled:
            pass
        return (yield from job(state))

    return waiting
