"""cvstudio: classical computer vision against deep learning, measured live.

Public API for plugin authors: :data:`hookimpl` marks hook implementations,
the spec types describe what a plugin contributes, and
:data:`PLUGIN_API_VERSION` with :func:`require_plugin_api` let a plugin say
which plugin API it was written for.
"""

import pluggy

from cvstudio.plugin_api import PLUGIN_API_VERSION, PluginAPIError, require_plugin_api

from cvstudio.specs import (
    ClassifierSpec,
    ComponentError,
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
    "ComponentError",
    "DatasetSpec",
    "FeatureExtractorSpec",
    "ModelSpec",
    "PLUGIN_API_VERSION",
    "PanelSpec",
    "Param",
    "PluginAPIError",
    "SpecError",
    "__version__",
    "hookimpl",
    "require_plugin_api",
]
