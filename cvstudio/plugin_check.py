"""`cvstudio plugin check`: load plugins as the app does and run the contract on every component.

Like a linter for plugins, for an author before publishing and for CI: the
report names each component with ``ok``, ``FAILED`` and the reason, or
``skipped`` and why; any failure (a load error included) fails the check.
"""

from __future__ import annotations

import difflib
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from cvstudio import contracts
from cvstudio.plugins import BUILTIN, PluginInfo, Registry
from cvstudio.specs import SPEC_TYPES, Spec

OK, FAILED, SKIPPED = "ok", "FAILED", "skipped"
# The inputs the app gives components: grey and colour images, of the sizes the built-in datasets have.
FEATURE_INPUTS = ((1, 28), (3, 32))
MODEL_INPUTS = ((1, 28, 10), (3, 32, 5))
QUICK_PER_CLASS = 20


class UnknownPluginError(LookupError):
    """``cvstudio plugin check NAME`` names no loaded plugin."""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: a component's contract, or a plugin's loading (``component`` None)."""

    plugin: str
    component: str | None
    status: str
    message: str = ""
    traceback: str = ""


def select_plugins(registry: Registry, names: Sequence[str]) -> list[PluginInfo]:
    """The plugins to check: those named (as listed, or by distribution name), else every one not built in."""
    if not names:
        return [info for info in registry.plugins.values() if info.source != BUILTIN]
    chosen = []
    for name in names:
        info = registry.plugins.get(name) or registry.plugins.get(name.replace("-", "_"))
        if info is None:
            close = difflib.get_close_matches(name, list(registry.plugins), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            known = ", ".join(registry.plugins) or "none"
            raise UnknownPluginError(f"no plugin named '{name}' is loaded{hint} (loaded: {known}); install it "
                                     "(pip install -e PATH) or put it in a plugin folder, then see `cvstudio plugins`")
        chosen.append(info)
    return chosen


def check_plugins(registry: Registry, plugins: Sequence[PluginInfo]) -> list[CheckResult]:
    """Every load error of ``plugins`` as a failure, then the contract of each component they provide."""
    results = []
    for info in plugins:
        if not info.enabled:
            results.append(CheckResult(info.name, None, SKIPPED, "disabled"))
            continue
        for error in info.errors:
            where = f"{error.hook}: " if error.hook else ""
            results.append(CheckResult(info.name, None, FAILED, where + error.message, error.traceback))
        if not info.errors and not any(info.specs.values()):
            results.append(CheckResult(info.name, None, FAILED, "provides nothing: no hook returned a spec; "
                                       "mark each hook function with @cvstudio.hookimpl"))
        for kind, names in info.specs.items():
            for name in names:
                results.append(_check_component(info.name, registry.get(kind, name)))
    return results


def _check_component(plugin: str, spec: Spec) -> CheckResult:
    label = f"{spec.kind} '{spec.name}'"
    skip = _reason_to_skip(spec)
    if skip:
        return CheckResult(plugin, label, SKIPPED, skip)
    try:
        CHECKS[type(spec)](spec)
    except Exception as exc:  # noqa: BLE001 - a broken component is the report's subject, not a crash
        message = str(exc) if isinstance(exc, contracts.ContractError) else f"{type(exc).__name__}: {exc}"
        return CheckResult(plugin, label, FAILED, message, "".join(traceback.format_exception(exc)))
    return CheckResult(plugin, label, OK)


def _reason_to_skip(spec: Spec) -> str:
    """A dataset that needs a file or folder (a ``path`` parameter left empty) cannot be built without one."""
    empty_paths = [p.name for p in spec.params if p.kind == "path" and not p.default]
    if empty_paths:
        return f"needs a value for {', '.join(empty_paths)}; check it in your own tests with a real path"
    return ""


def _check_dataset(spec: Any) -> None:
    params = {}
    per_class = next((p for p in spec.params if p.name == "per_class" and p.kind == "int"), None)
    if per_class is not None:  # keep the check quick; the contract does not depend on the size
        params["per_class"] = max(min(per_class.default, QUICK_PER_CLASS), per_class.minimum or 1)
    contracts.check_dataset(spec, **params)


def _check_feature_extractor(spec: Any) -> None:
    for channels, size in FEATURE_INPUTS:
        contracts.check_feature_extractor(spec, contracts.make_tiny_dataset(per_class=6, size=size, channels=channels))


def _check_model(spec: Any) -> None:
    for channels, size, classes in MODEL_INPUTS:
        contracts.check_model(spec, channels, size, classes)


CHECKS: dict[type, Callable[[Any], Any]] = {
    SPEC_TYPES["datasets"]: _check_dataset,
    SPEC_TYPES["feature_extractors"]: _check_feature_extractor,
    SPEC_TYPES["classifiers"]: contracts.check_classifier,
    SPEC_TYPES["models"]: _check_model,
    SPEC_TYPES["panels"]: contracts.check_panel,
}


def format_report(plugins: Sequence[PluginInfo], results: Sequence[CheckResult], debug: bool = False) -> str:
    """One block per plugin, a line per check, and a last line counting the failures."""
    lines = []
    for info in plugins:
        lines.append(f"{info.name}  [{info.source}]  ({info.location})")
        for result in (r for r in results if r.plugin == info.name):
            subject = result.component or "loading"
            text = result.message if result.message.startswith(subject) else subject + (
                f": {result.message}" if result.message else "")
            lines.append(f"  {result.status:<7} {text}")
            if debug and result.traceback:
                lines.extend("          " + line for line in result.traceback.rstrip().splitlines())
    failed = sum(r.status == FAILED for r in results)
    checked = sum(r.component is not None and r.status != SKIPPED for r in results)
    lines.append(f"{len(plugins)} plugin(s), {checked} component(s) checked: "
                 + (f"{failed} failure(s)" if failed else "all passed"))
    return "\n".join(lines)
