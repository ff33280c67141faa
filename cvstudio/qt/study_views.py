"""Which view shows which study, and what such a view must do.

An experiment with a ``[study] kind = "..."`` table (other than the default
head-to-head comparison) runs as one job; the main window hands that job's
events to the study's view, shown in the "Study" tab. A view is registered
here as ``kind → "module:Class"`` and imported only when an experiment of
that kind is opened, so the window starts without loading every plot.

A study view is a ``QWidget`` made as ``ViewClass(registry)`` (the plugin
registry, e.g. to describe a model) that implements :class:`StudyView`:

- ``SHARES_EVENTS``: True when the study's pipelines should also appear in the
  Training, Activations and Results views (its events go there too).
- ``on_event(event)`` records an engine event. It is called in the GUI thread
  for every event of the study's job, so it only stores data (and ignores
  events it does not know); it never redraws.
- ``refresh()`` pushes what was recorded since the last call to the plots and
  tables; the main window calls it from its ~30 Hz timer.
- ``reset(experiment)`` forgets the last run and prepares for this
  :class:`~cvstudio.core.experiment.Experiment` (called when Run is pressed).
- ``say(message)`` shows a line about the run that is not the study's own
  result (a Ray cluster being checked before the study starts there).
- ``stopped(message)`` says the run was cancelled or failed (or, on a
  cluster, that it did not start).
- ``apply_theme(theme)`` restyles the view for a :class:`~cvstudio.qt.theme.Theme`
  (pyqtgraph fonts and backgrounds are restyled for it by the window).
- ``load_run(run)`` shows a saved :class:`~cvstudio.core.runs.Run` of this kind
  (from the Runs view); it raises ``OSError``, ``ValueError`` or ``KeyError``
  when the run's files cannot be read.
"""

from __future__ import annotations

from typing import Any, Protocol

from cvstudio.specs import load_object

STUDY_VIEWS: dict[str, str] = {
    "scaling": "cvstudio.qt.panels.scaling:ScalingView",
    "architectures": "cvstudio.qt.panels.architectures:ArchitecturesView",
    "hardware": "cvstudio.qt.panels.hardware:HardwareView",
    "features": "cvstudio.qt.panels.feature_spaces:FeatureSpacesView",
    "hierarchy": "cvstudio.qt.panels.hierarchy:HierarchyView",
}


class StudyView(Protocol):
    SHARES_EVENTS: bool

    def on_event(self, event: Any) -> None: ...

    def refresh(self) -> None: ...

    def reset(self, experiment: Any) -> None: ...

    def say(self, message: str) -> None: ...

    def stopped(self, message: str) -> None: ...

    def apply_theme(self, theme: Any) -> None: ...

    def load_run(self, run: Any) -> None: ...


def study_view_class(kind: str) -> type | None:
    """The view class for a study kind, imported now; None when the kind has no view."""
    reference = STUDY_VIEWS.get(kind)
    return load_object(reference) if reference else None
