"""Every hook a cvstudio plugin can implement.

Hooks are grouped by what they contribute. Each returns a list of spec objects
(see :mod:`cvstudio.specs`); none is ``firstresult``: cvstudio gathers the
specs of every plugin. Returning specs, not instances, keeps discovery cheap:
listing plugins imports neither torch nor Qt.
"""

from __future__ import annotations

import pluggy

from cvstudio.specs import ClassifierSpec, DatasetSpec, FeatureExtractorSpec, ModelSpec, PanelSpec

hookspec = pluggy.HookspecMarker("cvstudio")


@hookspec
def cvstudio_register_datasets() -> list[DatasetSpec]:
    """Return the datasets this plugin provides.

    :return: a list of :class:`~cvstudio.specs.DatasetSpec`. Each factory,
        called with the spec's parameters, returns an
        :class:`~cvstudio.core.data.ImageDataset` (uint8 images, N×H×W×C).

    Not firstresult: the specs of all plugins are gathered.
    """


@hookspec
def cvstudio_register_feature_extractors() -> list[FeatureExtractorSpec]:
    """Return the hand-crafted feature extractors this plugin provides.

    :return: a list of :class:`~cvstudio.specs.FeatureExtractorSpec`. Each
        factory returns a :class:`~cvstudio.core.features.FeatureExtractor`
        that turns a batch of images into a (N, D) float32 matrix and can
        draw what it computes for one image.

    Not firstresult: the specs of all plugins are gathered.
    """


@hookspec
def cvstudio_register_classifiers() -> list[ClassifierSpec]:
    """Return the classical classifiers this plugin provides.

    :return: a list of :class:`~cvstudio.specs.ClassifierSpec`. Each factory
        returns an unfitted scikit-learn style estimator (``fit``/``predict``
        and ``predict_proba`` or ``decision_function``). cvstudio standardises
        the features before it.

    Not firstresult: the specs of all plugins are gathered.
    """


@hookspec
def cvstudio_register_models() -> list[ModelSpec]:
    """Return the neural-network models this plugin provides.

    :return: a list of :class:`~cvstudio.specs.ModelSpec`. Each factory is
        called as ``factory(in_channels, image_size, num_classes, **params)``
        and returns a ``torch.nn.Module`` mapping (N, C, H, W) float tensors
        to (N, num_classes) logits.

    Not firstresult: the specs of all plugins are gathered.
    """


@hookspec
def cvstudio_register_panels() -> list[PanelSpec]:
    """Return the panels this plugin docks in the main window.

    :return: a list of :class:`~cvstudio.specs.PanelSpec`. Only the desktop
        app calls a panel's factory, as ``factory(window)`` with the
        :class:`~cvstudio.qt.main_window.MainWindow`; it returns a ``QWidget``
        shown in a dock. Give the factory as a ``"module:attr"`` string so
        that discovery stays free of Qt.

    Not firstresult: the specs of all plugins are gathered.
    """
