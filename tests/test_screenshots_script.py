"""scripts/screenshots.py shows a study's saved run only when it was made with exactly the lesson's settings."""

import runpy
from pathlib import Path

from cvstudio.core.experiment import bundled_lesson, load_experiment
from cvstudio.core.runs import RunStore

ROOT = Path(__file__).resolve().parent.parent
saved_run = runpy.run_path(str(ROOT / "scripts" / "screenshots.py"))["saved_run"]


def make_run(store, title, config, status="completed"):
    run = store.create(title)
    if config is not None:
        run.write("config.json", config)
    run.set_status(status)
    return run


def test_the_newest_completed_run_with_the_same_settings_is_reused(tmp_path, cvstudio_registry):
    experiment = load_experiment(bundled_lesson("data-scaling"), cvstudio_registry)
    config = experiment.to_dict()
    shorter = experiment.with_training(epochs=1).to_dict()
    store = RunStore(tmp_path / "runs")
    make_run(store, "1 older", config)  # runs of one second sort by title
    wanted = make_run(store, "2 newer", config)
    make_run(store, "other settings", shorter)
    make_run(store, "cancelled", config, status="cancelled")
    make_run(store, "failed", config, status="failed")
    make_run(store, "no config", None)
    broken = make_run(store, "unreadable config", None)
    (broken.path / "config.json").write_text("{not json", encoding="utf-8")

    assert saved_run(store, config).path == wanted.path
    reworded = {**config, "title": "Data scaling, reworded", "description": "Another text."}
    assert saved_run(store, reworded).path == wanted.path  # the text is not a setting
    make_run(store, "not a table", ["a", "list"])
    assert saved_run(store, config).path == wanted.path
    assert saved_run(store, load_experiment(bundled_lesson("architectures"), cvstudio_registry).to_dict()) is None


def test_nothing_is_reused_from_an_empty_or_missing_store(tmp_path, cvstudio_registry):
    config = load_experiment(bundled_lesson("gpu-vs-cpu"), cvstudio_registry).to_dict()
    assert saved_run(RunStore(tmp_path / "missing"), config) is None
