"""The command line: `cvstudio [gui] | run | plugins | runs`.

Every command drives the same engine as the GUI. Errors print one clear line
on stderr and exit non-zero; tracebacks are for `--debug`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence, TextIO

EXIT_ERROR, EXIT_USAGE, EXIT_CANCELLED = 1, 2, 130


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    command = args.command or "gui"
    try:
        return COMMANDS[command](args)
    except KeyboardInterrupt:
        print("\ncancelled", file=sys.stderr)
        return EXIT_CANCELLED
    except Exception as exc:  # noqa: BLE001 - the CLI reports, it does not crash
        if getattr(args, "debug", False):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR


def gui_main() -> int:
    return main(["gui", *sys.argv[1:]])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cvstudio", description="Classical computer vision against deep learning, measured live."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = sub.add_parser("gui", help="open the desktop app (the default command)")
    gui.add_argument("experiment", nargs="?", type=Path, help="experiment or lesson file to open")
    run = sub.add_parser("run", help="run an experiment file headless and save it as a run")
    run.add_argument("experiment", type=Path, help="experiment TOML file, e.g. resources/lessons/why-deep-learning.toml")
    run.add_argument("--out", type=Path, help="runs directory (default: $CVSTUDIO_RUNS_DIR or the user data dir)")
    run.add_argument("--epochs", type=int, help="override the epochs of every deep pipeline")
    run.add_argument("--device", help="override the device of every deep pipeline: auto, cpu, cuda, mps")
    plugins = sub.add_parser("plugins", help="list plugins, what they provide and their errors")
    plugins.add_argument("--json", action="store_true", help="machine-readable output")
    runs = sub.add_parser("runs", help="list saved runs")
    runs.add_argument("--out", type=Path, help="runs directory")
    return parser


def cmd_gui(args: argparse.Namespace) -> int:
    from cvstudio.core.experiment import bundled_lesson

    experiment = args.experiment or bundled_lesson()
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")
    ):
        print(
            "cvstudio: no display found, so the window cannot open.\n"
            "Run the lesson headless instead:\n"
            f"  cvstudio run {experiment}\n"
            "or start a virtual display: xvfb-run cvstudio",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from cvstudio.qt.app import run_app

    return run_app(experiment)


def cmd_run(args: argparse.Namespace) -> int:
    from cvstudio.core.experiment import load_experiment, run_experiment
    from cvstudio.core.runs import RunStore
    from cvstudio.core.tasks import Cancelled, TaskState
    from cvstudio.plugins import load_registry

    registry = load_registry()
    experiment = load_experiment(args.experiment, registry)
    overrides = {k: v for k, v in (("epochs", args.epochs), ("device", args.device)) if v is not None}
    if overrides:
        from cvstudio.core.training import TRAINING_PARAMS

        for param in TRAINING_PARAMS:
            if param.name in overrides:
                overrides[param.name] = param.validate(overrides[param.name])
        experiment = experiment.with_training(**overrides)
    run = RunStore(args.out).create(experiment.title)
    printer = ProgressPrinter(sys.stderr)
    print(f"run {run.path}", file=sys.stderr)
    try:
        summary = yield_to(printer, run_experiment(experiment, registry, run, TaskState()))
    except (Cancelled, KeyboardInterrupt):
        print(f"\ncancelled; the run so far is kept in {run.path}", file=sys.stderr)
        return EXIT_CANCELLED
    except Exception as exc:
        printer.finish_line()
        print(f"error: {exc}\nthe run is kept, marked failed, in {run.path}", file=sys.stderr)
        return EXIT_ERROR
    print(format_summary(summary))
    return 0


def yield_to(printer: ProgressPrinter, events: Any) -> Any:
    """Drive an engine generator, printing each event; return the generator's value."""
    while True:
        try:
            event = next(events)
        except StopIteration as stop:
            printer.finish_line()
            return stop.value
        printer.show(event)


class ProgressPrinter:
    """Terminal progress: a live bar on a terminal, plain lines in a log or CI."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.open_line = False
        self.last_draw = 0.0

    def show(self, event: Any) -> None:
        from cvstudio.core.experiment import DatasetReady, PipelineFinished, PipelineStarted
        from cvstudio.core.tasks import Progress
        from cvstudio.core.training import BatchEnd, EpochEnd

        if isinstance(event, DatasetReady):
            d = event.dataset
            self.line(f"dataset {d.name}: {len(d)} images, {d.num_classes} classes, "
                      f"{d.image_size[0]}×{d.image_size[1]}×{d.channels}, split {event.sizes}")
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
        elif isinstance(event, PipelineFinished):
            s = event.summary
            self.line(f"  done: val acc {s['val_accuracy']:.3f}, test acc {s['test_accuracy']:.3f} ({s['seconds']:.1f} s)")

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


def format_summary(summary: dict[str, Any]) -> str:
    lines = [f"{summary['title']} — {summary['status']}"]
    width = max((len(name) for name in summary["pipelines"]), default=10)
    lines.append(f"{'pipeline':<{width}}  kind       val acc  test acc  seconds")
    for name, s in summary["pipelines"].items():
        lines.append(f"{name:<{width}}  {s['kind']:<9}  {s['val_accuracy']:>7.3f}  {s['test_accuracy']:>8.3f}  {s['seconds']:>7.1f}")
    return "\n".join(lines)


def cmd_plugins(args: argparse.Namespace) -> int:
    from cvstudio.plugins import load_registry

    registry = load_registry()
    if args.json:
        print(json.dumps(_plugins_json(registry), indent=2))
    else:
        print(format_plugins(registry))
    return EXIT_ERROR if registry.errors else 0


def _plugins_json(registry: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": info.name,
            "source": info.source,
            "location": info.location,
            "status": info.status,
            "specs": info.specs,
            "errors": [vars(e) for e in info.errors],
        }
        for info in registry.plugins.values()
    ]


def format_plugins(registry: Any) -> str:
    from cvstudio.specs import SPEC_TYPES

    lines = []
    for info in registry.plugins.values():
        lines.append(f"{info.name}  [{info.source}]  {info.status}  ({info.location})")
        for kind, names in info.specs.items():
            for name in names:
                spec = registry.get(kind, name)
                params = ", ".join(p.describe() for p in spec.params)
                lines.append(f"    {SPEC_TYPES[kind].kind}: {name}" + (f"  — {params}" if params else ""))
        for error in info.errors:
            where = f" in {error.hook}" if error.hook else ""
            lines.append(f"    ERROR{where}: {error.message}")
    return "\n".join(lines)


def cmd_runs(args: argparse.Namespace) -> int:
    from cvstudio.core.runs import RunStore

    store = RunStore(args.out)
    runs = store.runs()
    if not runs:
        print(f"no runs yet in {store.root}")
    for run in runs:
        print(f"{run.id}  {run.status}")
    return 0


COMMANDS = {"gui": cmd_gui, "run": cmd_run, "plugins": cmd_plugins, "runs": cmd_runs}
