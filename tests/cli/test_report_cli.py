"""`cvstudio run LESSON`, `cvstudio report` and `cvstudio runs --csv`, on a tiny dataset plugin."""

import csv
import json

import pytest

from cvstudio.cli import main
from cvstudio.testing import write_tiny_experiment

TINY_PLUGIN = """
from cvstudio import hookimpl, DatasetSpec
@hookimpl
def cvstudio_register_datasets():
    return [DatasetSpec(name="tiny", description="Tiny.", factory="cvstudio.testing:make_tiny_dataset")]
"""
LESSON = """
title = "Tiny course"
[[step]]
title = "One"
experiment = "one.toml"
[[step]]
title = "Two"
experiment = "two.toml"
[[step]]
title = "One again"
experiment = "one.toml"
"""


@pytest.fixture
def course(tmp_path, monkeypatch):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "tinydata.py").write_text(TINY_PLUGIN)
    monkeypatch.setenv("CVSTUDIO_PLUGIN_PATH", str(plugins))
    for name in ("one", "two"):
        write_tiny_experiment(tmp_path / f"{name}.toml", title=f"Experiment {name}", dataset={"name": "tiny"},
                              classical=[{"label": "moments", "features": ["color-moments"],
                                          "classifier": "logistic-regression"}], deep=None)
    path = tmp_path / "lesson.toml"
    path.write_text(LESSON)
    return path


def titles(runs_dir):
    return sorted(json.loads((d / "summary.json").read_text())["title"] for d in runs_dir.iterdir())


def test_running_a_lesson_runs_each_experiment_once_in_step_order_with_one_report(course, tmp_path, capsys):
    out, report = tmp_path / "runs", tmp_path / "lesson.html"
    assert main(["run", str(course), "--out", str(out), "--report", str(report)]) == 0
    assert titles(out) == ["Experiment one", "Experiment two"]
    printed = capsys.readouterr().out
    assert printed.index("Experiment one — completed") < printed.index("Experiment two — completed")
    page = report.read_text()
    assert "<h1>Tiny course</h1>" in page and "<h2>Experiment one</h2>" in page and "<h2>Experiment two</h2>" in page


def test_step_runs_only_that_steps_experiment(course, tmp_path):
    out = tmp_path / "runs"
    assert main(["run", str(course), "--out", str(out), "--step", "2"]) == 0
    assert titles(out) == ["Experiment two"]


@pytest.mark.parametrize("step, message", [("4", "the lesson has steps 1 to 3"), ("0", "the lesson has steps 1 to 3")])
def test_a_step_out_of_range_is_refused(course, tmp_path, capsys, step, message):
    assert main(["run", str(course), "--out", str(tmp_path / "runs"), "--step", step]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_step_on_an_experiment_file_is_refused(course, tmp_path, capsys):
    assert main(["run", str(tmp_path / "one.toml"), "--step", "1"]) == 2
    assert "--step is for lesson files" in capsys.readouterr().err


def test_a_lesson_with_a_broken_step_fails_before_running_anything(course, tmp_path, capsys):
    (tmp_path / "two.toml").write_text('[dataset]\nname = "nope"\n[[deep]]\nmodel = "mlp"\n')
    assert main(["run", str(course), "--out", str(tmp_path / "runs")]) == 1
    assert "[[step]] #2 'Two'" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_report_and_csv_of_saved_runs(course, tmp_path, capsys):
    out = tmp_path / "runs"
    assert main(["run", str(course), "--out", str(out)]) == 0
    run_dirs = sorted(out.iterdir())
    capsys.readouterr()

    assert main(["report", str(run_dirs[0])]) == 0
    default = run_dirs[0] / "report.html"
    assert capsys.readouterr().out.strip() == str(default)
    summary = json.loads((run_dirs[0] / "summary.json").read_text())
    assert f"<td>{summary['pipelines']['moments']['test_accuracy']:.3f}</td>" in default.read_text()

    both = tmp_path / "both.html"
    assert main(["report", *map(str, run_dirs), "-o", str(both)]) == 0
    assert both.read_text().count("<h2>Experiment") == 2

    table = tmp_path / "all.csv"
    assert main(["runs", "--out", str(out), "--csv", str(table)]) == 0
    assert "wrote 2 row(s) for 2 run(s)" in capsys.readouterr().err
    with open(table, newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert sorted(r["title"] for r in rows) == ["Experiment one", "Experiment two"]
    assert all(r["pipeline"] == "moments" and r["kind"] == "classical" and 0 <= float(r["test_accuracy"]) <= 1
               for r in rows)


def test_report_on_a_folder_that_is_not_a_run_says_so(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 1
    assert "is not a run directory" in capsys.readouterr().err


def test_a_lesson_report_takes_the_newest_run_of_each_experiment(course, tmp_path, capsys, monkeypatch):
    out = tmp_path / "runs"
    assert main(["run", str(course), "--out", str(out), "--step", "1"]) == 0
    assert main(["run", str(course), "--out", str(out)]) == 0
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--lesson", str(course), "--out", str(out)]) == 0
    page = (tmp_path / "lesson-report.html").read_text()
    assert capsys.readouterr().out.strip() == "lesson-report.html"
    assert "<h1>Tiny course</h1>" in page
    assert page.count("<h2>Experiment one</h2>") == 1 and page.count("<h2>Experiment two</h2>") == 1
    newest = sorted(d.name for d in out.iterdir())[-2:]
    assert all(f"Run {name}" in page for name in newest)
    assert page.index("<h2>Experiment one</h2>") < page.index("<h2>Experiment two</h2>")


def test_a_lesson_report_without_runs_says_what_to_do(course, tmp_path, capsys):
    assert main(["report", "--lesson", str(course), "--out", str(tmp_path / "none")]) == 1
    assert "no saved runs of 'Tiny course' yet; run its steps first" in capsys.readouterr().err
    assert main(["report"]) == 2
    assert "give run folders or --lesson" in capsys.readouterr().err


def test_one_damaged_run_stops_neither_the_listing_nor_the_csv_nor_the_report(course, tmp_path, capsys):
    import shutil

    out = tmp_path / "runs"
    assert main(["run", str(course), "--out", str(out), "--step", "1"]) == 0
    (good,) = out.iterdir()
    damage = {"status-list": ("status.json", "[]"), "summary-null": ("summary.json", '{"pipelines": null}'),
              "summary-list": ("summary.json", "[1, 2, 3]")}
    for name, (file, text) in damage.items():
        shutil.copytree(good, out / f"{good.name}-{name}")
        (out / f"{good.name}-{name}" / file).write_text(text)
    with open(good / "metrics.jsonl", "a") as stream:
        stream.write('{"kind": "epoch", "epoch": 1}\n[1]\n{"kind": "final"}\n')
    capsys.readouterr()

    table = tmp_path / "all.csv"
    assert main(["runs", "--out", str(out), "--csv", str(table)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 4 and f"{good.name}  completed" in listing
    assert (f"{good.name}-status-list  unreadable  ({out / (good.name + '-status-list') / 'status.json'} "
            "is not a run status)") in listing
    with open(table, newline="") as stream:
        rows = {r["run"]: r for r in csv.DictReader(stream)}
    for name in ("summary-null", "summary-list"):
        row = rows[f"{good.name}-{name}"]
        assert row["status"] == "unreadable"
        assert f"{out / (good.name + '-' + name) / 'summary.json'} is not a run summary" in row["title"]
    assert rows[good.name]["pipeline"] == "moments"

    report = tmp_path / "all.html"
    assert main(["report", *map(str, sorted(out.iterdir())), "-o", str(report)]) == 0
    page = report.read_text()
    assert page.count("Unreadable:") == 2 and page.count("<h2>Experiment one</h2>") == 2
