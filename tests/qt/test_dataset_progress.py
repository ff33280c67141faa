"""An image folder being decoded shows its progress in the Dataset view, then the images."""

import cv2
import numpy as np


def test_an_image_folder_shows_its_decoding_progress_then_its_images(qtbot, make_window, tmp_path):
    root = tmp_path / "photos"
    for label in ("cat", "dog"):
        (root / label).mkdir(parents=True)
        for i in range(40):
            cv2.imwrite(str(root / label / f"{i}.png"), np.full((12, 12, 3), 40 * (label == "cat"), np.uint8))
    window = make_window()
    panel = window.dataset_panel
    shown = []
    panel.on_progress = lambda event, real=panel.on_progress: (shown.append(panel.info.text()), real(event),
                                                               shown.append(panel.info.text()))
    panel.set_state({"name": "image-folder", "params": {"root": str(root), "image_size": 16}},
                    panel.state()["split"])
    panel.load_button.click()
    qtbot.waitUntil(lambda: window.dataset is not None and window.dataset.name == "photos", timeout=20000)
    assert shown and shown[-1].endswith("decoding 80/80")
    assert "Loading Image folder…" in shown[-1]
    assert "80 images" in panel.info.text()  # the progress gave way to the dataset's facts


def test_the_dataset_view_says_which_files_were_skipped_and_why(qtbot, make_window, folder_with_bad_files):
    window = make_window()
    panel = window.dataset_panel
    assert panel.skipped.isHidden()  # the tiny lesson's dataset skips nothing
    panel.set_state({"name": "image-folder", "params": {"root": str(folder_with_bad_files), "image_size": 16}},
                    panel.state()["split"])
    panel.load_button.click()
    qtbot.waitUntil(lambda: window.dataset is not None and window.dataset.name == "photos", timeout=20000)
    text = panel.skipped.text()
    assert panel.skipped.isVisible() and text.startswith("5 files skipped (not used):")
    assert "a-truncated.png: not a readable image" in text and "b-notes.jpg: not a readable image" in text
    assert text.endswith("… and 2 more") and "e-readme.txt" not in text
    assert "e-readme.txt: not an image file" in panel.skipped.toolTip()  # every one, up to thirty
    panel.set_state({"name": "tiny", "params": {}}, panel.state()["split"])
    panel.load_button.click()
    qtbot.waitUntil(lambda: window.dataset.name != "photos", timeout=20000)
    assert panel.skipped.isHidden()
