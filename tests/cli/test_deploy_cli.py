"""`cvstudio export` and `cvstudio predict`, end to end on a tiny trained run."""

import csv
from dataclasses import replace

import cv2
import numpy as np
import pytest

from cvstudio.cli import main
from cvstudio.core.inference import METADATA, Predictor
from cvstudio.core.preprocessing import PreprocessingConfig
from cvstudio.testing import make_tiny_dataset, write_tiny_experiment

TINY_PLUGIN = """
from cvstudio import hookimpl, DatasetSpec
@hookimpl
def cvstudio_register_datasets():
    return [DatasetSpec(name="tiny", description="Tiny.", factory="cvstudio.testing:make_tiny_dataset")]
"""


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    """A run with two small networks trained on the tiny bands for a few epochs."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "tinydata.py").write_text(TINY_PLUGIN)
    monkeypatch.setenv("CVSTUDIO_PLUGIN_PATH", str(plugins))
    experiment = write_tiny_experiment(
        tmp_path / "exp.toml", title="deploy", dataset={"name": "tiny"}, split=None, classical=None,
        deep=[{"label": "MLP", "model": "mlp", "epochs": 15, "learning_rate": 0.01, "batch_size": 64},
              {"label": "CNN", "model": "lenet5", "epochs": 1, "batch_size": 64}])
    assert main(["run", str(experiment), "--out", str(tmp_path / "runs")]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    return run


def test_export_then_predict_a_folder_with_csv(run_dir, tmp_path, capsys):
    model = tmp_path / "mlp.onnx"
    assert main(["export", str(run_dir), "-o", str(model), "--pipeline", "MLP"]) == 0
    out = capsys.readouterr().out
    assert f"exported 'MLP' to {model}" in out and "max |ONNX Runtime - torch|" in out

    dataset = make_tiny_dataset(seed=1)  # unseen images of the same three bands
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(0, len(dataset), 3):
        cv2.imwrite(str(folder / f"{i:02d}.png"), dataset.images[i][..., ::-1])
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 cut short")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n then no image at all")
    (folder / "notes.jpg").write_text("a text file named .jpg")
    table = tmp_path / "out.csv"
    assert main(["predict", str(model), str(folder), "--provider", "cpu", "--topk", "2", "--csv", str(table)]) == 0
    captured = capsys.readouterr()
    assert "preprocessing from the model's cvstudio metadata; 3 labels; running on CPUExecutionProvider" in captured.err
    assert "3 of 15 file(s) could not be read" in captured.err
    unreadable = ("broken.jpg", "corrupt.png", "notes.jpg")  # they sort after the numbered images
    reason = "not a readable image: the file is empty, corrupt or in an unsupported format"
    assert captured.out.splitlines()[-3:] == [f"{folder / name}\terror: {reason}" for name in unreadable]

    rows = list(csv.DictReader(table.open()))
    assert [r["path"] for r in rows] == sorted(str(p) for p in folder.iterdir())
    broken, images = rows[-3:], rows[:-3]
    assert [(r["label1"], r["error"]) for r in broken] == [("", reason)] * 3  # the path is in its own column
    truth = [dataset.class_names[dataset.labels[int(r["path"][-6:-4])]] for r in images]
    assert np.mean([r["label1"] == t for r, t in zip(images, truth)]) >= 0.75  # it learned the bands
    assert all(float(r["probability1"]) >= float(r["probability2"]) for r in images)
    predictor = Predictor(model, "cpu")
    direct = predictor.predict([cv2.imread(r["path"])[..., ::-1] for r in images], topk=1)
    assert [p.label for p in direct] == [r["label1"] for r in images]

    config = tmp_path / "cfg.json"
    config.write_text('{"invert": true}')  # refines the export's own preprocessing, as it does a guess
    inverted = Predictor(model, "cpu", PreprocessingConfig.load(config))
    assert inverted.preprocessing == replace(predictor.preprocessing, invert=True)
    assert inverted.sources["invert"] == "cfg.json" and inverted.sources["mean"] == METADATA
    assert "invert from cfg.json; the rest from the model's cvstudio metadata" in inverted.describe()


def test_export_needs_a_pipeline_choice_when_there_are_several(run_dir, capsys):
    assert main(["export", str(run_dir)]) == 1
    assert "has 2 deep pipelines; choose one with --pipeline: 'MLP', 'CNN'" in capsys.readouterr().err
    assert main(["export", str(run_dir), "--pipeline", "CNN"]) == 0
    assert (run_dir / "exports" / "cnn.onnx").is_file()
    assert "note:" not in capsys.readouterr().err


def test_exporting_a_run_that_did_not_complete_says_so(run_dir, capsys):
    from cvstudio.core.runs import Run

    Run(run_dir).set_status("cancelled")
    assert main(["export", str(run_dir), "--pipeline", "MLP"]) == 0
    err = capsys.readouterr().err
    assert f"note: run '{run_dir.name}' is cancelled, not completed: this is its network after epoch 15" in err


def test_predict_reports_bad_models_and_providers_in_one_line(tmp_path, capsys):
    fake = tmp_path / "fake.onnx"
    fake.write_text("not a model")
    image = tmp_path / "a.png"
    cv2.imwrite(str(image), np.zeros((8, 8, 3), np.uint8))
    assert main(["predict", str(fake), str(image)]) == 1
    assert "error: 'fake.onnx' is not a valid ONNX model" in capsys.readouterr().err
    assert main(["predict", str(fake), str(image), "--provider", "gpu"]) == 1
    assert "unknown provider 'gpu'" in capsys.readouterr().err
    assert main(["predict", str(fake), str(image), "--topk", "0"]) == 2
    assert "--topk and --batch-size must be at least 1" in capsys.readouterr().err


def test_predict_with_a_partial_config_keeps_the_guess_for_the_keys_it_leaves_out(one_channel_model, tmp_path, capsys):
    white = tmp_path / "white.png"
    cv2.imwrite(str(white), np.full((8, 8, 3), 255, np.uint8))
    config = tmp_path / "cfg.json"
    config.write_text('{"invert": true}')
    assert main(["predict", str(one_channel_model), str(white), "--provider", "cpu", "--config", str(config)]) == 0
    captured = capsys.readouterr()
    assert "preprocessing invert from cfg.json; the rest guessed from the input: check it" in captured.err
    assert captured.out.startswith(f"{white}\tdark ")  # inverted: the white image reads as dark
    config.write_text('{"invert": "yes"}')
    assert main(["predict", str(one_channel_model), str(white), "--config", str(config)]) == 1
    assert "'invert' must be true or false (without quotes); got \"yes\"" in capsys.readouterr().err


def test_predict_on_a_folder_without_images_says_what_it_looked_for(one_channel_model, tmp_path, capsys):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("not an image")
    assert main(["predict", str(one_channel_model), str(tmp_path / "empty"), "--provider", "cpu"]) == 1
    assert "error: no image files in the given files and folders (looked for .png, .jpg" in capsys.readouterr().err
