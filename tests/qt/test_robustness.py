"""A broken plugin or a failing job is shown, never fatal; settings survive a restart."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from cvstudio import ClassifierSpec, DatasetSpec, hookimpl
from cvstudio.qt.forms import ParamForm, _PathField
from cvstudio.specs import Param
from cvstudio.testing import write_tiny_experiment


class BrokenModels:
    @hookimpl
    def cvstudio_register_models(self):
        raise RuntimeError("this plugin is broken on purpose")


class FailingData:
    @hookimpl
    def cvstudio_register_datasets(self):
        return [DatasetSpec(name="failing", description="Fails.", factory=_fail)]


def _fail():
    raise OSError("the images folder is missing")


def test_a_broken_plugin_is_shown_and_another_model_still_trains(qtbot, make_window, registry_with, wait_for_run):
    window = make_window(registry=registry_with(BrokenModels()))
    assert window.banner.message.text().startswith("Plugin 'BrokenModels' (failed): ") and window.banner.isVisible()
    item = window.plugins.items["BrokenModels"]
    assert item.text(2) == "failed" and item.isExpanded()
    window.plugins.tree.setCurrentItem(item)
    text = window.plugins.details.toPlainText()
    assert "RuntimeError: this plugin is broken on purpose" in text and "Traceback" in text

    model = window.pipelines.deep.editors[0].model
    model.combo.setCurrentIndex(model.combo.findData("mlp"))
    window.run()
    wait_for_run(window)
    assert window.runs["deep"].status == "completed"
    assert window.runs["deep"].read("config.json")["deep"][0]["model"]["name"] == "mlp"


def test_a_failing_job_shows_an_error_with_details_and_the_app_goes_on(qtbot, make_window, registry_with):
    window = make_window(registry=registry_with(FailingData()))
    picker = window.dataset_panel.picker
    picker.combo.setCurrentIndex(picker.combo.findData("failing"))
    qtbot.waitUntil(lambda: "images folder is missing" in window.banner.message.text(), timeout=20000)
    assert window.banner.isVisible() and "OSError" in window.banner.details
    window.banner.details_button.click()
    assert window.banner.dialog.isVisible() and not window.banner.dialog.isModal()
    window.banner.dialog.close()
    picker.combo.setCurrentIndex(picker.combo.findData("tiny"))
    qtbot.waitUntil(lambda: "3 classes" in window.dataset_panel.info.text(), timeout=20000)


def test_param_form_builds_one_field_per_kind_and_round_trips(qtbot):
    params = (
        Param("count", "int", 3, minimum=1, maximum=9, help="How many."),
        Param("rate", "float", 1e-3, minimum=1e-6, maximum=1.0, log=True),
        Param("flag", "bool", True),
        Param("mode", "choice", "b", choices=("a", "b")),
        Param("note", "str", "hi"),
        Param("folder", "path", "/tmp"),
    )
    form = ParamForm(params)
    qtbot.addWidget(form)
    kinds = [QSpinBox, QDoubleSpinBox, QCheckBox, QComboBox, QLineEdit, _PathField]
    assert [type(form.fields[p.name]) for p in params] == kinds
    assert form.fields["count"].toolTip() == "How many." and form.fields["count"].maximum() == 9
    assert form.values() == {p.name: p.default for p in params}
    changed = {"count": 5, "rate": 0.01, "flag": False, "mode": "a", "note": "x", "folder": "/data"}
    form.set_values(changed)
    assert form.values() == changed


def test_settings_survive_a_restart(qtbot, make_window, settings_path: Path):
    window = make_window()
    window.pipelines.deep.editors[0].training.fields["epochs"].setValue(7)
    window.dark_action.setChecked(False)
    window.close()
    again = make_window()
    assert again.pipelines.deep.editors[0].training.fields["epochs"].value() == 7
    assert again.theme.name == "light" and not again.dark_action.isChecked()
    # Xvfb's small default screen makes Qt clamp any restored size, so check what was saved
    assert not again.settings.value("geometry").isEmpty() and not again.settings.value("window_state").isEmpty()


def test_the_qt_bindings_keep_their_reference_to_none():
    """PySide6 6.12 wheels drop one on every void call: before Python 3.12 the app aborts
    ("deallocating None") after some thousand repaints. pyproject.toml excludes them."""
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    before = sys.getrefcount(None)
    for _ in range(1000):
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    after = sys.getrefcount(None)
    painter.end()
    assert after > before - 100


class BrokenClassifier:
    @hookimpl
    def cvstudio_register_classifiers(self):
        return [ClassifierSpec(name="broken", description="Raises.", factory=_no_estimator)]


def _no_estimator():
    raise ValueError("no estimator today")


def test_a_failing_pipeline_is_reported_and_the_others_run_to_the_end_as_headless(
        make_window, registry_with, tmp_path, wait_for_run):
    path = write_tiny_experiment(
        tmp_path / "one-broken.toml", title="One broken", dataset={"name": "tiny"},
        classical=[{"label": "broken", "features": ["color-moments"], "classifier": "broken"},
                   {"label": "knn", "features": ["color-moments"], "classifier": "knn"}],
        deep=[{"label": "CNN", "model": "mlp"}], epochs=1)
    window = make_window(registry=registry_with(BrokenClassifier()), path=path)
    window.run()
    wait_for_run(window)
    classical, deep = window.runs["classical"], window.runs["deep"]
    assert deep.status == "completed" and classical.status == "failed"
    summary = classical.read("summary.json")
    assert set(summary["pipelines"]) == {"knn"} and "no estimator today" in summary["failed"]["broken"]["error"]
    banner = window.banner.message.text()
    assert "1 of 2 pipeline(s) failed ('broken': classifier 'broken' from plugin 'BrokenClassifier'" in banner
    assert "ValueError: no estimator today" in window.banner.details


def test_settings_of_the_wrong_type_fall_back_to_their_defaults(qtbot, make_window, settings_path: Path, caplog):
    settings_path.write_text("[General]\ngeometry=not a geometry\nwindow_state=3\npresentation=maybe\ntheme=@Invalid()\n")
    window = make_window()
    assert window.isVisible() and window.theme.name == "dark" and not window.presentation_action.isChecked()
    assert "'geometry' is 'not a geometry', not a QByteArray; using the default" in caplog.text
    assert "'presentation' is 'maybe', not a bool" in caplog.text


def test_one_damaged_run_and_a_dead_one_are_shown_as_such_and_the_app_opens(qtbot, make_window, store):
    import time

    from cvstudio.core.runs import write_json

    damaged, dead = store.create("damaged"), store.create("dead")
    (damaged.path / "summary.json").write_text('{"pipelines": null}')
    stale = time.time() - 3600
    write_json(dead.path / "status.json", {"status": "running", "pid": 1, "host": "a laptop that was switched off",
                                           "process_started": 0.0, "updated": stale, "heartbeat": stale})
    window = make_window()
    panel = window.runs_panel
    panel.refresh()
    rows = {panel.tree.topLevelItem(i).text(0): panel.tree.topLevelItem(i) for i in range(panel.tree.topLevelItemCount())}
    assert rows[damaged.id].text(1) == "unreadable"
    assert f"{damaged.path / 'summary.json'} is not a run summary" in rows[damaged.id].text(2)
    assert rows[dead.id].text(1) == "interrupted"


def test_a_bad_split_in_the_experiment_file_is_named_and_the_window_still_loads(qtbot, make_window, lesson):
    path = lesson()
    path.write_text(path.read_text().replace("val = 0.25", 'val = "a lot"'))
    window = make_window(path=path)
    assert "[split] parameter 'val' must be a number" in window.banner.message.text()
    assert window.dataset is not None


class SlowClassifiers:
    @hookimpl
    def cvstudio_register_classifiers(self):
        return [ClassifierSpec(name="slow", description="Fits for an hour.", factory="cvstudio.testing:SlowClassifier")]


def test_closing_during_a_long_classical_fit_stops_it_and_marks_it(qtbot, make_window, registry_with, lesson,
                                                                   monkeypatch):
    import multiprocessing

    from cvstudio.core import stoppable

    monkeypatch.setattr(stoppable, "CHILD_FIT_VALUES", 0)  # the tiny fit runs in a child, as a long one would
    path = lesson(epochs=500)
    path.write_text(path.read_text().replace('classifier = "logistic-regression"', 'classifier = "slow"'))
    window = make_window(registry=registry_with(SlowClassifiers()), path=path)
    window.run_action.trigger()
    qtbot.waitUntil(lambda: bool(multiprocessing.active_children()), timeout=30000)
    run = window.runs["classical"]
    window.close()
    assert run.status == "cancelled" and run.read("summary.json")["stopped"] == "cancelled during fitting of 'Moments + logistic'"
    assert not multiprocessing.active_children()
