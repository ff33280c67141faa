"""`cvstudio plugin new`: a ready-to-install plugin package whose tests pass as created.

The files come from the templates in ``cvstudio/templates/plugin``; this
module fills in the names and the few lines that differ between kinds.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from cvstudio.plugins import HOOKS
from cvstudio.specs import SPEC_TYPES

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*([-_][a-z0-9]+)*$")


class ScaffoldError(ValueError):
    """The plugin cannot be created as asked."""


@dataclass(frozen=True)
class PluginKind:
    """What differs between the kinds of plugin a scaffold can start."""

    registry_kind: str  # as in Registry.specs(registry_kind)
    module: str  # the implementation module, from <kind>.py.tmpl
    factory: str
    params: str
    check_call: str

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
}


def package_name(name: str) -> str:
    """The importable package for a plugin name: ``my-gabor`` → ``my_gabor``."""
    return name.replace("-", "_")


def validate_name(name: str) -> None:
    """Refuse a name that cannot be both a distribution and an importable package, or that would shadow cvstudio."""
    if not NAME_PATTERN.match(name):
        raise ScaffoldError(
            f"plugin name {name!r} must be lower-case letters and digits, words joined by '-' or '_', "
            "starting with a letter, e.g. 'my-gabor'"
        )
    package = package_name(name)
    if keyword.iskeyword(package) or package == "cvstudio" or package.startswith("cvstudio_"):
        raise ScaffoldError(f"plugin name {name!r} is reserved; pick another, e.g. 'my-{name}'")


def create_plugin(name: str, kind: str, parent: Path) -> Path:
    """Write the package for plugin ``name`` of ``kind`` in ``parent/name``; return that directory."""
    validate_name(name)
    if kind not in KINDS:
        raise ScaffoldError(f"unknown plugin kind {kind!r}; use one of {', '.join(KINDS)}")
    target = Path(parent) / name
    if target.exists() and any(target.iterdir()):
        raise ScaffoldError(f"{target} already exists and is not empty; choose another name or --dir")
    spec = KINDS[kind]
    package = package_name(name)
    title = name.replace("-", " ").replace("_", " ").capitalize()
    values = {
        "name": name,
        "package": package,
        "title": title,
        "noun": spec.noun,
        "registry_kind": spec.registry_kind,
        "hook": spec.hook,
        "spec_class": spec.spec_class,
        "module": spec.module,
        "factory": spec.factory,
        "params": spec.params,
        "check": spec.check,
        "check_call": spec.check_call,
        "description": f"Describe for a learner what the {spec.noun} '{name}' does and when it works well.",
    }
    files = {
        "pyproject.toml": "pyproject.toml.tmpl",
        "README.md": "README.md.tmpl",
        f"{package}/__init__.py": "__init__.py.tmpl",
        f"{package}/{spec.module}.py": f"{kind}.py.tmpl",
        f"tests/test_{package}.py": "test.py.tmpl",
    }
    templates = resources.files("cvstudio") / "templates" / "plugin"
    for relative, template in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(templates.joinpath(template).read_text(encoding="utf-8")).substitute(values),
                        encoding="utf-8")
    return target
