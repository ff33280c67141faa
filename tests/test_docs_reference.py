"""The docs stand alone and keep up with the code: generated parts current, no pointers into source files."""

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
GENERATOR = runpy.run_path(str(ROOT / "scripts" / "docs_reference.py"))


@pytest.mark.parametrize("path", GENERATOR["outputs"]().keys(), ids=lambda p: p.name)
def test_the_generated_docs_are_current(path):
    expected = GENERATOR["outputs"]()[path]
    assert path.read_text(encoding="utf-8") == expected, f"{path.name} is stale: run python scripts/docs_reference.py"


def visible(text):
    return re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_no_page_points_into_cvstudios_source(path):
    text = visible(path.read_text(encoding="utf-8"))
    source_paths = [p for p in re.findall(r"[\w.-]+(?:/[\w.-]+)+\.py\b", text) if (ROOT / p).exists()]
    assert not source_paths, f"{path.name} names source files a docs reader cannot open: {source_paths}"
    links = re.findall(r"\]\((\.\./[^)#]+)", text)
    outside = [link for link in links if not link.endswith(".md")]
    assert not outside, f"{path.name} links into the source tree: {outside}"


def test_the_api_reference_documents_every_public_name_of_cvstudio():
    import cvstudio

    page = (ROOT / "docs" / "plugin-api.md").read_text(encoding="utf-8")
    missing = [name for name in cvstudio.__all__ if name not in {"hookimpl", "__version__"}
               and f"cvstudio.{name}" not in page]
    assert not missing, f"add {missing} to API in scripts/docs_reference.py"


def test_every_experiment_key_the_parser_accepts_is_in_the_reference():
    from cvstudio.core import feature_spaces, hierarchy
    from cvstudio.core.experiment import STUDY_MODULES

    page = (ROOT / "docs" / "experiments.md").read_text(encoding="utf-8")
    keys = ["title", "description", "dataset", "split", "classical", "deep", "study", "label", "features",
            "classifier", "model", "name", "params", "sizes", *feature_spaces.DEFAULTS, *hierarchy.DEFAULTS]
    missing = [key for key in keys if f"`{key}`" not in page]
    missing += [kind for kind in STUDY_MODULES if f'kind = "{kind}"' not in page]
    assert not missing, f"docs/experiments.md does not describe {missing}"
