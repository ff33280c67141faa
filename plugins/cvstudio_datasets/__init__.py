"""Built-in cvstudio datasets, registered through the same hook as any third-party plugin.

Only specs are built here; each factory is a lazy ``"module:function"`` string,
so listing these datasets imports neither torch, OpenCV nor scikit-learn.
"""

from cvstudio import DatasetSpec, Param, hookimpl
from cvstudio_datasets.torchvision_sets import TORCHVISION_SETS, default_root


@hookimpl
def cvstudio_register_datasets() -> list[DatasetSpec]:
    return [
        DatasetSpec(
            name="shapes",
            title="Shapes",
            description=(
                "Generated shapes (circle, square, triangle, star, ...) in random colors at random "
                "positions, sizes and angles, on noisy backgrounds with clutter. The color says nothing "
                "about the class, only the outline does: color features fail, edge features (HOG) "
                "partly succeed, and a CNN that learns its own features does best once it has enough "
                "images. Made on the fly, offline; the same seed gives the same images."
            ),
            factory="cvstudio_datasets.shapes:generate",
            params=(
                Param("per_class", "int", 300, "images of each shape", minimum=1, maximum=5000, log=True),
                Param("image_size", "int", 32, "width and height in pixels", minimum=16, maximum=128),
                Param("classes", "int", 6, "how many different shapes", minimum=2, maximum=8),
                Param(
                    "nuisance",
                    "float",
                    0.5,
                    "noise and clutter: 0 is clean, 1 is busy",
                    minimum=0.0,
                    maximum=1.0,
                ),
                Param("seed", "int", 0, "same seed, same images", minimum=0, maximum=2**31 - 1),
            ),
            tags=("generated", "bundled"),
        ),
        DatasetSpec(
            name="digits",
            title="Handwritten digits (8×8)",
            description=(
                "1,797 handwritten digits 0-9 scanned at 8×8 pixels, bundled with scikit-learn, so it "
                "works offline. Small and clean: classical features already do well here."
            ),
            factory="cvstudio_datasets.digits:load",
            params=(
                Param(
                    "upscale",
                    "int",
                    4,
                    "enlarge each image this many times (4 gives the 32×32 that LeNet-5 expects)",
                    minimum=1,
                    maximum=8,
                ),
            ),
            tags=("bundled",),
        ),
        DatasetSpec(
            name="image-folder",
            title="Image folder",
            description=(
                "Your own images: a folder with one sub-folder per class (e.g. photos/cat, photos/dog). "
                "Images of any size are resized to a square; files that cannot be read are skipped "
                "and listed."
            ),
            factory="cvstudio_datasets.folder:load",
            params=(
                Param("root", "path", "", "the folder that holds one sub-folder per class"),
                Param("image_size", "int", 64, "width and height after resizing", minimum=8, maximum=512),
                Param("color", "choice", "rgb", "keep color or convert to grey", choices=("rgb", "grayscale")),
            ),
        ),
        DatasetSpec(
            name="torchvision",
            title="MNIST / Fashion-MNIST / CIFAR-10",
            description=(
                "Classic benchmark sets through torchvision: MNIST digits, Fashion-MNIST clothes "
                "(28×28 grey) and CIFAR-10 photos (32×32 color). Downloaded once into the cache "
                "folder, then used offline."
            ),
            factory="cvstudio_datasets.torchvision_sets:load",
            params=(
                Param("dataset", "choice", "mnist", "which benchmark", choices=tuple(TORCHVISION_SETS)),
                Param("root", "path", default_root(), "folder where the files are kept"),
                Param("split", "choice", "train", "the official training or test part", choices=("train", "test")),
                Param("limit", "int", 10000, "at most this many images, balanced over classes; 0 = all", minimum=0),
                Param("download", "bool", True, "download the files when they are not in the folder"),
            ),
            tags=("download",),
        ),
    ]
