"""A Gabor filter-bank feature extractor: an example of a third-party cvstudio plugin."""

from cvstudio import FeatureExtractorSpec, Param, hookimpl


@hookimpl
def cvstudio_register_feature_extractors() -> list[FeatureExtractorSpec]:
    return [
        FeatureExtractorSpec(
            name="gabor",
            title="Gabor filter bank",
            description=(
                "A bank of Gabor filters: small striped waves under a Gaussian window, one per direction "
                "and scale. Each answers where the image has stripes or edges at its angle and spacing, "
                "as the simple cells of the visual cortex do, and as the first layer of a CNN learns to. "
                "The feature is how strongly each filter answers in each cell of a grid: texture and "
                "orientation, chosen by hand instead of learned."
            ),
            factory="cvstudio_gabor.extractor:GaborExtractor",
            params=(
                Param("orientations", "int", 4, minimum=1, maximum=16,
                      help="Directions of the filters, evenly over 180°."),
                Param("wavelengths", "int", 2, minimum=1, maximum=4,
                      help="Scales: the first wave is 3 pixels long, each next one √2 longer."),
                Param("grid", "int", 2, minimum=1, maximum=8,
                      help="Average each filter's answer over grid × grid cells, so position counts too."),
            ),
        )
    ]
