"""The command line: `cvstudio [gui] | --selftest | run | plugins | plugin new|check|install | runs | report | export | predict`.

Every command drives the same engine as the GUI. Errors print one clear line
on stderr and exit non-zero; tracebacks are for `--debug`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Sequence, TextIO

EXIT_ERROR, EXIT_USAGE, EXIT_CANCELLED = 1, 2, 130


def main(argv: Sequence[str] | None = None) -> int:
    import multiprocessing

    multiprocessing.freeze_support()  # a packaged app starts the child processes of long fits through here
    from cvstudio.core.threads import prepare_cpu_threads

    prepare_cpu_threads()  # before anything imports torch: the app, every command and the studies they run
    parser = _parser()
    args = parser.parse_args(argv)
    command = "selftest" if args.selftest else args.command or "gui"
    from cvstudio.core.tasks import exit_code, signals_interrupt

    try:
        with signals_interrupt():  # SIGTERM, SIGHUP: like Ctrl-C, so a run is closed, not left running
            return COMMANDS[command](args)
    except KeyboardInterrupt as interrupt:
        print("\ncancelled" + (f" {interrupt}" if str(interrupt) else ""), file=sys.stderr)
        return exit_code(interrupt)
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
    parser.set_defaults(experiment=None)  # plain `cvstudio` is `cvstudio gui` on the default course
    parser.add_argument("--selftest", action="store_true",
                        help="check this installation (window, plugins, training, ONNX export and inference); "
                             "print a JSON summary and exit 0 only if all worked")
    parser.add_argument("--screenshot", type=Path, metavar="FILE", help="with --selftest: save the window to FILE")
    parser.add_argument("--summary", type=Path, metavar="FILE", help="with --selftest: also write the JSON to FILE")
    # --debug also after the command (`cvstudio run x.toml --debug`); SUPPRESS keeps one given before it.
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    sub = _SubcommandsWithDebug(parser.add_subparsers(dest="command", metavar="COMMAND"), debug)
    gui = sub.add_parser("gui", help="open the desktop app (the default command)")
    gui.add_argument("experiment", nargs="?", type=Path, help="experiment or lesson file to open")
    gui.add_argument("--screenshot", type=Path, metavar="PNG", default=argparse.SUPPRESS,
                     help="save a picture of the window once its data are in, then exit (no user settings changed)")
    gui.add_argument("--view", metavar="NAME", help="with --screenshot: the view to show, e.g. training, activations")
    run = sub.add_parser("run", help="run an experiment file (or every step of a lesson) headless, saving runs")
    run.add_argument("experiment", type=Path,
                     help="experiment or lesson TOML file, e.g. resources/lessons/why-deep-learning.toml")
    run.add_argument("--step", type=int, help="for a lesson: run only this step's experiment (from 1)")
    run.add_argument("--report", type=Path, help="also write an HTML report of the runs made to this file")
    run.add_argument("--out", type=Path, help="runs directory (default: $CVSTUDIO_RUNS_DIR or the user data dir)")
    run.add_argument("--epochs", type=int, help="override the epochs of every deep pipeline")
    run.add_argument("--device", help="override the device of every deep pipeline: auto, cpu, cuda, mps")
    run.add_argument("--nproc", type=int, metavar="N",
                     help="train the deep pipelines in N processes with DistributedDataParallel, started by "
                          "torchrun (see docs/distributed-training.md)")
    run.add_argument("--cluster", metavar="ADDRESS",
                     help="run the study's cells as Ray tasks: on the cluster at HOST:PORT, 'auto' ($RAY_ADDRESS), "
                          "or 'local' (a Ray runtime on this computer); see docs/cluster.md")
    run.add_argument("--cpus-per-cell", type=float, default=1.0, metavar="N",
                     help="with --cluster: CPUs each cell asks of its node (default 1)")
    run.add_argument("--gpus-per-cell", type=float, default=0.0, metavar="N",
                     help="with --cluster: GPUs each cell asks of its node, e.g. 1 or 0.5 (default 0)")
    run.add_argument("--retries", type=int, default=2, metavar="N",
                     help="with --cluster: how often a cell whose worker or node was lost starts again (default 2)")
    plugins = sub.add_parser("plugins", help="list plugins, what they provide and their errors")
    plugins.add_argument("--json", action="store_true", help="machine-readable output")
    plugin = sub.add_parser("plugin", help="write a plugin (`plugin new`) and check it (`plugin check`)")
    plugin_sub = _SubcommandsWithDebug(plugin.add_subparsers(dest="plugin_command", metavar="ACTION", required=True),
                                       debug)
    new = plugin_sub.add_parser("new", help="create an installable plugin package whose tests already pass")
    new.add_argument("name", help="plugin name, e.g. cvstudio-texture (the package: cvstudio_texture)")
    new.add_argument("--kind", required=True, action="append", metavar="KIND",
                     help="what it provides: feature, classifier, model, dataset, panel; several as "
                          "--kind feature,model or --kind feature --kind model")
    new.add_argument("--dir", type=Path, default=Path("."), help="where to create the package folder (default: here)")
    check = plugin_sub.add_parser("check", help="load plugins as the app does and run the contract checks on "
                                                "every component they provide; exit status 1 on any failure")
    check.add_argument("names", nargs="*", metavar="NAME",
                       help="plugins to check, as `cvstudio plugins` lists them (default: every one not built in)")
    install = plugin_sub.add_parser(
        "install", help="install a plugin for this user, without pip: a wheel, a project folder or a .py file")
    install.add_argument("source", type=Path, metavar="PATH", help="a .whl, a plugin project folder or a .py plugin")
    runs = sub.add_parser("runs", help="list saved runs")
    runs.add_argument("--out", type=Path, help="runs directory")
    runs.add_argument("--csv", type=Path, help="write every run's results (one row per pipeline) to this CSV file")
    report = sub.add_parser("report", help="write a self-contained HTML report of runs, or of a lesson's latest runs")
    report.add_argument("run_dirs", type=Path, nargs="*", metavar="RUN_DIR", help="run folders, as `cvstudio runs` lists them")
    report.add_argument("--lesson", type=Path, help="instead: the newest run of each of this lesson's experiments")
    report.add_argument("--out", type=Path, help="with --lesson: the runs directory to look in")
    report.add_argument("-o", "--output", type=Path,
                        help="HTML file to write (default: RUN_DIR/report.html, or LESSON-report.html here)")
    export = sub.add_parser("export", help="export a run's trained network to ONNX, verified against torch")
    export.add_argument("run_dir", type=Path, help="the run's folder, as `cvstudio runs` lists it")
    export.add_argument("-o", "--output", type=Path, help="ONNX file to write (default: RUN_DIR/exports/<pipeline>.onnx)")
    export.add_argument("--pipeline", help="which deep pipeline, by label (needed when the run has several)")
    predict = sub.add_parser("predict", help="classify images with an ONNX model in ONNX Runtime")
    predict.add_argument("model", type=Path, help="an .onnx file: a cvstudio export or any image classifier")
    predict.add_argument("images", type=Path, nargs="+", help="image files and folders of images")
    predict.add_argument("--provider", default="auto", help="auto (TensorRT > CUDA > CPU), cpu, cuda or tensorrt")
    predict.add_argument("--topk", type=int, default=3, help="how many classes to show per image")
    predict.add_argument("--csv", type=Path, help="also write every prediction to this CSV file")
    predict.add_argument("--config", type=Path,
                         help="preprocessing config (JSON); the keys it holds change the model's own or guessed "
                              "preprocessing, the others keep it, e.g. {\"invert\": true} "
                              "(default: MODEL.preprocess.json if present)")
    predict.add_argument("--labels", type=Path, help="class names, one a line (default: MODEL.labels.txt if present)")
    predict.add_argument("--batch-size", type=int, default=32, help="images per ONNX Runtime call")
    return parser


class _SubcommandsWithDebug:
    """Adds every subcommand with the shared ``--debug`` option."""

    def __init__(self, subparsers: Any, debug: argparse.ArgumentParser) -> None:
        self.subparsers, self.debug = subparsers, debug

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return self.subparsers.add_parser(name, parents=[self.debug], **kwargs)


def has_display() -> bool:
    """Whether a window can open: on Linux, an X or Wayland display or a Qt platform chosen by hand."""
    return not sys.platform.startswith("linux") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM"))


def cmd_gui(args: argparse.Namespace) -> int:
    from cvstudio.core.lessons import default_course

    experiment = args.experiment or default_course()
    if not has_display():
        print(
            "cvstudio: no display found, so the window cannot open.\n"
            "Run the lesson headless instead:\n"
            f"  cvstudio run {experiment}\n"
            "or start a virtual display: xvfb-run cvstudio",
            file=sys.stderr,
        )
        return EXIT_USAGE
    screenshot = getattr(args, "screenshot", None)
    if screenshot is not None:
        from cvstudio.qt.app import save_screenshot

        print(f"saved {save_screenshot(experiment, screenshot, getattr(args, 'view', None))}")
        return 0
    if getattr(args, "view", None) is not None:
        print("cvstudio: --view goes with --screenshot (cvstudio gui FILE --screenshot PNG --view NAME)",
              file=sys.stderr)
        return EXIT_USAGE
    from cvstudio.qt.app import run_app

    return run_app(experiment)


def cmd_selftest(args: argparse.Namespace) -> int:
    from cvstudio.selftest import format_checks, run_selftest

    window_check = None
    if has_display():
        from cvstudio.qt.selftest import check_window as window_check
    ok, summary = run_selftest(args.screenshot, args.summary, window_check)
    print(json.dumps(summary, indent=2, default=str))
    print(format_checks(summary), file=sys.stderr)
    return 0 if ok else EXIT_ERROR


def cmd_run(args: argparse.Namespace) -> int:
    """Run an experiment file, or each experiment of a lesson once, in step order (``--step``: just one)."""
    from cvstudio.core.lessons import check_lesson, is_lesson_file, load_lesson
    from cvstudio.plugins import load_registry

    if args.nproc is not None and args.cluster:
        print("error: --nproc trains one network in several processes, --cluster spreads a study's trainings "
              "over a Ray cluster: give one of the two", file=sys.stderr)
        return EXIT_USAGE
    if args.nproc is not None:
        return _launch_processes(args)
    from cvstudio.core.distributed import launched_world_size

    registry = load_registry()
    if launched_world_size() > 1:
        return _run_distributed(args, registry)
    paths, title = [args.experiment], None
    if is_lesson_file(args.experiment):
        lesson = load_lesson(args.experiment)
        check_lesson(lesson, registry)
        title = lesson.title
        if args.step is not None:
            if not 1 <= args.step <= len(lesson.steps):
                print(f"error: --step {args.step}: the lesson has steps 1 to {len(lesson.steps)}", file=sys.stderr)
                return EXIT_USAGE
            paths = [lesson.steps[args.step - 1].experiment]
        else:
            paths = lesson.experiments()
    elif args.step is not None:
        print(f"error: --step is for lesson files; {args.experiment} is an experiment", file=sys.stderr)
        return EXIT_USAGE
    runs, outcome = [], 0
    for path in paths:
        code, go_on = _run_experiment_file(path, registry, args, runs)
        outcome = outcome or code
        if not go_on:
            return code
    if args.report:
        from cvstudio.core.report import write_report

        print(f"report {write_report(runs, args.report, title)}", file=sys.stderr)
    return outcome


def _launch_processes(args: argparse.Namespace) -> int:
    """`cvstudio run FILE --nproc N`: this same command in N processes, started by torchrun."""
    from cvstudio.core.torchrun import launch

    forwarded = ["run", str(args.experiment)]
    for option in ("step", "report", "out", "epochs", "device"):
        if getattr(args, option) is not None:
            forwarded += [f"--{option}", str(getattr(args, option))]
    return launch(args.nproc, forwarded + (["--debug"] if args.debug else []), args.debug)


def _run_distributed(args: argparse.Namespace, registry: Any) -> int:
    """One of the processes torchrun started: process 0 makes the run and prints; the others train silently.

    The processes read the experiment together: a problem in it is printed once, by process 0, naming
    the process that found it. Later, a process that fails leaves its error for the others: process 0
    records it in the run and prints it. A process prints an error itself only when it cannot leave it.
    """
    from cvstudio.core.distributed import process_group
    from cvstudio.core.lessons import is_lesson_file
    from cvstudio.core.tasks import TaskState, drain, exit_code
    from cvstudio.core.torchrun import check_experiment, follow

    with process_group() as world:
        experiment, problem = None, None
        try:
            if is_lesson_file(args.experiment) or args.step is not None:
                raise ValueError(f"{args.experiment} is a lesson (or --step was given): a distributed training "
                                 "runs one experiment file; give one step's experiment")
            experiment = _load_with_overrides(args.experiment, registry, args)
            check_experiment(experiment)
        except Exception as exc:  # noqa: BLE001 - every process reports what it found; process 0 prints it
            problem = str(exc)
        problem = world.first_problem(problem)
        if problem is not None:
            if world.leader:
                print(f"error: {problem}", file=sys.stderr)
            return EXIT_ERROR
        if world.leader:
            runs: list[Any] = []
            code, _ = _run_loaded(experiment, registry, args, runs)
            if code == EXIT_ERROR:
                world.report_failure(f"the run stopped; its error is in {runs[0].path}")
            elif code == 0 and args.report:
                from cvstudio.core.report import write_report

                print(f"report {write_report(runs, args.report)}", file=sys.stderr)
            return code
        try:
            drain(follow(experiment, registry, TaskState()))
        except KeyboardInterrupt as interrupt:  # Ctrl-C reached every process: process 0 says it
            return exit_code(interrupt)
        except Exception as exc:  # noqa: BLE001 - process 0 prints it, with the run it stopped
            if world.peer_failure() is None and not world.report_failure(str(exc)):
                print(f"error: {exc}", file=sys.stderr)
            return EXIT_ERROR
        return 0


def _load_with_overrides(path: Path, registry: Any, args: argparse.Namespace) -> Any:
    """The experiment in ``path`` with the command line's --epochs and --device applied."""
    from cvstudio.core.experiment import load_experiment

    experiment = load_experiment(path, registry)
    overrides = {k: v for k, v in (("epochs", args.epochs), ("device", args.device)) if v is not None}
    if overrides:
        from cvstudio.core.training import TRAINING_PARAMS

        for param in TRAINING_PARAMS:
            if param.name in overrides:
                overrides[param.name] = param.validate(overrides[param.name])
        experiment = experiment.with_training(**overrides)
    return experiment


def _run_experiment_file(path: Path, registry: Any, args: argparse.Namespace, runs: list[Any]) -> tuple[int, bool]:
    """Run one experiment file into a new run (appended to ``runs``): the exit code, and whether to go on.

    When some pipelines failed and the others completed, the next experiments
    of a lesson still run and the report is still written (as the app does).
    """
    return _run_loaded(_load_with_overrides(path, registry, args), registry, args, runs)


def _run_loaded(experiment: Any, registry: Any, args: argparse.Namespace, runs: list[Any]) -> tuple[int, bool]:
    """Run an experiment into a new run, as :func:`_run_experiment_file` says."""
    from cvstudio.core.experiment import PipelinesFailed, run_experiment
    from cvstudio.core.runs import RunStore
    from cvstudio.core.tasks import Cancelled, TaskState, exit_code

    executor = None
    if args.cluster:
        from cvstudio.core.cells import ray_executor
        from cvstudio.core.experiment import check_runs_cells

        check_runs_cells(experiment)
        executor = ray_executor(args.cluster, args.cpus_per_cell, args.gpus_per_cell, args.retries)
    run = RunStore(args.out).create(experiment.title)
    runs.append(run)
    printer = ProgressPrinter(sys.stderr, args.debug)
    print(f"run {run.path}" + (f" (cells on the Ray cluster '{args.cluster}')" if args.cluster else ""),
          file=sys.stderr)
    try:
        summary = yield_to(printer, run_experiment(experiment, registry, run, TaskState(), executor=executor))
    except (Cancelled, KeyboardInterrupt) as exc:
        print(f"\ncancelled; {what_was_kept(run)}", file=sys.stderr)
        return (exit_code(exc) if isinstance(exc, KeyboardInterrupt) else EXIT_CANCELLED), False
    except PipelinesFailed as exc:  # the other pipelines ran to the end: show them, then what failed
        printer.finish_line()
        print(format_summary(exc.summary))
        print(f"error: {exc}\n{what_was_kept(run)}"
              + ("" if args.debug else " (--debug shows the tracebacks)"), file=sys.stderr)
        return EXIT_ERROR, True
    except Exception as exc:
        printer.finish_line()
        if args.debug:
            traceback.print_exception(exc, file=sys.stderr)
        print(f"error: {exc}\n{what_was_kept(run)}", file=sys.stderr)
        return EXIT_ERROR, False
    print(format_summary(summary))
    return 0, True


def what_was_kept(run: Any) -> str:
    """What the run folder holds now, as its status file says: only what was really written."""
    record = run.status_record()
    if record is not None and record["status"] not in ("running", "completed"):
        return f"the run so far is kept, marked {record['status']}, in {run.path}"
    return (f"what the run wrote is in {run.path}, but its status could not be written; "
            "`cvstudio runs` shows it as interrupted once this command has ended")


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
            self.line(f"  done: val acc {s['val_accuracy']:.3f}, test acc {s['test_accuracy']:.3f} ({s['seconds']:.1f} s)")
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


def format_summary(summary: dict[str, Any]) -> str:
    """The result table: a study's own (its module's ``format_summary``), else one line per pipeline."""
    if summary.get("study", "compare") != "compare":
        from cvstudio.core.experiment import study_module

        return study_module(summary["study"]).format_summary(summary)
    lines = [f"{summary['title']} — {summary['status']}"]
    width = max((len(name) for name in (*summary["pipelines"], *summary.get("failed", {}))), default=10)
    lines.append(f"{'pipeline':<{width}}  kind       val acc  test acc  seconds")
    for name, s in summary["pipelines"].items():
        lines.append(f"{name:<{width}}  {s['kind']:<9}  {s['val_accuracy']:>7.3f}  {s['test_accuracy']:>8.3f}  {s['seconds']:>7.1f}")
    for name, failure in summary.get("failed", {}).items():
        lines.append(f"{name:<{width}}  {failure['kind']:<9}  FAILED: {failure['error']}")
    return "\n".join(lines)


def cmd_plugins(args: argparse.Namespace) -> int:
    from cvstudio.plugins import load_registry

    registry = load_registry()
    if args.json:
        print(json.dumps(_plugins_json(registry), indent=2))
    else:
        print(format_plugins(registry, args.debug))
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


def format_plugins(registry: Any, debug: bool = False) -> str:
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
            if debug and error.traceback:
                lines.extend("        " + line for line in error.traceback.rstrip().splitlines())
    if registry.errors and not debug:
        lines.append("(cvstudio plugins --debug shows each error's traceback)")
    return "\n".join(lines)


def cmd_plugin(args: argparse.Namespace) -> int:
    if args.plugin_command == "check":
        return cmd_plugin_check(args)
    if args.plugin_command == "install":
        return cmd_plugin_install(args)
    from cvstudio.scaffold import ScaffoldError, create_plugin

    try:
        target = create_plugin(args.name, args.kind, args.dir)
    except ScaffoldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    package = target.name.replace("-", "_")
    print(f"created {target}\nnext:\n  pip install -e {target}\n  cvstudio plugin check {package}\n"
          f"  pytest {target}")
    return 0


def cmd_plugin_check(args: argparse.Namespace) -> int:
    from cvstudio.plugin_check import FAILED, UnknownPluginError, check_plugins, format_report, select_plugins
    from cvstudio.plugins import load_registry

    registry = load_registry()
    try:
        plugins = select_plugins(registry, args.names)
    except UnknownPluginError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not plugins:
        print("no plugins to check besides the built-ins: install one (pip install -e PATH) or name one, "
              "e.g. `cvstudio plugin check features`", file=sys.stderr)
        return EXIT_USAGE
    results = check_plugins(registry, plugins)
    print(format_report(plugins, results, args.debug))
    return EXIT_ERROR if any(r.status == FAILED for r in results) else 0


def cmd_plugin_install(args: argparse.Namespace) -> int:
    from cvstudio.plugin_install import PluginInstallError, install_plugin
    from cvstudio.plugins import load_registry

    try:
        installed = install_plugin(args.source)
    except PluginInstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(installed.describe())
    plugins = load_registry().plugins
    errors = [error for name in installed.plugins if name in plugins for error in plugins[name].errors]
    for error in errors:
        print(f"error: {error.plugin} is installed but does not load: {error.message}", file=sys.stderr)
    return EXIT_ERROR if errors else 0


def cmd_runs(args: argparse.Namespace) -> int:
    from cvstudio.core.runs import STATUS_FILE, UNREADABLE, RunStore

    store = RunStore(args.out)
    runs = store.runs()
    if not runs:
        print(f"no runs yet in {store.root}")
    for run in runs:
        status = run.status
        print(f"{run.id}  {status}" + (f"  ({run.path / STATUS_FILE} is not a run status)" if status == UNREADABLE else ""))
    if args.csv:
        from cvstudio.core.report import write_results_csv

        rows = write_results_csv(runs, args.csv)
        print(f"wrote {rows} row(s) for {len(runs)} run(s) to {args.csv}", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from cvstudio.core.report import lesson_runs, open_run, write_report

    if bool(args.run_dirs) == bool(args.lesson):
        print("error: give run folders or --lesson LESSON (one of the two)", file=sys.stderr)
        return EXIT_USAGE
    if args.lesson:
        from cvstudio.core.lessons import load_lesson
        from cvstudio.core.runs import RunStore

        lesson = load_lesson(args.lesson)
        runs = lesson_runs(lesson, RunStore(args.out).runs())
        if not runs:
            print(f"error: no saved runs of {lesson.title!r} yet; run its steps first "
                  f"(cvstudio run {args.lesson})", file=sys.stderr)
            return EXIT_ERROR
        output = args.output or Path(f"{args.lesson.stem}-report.html")
        print(write_report(runs, output, lesson.title))
        return 0
    runs = [open_run(path) for path in args.run_dirs]
    output = args.output or runs[0].path / "report.html"
    print(write_report(runs, output))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from cvstudio.core.export import TOLERANCE, export_run
    from cvstudio.plugins import load_registry

    result = export_run(args.run_dir, load_registry(), args.output, args.pipeline)
    print(f"exported {result.pipeline!r} to {result.path} ({result.exporter} exporter)")
    print(f"verified on {result.verified_on}: max |ONNX Runtime - torch| = {result.max_abs_diff:.2g} "
          f"(limit {TOLERANCE:g})")
    if result.notice:
        print(f"note: {result.notice}", file=sys.stderr)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Classify images as they are decoded: each batch's lines printed and CSV rows written as it finishes."""
    import contextlib

    from cvstudio.core.inference import Predictor
    from cvstudio.core.inference_jobs import CsvWriter, count_images, iter_images, predict_stream
    from cvstudio.core.preprocessing import PreprocessingConfig
    from cvstudio.core.tasks import Progress, TaskState

    if args.topk < 1 or args.batch_size < 1:
        print("error: --topk and --batch-size must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    preprocessing = PreprocessingConfig.load(args.config) if args.config else None
    predictor = Predictor(args.model, args.provider, preprocessing, args.labels)
    if predictor.notice:
        print(f"warning: {predictor.notice}", file=sys.stderr)
    print(f"{args.model.name}: {predictor.describe()}", file=sys.stderr)
    total = count_images(args.images)
    if not total:
        print("error: no image files in the given folders (looked for .png, .jpg, .bmp, .tif, .webp)", file=sys.stderr)
        return EXIT_ERROR
    printer, lines, done, failed = ProgressPrinter(sys.stderr), [], 0, 0
    results = predict_stream(predictor, iter_images(args.images), TaskState(), args.topk, args.batch_size)
    with CsvWriter(args.csv, args.topk) if args.csv else contextlib.nullcontext() as table:
        for result in results:
            done += 1
            if result.prediction is None:
                failed += 1
                lines.append(f"{result.path}\terror: {result.error}\n")
            else:
                lines.append(f"{result.path}\t" + "\t".join(f"{label} {p:.3f}" for label, p in result.prediction.top)
                             + "\n")
            if table is not None:
                table.write(result)
            if len(lines) == args.batch_size or done == total:
                sys.stdout.write("".join(lines))
                lines.clear()
                printer.show(Progress("inference", "images", done, total))
        sys.stdout.write("".join(lines))
    printer.finish_line()
    if failed:
        print(f"{failed} of {done} file(s) could not be read", file=sys.stderr)
    return EXIT_ERROR if failed == done else 0


COMMANDS = {"gui": cmd_gui, "selftest": cmd_selftest, "run": cmd_run, "plugins": cmd_plugins, "plugin": cmd_plugin,
            "runs": cmd_runs, "export": cmd_export, "predict": cmd_predict, "report": cmd_report}
