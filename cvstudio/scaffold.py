"""`cvstudio plugin new`: a ready-to-install plugin package whose tests pass as created.

The files come from the templates in ``cvstudio/templates/plugin``; this
module fills in the names and, for each kind asked for (one or several), its
hook, implementation module and tests.
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import Iterable, Sequence

from cvstudio.plugin_api import PLUGIN_API_VERSION
from cvstudio.plugins import HOOKS, builtin_packages
from cvstudio.specs import SPEC_TYPES

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*([-_][a-z0-9]+)*$")


class ScaffoldError(ValueError):
    """The plugin cannot be created as asked."""


@dataclass(frozen=True)
class PluginKind:
    """What differs between the kinds of component a scaffold can start."""

    registry_kind: str  # as in Registry.specs(registry_kind)
    module: str  # the implementation module, from <kind>.py.tmpl
    factory: str
    params: str
    check_call: str
    extra: str = ""  # spec arguments besides the common ones

    @property
    def hook(self) -> str:
        return HOOKS[self.registry_kind]

    @property
    def noun(self) -> str:
        return SPEC_TYPES[self.registry_kind].kind

    @property
    def spec_class(self) -> str:
        return SPEC_TYPES[self.registry_kind].__name__

    @property
    def check(self) -> str:
        """The contract check the generated test imports from cvstudio.testing."""
        return re.search(r"check_\w+", self.check_call).group()


KINDS = {
    "feature": PluginKind(
        "feature_extractors", "extractor", "GridMeansExtractor",
        'Param("grid", "int", 4, minimum=1, maximum=8, help="Cells along each side of the image."),',
        "check_feature_extractor(spec)",
    ),
    "classifier": PluginKind(
        "classifiers", "classifier", "build",
        'Param("alpha", "float", 1.0, minimum=1e-4, maximum=1e4, log=True, help="Regularisation strength."),',
        "check_classifier(spec)",
    ),
    "model": PluginKind(
        "models", "model", "build",
        'Param("width", "int", 16, minimum=4, maximum=128, help="Channels of the first convolution."),',
        "assert check_model(spec) > 0",
    ),
    "dataset": PluginKind(
        "datasets", "dataset", "generate",
        'Param("per_class", "int", 100, minimum=1, maximum=5000, help="Images of each class."),\n'
        '                Param("image_size", "int", 32, minimum=8, maximum=128, help="Width and height in pixels."),\n'
        '                Param("seed", "int", 0, minimum=0, maximum=2**31 - 1, help="Same seed, same images."),',
        "check_dataset(spec, per_class=5)",
    ),
    "panel": PluginKind("panels", "panel", "DatasetPanel", "", "check_panel(spec)", '\n            area="right",'),
}


def package_name(name: str) -> str:
    """The importable package for a plugin name: ``cvstudio-texture`` → ``cvstudio_texture``."""
    return name.replace("-", "_")


def validate_name(name: str) -> None:
    """Refuse a name that cannot be both a distribution and an importable package, or that would shadow cvstudio.

    ``cvstudio-<something>`` is the recommended form (the package is then ``cvstudio_<something>``).
    """
    if not NAME_PATTERN.match(name):
        raise ScaffoldError(
            f"plugin name {name!r} must be lower-case letters and digits, words joined by '-' or '_', "
            "starting with a letter, e.g. 'cvstudio-texture'"
        )
    package = package_name(name)
    if keyword.iskeyword(package) or package in {"cvstudio", *builtin_packages()}:
        raise ScaffoldError(f"plugin name {name!r} is taken by Python or cvstudio itself; "
                            f"pick another, e.g. 'cvstudio-texture'")


def parse_kinds(values: Iterable[str]) -> list[str]:
    """``["feature,model", "panel"]`` → ``["feature", "model", "panel"]``: each kind once, in the order given."""
    kinds: list[str] = []
    for value in values:
        for kind in (k.strip() for k in value.split(",")):
            if kind not in KINDS:
                raise ScaffoldError(f"unknown plugin kind {kind!r}; use one or more of {', '.join(KINDS)}")
            if kind not in kinds:
                kinds.append(kind)
    if not kinds:
        raise ScaffoldError(f"give at least one kind: {', '.join(KINDS)}")
    return kinds


def create_plugin(name: str, kinds: str | Sequence[str], parent: Path) -> Path:
    """Write the package for plugin ``name`` providing ``kinds`` in ``parent/name``; return that directory.

    Each kind adds its hook and spec (named like the plugin, without a
    ``cvstudio-`` prefix), an implementation module and a test; the package
    passes its tests and ``cvstudio plugin check`` as created.
    """
    validate_name(name)
    kind_names = parse_kinds([kinds] if isinstance(kinds, str) else kinds)
    chosen = [KINDS[kind] for kind in kind_names]
    target = Path(parent) / name
    if target.exists() and any(target.iterdir()):
        raise ScaffoldError(f"{target} already exists and is not empty; choose another name or --dir")
    package = package_name(name)
    component = component_name(name)
    title = component.replace("-", " ").replace("_", " ").capitalize()
    common = {"name": name, "package": package, "component": component, "title": title}
    templates = resources.files("cvstudio") / "templates" / "plugin"

    def fill(template: str, **values: str) -> str:
        return Template(templates.joinpath(template).read_text(encoding="utf-8")).substitute(common, **values)

    def per_kind(template: str) -> str:
        return "".join(fill(template, **_kind_values(kind, component)) for kind in chosen)

    classes = {kind.spec_class for kind in chosen} | ({"Param"} if any(k.params for k in chosen) else set())
    imports = _import_lines(sorted(classes) + ["hookimpl", "require_plugin_api"])
    checks = _import_lines(sorted({kind.check for kind in chosen}))
    specs = json.dumps({kind.registry_kind: [component] for kind in chosen})
    files = {
        "pyproject.toml": fill("pyproject.toml.tmpl", nouns=_nouns(chosen)),
        "README.md": fill("README.md.tmpl", nouns=_nouns(chosen),
                          modules=", ".join(f"`{package}/{kind.module}.py`" for kind in chosen)),
        f"{package}/__init__.py": fill("__init__.py.tmpl", nouns=_nouns(chosen), imports=imports,
                                       api_version=PLUGIN_API_VERSION, hooks=per_kind("hook.py.tmpl")),
        f"tests/test_{package}.py": fill("test.py.tmpl", checks=checks, specs=specs,
                                         tests=per_kind("contract_test.py.tmpl")
                                         + (fill("panel_test.py.tmpl") if KINDS["panel"] in chosen else "")),
    }
    for kind_name, kind in zip(kind_names, chosen):
        files[f"{package}/{kind.module}.py"] = fill(f"{kind_name}.py.tmpl", factory=kind.factory)
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target


def component_name(name: str) -> str:
    """The components' name: the plugin's without the ``cvstudio-`` prefix (``cvstudio-texture`` → ``texture``)."""
    return re.sub(r"^cvstudio[-_]", "", name)


def _import_lines(names: Sequence[str]) -> str:
    return "".join(f"    {name},\n" for name in names)


def _kind_values(kind: PluginKind, name: str) -> dict[str, str]:
    params = f"\n            params=(\n                {kind.params}\n            )," if kind.params else ""
    return {
        "kind": kind.module,
        "noun": kind.noun,
        "registry_kind": kind.registry_kind,
        "hook": kind.hook,
        "spec_class": kind.spec_class,
        "module": kind.module,
        "factory": kind.factory,
        "params": params,
        "extra": kind.extra,
        "check_call": kind.check_call,
        "description": f"Describe for a learner what the {kind.noun} '{name}' does and when it works well.",
    }


def _nouns(kinds: Sequence[PluginKind]) -> str:
    return ", ".join(kind.noun for kind in kinds)
