"""Third-party plugins shipped with a study's cells, so that workers need only cvstudio (and Ray) installed.

On the computer that starts the study, :func:`ship_plugins` says what the
workers need of its registry: the folders of single-file plugins (copied into
packages), the packages of installed plugins (their entry points) and plugin
objects given in code; ``py_modules`` lists what the cluster uploads with the
tasks. On a worker, :func:`worker_registry` loads the built-ins and exactly
those plugins, and :func:`missing_plugin` turns a component the worker lacks
into a message naming the plugin and why it did not load there. Nothing here
imports Ray: ``cvstudio.core.cluster`` sends the shipment.
"""

from __future__ import annotations

import hashlib
import importlib
import pickle
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from cvstudio.core.experiment import Experiment
from cvstudio.plugins import BUILTIN, ENTRY_POINT, FILE, Registry, UnknownComponentError, load_registry

SHIPPED_PREFIX = "cvstudio_shipped_plugins_"


class WorkerPluginError(RuntimeError):
    """A worker lacks a plugin the study needs; the message names it, the worker and what went wrong there."""


@dataclass(frozen=True)
class PluginShipment:
    """The third-party plugins a worker loads, as shipped with the tasks (the built-ins come with cvstudio).

    ``folders`` are packages made of the plugin folders' single-file plugins;
    ``packages`` the entry points (``module:attribute``) of installed plugin
    packages by plugin name; ``given`` plugin objects registered directly.
    ``needs`` maps each component the study uses to the plugin that provides it.
    """

    key: str
    folders: tuple[str, ...] = ()
    packages: tuple[tuple[str, str], ...] = ()
    given: tuple[Any, ...] = ()
    disabled: frozenset[str] = frozenset()
    needs: tuple[tuple[str, str, str], ...] = ()
    py_modules: tuple[str, ...] = field(default=(), compare=False)  # what Ray uploads: paths on this computer


def ship_plugins(registry: Registry, experiment: Experiment, staging: Path) -> PluginShipment:
    """What the workers need to load this registry's third-party plugins; folders are staged under ``staging``."""
    folders, packages, py_modules = [], [], []
    for info in registry.plugins.values():
        if not info.enabled or info.errors and not any(info.specs.values()):
            continue
        if info.source == FILE:
            source = Path(info.location).parent
            name = SHIPPED_PREFIX + hashlib.sha1(str(source).encode()).hexdigest()[:12]
            if name not in folders:
                target = staging / name
                target.mkdir(parents=True)
                for path in sorted(source.glob("*.py")):
                    shutil.copy2(path, target / path.name)
                folders.append(name)
                py_modules.append(str(target))
        elif info.source == ENTRY_POINT:
            packages.append((info.name, info.location))
            py_modules.append(_package_path(info.location.partition(":")[0]))
    given = []
    for plugin in registry.load_options.get("extra_plugins", ()):
        if isinstance(plugin, ModuleType):
            packages.append((plugin.__name__, plugin.__name__))
            py_modules.append(_package_path(plugin.__name__))
        else:
            given.append(plugin)
    needs = tuple((kind, name, registry.plugin_of(kind, name)) for kind, name in _components(experiment)
                  if _source(registry, kind, name) != BUILTIN)
    parts = (folders, packages, [pickle.dumps(g) for g in given], sorted(registry.disabled), needs)
    key = hashlib.sha1(repr(parts).encode() + b"".join(_digest(Path(p)) for p in py_modules)).hexdigest()
    return PluginShipment(key, tuple(folders), tuple(packages), tuple(given), registry.disabled, needs,
                          tuple(dict.fromkeys(py_modules)))


def _package_path(module_name: str) -> str:
    """The file or folder of the top-level package that holds ``module_name``: what py_modules ships."""
    module = importlib.import_module(module_name.split(".")[0])
    return str(Path(module.__file__).parent if hasattr(module, "__path__") else Path(module.__file__))


def _digest(path: Path) -> bytes:
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return hashlib.sha1(b"".join(f.read_bytes() for f in files)).digest()


def _components(experiment: Experiment) -> list[tuple[str, str]]:
    """Every (kind, name) of plugin component the experiment uses."""
    used = [("datasets", experiment.dataset.name)]
    for pipeline in experiment.classical:
        used += [("feature_extractors", f.name) for f in pipeline.features]
        used.append(("classifiers", pipeline.classifier.name))
    used += [("models", pipeline.model.name) for pipeline in experiment.deep]
    return list(dict.fromkeys(used))


def _source(registry: Registry, kind: str, name: str) -> str:
    return registry.plugins[registry.plugin_of(kind, name)].source


def worker_registry(shipment: PluginShipment) -> tuple[Registry, dict[str, str]]:
    """The built-ins and the shipped plugins (never this worker's own plugin folders or packages).

    Also: why each shipped package that could not be imported here failed, by plugin name.
    """
    folders = [Path(importlib.import_module(name).__path__[0]) for name in shipment.folders]
    objects, failures = list(shipment.given), {}
    for plugin, target in shipment.packages:
        try:
            objects.append(_load(target))
        except Exception as exc:  # noqa: BLE001 - said when a cell needs it (missing_plugin)
            failures[plugin] = f"could not load: {type(exc).__name__}: {exc}"
    registry = load_registry(autoload=False, directories=folders, extra_plugins=objects,
                             disabled=shipment.disabled)
    return registry, failures


def missing_plugin(unknown: UnknownComponentError, shipment: PluginShipment, registry: Registry,
                   failures: dict[str, str], node: str) -> Exception:
    """The error to raise when a cell needs a component the worker's plugins lack: which plugin, and why."""
    for kind, name, plugin in shipment.needs:
        if f"'{name}'" in str(unknown) and name not in registry.components[kind]:
            problems = failures.get(plugin) or "; ".join(
                e.message for info in registry.plugins.values() if info.name == plugin for e in info.errors)
            return WorkerPluginError(
                f"the worker on node {node[:12]} ({socket.gethostname()}) cannot load plugin '{plugin}', which "
                f"gives {kind.rstrip('s').replace('_', ' ')} '{name}': {problems or 'not shipped'}; install what "
                "the plugin imports on every node (or ship it in the plugin's own package), then run again")
    return unknown


def _load(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in filter(None, attribute.split(".")):
        value = getattr(value, part)
    return value
