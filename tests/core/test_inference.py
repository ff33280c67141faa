"""The inference engine on hand-built ONNX graphs: no cvstudio metadata, unusual names and layouts."""

import cv2
import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from cvstudio.core import sessions
from cvstudio.core.inference import GUESSED, Predictor
from cvstudio.core.inference_jobs import FilesClassified, list_images, predict_files, stream_video
from cvstudio.core.preprocessing import Preprocessing, PreprocessingConfig, PreprocessingError
from cvstudio.core.sessions import InferenceError, provider_list, usable_providers
from cvstudio.core.tasks import Progress, TaskState, drain

RED, GREEN, BLUE = (230, 20, 20), (20, 230, 20), (20, 20, 230)


def save_model(path, inputs, nodes, output_shape=("n", 3), output_name="scores/out"):
    graph = helper.make_graph(nodes, "hand-built", inputs,
                              [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, list(output_shape))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    path.write_bytes(model.SerializeToString())
    return path


@pytest.fixture
def colour_model(tmp_path):
    """NHWC uint8 input named 'pixels:0'; each output is a channel's mean brightness: logits, 0–255."""
    pixels = helper.make_tensor_value_info("pixels:0", TensorProto.UINT8, ["n", 8, 8, 3])
    nodes = [helper.make_node("Cast", ["pixels:0"], ["as float"], to=TensorProto.FLOAT),
             helper.make_node("ReduceMean", ["as float"], ["scores/out"], axes=[1, 2], keepdims=0)]
    path = save_model(tmp_path / "colour.onnx", [pixels], nodes)
    (tmp_path / "colour.labels.txt").write_text("red\ngreen\nblue\n")
    return path


def image(colour, size=20):
    return np.full((size, size, 3), colour, dtype=np.uint8)


def test_an_external_nhwc_uint8_model_is_read_and_predicts(colour_model):
    predictor = Predictor(colour_model, provider="cpu")
    assert set(predictor.sources.values()) == {GUESSED} and predictor.metadata is None
    assert predictor.preprocessing == Preprocessing(size=(8, 8), color="rgb", layout="NHWC", scale="0-255")
    assert predictor.prepare([image(RED)]).dtype == np.uint8
    assert predictor.labels == ["red", "green", "blue"]
    predictions = predictor.predict([image(RED), image(BLUE), image(GREEN, size=5)], topk=2)
    assert [p.label for p in predictions] == ["red", "blue", "green"]
    assert all(len(p.top) == 2 for p in predictions)
    scores = predictor.run(predictor.prepare([image(RED)]))
    assert np.isclose(scores.sum(), 1.0) and scores[0, 0] > 0.99  # the logits went through a softmax


def test_an_edited_config_is_saved_beside_the_model_and_used_next_time(colour_model):
    predictor = Predictor(colour_model, provider="cpu")
    path = predictor.save_preprocessing(Preprocessing(size=(8, 8), color="bgr", layout="NHWC", scale="0-255"))
    assert path == colour_model.with_name("colour.preprocess.json")
    again = Predictor(colour_model, provider="cpu")
    assert set(again.sources.values()) == {"colour.preprocess.json"} and again.preprocessing.color == "bgr"
    assert again.predict([image(RED)])[0].label == "blue"  # channels swapped, as the config says


def test_invert_and_normalisation_follow_the_config():
    config = Preprocessing(size=(2, 2), color="grayscale", scale="0-1", mean=(0.5,), std=(0.25,), invert=True)
    batch = config.apply([np.full((4, 4, 1), 255, np.uint8)])
    assert batch.shape == (1, 1, 2, 2) and np.allclose(batch, (0.0 - 0.5) / 0.25)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize(("color", "mean", "std"), [("rgb", (0.0,), (1.0,)), ("rgb", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
                                                    ("grayscale", (0.5,), (0.25,)), ("bgr", (0.0,), (2.0,))])
@pytest.mark.parametrize(("scale", "invert", "dtype"), [("0-1", False, np.float32), ("0-255", True, np.float32),
                                                        ("0-255", False, np.uint8), ("0-1", True, np.float16)])
def test_a_batch_is_exactly_the_formula_in_the_model_layout(layout, color, mean, std, scale, invert, dtype):
    images = np.random.default_rng(0).integers(0, 256, (5, 6, 7, 3), dtype=np.uint8)
    config = Preprocessing(size=(6, 7), color=color, layout=layout, scale=scale, mean=mean, std=std, invert=invert)
    x = images.astype(np.float32)
    if color == "grayscale":
        x = np.stack([cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None] for image in images]).astype(np.float32)
    elif color == "bgr":
        x = x[..., ::-1]
    x = (255 - x if invert else x) / (255 if scale == "0-1" else 1)
    x = (x - np.float32(mean)) / np.float32(std)
    x = x.transpose(0, 3, 1, 2) if layout == "NCHW" else x
    if dtype == np.uint8:
        x = np.clip(np.rint(x), 0, 255)
    batch = config.apply(images, dtype)
    assert batch.dtype == dtype and batch.flags.c_contiguous
    assert np.array_equal(batch, x.astype(dtype))


def test_folder_prediction_reports_unreadable_files(colour_model, tmp_path):
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    cv2.imwrite(str(folder / "red.png"), image(RED)[..., ::-1])
    cv2.imwrite(str(folder / "sub" / "green.jpg"), image(GREEN)[..., ::-1])
    (folder / "broken.png").write_bytes(b"not an image")
    (folder / "notes.txt").write_text("ignored")
    paths = list_images([folder])
    assert [p.name for p in paths] == ["broken.png", "red.png", "green.jpg"]
    events, results = drain(predict_files(Predictor(colour_model, provider="cpu"), paths, TaskState(), batch_size=2))
    progress = [(e.done, e.total) for e in events if isinstance(e, Progress)]
    batches = [[r.path.name for r in e.results] for e in events if isinstance(e, FilesClassified)]
    assert progress == [(2, 3), (3, 3)] and batches == [["broken.png", "red.png"], ["green.jpg"]]
    assert isinstance(events[0], FilesClassified)  # a batch's rows are shown with its progress, not after
    assert results[0].prediction is None and "not a readable image" in results[0].error
    assert [r.prediction.label for r in results[1:]] == ["red", "green"]
    with pytest.raises(InferenceError, match="does not exist"):
        list_images([tmp_path / "missing"])
    with pytest.raises(InferenceError, match=r"no image files in the given files and folders \(looked for \.png"):
        drain(predict_files(Predictor(colour_model, provider="cpu"), [], TaskState()))


def test_a_video_file_streams_frames_with_predictions(colour_model, tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 32))
    for colour in (RED, RED, BLUE, BLUE, BLUE):
        writer.write(image(colour, 32)[..., ::-1].copy())
    writer.release()
    frames, count = drain(stream_video(Predictor(colour_model, provider="cpu"), path, TaskState()))
    assert count == 5 and [f.prediction.label for f in frames] == ["red", "red", "blue", "blue", "blue"]
    assert frames[0].image.shape == (32, 32, 3) and all(f.latency_ms > 0 and f.fps > 0 for f in frames)


# ------------------------------------------------------------------ bad input


def test_a_file_that_is_not_onnx_is_refused_clearly(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_text("this is a text file")
    with pytest.raises(InferenceError, match="'model.onnx' is not a valid ONNX model.*export or download it again"):
        Predictor(path, provider="cpu")


def test_a_truncated_model_is_refused_clearly(colour_model, tmp_path):
    data = colour_model.read_bytes()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InferenceError, match="not a valid ONNX model.*truncated"):
        Predictor(path, provider="cpu")
    with pytest.raises(InferenceError, match="does not exist"):
        Predictor(tmp_path / "missing.onnx", provider="cpu")
    with pytest.raises(InferenceError, match="is a folder, not a model file"):
        Predictor(tmp_path, provider="cpu")


def test_a_model_whose_input_is_not_an_image_is_refused(tmp_path):
    features = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["n", 10])
    path = tmp_path / "tabular.onnx"
    model = helper.make_model(helper.make_graph(
        [helper.make_node("Identity", ["features"], ["scores/out"])], "tabular", [features],
        [helper.make_tensor_value_info("scores/out", TensorProto.FLOAT, ["n", 10])]),
        opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    path.write_bytes(model.SerializeToString())
    with pytest.raises(InferenceError, match=r"input 'features' has shape \['n', 10\]: not an image tensor"):
        Predictor(path, provider="cpu")


def test_an_image_with_the_wrong_channel_count_is_refused(colour_model):
    predictor = Predictor(colour_model, provider="cpu")
    with pytest.raises(PreprocessingError, match=r"shape \(8, 8, 2\).*needs 8-bit grey \(1 channel\), RGB \(3\)"):
        predictor.predict([np.zeros((8, 8, 2), np.uint8)])
    with pytest.raises(InferenceError, match=r"takes 3 channel\(s\).*gives grayscale images \(1\); set 'color' to rgb"):
        Predictor(colour_model, provider="cpu", preprocessing=Preprocessing(color="grayscale", layout="NHWC"))
    grey = predictor.predict([np.full((8, 8, 1), 200, np.uint8)])[0]  # grey images are widened to RGB
    assert np.isclose(sum(p for _, p in grey.top), 1.0)


def test_a_missing_camera_is_reported_not_crashed(colour_model):
    with pytest.raises(InferenceError, match="camera 97 cannot be opened: there is no camera with that number"):
        drain(stream_video(Predictor(colour_model, provider="cpu"), 97, TaskState()))


class BusyCamera:
    """What OpenCV gives for a camera another application holds: it opens, then every read fails."""

    def __init__(self, source):
        self.released = False

    def isOpened(self):  # noqa: N802 - OpenCV's name
        return True

    def read(self):
        return False, None

    def release(self):
        self.released = True


def test_a_busy_camera_is_reported_and_released(colour_model, monkeypatch):
    cameras = []
    monkeypatch.setattr(cv2, "VideoCapture", lambda source: cameras.append(BusyCamera(source)) or cameras[-1])
    with pytest.raises(InferenceError, match="camera 0 opened but sends no frames: another application is probably "
                                             "using it; close it and try again"):
        drain(stream_video(Predictor(colour_model, provider="cpu"), 0, TaskState()))
    assert cameras[0].released


def test_cuda_requested_without_a_cuda_provider_falls_back_to_cpu_and_says_so(colour_model, monkeypatch):
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    predictor = Predictor(colour_model, provider="cuda")
    assert predictor.providers == ["CPUExecutionProvider"]
    assert predictor.notice.startswith("CUDA was requested but this onnxruntime build has no such provider")
    assert predictor.predict([image(RED)])[0].label == "red"


@pytest.mark.skipif("cuda" in usable_providers(), reason="CUDA works here: nothing falls back")
def test_cuda_that_cannot_start_falls_back_to_cpu_and_says_so(colour_model):
    predictor = Predictor(colour_model, provider="cuda")
    assert predictor.providers == ["CPUExecutionProvider"] and "running on CPUExecutionProvider" in predictor.notice


@pytest.mark.skipif("cuda" not in usable_providers(), reason="needs a working CUDA provider")
def test_cuda_runs_the_session_when_it_works(colour_model):
    predictor = Predictor(colour_model, provider="cuda")
    assert predictor.providers[0] == "CUDAExecutionProvider" and predictor.notice is None
    assert predictor.predict([image(RED)])[0].label == "red"


def test_provider_lists_are_explicit_and_end_with_the_cpu():
    assert provider_list("cpu") == ["CPUExecutionProvider"]
    assert provider_list("auto")[-1] == "CPUExecutionProvider"
    assert usable_providers()[0] == "cpu"
    with pytest.raises(InferenceError, match="unknown provider 'gpu'; choose one of auto, cpu, cuda, tensorrt"):
        provider_list("gpu")


def test_session_options_are_set_deliberately():
    options = sessions.session_options(threads=2)
    assert options.intra_op_num_threads == 2 and options.inter_op_num_threads == 1
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_a_bad_config_file_names_the_key_and_the_choices(tmp_path):
    path = tmp_path / "bad.preprocess.json"
    path.write_text('{"colour": "rgb"}')
    with pytest.raises(PreprocessingError, match="unknown key 'colour'"):
        PreprocessingConfig.load(path)
    path.write_text('{"layout": "CHW"}')
    with pytest.raises(PreprocessingError, match="'layout' is 'CHW'; choose one of NCHW, NHWC"):
        PreprocessingConfig.load(path)
    path.write_text('{"layout": ')
    with pytest.raises(PreprocessingError, match="not valid JSON"):
        PreprocessingConfig.load(path)


def test_a_labels_file_with_the_wrong_number_of_names_is_refused(colour_model):
    colour_model.with_name("colour.labels.txt").write_text("red\ngreen\n")
    with pytest.raises(InferenceError, match=r"colour.labels.txt has 2 names but the model scores 3 classes"):
        Predictor(colour_model, provider="cpu")
    with pytest.raises(InferenceError, match=r"the given list of labels has 4 names but the model scores 3 classes"):
        Predictor(colour_model, provider="cpu", labels=["a", "b", "c", "d"])


def test_non_finite_scores_are_an_error_not_a_prediction(tmp_path):
    pixels = helper.make_tensor_value_info("pixels", TensorProto.UINT8, ["n", 8, 8, 3])
    nodes = [helper.make_node("Cast", ["pixels"], ["as float"], to=TensorProto.FLOAT),
             helper.make_node("ReduceMean", ["as float"], ["means"], axes=[1, 2], keepdims=0),
             helper.make_node("Sub", ["means", "means"], ["zeros"]),
             helper.make_node("Div", ["zeros", "zeros"], ["scores/out"])]
    predictor = Predictor(save_model(tmp_path / "nan.onnx", [pixels], nodes), provider="cpu")
    with pytest.raises(InferenceError, match=r"not-a-number or infinite scores for 2 of 2 image\(s\)"):
        predictor.predict([image(RED), image(BLUE)])


def test_a_partial_config_refines_the_guess_and_says_which_keys_it_set(one_channel_model, tmp_path):
    config = tmp_path / "cfg.json"
    config.write_text('{"invert": true}')
    predictor = Predictor(one_channel_model, provider="cpu", preprocessing=PreprocessingConfig.load(config))
    assert predictor.preprocessing == Preprocessing(size=(8, 8), color="grayscale", layout="NCHW", invert=True)
    assert predictor.sources["invert"] == "cfg.json"
    assert {key for key, origin in predictor.sources.items() if origin == GUESSED} == {
        "size", "color", "layout", "scale", "mean", "std", "outputs"}
    assert "preprocessing invert from cfg.json; the rest guessed from the input: check it;" in predictor.describe()
    white = np.full((8, 8, 3), 255, np.uint8)
    assert predictor.predict([white])[0].label == "dark"  # inverted: white strokes become black
    assert Predictor(one_channel_model, provider="cpu").predict([white])[0].label == "bright"

    one_channel_model.with_suffix(".preprocess.json").write_text('{"mean": 0.5, "std": 0.25}')  # saved beside it
    saved = Predictor(one_channel_model, provider="cpu")
    assert saved.preprocessing.color == "grayscale" and saved.preprocessing.std == (0.25,)
    assert saved.sources["mean"] == saved.sources["std"] == "strokes.preprocess.json"
    assert saved.sources["color"] == GUESSED


@pytest.mark.parametrize("text, message", [
    ('{"inverted": true}', "unknown key 'inverted'; did you mean 'invert'\\?.*leave a key out to keep the value "
                           "guessed"),
    ('{"invert": "yes"}', "'invert' must be true or false \\(without quotes\\); got \"yes\""),
    ('{"size": 28}', "'size' must be \\[height, width\\] in pixels, e.g. \\[28, 28\\].*; got 28"),
    ('{"mean": "half"}', "'mean' must be a number or a list of numbers, one per channel.*; got \"half\""),
    ('{"std": [0.5, true]}', "'std' must be a number or a list of numbers"),
    ('{"color": 3}', "'color' is 3; choose one of rgb, bgr, grayscale"),
    ('["invert"]', "must be a JSON object such as \\{\"invert\": true\\}, got list"),
])
def test_a_config_with_a_wrong_key_or_type_names_the_key_and_the_fix(tmp_path, text, message):
    path = tmp_path / "cfg.json"
    path.write_text(text)
    with pytest.raises(PreprocessingError, match=message):
        PreprocessingConfig.load(path)


def test_a_partial_config_that_does_not_fit_the_guess_names_the_config(one_channel_model, tmp_path):
    path = tmp_path / "cfg.json"
    path.write_text('{"mean": [0.485, 0.456, 0.406]}')
    with pytest.raises(PreprocessingError, match="cfg.json: preprocessing 'mean' needs 1 value for grayscale images, got 3"):
        Predictor(one_channel_model, provider="cpu", preprocessing=PreprocessingConfig.load(path))
