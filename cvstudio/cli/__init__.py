"""The command line: `cvstudio [gui] | --selftest | run | plugins | plugin new|check|install | runs | report | export | predict`.

Every command drives the same engine as the GUI. Errors print one clear line
on stderr and exit non-zero; tracebacks are for `--debug`. The options are in
:mod:`cvstudio.cli.parser`; the commands are in modules by what they do (run, runs, deploy,
plugins, gui).
"""

from __future__ import annotations

import sys
from typing import Sequence

from cvstudio.cli.deploy import cmd_export, cmd_predict
from cvstudio.cli.exit_codes import EXIT_CANCELLED, EXIT_ERROR, EXIT_USAGE
from cvstudio.cli.gui import cmd_gui, cmd_selftest, has_display
from cvstudio.cli.parser import build_parser
from cvstudio.cli.plugins import cmd_plugin, cmd_plugins
from cvstudio.cli.run import cmd_run, format_summary
from cvstudio.cli.runs import cmd_report, cmd_runs

__all__ = ["COMMANDS", "EXIT_CANCELLED", "EXIT_ERROR", "EXIT_USAGE", "format_summary", "gui_main", "has_display",
           "main"]

COMMANDS = {"gui": cmd_gui, "selftest": cmd_selftest, "run": cmd_run, "plugins": cmd_plugins, "plugin": cmd_plugin,
            "runs": cmd_runs, "export": cmd_export, "predict": cmd_predict, "report": cmd_report}


def main(argv: Sequence[str] | None = None) -> int:
    import multiprocessing

    multiprocessing.freeze_support()  # a packaged app starts the child processes of long fits through here
    parser = build_parser()
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
