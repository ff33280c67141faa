"""Built-in hand-crafted feature extractors.

Only specs live here: each factory is a "module:Class" string, so listing the
extractors imports neither OpenCV nor scikit-image nor scikit-learn.
"""

from cvstudio import FeatureExtractorSpec, Param, hookimpl

_GRID_HELP = "Split the image into grid × grid regions with one histogram each, so position counts too."


@hookimpl
def cvstudio_register_feature_extractors() -> list[FeatureExtractorSpec]:
    return [
        FeatureExtractorSpec(
            name="raw-pixels",
            title="Raw pixels",
            description=(
                "The image itself, shrunk and flattened into a list of brightness values. It is the "
                "baseline: a classifier on raw pixels must learn everything on its own, and a small "
                "shift of the object changes every number."
            ),
            factory="cvstudio_features.raw_pixels:RawPixelsExtractor",
            params=(
                Param("size", "int", 16, minimum=4, maximum=64,
                      help="Shrink the image to size × size pixels first."),
                Param("grayscale", "bool", False, help="Drop colour: one number per pixel instead of three."),
            ),
        ),
        FeatureExtractorSpec(
            name="color-histogram",
            title="Colour histogram",
            description=(
                "Counts how many pixels fall in each brightness range of each colour channel. It knows "
                "what colours an image holds but not where they are, so it is blind to shape yet "
                "unaffected by moving or rotating the object."
            ),
            factory="cvstudio_features.histograms:ColorHistogramExtractor",
            params=(Param("bins", "int", 8, minimum=2, maximum=64, help="Brightness ranges per channel."),),
        ),
        FeatureExtractorSpec(
            name="color-moments",
            title="Colour moments",
            description=(
                "Three numbers per colour channel: the average value, how much values spread (standard "
                "deviation) and whether they lean towards dark or bright (skewness). A very compact "
                "summary of colour that ignores shape entirely."
            ),
            factory="cvstudio_features.moments:ColorMomentsExtractor",
        ),
        FeatureExtractorSpec(
            name="hog",
            title="HOG",
            description=(
                "Histogram of Oriented Gradients (Dalal & Triggs, 2005): the image is cut into small "
                "cells and each cell records how strongly its edges point in each direction. Groups of "
                "cells (blocks) are normalised together so lighting matters less. HOG captures shape "
                "and outline, and was the leading feature for detecting people before deep learning."
            ),
            factory="cvstudio_features.hog:HogExtractor",
            params=(
                Param("cell_size", "int", 8, minimum=2, maximum=32, help="Width and height of a cell in pixels."),
                Param("block_size", "int", 2, minimum=1, maximum=4,
                      help="Cells per block side; each block is normalised on its own."),
                Param("orientations", "int", 9, minimum=2, maximum=18,
                      help="Direction bins over 0-180°: more bins tell finer angles apart."),
            ),
        ),
        FeatureExtractorSpec(
            name="lbp",
            title="Local binary patterns",
            description=(
                "Local Binary Patterns describe texture: every pixel is compared with its 8 neighbours, "
                "and the pattern of brighter and darker neighbours is sorted into 10 kinds (flat, "
                "edge, corner, spot, irregular...). The feature is how often each kind occurs. It does "
                "not change when the whole image gets brighter or darker."
            ),
            factory="cvstudio_features.lbp:LbpExtractor",
            params=(Param("grid", "int", 1, minimum=1, maximum=8, help=_GRID_HELP),),
        ),
        FeatureExtractorSpec(
            name="edge-histogram",
            title="Edge histogram",
            description=(
                "Finds edges from brightness changes and, in each region of the image, measures which "
                "directions they run in and what share of the region is edge. A coarse, cheap cousin "
                "of HOG."
            ),
            factory="cvstudio_features.edges:EdgeHistogramExtractor",
            params=(
                Param("bins", "int", 8, minimum=2, maximum=36, help="Direction bins over 0-180°."),
                Param("grid", "int", 2, minimum=1, maximum=8, help=_GRID_HELP),
                Param("threshold", "float", 0.1, minimum=0.01, maximum=1.0,
                      help="How strong a brightness change (0-1 per 2 pixels) must be to count as an edge."),
            ),
        ),
        FeatureExtractorSpec(
            name="sift-bow",
            title="SIFT bag of words",
            description=(
                "Bag of visual words: small patches are described with SIFT, and a vocabulary of "
                "typical patches (visual words) is learnt from the training images with k-means. Each "
                "image becomes a histogram of the words it contains, like counting words in a text "
                "without caring about their order or position."
            ),
            factory="cvstudio_features.bag_of_words:SiftBagOfWords",
            params=(
                Param("vocabulary", "int", 64, minimum=8, maximum=1024, log=True,
                      help="Number of visual words (k-means clusters)."),
                Param("keypoints", "choice", "dense", choices=("dense", "detected"),
                      help="'dense' describes a fixed grid of patches; 'detected' lets SIFT pick "
                      "interesting points (few on tiny images)."),
                Param("seed", "int", 0, minimum=0, help="Random seed for the vocabulary."),
            ),
            tags=("learnt",),
        ),
    ]
