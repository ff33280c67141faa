"""`cvstudio runs` and `cvstudio report`: the saved runs, listed or written as an HTML report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cvstudio.cli.exit_codes import EXIT_ERROR, EXIT_USAGE


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
