"""How an image becomes a model's input tensor: a small config a user can read, edit and save.

cvstudio's own exports carry their preprocessing in their metadata. For any
other ONNX classifier, cvstudio guesses one from the input's shape and type,
and the user corrects it and saves it next to the model as
``<model>.preprocess.json``. A config (:class:`PreprocessingConfig`) may hold
only some keys: it refines the guess, the keys it leaves out keep their guessed
values. Images enter as uint8 RGB (or grey) arrays, as :func:`read_image` and
the datasets produce them.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from cvstudio.core import image_files
from cvstudio.core.image_files import UnreadableImage, over_white
from cvstudio.core.runs import write_json
from cvstudio.specs import Param

COLORS = ("rgb", "bgr", "grayscale")
LAYOUTS = ("NCHW", "NHWC")
SCALES = ("0-1", "0-255")
OUTPUTS = ("auto", "logits", "probabilities")
CONFIG_SUFFIX = ".preprocess.json"


FORM_PARAMS = (
    Param("height", "int", 0, minimum=0, maximum=4096, help="Resize images to this height; 0: the model's own."),
    Param("width", "int", 0, minimum=0, maximum=4096, help="Resize images to this width; 0: the model's own."),
    Param("color", "choice", "rgb", choices=COLORS, help="The channel order the model was trained on."),
    Param("layout", "choice", "NCHW", choices=LAYOUTS, help="Channels first (PyTorch) or last (TensorFlow)."),
    Param("scale", "choice", "0-1", choices=SCALES, help="Pixel values divided by 255, or kept as they are."),
    Param("mean", "str", "0", help="Subtracted after scaling: one value, or one per channel (comma-separated)."),
    Param("std", "str", "1", help="Divided by after subtracting the mean: one value, or one per channel."),
    Param("invert", "bool", False, help="255 - pixel first: for models trained on light strokes on dark."),
    Param("outputs", "choice", "auto", choices=OUTPUTS,
          help="Logits get a softmax; auto decides from the scores (probabilities sum to 1)."),
)


class PreprocessingError(ValueError):
    """An image or a preprocessing config cannot be used; the message names the fix."""


@dataclass(frozen=True)
class Preprocessing:
    """Resize to ``size`` (height, width), convert colour, scale, normalise ``(x - mean) / std``, lay out.

    ``mean`` and ``std`` are per channel (or one value for all) in the scaled
    range. ``invert`` turns 255 - pixel first (white digits on black, say).
    ``outputs`` says whether the model's scores still need a softmax.
    """

    size: tuple[int, int] | None = None
    color: str = "rgb"
    layout: str = "NCHW"
    scale: str = "0-1"
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    invert: bool = False
    outputs: str = "auto"

    def __post_init__(self) -> None:
        for name, allowed in (("color", COLORS), ("layout", LAYOUTS), ("scale", SCALES), ("outputs", OUTPUTS)):
            if getattr(self, name) not in allowed:
                raise PreprocessingError(f"preprocessing '{name}' is {getattr(self, name)!r}; "
                                         f"choose one of {', '.join(allowed)}")
        if self.size is not None and (len(self.size) != 2 or min(self.size) < 1):
            raise PreprocessingError(f"preprocessing 'size' must be [height, width] in pixels, got {self.size!r}")
        for name in ("mean", "std"):
            if len(getattr(self, name)) not in (1, self.channels):
                needs = "1 value" if self.channels == 1 else f"1 or {self.channels} values"
                raise PreprocessingError(f"preprocessing '{name}' needs {needs} for {self.color} images, "
                                         f"got {len(getattr(self, name))}")
        if min(self.std) <= 0:
            raise PreprocessingError("preprocessing 'std' values must be above 0")

    @property
    def channels(self) -> int:
        return 1 if self.color == "grayscale" else 3

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["size"] = list(self.size) if self.size is not None else None
        data["mean"], data["std"] = list(self.mean), list(self.std)
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str = "preprocessing config") -> Preprocessing:
        """A config that states every key it needs (the model's metadata): keys left out take the defaults."""
        return PreprocessingConfig.from_dict(data, where).over(cls())

    def form_values(self) -> dict[str, Any]:
        """The config as :data:`FORM_PARAMS` values, for the GUI's editor."""
        h, w = self.size or (0, 0)
        return {**self.to_dict(), "height": h, "width": w, "mean": ", ".join(f"{v:g}" for v in self.mean),
                "std": ", ".join(f"{v:g}" for v in self.std)}

    @classmethod
    def from_form(cls, values: dict[str, Any]) -> Preprocessing:
        where = "the preprocessing form"
        data = {k: v for k, v in values.items() if k not in ("height", "width")}
        data["size"] = [values["height"], values["width"]] if values["height"] and values["width"] else None
        for name in ("mean", "std"):
            parts = str(values[name]).replace(",", " ").split()
            try:
                data[name] = [float(part) for part in parts]
            except ValueError:
                raise PreprocessingError(f"{where}: '{name}' must be numbers separated by commas, e.g. 0.5 or "
                                         f"0.485, 0.456, 0.406; got {values[name]!r}") from None
        return PreprocessingConfig.from_dict(data, where).over(cls())

    def save(self, path: Path) -> None:
        write_json(Path(path), self.to_dict())

    def apply(self, images: np.ndarray | Sequence[np.ndarray], dtype: Any = np.float32) -> np.ndarray:
        """uint8 images (H, W, C) with C = 1, 3 (RGB) or 4 (RGBA) → one input batch of ``dtype``."""
        if self.size is None:
            raise PreprocessingError("the preprocessing config has no 'size' and the model's input has no fixed "
                                     "size: set 'size' to the [height, width] the model was trained on")
        pixels = np.stack([self._convert(image) for image in images])
        channels = (slice(None), None, None) if self.layout == "NCHW" else (slice(None),)  # mean and std broadcast
        if self.layout == "NCHW":
            pixels = pixels.transpose(0, 3, 1, 2)
        # One copy into the final layout, then arithmetic in place: each new temporary array of a batch
        # costs fresh pages, and two of them took half of the time of preparing 32×32 images.
        batch = pixels.astype(np.float32, order="C")
        if self.invert:
            np.subtract(255.0, batch, out=batch)
        if self.scale == "0-1":
            batch /= 255.0
        if any(self.mean):
            batch -= np.asarray(self.mean, np.float32)[channels]
        if any(value != 1 for value in self.std):
            batch /= np.asarray(self.std, np.float32)[channels]
        if np.issubdtype(np.dtype(dtype), np.integer):
            info = np.iinfo(dtype)
            np.clip(np.rint(batch, out=batch), info.min, info.max, out=batch)
        return batch if batch.dtype == dtype else batch.astype(dtype)

    def _convert(self, image: np.ndarray) -> np.ndarray:
        import cv2

        image = np.asarray(image)
        if image.ndim == 2:
            image = image[..., None]
        if image.ndim != 3 or image.shape[2] not in (1, 3, 4) or image.dtype != np.uint8:
            raise PreprocessingError(
                f"an image of shape {image.shape} and type {image.dtype} cannot be fed to this model: it needs "
                "8-bit grey (1 channel), RGB (3) or RGBA (4) images; convert the image to one of these"
            )
        if image.shape[2] == 4:
            image = over_white(image)
        if self.channels == 1 and image.shape[2] == 3:
            image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None]
        elif self.channels == 3 and image.shape[2] == 1:
            image = np.repeat(image, 3, axis=2)
        if self.color == "bgr":
            image = image[..., ::-1]
        h, w = self.size
        if image.shape[:2] != (h, w):
            shrink = image.shape[0] > h or image.shape[1] > w
            image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        return image.reshape(h, w, self.channels)


CONFIG_KEYS = tuple(f.name for f in fields(Preprocessing))


@dataclass(frozen=True)
class PreprocessingConfig:
    """The keys a config file (or the form) states, checked and typed; the others are left to the model.

    ``over(base)`` is the base (the model's metadata, or the guess from its
    input) with these keys changed: ``{"invert": true}`` means "the guess,
    inverted".
    """

    values: dict[str, Any]
    where: str = "preprocessing config"

    @classmethod
    def from_dict(cls, data: Any, where: str = "preprocessing config") -> PreprocessingConfig:
        if not isinstance(data, dict):
            raise PreprocessingError(f"{where} must be a JSON object such as {{\"invert\": true}}, "
                                     f"got {type(data).__name__}")
        for key in data:
            if key not in CONFIG_KEYS:
                close = difflib.get_close_matches(str(key), CONFIG_KEYS, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise PreprocessingError(f"{where}: unknown key {key!r}{hint} (the keys are {', '.join(CONFIG_KEYS)}; "
                                         "leave a key out to keep the value guessed from the model)")
        return cls({key: _typed(key, value, where) for key, value in data.items()}, where)

    @classmethod
    def of(cls, preprocessing: Preprocessing, where: str) -> PreprocessingConfig:
        """Every key of a complete preprocessing, as a config that states them all."""
        return cls({key: getattr(preprocessing, key) for key in CONFIG_KEYS}, where)

    @classmethod
    def load(cls, path: Path) -> PreprocessingConfig:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise PreprocessingError(f"cannot read the preprocessing config {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise PreprocessingError(f"{path} is not valid JSON ({exc}); fix it or delete it to start again") from None
        return cls.from_dict(data, str(path))

    def over(self, base: Preprocessing) -> Preprocessing:
        """``base`` with the keys this config states; an error names the config when the two do not fit."""
        try:
            return replace(base, **self.values)
        except PreprocessingError as exc:
            raise PreprocessingError(f"{self.where}: {exc}") from None


def _typed(key: str, value: Any, where: str) -> Any:
    """One config value checked and typed; an error names the key, what it takes and an example."""
    def refuse(takes: str) -> PreprocessingError:
        return PreprocessingError(f"{where}: '{key}' must be {takes}; got {json.dumps(value, default=str)}")

    def is_number(item: Any) -> bool:
        return isinstance(item, (int, float)) and not isinstance(item, bool)

    if key == "size":
        if value is None:
            return None
        if not (isinstance(value, (list, tuple)) and len(value) == 2 and all(is_number(v) for v in value)
                and all(float(v).is_integer() and v >= 1 for v in value)):
            raise refuse("[height, width] in pixels, e.g. [28, 28], or null for the model's own size")
        return (int(value[0]), int(value[1]))
    if key in ("mean", "std"):
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if not items or not all(is_number(v) for v in items):
            raise refuse("a number or a list of numbers, one per channel, e.g. 0.5 or [0.485, 0.456, 0.406]")
        return tuple(float(v) for v in items)
    if key == "invert":
        if not isinstance(value, bool):
            raise refuse("true or false (without quotes)")
        return value
    allowed = {"color": COLORS, "layout": LAYOUTS, "scale": SCALES, "outputs": OUTPUTS}[key]
    if value not in allowed:
        raise PreprocessingError(f"{where}: '{key}' is {value!r}; choose one of {', '.join(allowed)}")
    return value


def config_path(model_path: Path) -> Path:
    """Where the preprocessing config of ``model.onnx`` lives: ``model.preprocess.json`` beside it."""
    return Path(model_path).with_suffix(CONFIG_SUFFIX)


def labels_path(model_path: Path) -> Path:
    """Where an optional labels file is looked for: ``model.labels.txt``, one class name a line."""
    return Path(model_path).with_suffix(".labels.txt")


def read_labels(path: Path) -> list[str]:
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise PreprocessingError(f"cannot read the labels file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise PreprocessingError(f"the labels file {path} is not UTF-8 text: give class names, one a line") from None
    return [line.strip() for line in lines if line.strip()]


def read_image(path: Path) -> np.ndarray:
    """An image file as uint8 RGB (H, W, 3) or grey (H, W, 1), or a PreprocessingError naming the file."""
    try:
        return image_files.read_image(path)
    except UnreadableImage as reason:
        raise PreprocessingError(f"{path}: {reason}") from None
