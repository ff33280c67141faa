import textwrap

import pytest

from cvstudio.core.experiment import ExperimentError
from cvstudio.core.lessons import LessonError, check_lesson, default_course, is_lesson_file, load_lesson

EXPERIMENT = """
title = "{title}"
[dataset]
name = "shapes"
[[deep]]
model = "mlp"
"""

LESSON = """
title = "Two steps"
description = "A short walk."

[[step]]
title = "First"
experiment = "one.toml"
text = "Look at the curves."

[[step]]
title = "Second"
experiment = "sub/two.toml"
text = "Look at the filters."

[step.question]
prompt = "Which is right?"
choices = ["this one", "that one", "neither"]
answer = 2
explanation = "Because."

[[step]]
title = "First again"
experiment = "one.toml"
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "one.toml").write_text(EXPERIMENT.format(title="One"))
    (tmp_path / "sub" / "two.toml").write_text(EXPERIMENT.format(title="Two"))
    return tmp_path


def write(folder, text, name="lesson.toml"):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_lesson_has_ordered_steps_with_experiments_relative_to_it(folder):
    lesson = load_lesson(write(folder, LESSON))
    assert lesson.title == "Two steps" and lesson.description == "A short walk."
    assert [s.title for s in lesson.steps] == ["First", "Second", "First again"]
    assert lesson.steps[1].experiment == (folder / "sub" / "two.toml").resolve()
    assert lesson.steps[0].question is None and lesson.steps[0].text == "Look at the curves."
    assert lesson.experiments() == [(folder / "one.toml").resolve(), (folder / "sub" / "two.toml").resolve()]


def test_the_answer_is_numbered_from_one_in_the_file(folder):
    question = load_lesson(write(folder, LESSON)).steps[1].question
    assert question.choices == ("this one", "that one", "neither")
    assert question.is_right(1) and not question.is_right(0) and not question.is_right(2)
    assert question.explanation == "Because."


def test_lessons_and_experiments_are_told_apart_by_their_steps(folder):
    assert is_lesson_file(write(folder, LESSON))
    assert not is_lesson_file(folder / "one.toml")


@pytest.mark.parametrize(
    "text, message",
    [
        ('title = "x"\n', "at least one step"),
        ('[[step]]\ntitle = "A"\n', "[[step]] #1 'A' needs a 'experiment'"),
        ('[[step]]\nexperiment = "one.toml"\n', "[[step]] #1 needs a 'title'"),
        ('[[step]]\ntitle = "A"\nexperiment = "missing.toml"\n',
         "[[step]] #1 'A': experiment file 'missing.toml' not found"),
        ('[[step]]\ntitle = "A"\nexperiment = "one.toml"\ntxt = "typo"\n', "unknown key 'txt' in [[step]] #1 'A'"),
        ('[[step]]\ntitle = "A"\nexperiment = "one.toml"\n[step.question]\nprompt = "Q"\nchoices = ["a", "b"]\n'
         "answer = 3\n", "'answer' is 3; it must be the number of the right choice, from 1 to 2"),
        ('[[step]]\ntitle = "A"\nexperiment = "one.toml"\n[step.question]\nprompt = "Q"\nchoices = ["a"]\n'
         "answer = 1\n", "at least two answers"),
        ('[[step]]\ntitle = "A"\nexperiment = "one.toml"\n[step.question]\nchoices = ["a", "b"]\nanswer = 1\n',
         "needs a 'prompt'"),
        ('titel = "x"\n[[step]]\ntitle = "A"\nexperiment = "one.toml"\n', "unknown key 'titel' in the lesson"),
        ("[[step]\n", "not valid TOML"),
        ('[[step]]\ntitle = "A"\nexperiment = "one.toml"\nminutes = "3"\n',
         "'minutes' is '3'; it must be a positive number, how long Run takes on a 2-core laptop"),
        ('[[step]]\ntitle = "A"\nexperiment = "one.toml"\nminutes = 0\n', "'minutes' is 0; it must be a positive"),
    ],
)
def test_bad_lessons_name_the_file_the_step_and_the_fix(folder, text, message):
    path = write(folder, text)
    with pytest.raises(ExperimentError) as error:  # a LessonError, or the TOML reader's error
        load_lesson(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


def test_a_missing_lesson_file_is_named(tmp_path):
    with pytest.raises(ExperimentError, match="no such lesson file"):
        load_lesson(tmp_path / "nope.toml")


def test_check_lesson_names_the_step_whose_experiment_is_invalid(folder, cvstudio_registry):
    (folder / "sub" / "two.toml").write_text('[dataset]\nname = "nope"\n[[deep]]\nmodel = "mlp"\n')
    lesson = load_lesson(write(folder, LESSON))
    with pytest.raises(LessonError, match=r"\[\[step\]\] #2 'Second': .*two.toml: .*unknown dataset 'nope'"):
        check_lesson(lesson, cvstudio_registry)


def test_the_bundled_course_walks_through_valid_experiments_and_asks_questions(cvstudio_registry):
    lesson = load_lesson(default_course())
    check_lesson(lesson, cvstudio_registry)
    assert len(lesson.steps) >= 6 and len(lesson.experiments()) >= 6
    assert all(step.text for step in lesson.steps)
    assert sum(step.question is not None for step in lesson.steps) >= 3
    assert all(step.minutes for step in lesson.steps)  # a teacher knows how long each Run takes


@pytest.mark.parametrize("minutes, said", [(0.5, "under a minute"), (1, "about 1 min"), (2.6, "about 2.5 min"),
                                           (12, "about 12 min")])
def test_a_step_says_how_long_its_run_takes_on_a_small_laptop(folder, minutes, said):
    path = write(folder, f'[[step]]\ntitle = "A"\nexperiment = "one.toml"\nminutes = {minutes}\n')
    assert load_lesson(path).steps[0].expected_time() == f"Run takes {said} on a 2-core laptop."
    assert load_lesson(write(folder, LESSON)).steps[0].expected_time() == ""


def test_texts_are_reflowed_so_the_panel_wraps_them_itself(folder):
    path = write(folder, '[[step]]\ntitle = "A"\nexperiment = "one.toml"\ntext = """\nOne line\nand its rest.\n\n'
                         'A second\nparagraph.\n"""\n')
    assert load_lesson(path).steps[0].text == "One line and its rest.\n\nA second paragraph."
