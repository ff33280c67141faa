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
def photo():
    """Make a smooth picture with some grain, as photographs are: (height, width, channels) → uint8 array.
    Grain is the worst case for decoding a JPEG smaller."""
    import cv2
    import numpy as np

    def make(height: int, width: int, channels: int = 3) -> np.ndarray:
        rows, cols = np.mgrid[0:height, 0:width]
        planes = [(cols * (k + 1) / 3 + rows / (k + 2)) % 256 for k in range(channels)]
        smooth = cv2.GaussianBlur(np.stack(planes, -1).astype(np.uint8), (0, 0), 3).reshape(height, width, channels)
        grain = np.random.default_rng(0).integers(0, 30, smooth.shape, dtype=np.uint8)
        return cv2.add(smooth, grain).reshape(height, width, channels)

    return make


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


@pytest.fixture
def one_channel_model(tmp_path):
    """An external ONNX classifier without cvstudio metadata: float NCHW input of one 8×8 grey channel,
    labels 'bright' and 'dark' (logits mean - 0.5 and 0.5 - mean of the pixels scaled to 0-1)."""
    from onnx import TensorProto, helper

    nodes = [helper.make_node("ReduceMean", ["image"], ["mean"], axes=[1, 2, 3], keepdims=0),
             helper.make_node("Unsqueeze", ["mean", "axis"], ["mean column"]),
             helper.make_node("Sub", ["mean column", "half"], ["bright"]),
             helper.make_node("Neg", ["bright"], ["dark"]),
             helper.make_node("Concat", ["bright", "dark"], ["scores"], axis=1)]
    graph = helper.make_graph(
        nodes, "one channel", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 1, 8, 8])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["n", 2])],
        initializer=[helper.make_tensor("axis", TensorProto.INT64, [1], [1]),
                     helper.make_tensor("half", TensorProto.FLOAT, [], [0.5])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    path = tmp_path / "strokes.onnx"
    path.write_bytes(model.SerializeToString())
    (tmp_path / "strokes.labels.txt").write_text("bright\ndark\n")
    return path
