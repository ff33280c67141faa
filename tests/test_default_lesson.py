"""The default lesson, run for real: what it claims must hold (slow: `make test-slow`)."""

import json

import pytest

from cvstudio.cli import main
from cvstudio.core.experiment import bundled_lesson


@pytest.mark.slow
def test_default_lesson_shows_learned_features_beating_engineered_ones(tmp_path, capsys):
    assert main(["run", str(bundled_lesson()), "--out", str(tmp_path)]) == 0
    (run_dir,) = tmp_path.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    accuracy = {name: p["test_accuracy"] for name, p in summary["pipelines"].items()}
    chance = 1 / len(summary["dataset"]["classes"])
    assert accuracy["Color histogram + linear SVM"] < chance + 0.1  # colour says nothing here
    assert accuracy["HOG + RBF SVM"] > chance + 0.2  # outlines partly work
    assert accuracy["CNN (VGG-style)"] > accuracy["HOG + RBF SVM"] + 0.1  # learned features win
