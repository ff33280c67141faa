"""Cancellation and progress for long engine jobs.

Every long job is a generator that takes a :class:`TaskState` and yields
events. The GUI and the CLI drive the same generators; cancelling sets a flag
that the job checks between batches.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from dataclasses import dataclass
from typing import Any, Callable, Generator, Iterator, TypeVar

T = TypeVar("T")


class Cancelled(Exception):
    """Raised inside a job when its :class:`TaskState` was cancelled."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a closed terminal, ``kill``, ``timeout``), raised where Ctrl-C would raise."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# What ends a process politely: kill's default and a closed terminal (POSIX only).
ENDING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP end the code run inside like Ctrl-C: a run is closed as cancelled, not left running.

    Python can handle signals only in the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise Terminated(signum)

    previous = {signum: signal.signal(signum, interrupt) for signum in ENDING_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def exit_code(interrupt: KeyboardInterrupt) -> int:
    """The shell's exit status for a process ended by this interrupt: 128 + the signal's number."""
    return 128 + getattr(interrupt, "signum", signal.SIGINT)


class TaskState:
    """A thread-safe cancellation flag, and the image in focus, shared by a job and whoever started it."""

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        # The dataset image the user is looking at: a training job snapshots the network's maps of this
        # image instead of its own probe, so every view shows the same image. None: the job's own choice.
        self.focus: int | None = None

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if the job should stop now."""
        if self._cancelled.is_set():
            raise Cancelled("cancelled")


@dataclass(frozen=True)
class Progress:
    """``done`` of ``total`` units of ``stage`` are finished (e.g. images, batches)."""

    pipeline: str
    stage: str
    done: int
    total: int

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


_listeners = threading.local()


@contextlib.contextmanager
def progress_to(listener: Callable[[Progress], Any]) -> Iterator[None]:
    """Send the progress of plain function calls made in this thread (loading a dataset) to ``listener``.

    Engine generators yield their progress; a function such as a dataset factory cannot, and reports
    through :func:`report_progress` instead.
    """
    previous = getattr(_listeners, "listener", None)
    _listeners.listener = listener
    try:
        yield
    finally:
        _listeners.listener = previous


def report_progress(progress: Progress) -> None:
    """Tell this thread's listener (see :func:`progress_to`), if any, how far a long call has come."""
    listener = getattr(_listeners, "listener", None)
    if listener is not None:
        listener(progress)


def drain(events: Generator[Any, None, T]) -> tuple[list[Any], T]:
    """Run an engine generator to the end: every event it yielded, and the value it returned."""
    seen = []
    while True:
        try:
            seen.append(next(events))
        except StopIteration as stop:
            return seen, stop.value
