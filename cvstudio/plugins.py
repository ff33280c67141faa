"""Plugin discovery and the registry of everything plugins contribute.

Built-ins, third-party packages and single-file plugins all come through the
same path. Each plugin is loaded, and each of its hooks called, in isolation:
an import error, a raising hook, an invalid spec or a duplicate name is
recorded against that plugin and skipped, and everything else still loads.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import sys
import traceback
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable

import pluggy

from cvstudio import hookspecs
from cvstudio.specs import SPEC_TYPES, Spec

ENTRY_POINT_GROUP = "cvstudio.plugins"
DISABLE_AUTOLOAD_ENV = "CVSTUDIO_DISABLE_PLUGIN_AUTOLOAD"
PLUGIN_PATH_ENV = "CVSTUDIO_PLUGIN_PATH"
HOOKS = {kind: f"cvstudio_register_{kind}" for kind in SPEC_TYPES}

BUILTIN, ENTRY_POINT, FILE, GIVEN = "built-in", "entry point", "file", "given"


class UnknownComponentError(LookupError):
    """A dataset, extractor, classifier or model name that no plugin provides."""


@dataclass(frozen=True)
class PluginError:
    """One problem with a plugin: which plugin, which hook (None: while importing it), what, and the traceback."""

    plugin: str
    hook: str | None
    message: str
    traceback: str = ""


@dataclass
class PluginInfo:
    """One plugin as the user sees it: where it came from, what it gave, what failed."""

    name: str
    source: str
    location: str
    specs: dict[str, list[str]] = field(default_factory=dict)
    errors: list[PluginError] = field(default_factory=list)
    enabled: bool = True

    @property
    def status(self) -> str:
        """``ok``, ``partly loaded`` (some hooks failed), ``failed`` (nothing loaded) or ``disabled``."""
        if not self.enabled:
            return "disabled"
        if not self.errors:
            return "ok"
        return "partly loaded" if any(self.specs.values()) else "failed"


@dataclass
class Registry:
    """Specs by kind and name, plus every plugin and every error met while loading.

    ``plugins`` maps each plugin's name to its :class:`PluginInfo`, in load
    order (built-ins first). A panel reads the window's ``registry`` to list
    what is installed; it never registers anything itself.
    """

    plugin_manager: pluggy.PluginManager
    plugins: dict[str, PluginInfo] = field(default_factory=dict)
    components: dict[str, dict[str, tuple[Spec, str]]] = field(
        default_factory=lambda: {kind: {} for kind in SPEC_TYPES}
    )
    load_options: dict[str, Any] = field(default_factory=dict)

    @property
    def disabled(self) -> frozenset[str]:
        """Names of the plugins listed but not loaded, because the user unticked them."""
        return frozenset(name for name, info in self.plugins.items() if not info.enabled)

    def reload(self, disabled: Iterable[str] | None = None) -> Registry:
        """A fresh registry loaded the same way as this one, so edited single-file plugins take effect.

        ``disabled`` replaces the set of plugins to skip; by default the same
        plugins stay disabled. Installed packages that were already imported
        keep their code until the app restarts.
        """
        options = dict(self.load_options)
        options["disabled"] = self.disabled if disabled is None else frozenset(disabled)
        return load_registry(**options)

    @property
    def errors(self) -> list[PluginError]:
        """Every error met while loading, of every plugin."""
        return [error for info in self.plugins.values() for error in info.errors]

    def error_summary(self, limit: int = 200) -> str:
        """One paragraph naming each plugin with errors and its first problem, for a banner ('' when none)."""
        failing = [info for info in self.plugins.values() if info.errors]
        if not failing:
            return ""

        def first(info: PluginInfo) -> str:
            error = info.errors[0]
            text = (f"in {error.hook}: " if error.hook else "") + error.message
            more = len(info.errors) - 1
            text = text if len(text) <= limit else text[: limit - 1] + "…"
            return f"'{info.name}' ({info.status}): {text}" + (f" (and {more} more)" if more else "")

        head = "Plugin " if len(failing) == 1 else f"{len(failing)} plugins have errors: "
        return head + "; ".join(first(info) for info in failing) + ". The Plugins view shows the details and tracebacks."

    def specs(self, kind: str) -> dict[str, Spec]:
        """The specs of one kind by name: ``datasets``, ``feature_extractors``, ``classifiers``, ``models``, ``panels``."""
        return {name: spec for name, (spec, _) in self.components[kind].items()}

    def get(self, kind: str, name: str) -> Spec:
        """The spec of ``kind`` called ``name``; UnknownComponentError, with the nearest name, if there is none."""
        try:
            return self.components[kind][name][0]
        except KeyError:
            raise UnknownComponentError(self._unknown_message(kind, name)) from None

    def plugin_of(self, kind: str, name: str) -> str:
        """The name of the plugin that provided this component."""
        return self.components[kind][name][1]

    def _unknown_message(self, kind: str, name: str) -> str:
        known = sorted(self.components[kind])
        noun = SPEC_TYPES[kind].kind
        message = f"unknown {noun} '{name}'"
        close = difflib.get_close_matches(name, known, n=1)
        if close:
            message += f"; did you mean '{close[0]}'?"
        return message + f" (available: {', '.join(known) or 'none'}; see `cvstudio plugins`)"


def user_plugin_dir() -> Path:
    """Where single-file plugins (``*.py``) are picked up for this user."""
    import platformdirs

    return Path(platformdirs.user_data_dir("cvstudio")) / "plugins"


def plugin_site_dir() -> Path:
    """Where plugin packages are installed for this user (``cvstudio plugin install``); on the path at startup."""
    return user_plugin_dir() / "site-packages"


def add_plugin_site() -> None:
    """Put the plugin site on ``sys.path``, after the app's own packages so that a plugin cannot replace them."""
    site = str(plugin_site_dir())
    if site not in sys.path:
        sys.path.append(site)


def plugin_dirs(autoload: bool) -> list[Path]:
    dirs = [Path(p) for p in os.environ.get(PLUGIN_PATH_ENV, "").split(os.pathsep) if p]
    if autoload:
        dirs.append(user_plugin_dir())
    return dirs


def _is_builtin(ep: Any) -> bool:
    return ep.dist is not None and ep.dist.name == "cvstudio"


def builtin_packages() -> frozenset[str]:
    """The top-level packages of cvstudio's built-in plugins: a plugin package of the same name would shadow one."""
    return frozenset(ep.value.partition(":")[0].split(".")[0]
                     for ep in entry_points(group=ENTRY_POINT_GROUP) if _is_builtin(ep))


def load_registry(
    *,
    autoload: bool | None = None,
    extra_plugins: Iterable[Any] = (),
    directories: Iterable[Path] | None = None,
    disabled: Iterable[str] = (),
    entry_point_names: Iterable[str] | None = None,
) -> Registry:
    """Build a fresh plugin manager and registry.

    Built-ins always load. Third-party entry points and the user plugin
    directory load unless ``autoload`` is false (by default: unless
    ``CVSTUDIO_DISABLE_PLUGIN_AUTOLOAD`` is set); ``entry_point_names``, when
    given, loads just those third-party entry points, whatever ``autoload``
    says. ``directories`` replaces the plugin folders. ``extra_plugins`` are
    modules or objects registered directly, e.g. by a test. Plugins named in
    ``disabled`` are listed but not loaded.
    """
    extra_plugins = tuple(extra_plugins)
    directories = None if directories is None else [Path(d) for d in directories]
    only = None if entry_point_names is None else frozenset(entry_point_names)
    options = {"autoload": autoload, "extra_plugins": extra_plugins, "directories": directories,
               "entry_point_names": only}
    if autoload is None:
        autoload = not os.environ.get(DISABLE_AUTOLOAD_ENV)
    if autoload:
        add_plugin_site()
    pm = pluggy.PluginManager("cvstudio")
    pm.add_hookspecs(hookspecs)
    registry = Registry(pm, load_options=options)
    loader = _Loader(registry, frozenset(disabled))
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (not _is_builtin(e), e.name)):
        builtin = _is_builtin(ep)  # built-ins first: they are listed, and win name clashes, before the rest
        if builtin or (autoload if only is None else ep.name in only):
            loader.add(ep.name, BUILTIN if builtin else ENTRY_POINT, ep.value, ep.load)
    for directory in plugin_dirs(autoload) if directories is None else directories:
        for path in sorted(Path(directory).glob("*.py")):
            loader.add(path.stem, FILE, str(path), lambda path=path: _import_file(path))
    for plugin in extra_plugins:
        name = getattr(plugin, "__name__", type(plugin).__name__)
        loader.add(name, GIVEN, name, lambda plugin=plugin: plugin)
    loader.collect_specs()
    return registry


class _Loader:
    def __init__(self, registry: Registry, disabled: frozenset[str]) -> None:
        self.registry = registry
        self.disabled = disabled
        self.order: list[str] = []

    def add(self, name: str, source: str, location: str, load: Any) -> None:
        plugins = self.registry.plugins
        unique = name
        while unique in plugins:
            unique = f"{name}#{len([p for p in plugins if p.startswith(name)]) + 1}"
        info = plugins[unique] = PluginInfo(unique, source, location, enabled=unique not in self.disabled)
        if not info.enabled:
            return
        try:
            plugin = load()
            self.registry.plugin_manager.register(plugin, name=unique)
        except KeyboardInterrupt as exc:
            raise PluginInterrupted(f"while loading plugin '{unique}' ({location})") from exc
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a broken plugin must not stop the others
            info.errors.append(_error(unique, None, f"could not load: {_failure(exc)}", exc))
            return
        try:
            self.registry.plugin_manager.check_pending()
        except pluggy.PluginValidationError as exc:
            # Only this plugin can be at fault: every earlier one passed this check.
            self.registry.plugin_manager.unregister(name=unique)
            info.errors.append(PluginError(unique, None, _unknown_hook_message(exc)))
            return
        self.order.append(unique)

    def collect_specs(self) -> None:
        pm = self.registry.plugin_manager
        for kind, hook_name in HOOKS.items():
            impls = {pm.get_name(impl.plugin): impl for impl in getattr(pm.hook, hook_name).get_hookimpls()}
            for plugin_name in self.order:
                if plugin_name in impls:
                    self._call(kind, hook_name, plugin_name, impls[plugin_name].function)

    def _call(self, kind: str, hook_name: str, plugin_name: str, function: Any) -> None:
        info = self.registry.plugins[plugin_name]
        try:
            specs = function()
        except KeyboardInterrupt as exc:
            raise PluginInterrupted(f"in {hook_name} of plugin '{plugin_name}'") from exc
        except (Exception, SystemExit) as exc:  # noqa: BLE001
            info.errors.append(_error(plugin_name, hook_name, _failure(exc, with_type=True), exc))
            return
        if not isinstance(specs, (list, tuple)):
            info.errors.append(PluginError(plugin_name, hook_name, f"returned {type(specs).__name__}, not a list of specs"))
            return
        expected = SPEC_TYPES[kind]
        registered = self.registry.components[kind]
        for spec in specs:
            if not isinstance(spec, expected):
                message = f"returned {spec!r}, which is not a {expected.__name__}"
            elif spec.name in registered:
                owner = registered[spec.name][1]
                message = f"duplicate {spec.kind} name '{spec.name}', already provided by '{owner}'; rename it"
            else:
                object.__setattr__(spec, "plugin", plugin_name)  # frozen; named in its error messages
                registered[spec.name] = (spec, plugin_name)
                info.specs.setdefault(kind, []).append(spec.name)
                continue
            info.errors.append(PluginError(plugin_name, hook_name, message))


def _unknown_hook_message(exc: pluggy.PluginValidationError) -> str:
    """pluggy names the hook; add the nearest real hook name as a hint."""
    hook = next((w for w in str(exc).replace("'", " ").split() if w.startswith("cvstudio_")), None)
    if hook is None:
        return str(exc)
    close = difflib.get_close_matches(hook, list(HOOKS.values()), n=1)
    return f"unknown hook '{hook}'" + (f"; did you mean '{close[0]}'?" if close else "")


def _import_file(path: Path) -> ModuleType:
    module_name = f"cvstudio_userplugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


class PluginInterrupted(KeyboardInterrupt):
    """Ctrl-C (or a KeyboardInterrupt) while a plugin's code ran: it goes on up, naming the plugin."""


def _failure(exc: BaseException, with_type: bool = False) -> str:
    """What went wrong in plugin code, for its error record; a sys.exit() there is named as such."""
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r}), which cvstudio ignores; raise an exception instead"
    return f"{type(exc).__name__}: {exc}" if with_type else str(exc)


def _error(plugin: str, hook: str | None, message: str, exc: BaseException) -> PluginError:
    return PluginError(plugin, hook, message, "".join(traceback.format_exception(exc)))
