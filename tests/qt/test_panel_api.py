"""What the plugin guide tells panel authors they can read from the window is there."""

import re
from pathlib import Path

GUIDE = (Path(__file__).resolve().parents[2] / "docs" / "plugins.md").read_text(encoding="utf-8")


def documented_window_attributes():
    section = GUIDE.split("## Writing a panel", 1)[1].split("\n## ", 1)[0]
    return sorted(set(re.findall(r"^\| `window\.(\w+)", section, re.MULTILINE)))


def test_every_window_attribute_the_guide_documents_exists(cvstudio_main_window):
    names = documented_window_attributes()
    assert {"registry", "dataset", "settings"} <= set(names)
    window = cvstudio_main_window()
    missing = [name for name in names if not hasattr(window, name)]
    assert not missing, f"docs/plugins.md documents window.{missing}, which the window does not have"
