"""The bundled course, run for real: what each step's text claims must hold (slow: `make test-slow`).

Each test runs one step of ``resources/lessons/course.toml`` as shipped and
prints its figures, with the wall time, the CPU time and the load it ran
under: the steps' `minutes` in course.toml and the budget table in
docs/user-guide.md are read from them.
"""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path
from typing import Any

import pytest

from cvstudio.cli import main
from cvstudio.core.lessons import default_course, load_lesson

# Each step fits in 5 minutes on 2 idle cores (the data-scaling sweep in 15); a busy machine takes longer.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def torch_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def cpu_seconds() -> float:
    """CPU time of this process and its finished children: less sensitive than wall time to a busy machine."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def run_step(number: int, out: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """Run step ``number`` of the course as shipped, print what it took; its summary."""
    step = load_lesson(default_course()).steps[number - 1]
    load, wall, cpu = os.getloadavg()[0], time.perf_counter(), cpu_seconds()
    assert main(["run", str(default_course()), "--step", str(number), "--out", str(out)]) == 0
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    report(f"step {number} '{step.title}': {wall:.0f} s wall, {cpu:.0f} s CPU, load {load:.1f} → "
           f"{os.getloadavg()[0]:.1f} (the step says: {step.expected_time()})", capsys)
    return json.loads((run_folder(out) / "summary.json").read_text())


def run_folder(out: Path) -> Path:
    """The step's run: the one folder in ``out`` with a summary (a step may leave other files beside it)."""
    runs = [path for path in out.iterdir() if (path / "summary.json").is_file()]
    assert len(runs) == 1, f"expected one run in {out}, found {sorted(p.name for p in out.iterdir())}"
    return runs[0]


def report(line: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Print past pytest's capture, so `make test-slow` shows the figures."""
    with capsys.disabled():
        print(f"\n  {line}", flush=True)


def accuracies(summary: dict[str, Any]) -> dict[str, float]:
    return {name: p["test_accuracy"] for name, p in summary["pipelines"].items()}


def chance(summary: dict[str, Any]) -> float:
    return 1 / len(summary["dataset"]["classes"])


def test_step_1_learned_features_beat_engineered_ones(tmp_path, capsys):
    summary = run_step(1, tmp_path, capsys)
    accuracy = accuracies(summary)
    report(f"test accuracy: {accuracy}", capsys)
    assert accuracy["Color histogram + linear SVM"] < chance(summary) + 0.1  # colour says nothing here
    assert accuracy["HOG + RBF SVM"] > chance(summary) + 0.2  # outlines partly work
    assert accuracy["CNN (VGG-style)"] > accuracy["HOG + RBF SVM"] + 0.1  # learned features win


def test_step_2_the_same_classifier_does_best_on_the_features_the_cnn_learned(tmp_path, capsys):
    summary = run_step(2, tmp_path, capsys)
    accuracy = accuracies(summary)
    separation = {name: {method: p["knn_accuracy"] for method, p in space["projections"].items()}
                  for name, space in summary["feature_spaces"].items()}
    report(f"test accuracy: {accuracy}", capsys)
    report(f"5-NN accuracy in the 2-D maps: {separation}", capsys)
    learned, hog, lbp, color = (f"{name} → linear-svm" for name in ("CNN (VGG-style) features", "hog", "lbp",
                                                                    "color-histogram"))
    assert {summary["pipelines"][name]["classifier"] for name in (learned, hog, lbp, color)} == {"linear-svm"}
    assert accuracy[color] < chance(summary) + 0.1  # colour says nothing about a shape
    assert accuracy[learned] > max(accuracy[hog], accuracy[lbp]) + 0.1  # only the features differ
    for method in ("pca", "tsne"):  # the learned features' classes form the clearest islands
        assert separation[learned][method] > max(separation[hog][method], separation[lbp][method])


def test_step_3_layers_go_from_the_whole_image_to_one_score_per_class(tmp_path, capsys):
    summary = run_step(3, tmp_path, capsys)
    explained = summary["hierarchy"]
    shapes = [layer["shape"] for layer in explained["layers"]]
    report(f"test accuracy: {accuracies(summary)}; layer shapes: {shapes}; "
           f"answers for image #{explained['image']} ({explained['label']}): network {explained['deep']['predicted']}, "
           f"{explained['classical']['pipeline']} {explained['classical']['predicted']}", capsys)
    assert accuracies(summary)["CNN (VGG-style)"] > chance(summary) + 0.3  # a trained network, worth looking into
    sides = [shape[1] for shape in shapes if len(shape) == 3]
    assert sides[0] == 32 and sides == sorted(sides, reverse=True) and sides[-1] < sides[0]  # coarser with depth
    assert shapes[-1] == [len(summary["dataset"]["classes"])]  # the last layer: one score per class
    pictures = {feature["name"] for feature in explained["features"] if "file" in feature}
    assert {"hog", "lbp"} <= pictures and "file" in explained["gradcam"]  # HOG and LBP beside it, and Grad-CAM
    assert list(tmp_path.glob("*/hierarchy/gradcam.png"))


@pytest.mark.timeout(3600)  # the sweep trains 12 networks: about 14 minutes on 2 idle cores
def test_step_4_hand_crafted_features_win_on_little_data_and_the_cnn_on_much(tmp_path, capsys):
    summary = run_step(4, tmp_path, capsys)
    curves = {name: dict(zip(c["per_class"], c["mean"])) for name, c in summary["curves"].items()}
    report(f"mean test accuracy per images per class: {curves}", capsys)
    smallest, largest = min(summary["sizes"]), max(summary["sizes"])
    hog, cnn, color = curves["HOG + RBF SVM"], curves["CNN (VGG-style)"], curves["Color histogram + linear SVM"]
    assert hog[smallest] >= cnn[smallest]  # with a handful of images, designed features know more
    assert cnn[largest] >= hog[largest] + 0.10  # with enough data, learned features win clearly
    assert all(abs(accuracy - chance(summary)) < 0.1 for accuracy in color.values())  # colour says nothing
    assert all(c["seeds"] == [summary["seeds"]] * len(summary["sizes"]) for c in summary["curves"].values())


def last_epochs(out: Path) -> dict[str, dict[str, Any]]:
    """Each network's last epoch as the run's metrics recorded it (training loss and accuracy among them)."""
    records = [json.loads(line) for line in (run_folder(out) / "metrics.jsonl").read_text().splitlines()]
    return {record["pipeline"]: record for record in records if record.get("kind") == "epoch"}


def test_step_5_the_convolutional_networks_do_best_and_the_biggest_is_not_the_best(tmp_path, capsys):
    summary = run_step(5, tmp_path, capsys)
    networks, accuracy, last = summary["pipelines"], accuracies(summary), last_epochs(tmp_path)
    report("\n  ".join(f"{name}: {n['parameters']:,} weights, test {n['test_accuracy']:.3f}, last epoch's training "
                        f"accuracy {last[name]['train_accuracy']:.3f}, {n['seconds']:.0f} s"
                        for name, n in networks.items()), capsys)
    mlp, lenet, vgg, resnet, vit, mixer = networks  # oldest first
    convolutional, without_convolutions = (lenet, vgg, resnet), (mlp, vit, mixer)
    assert accuracy[vgg] == max(accuracy.values()) and accuracy[vgg] > 0.8  # the VGG-style CNN by far
    assert (min(accuracy[n] for n in convolutional)
            > max(accuracy[n] for n in without_convolutions) + 0.1)  # expecting local patterns helps on few images
    assert all(accuracy[name] < chance(summary) + 0.15 for name in without_convolutions)  # barely above chance
    assert networks[resnet]["parameters"] > 30 * networks[vgg]["parameters"]  # bigger is not better by itself
    assert accuracy[resnet] < accuracy[vgg] - 0.2  # its 4x computation is a FLOP count: wall time depends on load
    assert last[resnet]["train_accuracy"] < last[vgg]["train_accuracy"] - 0.2  # still learning when its epochs end


def timings(summary: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    rows = {row["operation"]: row for row in summary["rows"]}
    report("\n  ".join(f"{name}: CPU {r['cpu_ms']} ms, GPU {r['gpu_ms']} ms, speed-up {r['speedup']}"
                        for name, r in rows.items()), capsys)
    return rows


def test_step_6_fills_the_cpu_column_and_says_so_when_there_is_no_gpu(tmp_path, capsys):
    summary = run_step(6, tmp_path, capsys)
    rows = timings(summary, capsys)
    assert list(rows) == ["Matrix multiply", "Conv2D layer", "Training step: CNN (VGG-style)"]
    assert all(row["cpu_ms"] > 0 for row in rows.values())
    if summary["devices"]["cuda"] is None:
        assert summary["note"].startswith("No CUDA GPU was found on this machine, so only the CPU column")
        assert all(row["gpu_ms"] is None and row["speedup"] is None for row in rows.values())


@pytest.mark.skipif(not torch_cuda(), reason="no CUDA GPU here: the GPU column of step 6 cannot be measured")
def test_step_6_on_a_gpu_the_convolution_layer_runs_faster_than_on_the_cpu(tmp_path, capsys):
    rows = timings(run_step(6, tmp_path, capsys), capsys)
    assert all(row["gpu_ms"] > 0 for row in rows.values())
    assert rows["Conv2D layer"]["speedup"] > 1  # the GPU's thousands of cores pay on independent multiply-adds
