"""Lessons: an ordered walk through experiments, each step saying what to look at.

A lesson file is TOML with ``[[step]]`` tables. Each step names an experiment
file (relative to the lesson, so a lesson and its experiments travel together),
a short text for the audience, and optionally a multiple-choice question::

    title = "Why deep learning?"

    [[step]]
    title = "Hand-crafted features against a CNN"
    experiment = "why-deep-learning.toml"
    text = "Watch the CNN's validation curve pass the dashed SVM lines."

    [step.question]
    prompt = "Why does the CNN win here?"
    choices = ["It has more layers", "It learns its own features"]
    answer = 2                      # the number of the right choice, from 1
    explanation = "The features, not the depth alone, make the difference."

A step may say how long its Run takes (``minutes = 3``: measured on a laptop
with two cores), so a teacher can plan the class before pressing it.

The ``[[step]]`` tables are what tell a lesson from an experiment file, so
``cvstudio gui`` and ``cvstudio run`` accept either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from cvstudio.core.experiment import ExperimentError, check_keys, bundled_lesson, load_experiment, read_toml
from cvstudio.plugins import Registry

DEFAULT_COURSE = "course"
STEP_KEYS = {"title", "experiment", "text", "question", "minutes"}
REFERENCE_MACHINE = "a 2-core laptop"
QUESTION_KEYS = {"prompt", "choices", "answer", "explanation"}


class LessonError(ExperimentError):
    """A lesson file is invalid; the message names the file, the step and the fix."""


@dataclass(frozen=True)
class Question:
    prompt: str
    choices: tuple[str, ...]
    answer: int  # index into choices, from 0
    explanation: str

    def is_right(self, choice: int) -> bool:
        return choice == self.answer


@dataclass(frozen=True)
class Step:
    title: str
    text: str
    experiment: Path
    question: Question | None = None
    minutes: float | None = None  # how long Run takes on REFERENCE_MACHINE

    def expected_time(self) -> str:
        """'Run takes about 3 min on a 2-core laptop', or '' when the step does not say."""
        if self.minutes is None:
            return ""
        if self.minutes < 1:
            return f"Run takes under a minute on {REFERENCE_MACHINE}."
        return f"Run takes about {round(self.minutes * 2) / 2:g} min on {REFERENCE_MACHINE}."


@dataclass(frozen=True)
class Lesson:
    path: Path
    title: str
    description: str
    steps: tuple[Step, ...]

    def experiments(self) -> list[Path]:
        """Each experiment file once, in the order the steps first use it."""
        return list(dict.fromkeys(step.experiment for step in self.steps))


def prose(text: Any) -> str:
    """Text as written in TOML, reflowed: line breaks inside a paragraph become spaces, blank lines stay."""
    paragraphs = re.split(r"\n\s*\n", str(text).strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def default_course() -> Path:
    """The lesson ``cvstudio gui`` opens when given no file."""
    return bundled_lesson(DEFAULT_COURSE)


def is_lesson_file(path: Path) -> bool:
    """Whether ``path`` holds a lesson (``[[step]]`` tables) rather than an experiment."""
    return "step" in read_toml(path, "lesson or experiment")


def load_lesson(path: Path) -> Lesson:
    """Parse a lesson file; every step's experiment file must exist (its contents are checked by check_lesson)."""
    path = Path(path)
    data = read_toml(path, "lesson")
    try:
        return parse_lesson(data, path)
    except ExperimentError as exc:
        raise LessonError(f"{path}: {exc}") from None


def parse_lesson(data: Mapping[str, Any], path: Path) -> Lesson:
    """The lesson in ``data`` (a parsed lesson file); ``path`` is where its experiments are looked up from."""
    check_keys(data, {"title", "description", "step"}, "the lesson")
    steps = data.get("step")
    if not isinstance(steps, list) or not steps:
        raise LessonError("a lesson needs at least one step: add a [[step]] table with a title and an experiment")
    return Lesson(
        path=path,
        title=str(data.get("title", path.stem)),
        description=prose(data.get("description", "")),
        steps=tuple(_step(entry, number, path.parent) for number, entry in enumerate(steps, 1)),
    )


def _step(entry: Any, number: int, folder: Path) -> Step:
    where = f"[[step]] #{number}"
    if not isinstance(entry, Mapping):
        raise LessonError(f"{where} must be a table: write [[step]] and its keys below it")
    if isinstance(entry.get("title"), str):
        where = f"{where} '{entry['title']}'"
    check_keys(entry, STEP_KEYS, where)
    for key in ("title", "experiment"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise LessonError(f"{where} needs a '{key}' (text)" + (
                ", the experiment file's path relative to the lesson, e.g. experiment = \"why-deep-learning.toml\""
                if key == "experiment" else ""))
    experiment = (folder / entry["experiment"]).resolve()
    if not experiment.is_file():
        raise LessonError(f"{where}: experiment file '{entry['experiment']}' not found (looked for {experiment}); "
                          "give its path relative to the lesson file")
    question = entry.get("question")
    minutes = entry.get("minutes")
    if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or minutes <= 0):
        raise LessonError(f"{where}: 'minutes' is {minutes!r}; it must be a positive number, how long Run takes "
                          f"on {REFERENCE_MACHINE}, e.g. minutes = 3")
    return Step(
        title=entry["title"].strip(),
        text=prose(entry.get("text", "")),
        experiment=experiment,
        question=None if question is None else _question(question, f"{where} question"),
        minutes=None if minutes is None else float(minutes),
    )


def _question(entry: Any, where: str) -> Question:
    if not isinstance(entry, Mapping):
        raise LessonError(f"{where} must be a table: write [step.question] below the step")
    check_keys(entry, QUESTION_KEYS, where)
    prompt, choices, answer = entry.get("prompt"), entry.get("choices"), entry.get("answer")
    if not isinstance(prompt, str) or not prompt.strip():
        raise LessonError(f"{where} needs a 'prompt': the question itself")
    if not isinstance(choices, list) or len(choices) < 2 or not all(isinstance(c, str) and c.strip() for c in choices):
        raise LessonError(f"{where}: 'choices' must be a list of at least two answers (text)")
    if isinstance(answer, bool) or not isinstance(answer, int) or not 1 <= answer <= len(choices):
        raise LessonError(f"{where}: 'answer' is {answer!r}; it must be the number of the right choice, "
                          f"from 1 to {len(choices)}")
    return Question(prose(prompt), tuple(prose(c) for c in choices), answer - 1, prose(entry.get("explanation", "")))


def check_lesson(lesson: Lesson, registry: Registry) -> None:
    """Load every step's experiment against the plugins, so a bad step fails before anything runs."""
    for number, step in enumerate(lesson.steps, 1):
        try:
            load_experiment(step.experiment, registry)
        except ExperimentError as exc:
            raise LessonError(f"{lesson.path}: [[step]] #{number} '{step.title}': {exc}") from None

