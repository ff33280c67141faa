import base64
import csv
import re

import cv2
import numpy as np
import pytest

from cvstudio import DatasetSpec, hookimpl
from cvstudio.core.charts import Chart, Line, draw_chart, nice_ticks, png_data_uri
from cvstudio.core.evaluation import Evaluation
from cvstudio.core.experiment import parse_experiment, run_experiment
from cvstudio.core.lessons import load_lesson
from cvstudio.core.report import CSV_COLUMNS, ReportError, lesson_runs, open_run, render_report, write_results_csv
from cvstudio.core.runs import RunStore
from cvstudio.core.tasks import TaskState, drain

TINY = {
    "title": "Tiny report",
    "dataset": {"name": "tiny", "params": {}},
    "split": {"val": 0.25, "test": 0.25},
    "classical": [{"label": "Moments <b>", "features": ["color-moments"], "classifier": "logistic-regression"}],
    "deep": [{"label": "MLP", "model": "mlp", "epochs": 2, "batch_size": 8, "device": "cpu"}],
}


class TinyData:
    @hookimpl
    def cvstudio_register_datasets(self):
        return [DatasetSpec(name="tiny", description="Tiny.", factory="cvstudio.testing:make_tiny_dataset")]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    from cvstudio.plugins import load_registry

    registry = load_registry(autoload=False, extra_plugins=[TinyData()])
    store = RunStore(tmp_path_factory.mktemp("runs"))
    run = store.create("tiny")
    drain(run_experiment(parse_experiment(TINY, registry), registry, run, TaskState()))
    return store, run


def test_the_report_shows_the_runs_numbers(finished_run):
    _, run = finished_run
    page = render_report([run])
    summary = run.read("summary.json")
    assert "<title>Tiny report</title>" in page and "status: completed" in page
    for name, record in summary["pipelines"].items():
        evaluation = Evaluation.from_dict(run.read(record["evaluation"])["test"])
        assert f"<h3>{name.replace('<', '&lt;').replace('>', '&gt;')} — test accuracy {evaluation.accuracy:.3f}</h3>" in page
        row = f"<td>{record['val_accuracy']:.3f}</td><td>{record['test_accuracy']:.3f}</td>"
        assert row in page
        confusion_cells = re.findall(r"<td style=\"background:rgba\([^)]*\)(?:;color:#fff)?\">(\d+)</td>",
                                     page.split(f"test accuracy {evaluation.accuracy:.3f}")[1])
        k = len(evaluation.class_names)
        assert [int(c) for c in confusion_cells[:k * k]] == evaluation.confusion.ravel().tolist()
        for metric in evaluation.per_class():
            assert (f"<td>{metric.name}</td><td>{metric.precision:.3f}</td><td>{metric.recall:.3f}</td>"
                    f"<td>{metric.f1:.3f}</td><td>{metric.support}</td>") in page
    assert "Moments &lt;b&gt;" in page and "Moments <b>" not in page  # labels are escaped


def test_the_report_is_self_contained_with_png_charts(finished_run):
    _, run = finished_run
    page = render_report([run])
    sources = re.findall(r"(?:src|href)=\"([^\"]*)\"", page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<link" not in page and "<script" not in page
    png = base64.b64decode(sources[0].split(",", 1)[1])
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[0] > 200 and image.shape[1] > 400 and image.std() > 0


def test_one_report_can_hold_several_runs(finished_run, tmp_path):
    _, run = finished_run
    page = render_report([run, run], title="Lesson: all steps")
    assert page.count("<h2>Tiny report</h2>") == 2 and "<h1>Lesson: all steps</h1>" in page


def test_a_directory_that_is_not_a_run_is_refused(tmp_path):
    with pytest.raises(ReportError, match="is not a run directory"):
        open_run(tmp_path)
    with pytest.raises(ReportError, match="no runs to report on"):
        render_report([])


def test_a_failed_run_without_results_still_reports_its_error(tmp_path):
    run = RunStore(tmp_path).create("broken")
    run.write("summary.json", {"title": "Broken", "pipelines": {}, "status": "failed", "error": "ValueError: nope"})
    run.set_status("failed", "ValueError: nope")
    page = render_report([run])
    assert "status: failed" in page and "ValueError: nope" in page


def test_csv_holds_one_row_per_pipeline_of_every_run(finished_run, tmp_path):
    store, run = finished_run
    empty = RunStore(store.root).create("no results yet")
    path = tmp_path / "out" / "runs.csv"
    assert write_results_csv(store.runs(), path) == 3
    with open(path, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert tuple(rows[0]) == CSV_COLUMNS
    summary = run.read("summary.json")
    by_pipeline = {r["pipeline"]: r for r in rows if r["run"] == run.id}
    assert set(by_pipeline) == set(summary["pipelines"])
    for name, record in summary["pipelines"].items():
        row = by_pipeline[name]
        assert row["title"] == "Tiny report" and row["status"] == "completed" and row["kind"] == record["kind"]
        for column in ("val_accuracy", "test_accuracy", "seconds"):
            assert float(row[column]) == record[column]
    assert int(by_pipeline["MLP"]["parameters"]) == summary["pipelines"]["MLP"]["parameters"]
    (pending,) = [r for r in rows if r["run"] == empty.id]
    assert pending["status"] == "running" and pending["pipeline"] == "" and pending["test_accuracy"] == ""
    empty.set_status("cancelled")


def test_chart_ticks_are_round_and_cover_the_range():
    assert nice_ticks(0, 1) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(1, 12) == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    assert nice_ticks(1, 2) == [1.0, 1.2, 1.4, 1.6, 1.8, 2.0] and nice_ticks(1, 2, integer=True) == [1.0, 2.0]


def test_a_chart_draws_its_series_in_their_colours():
    chart = Chart("t", "x", "y", [Line([1, 2, 3], [0.1, 0.5, 0.9], "#0072b2"), Line([0], [0.3], "#e69f00", True)],
                  y_range=(0, 1))
    image = draw_chart(chart)
    blue = np.all(image == (178, 114, 0), axis=2).sum()
    orange = np.all(image == (0, 159, 230), axis=2).sum()
    assert blue > 100 and orange > 100
    assert png_data_uri(image).startswith("data:image/png;base64,iVBOR")


def test_a_studys_own_results_are_shown_as_tables(tmp_path):
    run = RunStore(tmp_path).create("study")
    run.write("summary.json", {
        "title": "Scaling", "status": "completed", "pipelines": {},
        "points": [{"size": 10, "accuracy": 0.51234}, {"size": 100, "accuracy": 0.9}],
        "spaces": {"HOG": {"accuracy": 0.7, "dims": 324}},
        "note": "no GPU here",
    })
    run.set_status("completed")
    page = render_report([run])
    assert "<h3>Points</h3><table><tr><th>size</th><th>accuracy</th></tr><tr><td>10</td><td>0.512</td></tr>" in page
    assert "<tr><th>name</th><th>accuracy</th><th>dims</th></tr><tr><td>HOG</td><td>0.700</td><td>324</td></tr>" in page
    assert "<h3>Note</h3><pre>&quot;no GPU here&quot;</pre>" in page


def test_a_lesson_report_takes_the_newest_result_of_each_experiment_once(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.toml").write_text(f'title = "{name.upper()}"\n[dataset]\nname = "shapes"\n')
    (tmp_path / "lesson.toml").write_text('[[step]]\ntitle = "1"\nexperiment = "b.toml"\n'
                                          '[[step]]\ntitle = "2"\nexperiment = "a.toml"\n')
    store = RunStore(tmp_path / "runs")

    def saved(title):
        run = store.create(title)
        run.write("summary.json", {"title": title})
        return run

    unreadable = store.create("broken")
    (unreadable.path / "summary.json").write_text("{not json")
    # Newest first: A was run from the command line, then compared in the window (two parts);
    # B was compared in the window, then run again from the command line.
    b_new, a_classical, a_deep, b_deep, b_classical, b_old, a_old = (
        saved(t) for t in ("B", "A — classical", "A — deep", "B — deep", "B — classical", "B", "A"))
    runs = [b_new, a_classical, unreadable, a_deep, b_deep, b_classical, b_old, a_old]
    chosen = lesson_runs(load_lesson(tmp_path / "lesson.toml"), runs)
    assert [run.path for run in chosen] == [b_new.path, a_classical.path, a_deep.path]
