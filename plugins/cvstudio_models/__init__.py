"""Built-in cvstudio models: six networks from 1986 to 2021, each small enough for a CPU.

Factories are ``"module:attribute"`` strings, so listing the models imports
neither torch nor the model code.
"""

from __future__ import annotations

from cvstudio import ModelSpec, Param, hookimpl

DROPOUT = Param(
    "dropout",
    "float",
    0.2,
    help="Fraction of units switched off at random while training, so the network cannot rely on any one.",
    minimum=0.0,
    maximum=0.9,
)
PATCH_SIZE = Param(
    "patch_size",
    "int",
    4,
    help="Side of the square patches the image is cut into; must divide the image's height and width. "
    "Smaller patches mean more tokens: finer detail, slower training.",
    minimum=1,
    maximum=32,
)
DIM = Param(
    "dim",
    "int",
    128,
    help="Length of the vector that stands for each patch (for the Vision Transformer, a multiple of its 4 heads).",
    minimum=16,
    maximum=768,
)
DEPTH = Param("depth", "int", 4, help="Number of blocks stacked after the patch embedding.", minimum=1, maximum=12)


@hookimpl
def cvstudio_register_models() -> list[ModelSpec]:
    """The built-in models, oldest first, so the list reads as a short history."""
    return [
        ModelSpec(
            name="mlp",
            title="Multi-layer perceptron",
            year=1986,
            description=(
                "The oldest network here: Rosenblatt's perceptron (1958) stacked into layers and trained "
                "with backpropagation (Rumelhart, Hinton & Williams, 1986). No convolutions: every pixel is "
                "a separate input, so the network does not know which pixels are neighbours, and an object "
                "moved by a few pixels is a new pattern it must learn again. It needs many weights and "
                "generalises poorly on images: the baseline that convolutions beat."
            ),
            factory="cvstudio_models.mlp:build",
            params=(
                Param("hidden", "int", 256, help="Units in each hidden layer.", minimum=8, maximum=4096),
                Param("layers", "int", 2, help="Number of hidden layers.", minimum=1, maximum=8),
                DROPOUT,
            ),
            tags=("fully-connected",),
        ),
        ModelSpec(
            name="lenet5",
            title="LeNet-5",
            year=1998,
            description=(
                "LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998) read the handwritten digits on millions of "
                "bank cheques. It set the recipe every CNN since has followed: small filters learned from "
                "data and slid over the whole image (convolution), the same weights at every position so a "
                "stroke is recognised anywhere, and subsampling (pooling) for tolerance to small shifts; then "
                "fully connected layers decide. Two 5×5 convolution layers of 6 and 16 filters, then 120, 84 "
                "and one unit per class: about 60 000 weights in the original. Here the convolutions are "
                "padded so small images fit, so the first fully connected layer grows with the image, and "
                "pooling keeps the maximum instead of the average; choose tanh for units close to the "
                "original ones."
            ),
            factory="cvstudio_models.lenet:build",
            params=(
                Param(
                    "activation",
                    "choice",
                    "relu",
                    choices=("relu", "tanh"),
                    help="relu: the modern choice, trains faster. tanh: close to LeNet's original squashing "
                    "function, whose gradients fade when units saturate.",
                ),
            ),
            tags=("cnn",),
        ),
        ModelSpec(
            name="vgg-small",
            title="VGG (small)",
            year=2014,
            description=(
                "VGG (Simonyan & Zisserman, 2014, Oxford's Visual Geometry Group) showed that depth matters. "
                "It uses only 3×3 filters and stacks them: two 3×3 layers see as far as one 5×5 with fewer "
                "weights and one more non-linearity. Each block of convolutions ends with max-pooling that "
                "halves the image while the next block doubles the number of filters, trading detail for "
                "meaning. This small version adds batch normalisation (Ioffe & Szegedy, 2015), which makes "
                "training fast and stable, and ends with global average pooling instead of VGG's huge fully "
                "connected layers."
            ),
            factory="cvstudio_models.vgg:build",
            params=(
                Param("width", "int", 32, help="Filters in the first block; each block doubles it.", minimum=4, maximum=128),
                Param(
                    "blocks",
                    "int",
                    3,
                    help="Number of conv-conv-pool blocks; each halves the image size.",
                    minimum=1,
                    maximum=5,
                ),
                DROPOUT,
            ),
            tags=("cnn",),
        ),
        ModelSpec(
            name="resnet18",
            title="ResNet-18",
            year=2015,
            description=(
                "ResNet (He, Zhang, Ren & Sun, 2015) won the ImageNet challenge with networks 152 layers "
                "deep. Plain networks that deep train worse than shallow ones; ResNet's fix is the residual "
                "connection: each block adds its input to its output, so it only learns a correction, and "
                "gradients flow straight back through the shortcuts. ResNet-18 has eight such blocks in four "
                "stages of 64 to 512 filters, about 11 million weights, exactly as in the paper. Only the first "
                "layer (the stem) differs: the paper's 7×7 stride-2 convolution and max-pool shrink a 224×224 "
                "photo to 56×56 before the first block, but would leave 8×8 of a 32×32 image. By default a 3×3 "
                "stride-1 convolution without max-pool keeps all 32×32 positions, as the CIFAR papers do; the "
                "Architectures lesson halves them instead (stem = stride2), a quarter of the computation, so "
                "that it fits a laptop's CPU. The largest model here by far: the slowest to train."
            ),
            factory="cvstudio_models.resnet:build",
            params=(
                Param(
                    "stem",
                    "choice",
                    "cifar",
                    choices=("cifar", "stride2", "imagenet"),
                    help="The first layer. cifar: a 3×3 convolution that keeps every position of a small image "
                    "(3.3 GFLOP to train on one 32×32 image). stride2: 3×3 that halves the image, a quarter of "
                    "the computation. imagenet: the paper's 7×7 stride-2 convolution and max-pool, a sixteenth, "
                    "for large images.",
                ),
            ),
            tags=("cnn", "residual"),
        ),
        ModelSpec(
            name="vit-small",
            title="Vision Transformer (small)",
            year=2020,
            description=(
                "The Vision Transformer (Dosovitskiy et al., 2020, Google) drops convolutions altogether. It "
                "cuts the image into square patches, turns each patch into a vector (a token, like a word in "
                "a sentence), adds a learned position embedding so it knows where each patch came from, and "
                "lets a Transformer (Vaswani et al., 2017) relate every patch to every other through "
                "self-attention; an extra class token gathers the answer. With so few built-in assumptions "
                "about images, ViTs need a lot of data: on small datasets a CNN usually wins, which is itself "
                "the lesson."
            ),
            factory="cvstudio_models.vit:VisionTransformer",
            params=(PATCH_SIZE, DIM, DEPTH),
            tags=("transformer", "patches"),
        ),
        ModelSpec(
            name="mlp-mixer",
            title="MLP-Mixer",
            year=2021,
            description=(
                "MLP-Mixer (Tolstikhin et al., 2021, Google) asked whether attention is needed at all. Like "
                "the Vision Transformer it cuts the image into patches, then only alternates two plain "
                "multi-layer perceptrons: token mixing shares information between patches (across space), "
                "channel mixing works within each patch (across features). Averaging over the patches feeds "
                "the classifier. Given enough data it comes close to CNNs and Transformers, a hint that the "
                "overall architecture matters as much as any single trick."
            ),
            factory="cvstudio_models.mixer:MLPMixer",
            params=(PATCH_SIZE, DIM, DEPTH),
            tags=("mlp", "patches"),
        ),
    ]
