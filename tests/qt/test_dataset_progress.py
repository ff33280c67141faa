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
