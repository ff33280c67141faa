"""A lesson in the window: its steps in the Lesson dock, the step actions, presentation mode, its report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import QApplication

from cvstudio.core.experiment import ExperimentError
from cvstudio.core.lessons import Lesson, is_lesson_file, load_lesson
from cvstudio.qt.settings import read_json, write_json
from cvstudio.qt.theme import apply_theme

if TYPE_CHECKING:
    from cvstudio.qt.main_window import MainWindow

LESSON_WIDTH, PRESENTATION_LESSON_WIDTH = 460, 640  # the Lesson panel's starting width, in pixels


class LessonController(QObject):
    """The lesson shown (if any), its step, and whether the window is in presentation mode."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.lesson: Lesson | None = None
        self.presenting = False

    def read_lesson(self) -> str | None:
        """If the window was opened on a lesson, go to the step of the last session; returns a lesson error."""
        experiment = self.window.experiment
        try:
            if not is_lesson_file(experiment.path):
                return None
            lesson = load_lesson(experiment.path)
        except ExperimentError as exc:
            return str(exc)
        saved = read_json(self.window.settings, "lesson")
        step = saved.get("step") if isinstance(saved, dict) and saved.get("source") == str(lesson.path) else 0
        index = min(max(step, 0), len(lesson.steps) - 1) if isinstance(step, int) else 0
        experiment.path = lesson.steps[index].experiment
        self.show_lesson(lesson, index)
        return None

    @Slot(int)
    def show_step(self, index: int) -> None:
        """Go to step ``index``: its text and question, and its experiment in the window (not run)."""
        if self.lesson is None:
            return
        experiment = self.window.experiment
        path = self.lesson.steps[index].experiment
        if path == experiment.path or experiment.open_experiment(path):
            self.show_lesson(self.lesson, index)

    def show_lesson(self, lesson: Lesson, index: int) -> None:
        """Show ``lesson`` at step ``index`` in the Lesson dock (the step's experiment is already loaded)."""
        window = self.window
        self.lesson = lesson
        window.lesson_panel.show_step(lesson, index)
        if not window.lesson_dock.isVisible():
            window.lesson_dock.show()
            window.lesson_dock.raise_()  # in front of any plugin panel sharing its side
            window.resizeDocks([window.lesson_dock], [LESSON_WIDTH], Qt.Orientation.Horizontal)
        self.update_actions()
        write_json(window.settings, "lesson", {"source": str(lesson.path), "step": index})

    def leave(self) -> None:
        """No lesson any more: an experiment file was opened."""
        self.lesson = None
        self.window.lesson_dock.hide()
        self.update_actions()

    def update_actions(self) -> None:
        """Disabled actions leave their keys (arrows, Space) to the widgets."""
        window = self.window
        index, last = window.lesson_panel.index, len(self.lesson.steps) - 1 if self.lesson else -1
        window.next_action.setEnabled(index < last)
        window.back_action.setEnabled(self.lesson is not None and index > 0)
        window.advance_action.setEnabled(self.presenting and index < last)
        window.lesson_report_action.setEnabled(self.lesson is not None)

    @Slot(bool)
    def set_presentation(self, on: bool) -> None:
        """Presentation mode: large fonts, full screen, no editing views; Space goes to the next step."""
        window = self.window
        self.presenting = on
        apply_theme(QApplication.instance(), window.theme, large=on)
        window.style_views(window.theme)
        for panel in (window.pipelines, window.runs_panel, window.plugins):
            window.tabs.setTabVisible(window.tabs.indexOf(panel), not on)
        self.update_actions()
        if on:
            window.showFullScreen()
        elif window.isFullScreen():
            window.showNormal()
        width = PRESENTATION_LESSON_WIDTH if on else LESSON_WIDTH
        window.resizeDocks([window.lesson_dock], [width], Qt.Orientation.Horizontal)
        window.settings.setValue("presentation", on)

    def export_report(self, path: Path | None = None) -> Path | None:
        """Save the newest run of every step of the lesson as one HTML file."""
        from cvstudio.core.report import lesson_runs  # reports draw with OpenCV: loaded when first asked for

        window = self.window
        if self.lesson is None:
            return None
        runs = lesson_runs(self.lesson, window.store.runs())
        if not runs:
            window.banner.show_error(f"No runs of '{self.lesson.title}' yet: run a step (Ctrl+R), then export again.")
            return None
        return window.runner.write_report(runs, self.lesson.title, path)
