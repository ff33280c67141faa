"""Terminal progress of the engine's events, shared by the commands that train or classify."""

from __future__ import annotations

import time
from typing import Any, TextIO


def yield_to(printer: ProgressPrinter, events: Any) -> Any:
    """Drive an engine generator, printing each event and the progress its plain calls report."""
    from cvstudio.core.tasks import progress_to

    with progress_to(printer.show):
        while True:
            try:
                event = next(events)
            except StopIteration as stop:
                printer.finish_line()
                return stop.value
            printer.show(event)


class ProgressPrinter:
    """Terminal progress: a live bar on a terminal, plain lines in a log or CI."""

    def __init__(self, stream: TextIO, debug: bool = False) -> None:
        self.stream = stream
        self.debug = debug
        self.live = stream.isatty()
        self.open_line = False
        self.last_draw = 0.0

    def show(self, event: Any) -> None:
        from cvstudio.core.data import describe_skipped
        from cvstudio.core.experiment import DatasetReady, PipelineFailed, PipelineFinished, PipelineStarted
        from cvstudio.core.tasks import Progress
        from cvstudio.core.training import BatchEnd, EpochEnd

        if isinstance(event, DatasetReady):
            d = event.dataset
            self.line(f"dataset {d.name}: {len(d)} images, {d.num_classes} classes, "
                      f"{d.image_size[0]}×{d.image_size[1]}×{d.channels}, split {event.sizes}")
            if d.skipped:
                self.line(describe_skipped(d.skipped))
        elif isinstance(event, PipelineStarted):
            self.line(f"{event.kind} pipeline: {event.pipeline}")
        elif isinstance(event, Progress):
            self.bar(f"  {event.stage}", event.done, event.total)
        elif isinstance(event, BatchEnd):
            self.bar(f"  epoch {event.epoch}", event.batch, event.batches, f"loss {event.loss:.3f}")
        elif isinstance(event, EpochEnd):
            self.line(f"  epoch {event.epoch}/{event.epochs}: loss {event.train_loss:.3f}, "
                      f"train acc {event.train_accuracy:.3f}, val acc {event.val_accuracy:.3f}, "
                      f"{event.images_per_s:.0f} img/s")
        elif isinstance(event, PipelineFailed):
            self.line(f"  FAILED: {event.error}")
            if self.debug:
                self.line(event.traceback.rstrip())
        elif isinstance(event, PipelineFinished):
            s = event.summary
            where = f"{event.pipeline} on node {s['node'][:12]}: " if "node" in s else ""  # cells end in any order
            self.line(f"  done: {where}val acc {s['val_accuracy']:.3f}, test acc {s['test_accuracy']:.3f} "
                      f"({s['seconds']:.1f} s)")
        elif hasattr(event, "describe"):  # a study's own events say what they are
            self.line(event.describe())

    def bar(self, label: str, done: int, total: int, extra: str = "") -> None:
        if not self.live or (time.monotonic() - self.last_draw < 0.1 and done < total):
            return
        self.last_draw = time.monotonic()
        width = 30
        filled = int(width * done / max(total, 1))
        self.stream.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {extra}\x1b[K")
        self.stream.flush()
        self.open_line = True

    def line(self, text: str) -> None:
        self.finish_line()
        print(text, file=self.stream, flush=True)

    def finish_line(self) -> None:
        if self.open_line:
            self.stream.write("\r\x1b[K")
            self.open_line = False
