"""`cvstudio gui FILE --screenshot PNG --view NAME`: a picture of one view, then exit."""

from __future__ import annotations

from PySide6.QtGui import QImage

from cvstudio.cli import EXIT_ERROR, EXIT_USAGE, main
from cvstudio.qt.main_window import DEFAULT_SIZE
from cvstudio.testing import tiny_experiment


def test_gui_saves_a_picture_of_the_view_and_exits(tmp_path, capsys, qapp):
    png = tmp_path / "runs.png"
    assert main(["gui", str(tiny_experiment()), "--screenshot", str(png), "--view", "runs"]) == 0
    assert capsys.readouterr().out.strip() == f"saved {png}"
    image = QImage(str(png))
    first = DEFAULT_SIZE.boundedTo(qapp.primaryScreen().availableGeometry().size())  # a first start on this screen
    assert first.width() <= image.width() <= max(first.width(), 1280)  # wider only as far as the views need
    assert first.height() <= image.height() <= DEFAULT_SIZE.height()
    assert image.pixelColor(10, 10) != image.pixelColor(image.width() // 2, image.height() // 2)  # not blank


def test_an_unknown_view_is_named_with_those_there_are(tmp_path, capsys):
    png = tmp_path / "x.png"
    assert main(["gui", str(tiny_experiment()), "--screenshot", str(png), "--view", "nope"]) == EXIT_ERROR
    assert "No view called 'nope': choose one of dataset, pipelines, features, training" in capsys.readouterr().err
    assert not png.exists()


def test_view_without_screenshot_is_a_usage_error(capsys):
    assert main(["gui", str(tiny_experiment()), "--view", "training"]) == EXIT_USAGE
    assert "--view goes with --screenshot" in capsys.readouterr().err
