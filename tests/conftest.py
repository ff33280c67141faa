import pytest


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """No user plugins, no user runs directory, no user settings or caches leak into a test."""
    monkeypatch.setenv("CVSTUDIO_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("CVSTUDIO_PLUGIN_PATH", raising=False)
    monkeypatch.setenv("CVSTUDIO_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield



@pytest.fixture
def folder_with_bad_files(tmp_path):
    """An image folder (cat/, dog/) of small PNGs with five files that cannot be used: a truncated PNG,
    a text file named .jpg, two empty PNGs and a file that is no image at all; OpenCV warns about the first."""
    import cv2
    import numpy as np

    root = tmp_path / "photos"
    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        (root / label).mkdir(parents=True)
        for i in range(12):
            cv2.imwrite(str(root / label / f"{i:02d}.png"), rng.integers(0, 256, (20, 20, 3), dtype=np.uint8))
    encoded = cv2.imencode(".png", rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))[1].tobytes()
    (root / "cat" / "a-truncated.png").write_bytes(encoded[: len(encoded) // 2])
    (root / "dog" / "b-notes.jpg").write_text("not a picture, whatever its name says")
    (root / "dog" / "c-empty.png").write_bytes(b"")
    (root / "dog" / "d-empty.png").write_bytes(b"")
    (root / "dog" / "e-readme.txt").write_text("labels")
    return root
