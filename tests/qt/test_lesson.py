"""Lessons in the window: stepping through experiments, questions, presentation mode, report export."""

from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QFileDialog

from cvstudio.qt.theme import BASE_POINT_SIZE, PRESENTATION_POINT_SIZE

LESSON = """
title = "Tiny course"

[[step]]
title = "Two epochs"
experiment = "{first}"
text = "Watch the curves."
minutes = 1.5

[[step]]
title = "Three epochs"
experiment = "{second}"
text = "Watch them again, a little longer."

[step.question]
prompt = "Which pipeline learns its own features?"
choices = ["Moments + logistic", "CNN"]
answer = 2
explanation = "The CNN starts from pixels."

[[step]]
title = "Back to two"
experiment = "{first}"
text = "Same experiment as step 1."
"""


@pytest.fixture
def course(lesson, tmp_path):
    first, second = lesson(epochs=2), lesson(epochs=3)
    path = tmp_path / "course.toml"
    path.write_text(LESSON.format(first=first.name, second=second.name), encoding="utf-8")
    return path


def epochs(window) -> int:
    return window.experiment_state()["deep"][0]["epochs"]


def test_the_window_opens_a_lesson_on_its_first_step(make_window, course):
    window = make_window(path=course)
    panel = window.lesson_panel
    assert window.lesson_dock.isVisible()
    assert panel.counter.text() == "Step 1 of 3" and panel.title.text() == "Two epochs"
    assert panel.text.text() == "Watch the curves." and not panel.question.isVisible()
    assert epochs(window) == 2 and window.windowTitle() == "cvstudio — Tiny lesson"
    assert not panel.back_button.isEnabled() and panel.next_button.isEnabled()


def test_next_and_back_load_each_steps_experiment_without_running_it(qtbot, make_window, course):
    window = make_window(path=course)
    panel = window.lesson_panel
    panel.next_button.click()
    assert panel.counter.text() == "Step 2 of 3" and epochs(window) == 3
    assert window.experiment_path.name == "lesson-3-12.toml"
    assert not window.runs and not any(slot in window.workers for slot in ("classical", "deep"))
    qtbot.waitUntil(lambda: window.dataset is not None, timeout=20000)
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert panel.counter.text() == "Step 3 of 3" and epochs(window) == 2
    assert not panel.next_button.isEnabled() and not window.next_action.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_PageUp)
    assert panel.counter.text() == "Step 2 of 3" and epochs(window) == 3
    panel.back_button.click()
    assert panel.counter.text() == "Step 1 of 3" and not window.back_action.isEnabled()


def test_the_panel_says_how_long_a_steps_run_takes_before_it_is_pressed(make_window, course):
    window = make_window(path=course)
    panel = window.lesson_panel
    assert panel.expected_time.isVisible() and not window.runs
    assert panel.expected_time.text() == "Run takes about 1.5 min on a 2-core laptop."
    panel.next_button.click()  # step 2 does not say
    assert not panel.expected_time.isVisible() and panel.expected_time.text() == ""


def test_arrow_keys_turn_pages_unless_a_field_or_list_uses_them(qtbot, make_window, course):
    window = make_window(path=course)
    panel = window.lesson_panel
    window.tabs.setFocus()
    window.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert panel.counter.text() == "Step 2 of 3"
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert panel.counter.text() == "Step 1 of 3"

    window.tabs.setCurrentWidget(window.dataset_panel)
    number_field = window.dataset_panel.findChildren(QAbstractSpinBox)[0]
    number_field.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None and number_field.isAncestorOf(
        QApplication.focusWidget()) or number_field.hasFocus())
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Right)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Left)
    assert panel.counter.text() == "Step 1 of 3"

    window.tabs.setCurrentWidget(window.runs_panel)
    window.runs_panel.tree.setFocus()
    qtbot.waitUntil(window.runs_panel.tree.hasFocus)
    qtbot.keyClick(window.runs_panel.tree, Qt.Key.Key_Right)
    assert panel.counter.text() == "Step 1 of 3"


def test_a_question_says_wrong_then_right_with_the_explanation(qtbot, make_window, course):
    window = make_window(path=course)
    window.lesson_panel.next_button.click()
    question = window.lesson_panel.question
    assert question.isVisible() and question.prompt.text() == "Which pipeline learns its own features?"
    assert [label.text() for label in question.choice_labels] == ["Moments + logistic", "CNN"]

    qtbot.waitUntil(question.choices.button(1).isVisible)  # new choices are shown once events run
    window.lesson_panel.scroll.ensureWidgetVisible(question.check_button)  # as a user scrolls down to click
    question.check_button.click()
    assert question.feedback.text() == "Pick an answer first."
    qtbot.mouseClick(question.choice_labels[0], Qt.MouseButton.LeftButton)  # the text picks its choice too
    assert question.choices.checkedId() == 0
    question.check_button.click()
    assert question.feedback.objectName() == "wrong" and "Not quite" in question.feedback.text()
    assert not question.explanation.isVisible()  # the explanation would give the answer away
    qtbot.mouseClick(question.choices.button(1), Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(question.answered) as answered:
        question.check_button.click()
    assert answered.args == [True]
    assert question.feedback.objectName() == "right" and question.feedback.text() == "Right."
    assert question.explanation.isVisible() and question.explanation.text() == "The CNN starts from pixels."

    window.lesson_panel.next_button.click()
    assert not question.isVisible()


def test_the_current_step_survives_a_restart(qtbot, make_window, course):
    window = make_window(path=course)
    window.lesson_panel.next_button.click()
    qtbot.waitUntil(lambda: window.dataset is not None, timeout=20000)
    window.close()
    again = make_window(path=course)
    assert again.lesson_panel.counter.text() == "Step 2 of 3" and epochs(again) == 3


def test_presentation_mode_enlarges_fonts_hides_editing_views_and_advances_with_space(qtbot, make_window, course):
    window = make_window(path=course)
    advanced = [window.tabs.indexOf(p) for p in (window.pipelines, window.runs_panel, window.plugins)]
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.lesson_panel.counter.text() == "Step 1 of 3"  # Space is only for presentation mode

    qtbot.keyClick(window, Qt.Key.Key_F11)
    assert window.presenting and window.presentation_action.isChecked()
    assert QApplication.instance().font().pointSize() == PRESENTATION_POINT_SIZE
    assert not any(window.tabs.isTabVisible(i) for i in advanced)
    assert window.tabs.isTabVisible(window.tabs.indexOf(window.training))
    qtbot.waitUntil(window.isFullScreen)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.lesson_panel.counter.text() == "Step 2 of 3"
    window.close()

    again = make_window(path=course)  # presentation mode is remembered
    assert again.presenting and QApplication.instance().font().pointSize() == PRESENTATION_POINT_SIZE
    qtbot.keyClick(again, Qt.Key.Key_F11)
    assert not again.presenting and QApplication.instance().font().pointSize() == BASE_POINT_SIZE
    assert all(again.tabs.isTabVisible(i) for i in advanced)
    qtbot.waitUntil(lambda: not again.isFullScreen())


def test_a_broken_lesson_is_reported_in_the_banner(qtbot, registry, settings_path, store, tmp_path):
    from cvstudio.qt.main_window import MainWindow
    from cvstudio.qt.settings import open_settings

    path = tmp_path / "broken.toml"
    path.write_text('[[step]]\ntitle = "A"\nexperiment = "missing.toml"\n', encoding="utf-8")
    window = MainWindow(registry, path, settings=open_settings(settings_path), store=store)
    qtbot.addWidget(window, before_close_func=lambda w: w.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose))
    window.show()
    qtbot.waitUntil(lambda: window.started)
    assert window.banner.isVisible() and not window.lesson_dock.isVisible()
    assert "[[step]] #1 'A': experiment file 'missing.toml' not found" in window.banner.message.text()


def test_opening_an_experiment_file_leaves_the_lesson(make_window, course, lesson):
    window = make_window(path=course)
    window.open_file(lesson(epochs=4))
    assert not window.lesson_dock.isVisible() and epochs(window) == 4
    assert not window.next_action.isEnabled()
    window.open_file(course)
    assert window.lesson_dock.isVisible() and window.lesson_panel.counter.text() == "Step 1 of 3"


def test_export_report_and_csv_after_a_run(qtbot, make_window, course, wait_for_run, monkeypatch, tmp_path):
    window = make_window(path=course)
    assert not window.report_action.isEnabled()
    assert window.export_lesson_report(tmp_path / "none.html") is None
    assert "No runs of 'Tiny course' yet" in window.banner.message.text()
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    wait_for_run(window)
    lesson_page = window.export_lesson_report(tmp_path / "lesson.html").read_text(encoding="utf-8")
    assert "<h1>Tiny course</h1>" in lesson_page
    assert "<h2>Tiny lesson — classical</h2>" in lesson_page and "<h2>Tiny lesson — deep</h2>" in lesson_page
    target = tmp_path / "report.html"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), ""))
    window.report_action.trigger()
    page = target.read_text(encoding="utf-8")
    assert "<h1>Tiny lesson</h1>" in page
    for run in window.runs.values():
        for name, record in run.read("summary.json")["pipelines"].items():
            assert f"{name} — test accuracy {record['test_accuracy']:.3f}" in page

    table = tmp_path / "runs.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(table), ""))
    window.runs_panel.csv_button.click()
    with open(table, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert sorted(r["pipeline"] for r in rows) == ["CNN", "Moments + logistic"]
    assert "Wrote 2 row(s)" in window.runs_panel.where.text()
