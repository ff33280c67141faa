"""`cvstudio [gui]` and `cvstudio --selftest`: the window, or a check of this installation."""

from __future__ import annotations

import argparse
import json
import os
import sys

from cvstudio.cli.exit_codes import EXIT_ERROR, EXIT_USAGE


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
