"""cvstudio: classical computer vision against deep learning, measured live.

Public API for plugin authors: :data:`hookimpl` marks hook implementations,
and the spec types describe what a plugin contributes.
"""

import pluggy

from cvstudio.specs import (
    ClassifierSpec,
    DatasetSpec,
    FeatureExtractorSpec,
    ModelSpec,
    PanelSpec,
    Param,
    SpecError,
)

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("cvstudio")

__all__ = [
    "ClassifierSpec",
    "DatasetSpec",
    "FeatureExtractorSpec",
    "ModelSpec",
    "PanelSpec",
    "Param",
    "SpecError",
    "__version__",
    "hookimpl",
]
