"""The plugin author guide keeps up with the code: every hook documented and tested, every link alive."""

import inspect
import re
from pathlib import Path

import pytest

import cvstudio.testing
from cvstudio import hookspecs
from cvstudio.plugins import HOOKS as PLUGIN_HOOKS

ROOT = Path(__file__).resolve().parent.parent
GUIDE_PATH = ROOT / "docs" / "plugins.md"
GUIDE = GUIDE_PATH.read_text(encoding="utf-8")
HOOKS = {name: fn for name, fn in vars(hookspecs).items() if name.startswith("cvstudio_") and callable(fn)}
TEST_FILES = [p for p in [*ROOT.glob("tests/**/*.py"), *ROOT.glob("plugins/examples/*/tests/*.py")]
              if p.resolve() != Path(__file__).resolve()]


def implementers() -> dict[str, set[str]]:
    """Hook → the built-in and example plugins that implement it (examples read as files, not installed)."""
    from cvstudio.plugins import load_registry

    registry = load_registry(autoload=False, directories=[])
    found = {hook: set() for hook in HOOKS}
    for kind, hook in PLUGIN_HOOKS.items():
        found[hook] |= {registry.plugin_of(kind, spec) for spec in registry.specs(kind)}
    for package in ROOT.glob("plugins/examples/*/*/__init__.py"):
        text = package.read_text(encoding="utf-8")
        found.update({hook: found[hook] | {package.parent.name} for hook in HOOKS if f"def {hook}(" in text})
    return found


IMPLEMENTERS = implementers()


def signature(name: str) -> str:
    return name + str(inspect.signature(HOOKS[name])).replace("'", "")


def sections() -> dict[str, str]:
    """Hook headings (``### `name(...) -> ...` ``) and the text under each."""
    parts = re.split(r"^### `(cvstudio_[^`]*)`\n", GUIDE, flags=re.MULTILINE)
    return {heading: body.split("\n## ")[0] for heading, body in zip(parts[1::2], parts[2::2])}


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_every_hook_has_a_section_headed_by_its_exact_signature(name):
    assert signature(name) in sections(), f"docs/plugins.md needs a heading: ### `{signature(name)}`"


def test_every_documented_hook_exists():
    stale = set(sections()) - {signature(name) for name in HOOKS}
    assert not stale, f"docs/plugins.md documents hooks that do not exist (or with another signature): {stale}"


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_every_hook_section_gives_returns_firstresult_an_example_and_a_user(name):
    body = sections()[signature(name)]
    firstresult = HOOKS[name].cvstudio_spec["firstresult"]
    assert f"**firstresult**: {'yes' if firstresult else 'no'}" in body
    assert "**Returns**" in body and "**Arguments**" in body
    assert "```python\n" in body and f"def {name}(" in body, "the section needs an example implementation"
    used_by = re.search(r"\*\*Used by\*\*:(.*)", body)
    assert used_by, "name a plugin that implements it"
    named = re.findall(r"`([\w-]+)`", used_by.group(1))
    wrong = [plugin for plugin in named if plugin not in IMPLEMENTERS[name]]
    assert named and not wrong, f"{wrong or 'no plugin'} named as using {name}; it is implemented by {IMPLEMENTERS[name]}"


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_every_hook_has_a_test(name):
    assert any(name in p.read_text(encoding="utf-8") for p in TEST_FILES), f"no test mentions {name}"


def anchors(markdown: str) -> set[str]:
    """The anchors of a page's headings, as GitHub makes them."""
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
            for heading in re.findall(r"^#+ (.*)$", markdown, re.MULTILINE)}


def test_every_link_in_the_guide_resolves_to_a_page_and_heading():
    links = re.findall(r"\]\((?!https?:)([^)]+)\)", GUIDE)
    assert links
    missing = []
    for link in links:
        path, _, anchor = link.partition("#")
        target = GUIDE_PATH.parent / path if path else GUIDE_PATH
        if not target.exists() or (anchor and anchor not in anchors(target.read_text(encoding="utf-8"))):
            missing.append(link)
    assert not missing, f"broken links in docs/plugins.md: {missing}"


def test_every_shipped_fixture_and_contract_check_is_documented():
    fixtures = [name for name, obj in vars(cvstudio.testing).items()
                if hasattr(obj, "_fixture_function_marker") or hasattr(obj, "_pytestfixturefunction")]
    checks = [name for name in vars(cvstudio.testing) if name.startswith(("check_", "make_"))]
    assert fixtures and checks
    undocumented = [name for name in fixtures + checks if f"`{name}" not in GUIDE]
    assert not undocumented, f"docs/plugins.md does not describe {undocumented}"


def test_the_quickstart_scaffold_command_works_as_written(tmp_path):
    from cvstudio.cli import main

    arguments = re.search(r"^cvstudio plugin new ([^#\n]+)", GUIDE, re.MULTILINE).group(1).split()
    assert arguments[0].startswith("cvstudio-"), "the guide recommends cvstudio-<something>: its example uses it"
    assert main(["plugin", "new", *arguments, "--dir", str(tmp_path)]) == 0
    package = arguments[0].replace("-", "_")
    assert (tmp_path / arguments[0] / package).is_dir() and f"cvstudio plugin check {package}" in GUIDE
