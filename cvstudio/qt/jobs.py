"""The window's jobs: one worker per slot ("dataset", "deep", "inference-load", ...), launched, replaced and ended.

A job launched into a busy slot replaces the one there, whose results are then
dropped. The owner drains the current jobs' events on its own timer
(:meth:`Jobs.drain`); when a job ends, its last events go to ``deliver`` and its
``on_done`` handler gets the finished worker.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from PySide6.QtCore import QObject, Signal, Slot

from cvstudio.qt.workers import Job, Worker

Deliver = Callable[[str, list[Any]], None]


class Jobs(QObject):
    """The current worker of each slot, and the replaced ones still winding down."""

    failed = Signal(str, str, str)  # slot, message, details: a current job raised
    changed = Signal()  # a job started or ended

    def __init__(self, deliver: Deliver, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.deliver = deliver
        self.workers: dict[str, Worker] = {}
        self.retired: list[Worker] = []
        self.on_done: dict[str, Callable[[Worker], None]] = {}
        self.generation = 0

    def launch(self, slot: str, job: Job, on_done: Callable[[Worker], None] | None = None) -> Worker:
        """Start ``job`` in ``slot``; a job already there is cancelled and its results dropped."""
        self.retire(slot)
        self.generation += 1
        worker = Worker(job, slot, self.generation)
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._on_finished)
        self.workers[slot] = worker
        if on_done is not None:
            self.on_done[slot] = on_done
        else:
            self.on_done.pop(slot, None)
        worker.start()
        self.changed.emit()
        return worker

    def retire(self, slot: str) -> None:
        """Cancel the job in ``slot``, if any; what it still yields is dropped."""
        worker = self.workers.pop(slot, None)
        if worker is not None:
            worker.cancel()
            self.retired.append(worker)

    def cancel(self, slots: Iterable[str]) -> None:
        """Ask the jobs in ``slots`` to stop; each still ends through ``on_done``."""
        for slot in slots:
            if slot in self.workers:
                self.workers[slot].cancel()

    def busy(self, slots: Iterable[str]) -> bool:
        return any(slot in self.workers for slot in slots)

    def drain(self) -> None:
        """Hand every current job's buffered events to ``deliver``."""
        for slot, worker in list(self.workers.items()):
            self.deliver(slot, worker.drain())

    def stop_all(self) -> None:
        """Cancel every job, then wait for their threads: what the window does before it goes away.

        All are cancelled first, so they stop side by side; each stops within a
        batch or chunk of its work (a long classical fit is a child process, ended).
        """
        workers = [*self.workers.values(), *self.retired]
        for worker in workers:
            worker.cancel()
        for worker in workers:
            worker.wait()
        self.workers.clear()
        self.retired.clear()

    def _is_current(self, worker: Worker) -> bool:
        return self.workers.get(worker.name) is worker

    @Slot(object, str)
    def _on_error(self, error: BaseException, details: str) -> None:
        worker = self.sender()
        if isinstance(worker, Worker) and self._is_current(worker):
            self.failed.emit(worker.name, str(error), details)

    @Slot()
    def _on_finished(self) -> None:
        worker = self.sender()
        if not isinstance(worker, Worker):
            return
        worker.wait()
        if worker in self.retired:
            self.retired.remove(worker)
            return
        if not self._is_current(worker):
            return
        self.deliver(worker.name, worker.drain())
        del self.workers[worker.name]
        handler = self.on_done.pop(worker.name, None)
        if handler is not None:
            handler(worker)
        self.changed.emit()
