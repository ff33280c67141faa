"""docs/testing.md shows the end-to-end test that the suite runs, character for character."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_guide_shows_the_end_to_end_test_the_suite_runs():
    guide = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    shown = guide.split("## An end-to-end test")[1].split("```python\n")[1].split("```")[0]
    assert shown == (ROOT / "tests" / "qt" / "test_testing_guide.py").read_text(encoding="utf-8")


def test_the_readme_and_the_user_guide_link_to_it():
    for page in ("README.md", "docs/user-guide.md"):
        assert "testing.md" in (ROOT / page).read_text(encoding="utf-8"), page
