"""Cancellation and progress for long engine jobs.

Every long job is a generator that takes a :class:`TaskState` and yields
events. The GUI and the CLI drive the same generators; cancelling sets a flag
that the job checks between batches.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Any, Callable, Generator, Iterator, TypeVar

T = TypeVar("T")


class Cancelled(Exception):
    """Raised inside a job when its :class:`TaskState` was cancelled."""


class TaskState:
    """A thread-safe cancellation flag shared by a job and whoever started it."""

    def __init__(self) -> None:
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if the job should stop now."""
        if self._cancelled.is_set():
            raise Cancelled()


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
