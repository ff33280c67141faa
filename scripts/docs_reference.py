"""Write the generated parts of the docs from the code: the plugin API reference and the experiment file's settings.

    python scripts/docs_reference.py           # rewrite docs/plugin-api.md and the tables in docs/experiments.md
    python scripts/docs_reference.py --check   # exit 1 if they are out of date (tests/test_docs_reference.py)

The plugin API reference is rendered from the docstrings and signatures of the
public objects listed in API; the experiment tables from the typed options
(``Param``) the experiment parser itself validates against, between
``<!-- generated: NAME -->`` and ``<!-- end generated -->`` markers.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
API_PAGE = ROOT / "docs" / "plugin-api.md"
EXPERIMENTS_PAGE = ROOT / "docs" / "experiments.md"

# (heading, [objects as "module:attribute"]) in the order the page shows them.
API = [
    ("Version", ["cvstudio.plugin_api:PLUGIN_API_VERSION", "cvstudio.plugin_api:require_plugin_api",
                 "cvstudio.plugin_api:PluginAPIError"]),
    ("Specs", ["cvstudio.specs:Param", "cvstudio.specs:Spec", "cvstudio.specs:DatasetSpec",
               "cvstudio.specs:FeatureExtractorSpec", "cvstudio.specs:ClassifierSpec", "cvstudio.specs:ModelSpec",
               "cvstudio.specs:PanelSpec", "cvstudio.specs:SpecError", "cvstudio.specs:ComponentError"]),
    ("Datasets", ["cvstudio.core.data:ImageDataset", "cvstudio.core.data:DatasetError"]),
    ("Feature extractors", ["cvstudio.core.features:FeatureExtractor", "cvstudio.core.features:Explanation",
                            "cvstudio.core.features:to_gray"]),
    ("The registry", ["cvstudio.plugins:load_registry", "cvstudio.plugins:Registry", "cvstudio.plugins:PluginInfo",
                      "cvstudio.plugins:PluginError", "cvstudio.plugins:UnknownComponentError"]),
    ("Contract checks", ["cvstudio.contracts:check_dataset", "cvstudio.contracts:check_feature_extractor",
                         "cvstudio.contracts:check_classifier", "cvstudio.contracts:check_model",
                         "cvstudio.contracts:check_panel", "cvstudio.contracts:make_tiny_dataset",
                         "cvstudio.contracts:ContractError"]),
    ("Test fixtures", ["cvstudio.testing:cvstudio_registry", "cvstudio.testing:cvstudio_registry_with",
                       "cvstudio.testing:cvstudio_installed_plugin", "cvstudio.testing:tiny_dataset",
                       "cvstudio.testing:cvstudio_main_window", "cvstudio.testing:tiny_experiment",
                       "cvstudio.testing:tiny_experiment_toml", "cvstudio.testing:write_tiny_experiment",
                       "cvstudio.testing:run_to_end"]),
]

API_HEADER = """<!-- Generated from the docstrings by scripts/docs_reference.py: edit those, then run it. -->
# Plugin API reference

Every public object a plugin may use, for plugin API {version}, with the
name to import it by; the [plugin author guide](plugins.md) explains how the
pieces fit together.
"""


def load(reference: str) -> Any:
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def clean(doc: str | None) -> str:
    """A docstring as Markdown: reST roles and double backticks made plain code."""
    text = inspect.cleandoc(doc or "")
    text = re.sub(r":(?:class|func|meth|mod|data|attr):`~?([^`]+)`", lambda m: f"`{m.group(1).split('.')[-1]}`", text)
    return text.replace("``", "`")


def signature(obj: Any, name: str, skip_self: bool = False) -> str:
    """``name(arg: type = default, ...) -> type``, annotations as written in the source."""
    try:
        sig = inspect.signature(getattr(obj, "__wrapped__", obj))
    except (TypeError, ValueError):
        return name
    parts, star = [], False
    for i, p in enumerate(sig.parameters.values()):
        if skip_self and i == 0:
            continue
        text = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
        if p.kind == p.KEYWORD_ONLY and not star:
            parts.append("*")
        star = star or p.kind in (p.KEYWORD_ONLY, p.VAR_POSITIONAL)
        if p.annotation is not p.empty:
            text += f": {_annotation(p.annotation)}"
        if p.default is not p.empty:
            text += (" = " if p.annotation is not p.empty else "=") + re.sub(r"<function (\w+) at 0x[0-9a-f]+>",
                                                                             r"\1", repr(p.default))
        parts.append(text)
    returns = "" if sig.return_annotation is sig.empty else f" -> {_annotation(sig.return_annotation)}"
    return f"{name}({', '.join(parts)}){returns}"


def _annotation(annotation: Any) -> str:
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)


def fixture_function(obj: Any) -> Any:
    """The function behind a pytest fixture (pytest keeps it under different names across versions)."""
    for attribute in ("_get_wrapped_function", "__wrapped__"):
        inner = getattr(obj, attribute, None)
        if inner is not None:
            return inner() if attribute == "_get_wrapped_function" else inner
    return getattr(obj, "_fixture_function", obj)


def render_object(reference: str) -> str:
    module, _, name = reference.partition(":")
    obj = load(reference)
    public_module = "cvstudio" if hasattr(importlib.import_module("cvstudio"), name) else module
    if hasattr(obj, "_fixture_function_marker") or hasattr(obj, "_pytestfixturefunction"):
        function = fixture_function(obj)
        text = f"### fixture `{name}`\n\n{clean(function.__doc__)}\n"
        returns = inspect.signature(function).return_annotation
        return text + (f"\nGives: `{returns}`\n" if returns is not inspect.Signature.empty else "")
    if not callable(obj):
        return f"### `{public_module}.{name}`\n\nThe value is `{obj!r}`. {clean(_constant_doc(module, name))}\n"
    if inspect.isclass(obj):
        kind = "exception" if issubclass(obj, BaseException) else "class"
        heading = f"### {kind} `{public_module}.{name}`"
    else:
        heading = f"### `{public_module}.{signature(obj, name)}`"
    lines = [heading, "", clean(obj.__doc__)]
    if inspect.isclass(obj) and not issubclass(obj, BaseException):
        lines += _class_members(obj)
    return "\n".join(lines).rstrip() + "\n"


def _constant_doc(module: str, name: str) -> str:
    """A constant's meaning: the module docstring's first paragraph."""
    return (importlib.import_module(module).__doc__ or "").split("\n\n")[0]


def _class_members(cls: type) -> list[str]:
    lines: list[str] = []
    if dataclasses.is_dataclass(cls):
        base = next((b for b in cls.__mro__[1:] if dataclasses.is_dataclass(b)), None)
        inherited = {f.name for f in dataclasses.fields(base)} if base else set()
        fields = [f for f in dataclasses.fields(cls) if f.init and f.name not in inherited]
        if base:
            lines += ["", f"Takes the fields of `{base.__name__}`" + (", and:" if fields else ".")]
        if fields:
            lines += ["", "| Field | Type | Default |", "| --- | --- | --- |"]
            for f in fields:
                default = "required" if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING \
                    else ("empty" if f.default is dataclasses.MISSING else f"`{f.default!r}`")
                kind = str(f.type).replace("|", "\\|")  # a bar inside a cell would end it
                lines.append(f"| `{f.name}` | `{kind}` | {default} |")
    members = []
    for member_name, member in vars(cls).items():
        if member_name.startswith("_") or member_name in {"kind"}:
            continue
        if isinstance(member, property):
            members.append((f"`{member_name}` (property)", member.fget.__doc__))
        elif inspect.isfunction(member):
            members.append((f"`{signature(member, member_name, skip_self=True)}`", member.__doc__))
        elif isinstance(member, classmethod):
            members.append((f"`{signature(member.__func__, member_name, skip_self=True)}`", member.__func__.__doc__))
        elif isinstance(member, staticmethod):
            members.append((f"`{signature(member.__func__, member_name)}`", member.__func__.__doc__))
    if members:
        lines += ["", "Members:", ""]
        lines += [f"- {title}: {' '.join(clean(doc).split(chr(10) * 2)[0].split())}" for title, doc in members]
    return lines


def api_page() -> str:
    from cvstudio.plugin_api import PLUGIN_API_VERSION

    parts = [API_HEADER.format(version=PLUGIN_API_VERSION)]
    for heading, references in API:
        parts.append(f"## {heading}\n")
        parts += [render_object(reference) for reference in references]
    return "\n".join(parts)


def params_table(params: Any) -> str:
    """A Markdown table of typed options: key, type, default, allowed values, meaning."""
    rows = ["| Key | Type | Default | Allowed | Meaning |", "| --- | --- | --- | --- | --- |"]
    for p in params:
        allowed = ", ".join(f"`{c}`" for c in p.choices) if p.choices else _range(p)
        default = str(p.default).lower() if isinstance(p.default, bool) else p.default
        rows.append(f"| `{p.name}` | {p.kind} | `{default}` | {allowed} | {p.help} |")
    return "\n".join(rows)


def _range(param: Any) -> str:
    low = "" if param.minimum is None else f"{param.minimum:g}"
    high = "" if param.maximum is None else f"{param.maximum:g}"
    return f"{low} … {high}" if low or high else "any"


def experiment_tables() -> dict[str, str]:
    from cvstudio.core import architectures, hardware, scaling
    from cvstudio.core.experiment import SPLIT_PARAMS
    from cvstudio.core.training import TRAINING_PARAMS

    return {
        "split": params_table(SPLIT_PARAMS),
        "training": params_table(TRAINING_PARAMS),
        "study-scaling": params_table(scaling.OPTIONS),
        "study-architectures": params_table(architectures.OPTIONS),
        "study-hardware": params_table(hardware.OPTIONS),
    }


def fill_markers(text: str, tables: dict[str, str]) -> str:
    """Replace what lies between each ``<!-- generated: NAME -->`` and ``<!-- end generated -->`` marker pair."""
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in tables:
            raise KeyError(f"no generated table named {name!r}")
        return f"<!-- generated: {name} -->\n{tables[name]}\n<!-- end generated -->"

    return re.sub(r"<!-- generated: ([\w-]+) -->\n.*?<!-- end generated -->", replace, text, flags=re.DOTALL)


def outputs() -> dict[Path, str]:
    """Every generated file's path and the text it should hold."""
    experiments = fill_markers(EXPERIMENTS_PAGE.read_text(encoding="utf-8"), experiment_tables())
    return {API_PAGE: api_page(), EXPERIMENTS_PAGE: experiments}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only say whether the files are up to date")
    args = parser.parse_args(argv)
    stale = [path for path, text in outputs().items()
             if not path.exists() or path.read_text(encoding="utf-8") != text]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date: run python scripts/docs_reference.py", file=sys.stderr)
        return 1 if stale else 0
    for path, text in outputs().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
