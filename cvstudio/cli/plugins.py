"""`cvstudio plugins` and `cvstudio plugin new | check | install`: what plugins provide, writing and installing one."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cvstudio.cli.exit_codes import EXIT_ERROR, EXIT_USAGE


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
