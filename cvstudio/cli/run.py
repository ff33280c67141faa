"""`cvstudio run`: an experiment file or a lesson headless: in this process, in processes torchrun starts, or on Ray."""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path
from typing import Any

from cvstudio.cli.exit_codes import EXIT_CANCELLED, EXIT_ERROR, EXIT_USAGE
from cvstudio.cli.progress import ProgressPrinter, yield_to


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
