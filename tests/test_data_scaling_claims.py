"""The data-scaling lesson, run for real: what it claims must hold (slow: `make test-slow`)."""

import json

import pytest

from cvstudio.cli import main
from cvstudio.core.experiment import bundled_lesson


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the sweep trains 12 networks: about 7 minutes on 2 idle cores
def test_hand_crafted_features_win_on_little_data_and_the_cnn_on_much(tmp_path, capsys):
    assert main(["run", str(bundled_lesson("data-scaling")), "--out", str(tmp_path)]) == 0
    (run_dir,) = tmp_path.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    curves = {name: dict(zip(c["per_class"], c["mean"])) for name, c in summary["curves"].items()}
    smallest, largest = min(summary["sizes"]), max(summary["sizes"])
    hog, cnn, color = curves["HOG + RBF SVM"], curves["CNN (VGG-style)"], curves["Color histogram + linear SVM"]
    chance = 1 / len(summary["dataset"]["classes"])
    assert hog[smallest] >= cnn[smallest]  # with a handful of images, designed features know more
    assert cnn[largest] >= hog[largest] + 0.10  # with enough data, learned features win clearly
    assert all(abs(accuracy - chance) < 0.1 for accuracy in color.values())  # colour says nothing about shape
    assert all(c["seeds"] == [summary["seeds"]] * len(summary["sizes"]) for c in summary["curves"].values())
