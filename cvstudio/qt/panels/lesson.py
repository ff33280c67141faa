"""The Lesson panel: the current step's title and text, its question, and Back/Next.

The panel only shows a :class:`~cvstudio.core.lessons.Lesson` and says which
step the user asked for; the main window loads that step's experiment.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSlider,
    QApplication,
    QButtonGroup,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from cvstudio.core.lessons import Lesson, Question

# Widgets that use Left/Right themselves; everywhere else those keys turn the lesson's pages.
ARROW_KEY_WIDGETS = (QAbstractItemView, QAbstractSlider, QComboBox, QTabBar, QRadioButton)


def _label(text: str = "", name: str = "") -> QLabel:
    label = QLabel(text, wordWrap=True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    if name:
        label.setObjectName(name)
    return label


class ChoiceLabel(QLabel):
    """A choice's text, word-wrapped (a radio button's own text cannot wrap); a click picks the choice."""

    def __init__(self, text: str, button: QRadioButton) -> None:
        super().__init__(text, wordWrap=True)
        self.button = button
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self.button.setChecked(True)


class QuestionView(QWidget):
    """A multiple-choice question: pick, Check, and see whether it was right (and why, once it is)."""

    answered = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.question: Question | None = None
        self.prompt = _label()
        self.prompt.setStyleSheet("font-weight: bold;")
        self.choices = QButtonGroup(self)
        self.choice_labels: list[ChoiceLabel] = []
        self.choice_layout = QGridLayout()
        self.choice_layout.setColumnStretch(1, 1)
        self.check_button = QPushButton("Check")
        self.check_button.clicked.connect(self.check)
        self.feedback = _label()
        self.explanation = _label()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addWidget(self.prompt)
        layout.addLayout(self.choice_layout)
        layout.addWidget(self.check_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.feedback)
        layout.addWidget(self.explanation)

    def set_question(self, question: Question | None) -> None:
        """Show ``question`` with no choice picked and no feedback (hidden when None): each step starts afresh."""
        self.question = question
        for button in self.choices.buttons():
            self.choices.removeButton(button)
            button.deleteLater()
        for label in self.choice_labels:
            label.deleteLater()
        self.choice_labels = []
        self.feedback.clear()
        self.explanation.clear()
        self.explanation.hide()
        self.setVisible(question is not None)
        if question is None:
            return
        self.prompt.setText(question.prompt)
        for index, choice in enumerate(question.choices):
            button = QRadioButton()
            button.setAccessibleName(choice)
            button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            label = ChoiceLabel(choice, button)
            self.choices.addButton(button, index)
            self.choice_labels.append(label)
            self.choice_layout.addWidget(button, index, 0, Qt.AlignmentFlag.AlignTop)
            self.choice_layout.addWidget(label, index, 1)

    def choose(self, index: int) -> None:
        """Pick choice ``index`` (from 0), as a click on it would."""
        self.choices.button(index).setChecked(True)

    @Slot()
    def check(self) -> None:
        if self.question is None:
            return
        choice = self.choices.checkedId()
        if choice < 0:
            self._feedback("Pick an answer first.", "")
            return
        right = self.question.is_right(choice)
        self._feedback("Right." if right else "Not quite: think again and try another answer.",
                       "right" if right else "wrong")
        self.explanation.setText(self.question.explanation)
        self.explanation.setVisible(right and bool(self.question.explanation))
        self.answered.emit(right)

    def _feedback(self, text: str, kind: str) -> None:
        self.feedback.setText(text)
        self.feedback.setObjectName(kind)
        self.feedback.style().unpolish(self.feedback)
        self.feedback.style().polish(self.feedback)


class LessonPanel(QWidget):
    """Step N of M, its title and explanation, how long its Run takes, its question, and Back/Next."""

    step_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lesson: Lesson | None = None
        self.index = 0
        self.lesson_title = _label(name="description")
        self.counter = QLabel()
        self.counter.setObjectName("description")
        self.title = _label(name="heading")
        self.text = _label(name="big")
        self.expected_time = _label(name="description")
        self.question = QuestionView()
        self.back_button = QPushButton("◀  Back")
        self.next_button = QPushButton("Next  ▶")
        self.back_button.setToolTip("Previous step (PageUp, ←)")
        self.next_button.setToolTip("Next step (PageDown, →; Space in presentation mode)")
        self.back_button.clicked.connect(self.back)
        self.next_button.clicked.connect(self.next)
        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.addWidget(self.title)
        body_layout.addWidget(self.text)
        body_layout.addWidget(self.expected_time)
        body_layout.addWidget(self.question)
        body_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(body)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.counter, 1, Qt.AlignmentFlag.AlignCenter)
        buttons.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.lesson_title)
        layout.addWidget(self.scroll, 1)
        layout.addLayout(buttons)

    def show_step(self, lesson: Lesson, index: int) -> None:
        """Display step ``index`` of ``lesson`` (the window has loaded its experiment)."""
        self.lesson, self.index = lesson, index
        step = lesson.steps[index]
        self.lesson_title.setText(lesson.title)
        self.counter.setText(f"Step {index + 1} of {len(lesson.steps)}")
        self.title.setText(step.title)
        self.text.setText(step.text)
        self.expected_time.setText(step.expected_time())
        self.expected_time.setVisible(bool(step.minutes))
        self.question.set_question(step.question)
        self.back_button.setEnabled(index > 0)
        self.next_button.setEnabled(index < len(lesson.steps) - 1)

    @Slot()
    def next(self) -> None:
        if self.lesson is not None and self.index < len(self.lesson.steps) - 1:
            self.step_requested.emit(self.index + 1)

    @Slot()
    def back(self) -> None:
        if self.lesson is not None and self.index > 0:
            self.step_requested.emit(self.index - 1)


class ArrowKeysToWidgets(QObject):
    """Let lists, tables, sliders, tabs and choices keep Left/Right, which otherwise turn the lesson's pages.

    Text and number fields keep them already: Qt asks the focused widget first
    (a ShortcutOverride event), and those accept. This filter accepts on behalf
    of the other widgets that move with arrow keys. It watches only such
    widgets, from the moment they get the focus: a filter on the whole
    application would run Python for every event, painting included, and take
    the interpreter from a training thread dozens of times a second.
    """

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        QApplication.instance().focusChanged.connect(self._watch)

    @Slot(QWidget, QWidget)
    def _watch(self, _old: QWidget | None, new: QWidget | None) -> None:
        if isinstance(new, ARROW_KEY_WIDGETS):
            new.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if (event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent)
                and event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Right)):
            event.accept()
            return True
        return False
