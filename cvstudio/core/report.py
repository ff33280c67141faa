"""Reports of saved runs: one self-contained HTML file, and a CSV of every run's results.

The HTML holds everything it shows (charts as base64 PNG, styles inline), so it
can be mailed, archived or opened offline. Numbers come straight from the run's
files: summary, epoch metrics and the test-split evaluations.
"""

from __future__ import annotations

import csv
import html
import json
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

from cvstudio.core.charts import Chart, Line, color_of, draw_chart, png_data_uri
from cvstudio.core.evaluation import Evaluation
from cvstudio.core.experiment import DEFAULT_TITLE, part_title, read_toml
from cvstudio.core.lessons import Lesson
from cvstudio.core.runs import STATUS_FILE, UNREADABLE, Run, UnreadableRun, atomic_write

CSV_COLUMNS = ("run", "status", "title", "pipeline", "kind", "val_accuracy", "test_accuracy", "seconds",
               "parameters", "feature_dim", "device", "images_per_s")
# Parts of a summary the report lays out itself; anything else (a study's results) is shown as data.
SUMMARY_SHOWN = {"title", "run", "status", "error", "stopped", "dataset", "pipelines"}
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em; color: #111; }
h1 { font-size: 1.6em; } h2 { border-bottom: 2px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; }
th, td { border: 1px solid #bbb; padding: .3em .6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f0f0; }
.muted { color: #555; } .failed { color: #b00020; font-weight: bold; }
.swatch { display: inline-block; width: 1.6em; height: .35em; vertical-align: middle; margin: 0 .4em 0 1em; }
.dashed { background: none !important; border-top: .3em dashed; height: 0; }
img { max-width: 100%; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; }
"""


class ReportError(ValueError):
    """A directory is not a readable run; the message says which and why."""


def read_summary(run: Run) -> dict[str, Any]:
    """The run's summary; empty while the run has not written one yet, so a report can still list it."""
    try:
        return run.summary()
    except UnreadableRun as exc:
        raise ReportError(str(exc)) from None


def open_run(path: Path) -> Run:
    """The run in directory ``path``, checked to be one."""
    path = Path(path)
    if not (path / STATUS_FILE).is_file():
        raise ReportError(f"{path} is not a run directory (no {STATUS_FILE}); `cvstudio runs` lists the saved runs")
    return Run(path)


# ------------------------------------------------------------------ CSV

def result_rows(runs: Iterable[Run]) -> list[dict[str, Any]]:
    """One row per pipeline of each run (a run without results yet still gets a row)."""
    rows = []
    for run in runs:
        try:
            summary = read_summary(run)
            base = {"run": run.id, "status": run.status, "title": summary.get("title", "")}
        except ReportError as exc:
            summary, base = {}, {"run": run.id, "status": UNREADABLE, "title": str(exc)}
        pipelines = summary.get("pipelines") or {"": {}}
        for name, record in pipelines.items():
            rows.append({**{c: "" for c in CSV_COLUMNS}, **base, "pipeline": name,
                         **{k: v for k, v in record.items() if k in CSV_COLUMNS}})
    return rows


def write_results_csv(runs: Iterable[Run], path: Path) -> int:
    """Write every run's results as CSV (columns :data:`CSV_COLUMNS`); returns the number of rows."""
    rows = result_rows(runs)

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as stream:
            writer = csv.DictWriter(stream, CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)

    atomic_write(Path(path), write)
    return len(rows)


# --------------------------------------------------------------- lessons

def lesson_runs(lesson: Lesson, runs: Sequence[Run]) -> list[Run]:
    """The newest result of each of the lesson's experiments, in step order (``runs``: newest first).

    ``cvstudio run`` saves an experiment as one run; the window saves a
    comparison as two, its classical and its deep part (:func:`part_title`).
    Whichever is newer stands for the experiment, so it is reported once.
    """
    newest: dict[str, int] = {}  # run title -> index in ``runs``
    for index, run in enumerate(runs):
        try:
            title = read_summary(run).get("title")
        except ReportError:
            continue  # an unreadable run has nothing to show
        if isinstance(title, str):
            newest.setdefault(title, index)
    chosen: list[Run] = []
    for path in lesson.experiments():
        title = read_toml(path).get("title", DEFAULT_TITLE)
        whole = newest.get(title)
        parts = [newest[t] for t in (part_title(title, "classical"), part_title(title, "deep")) if t in newest]
        if whole is not None and (not parts or whole < min(parts)):
            chosen.append(runs[whole])
        else:
            chosen.extend(runs[index] for index in parts)
    return chosen


# ----------------------------------------------------------------- HTML

def write_report(runs: Sequence[Run], path: Path, title: str | None = None) -> Path:
    """Write :func:`render_report` to ``path`` (its folder is created); returns the path, for the caller to show."""
    path = Path(path)
    page = render_report(runs, title)
    atomic_write(path, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    return path


def render_report(runs: Sequence[Run], title: str | None = None) -> str:
    """One HTML page for ``runs`` (e.g. the classical and deep halves of a GUI run, or a lesson's runs)."""
    if not runs:
        raise ReportError("no runs to report on; run an experiment first")
    sections = [_run_section(run) for run in runs]
    if title is None:
        title = (_title(runs[0]) or runs[0].id) if len(runs) == 1 else "cvstudio runs"
    generated = time.strftime("%Y-%m-%d %H:%M")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_e(title)}</title>"
            f"<style>{STYLE}</style></head><body>\n<h1>{_e(title)}</h1>\n"
            f"<p class=\"muted\">cvstudio report, {generated}. Accuracies are fractions (1 = all correct); "
            "confusion matrices and per-class metrics are on the test split.</p>\n"
            + "\n".join(sections) + "\n</body></html>\n")


def _title(run: Run) -> str | None:
    try:
        return read_summary(run).get("title")
    except ReportError:
        return None


def _run_section(run: Run) -> str:
    try:
        summary = read_summary(run)
    except ReportError as exc:
        return f"<h2>{_e(run.id)}</h2>\n<p class=\"failed\">Unreadable: {_e(exc)}</p>"
    parts = [f"<h2>{_e(summary.get('title') or run.id)}</h2>",
             f"<p class=\"muted\">Run {_e(run.id)} — status: {_e(run.status)}</p>"]
    if summary.get("error"):
        parts.append(f"<p class=\"failed\">{_e(summary['error'])}</p>")
    if summary.get("stopped"):
        parts.append(f"<p class=\"failed\">Cancelled: {_e(summary['stopped'])}</p>")
    dataset = summary.get("dataset")
    if isinstance(dataset, dict):
        split = ", ".join(f"{k} {v}" for k, v in dataset.get("split", {}).items())
        parts.append(f"<p>Dataset <b>{_e(dataset.get('name', '?'))}</b>: {dataset.get('images', '?')} images, "
                     f"classes {_e(', '.join(dataset.get('classes', [])))}; split {_e(split)}.</p>")
    pipelines = summary.get("pipelines") or {}
    if pipelines:
        parts.append(_pipelines_table(pipelines))
    parts.extend(_charts(run.metrics(), pipelines))
    for name, record in pipelines.items():
        parts.append(_evaluation_section(run, name, record))
    for key, value in summary.items():
        if key not in SUMMARY_SHOWN:
            parts.append(f"<h3>{_e(key.replace('_', ' ').capitalize())}</h3>{_data(value)}")
    try:
        config = json.dumps(run.read("config.json"), indent=2)
        parts.append(f"<details><summary>Configuration</summary><pre>{_e(config)}</pre></details>")
    except (OSError, ValueError):
        pass
    return "\n".join(parts)


def _pipelines_table(pipelines: dict[str, dict[str, Any]]) -> str:
    rows = []
    for name, p in pipelines.items():
        size = (f"{p['parameters']:,} parameters" if "parameters" in p
                else f"{p['feature_dim']:,} features" if "feature_dim" in p else "")
        rows.append([name, p.get("kind", ""), _number(p.get("val_accuracy")), _number(p.get("test_accuracy")),
                     _number(p.get("seconds"), 1), size, p.get("device", "")])
    return _table(["Pipeline", "Kind", "Val accuracy", "Test accuracy", "Seconds", "Size", "Device"], rows)


def _charts(records: list[dict[str, Any]], pipelines: dict[str, dict[str, Any]]) -> list[str]:
    """Accuracy and loss per epoch for each network; classical results as dashed reference lines."""
    epochs: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if record.get("kind") == "epoch":
            epochs.setdefault(record["pipeline"], []).append(record)
    if not epochs:
        return []
    references = {n: p["val_accuracy"] for n, p in pipelines.items() if p.get("kind") == "classical"}
    colors = {name: color_of(i) for i, name in enumerate([*epochs, *references])}
    accuracy = Chart("Validation accuracy per epoch", "epoch", "accuracy", y_range=(0.0, 1.0), integer_x=True, lines=[
        *(Line([r["epoch"] for r in rs], [r["val_accuracy"] for r in rs], colors[n]) for n, rs in epochs.items()),
        *(Line([0], [v], colors[n], dashed=True) for n, v in references.items()),
    ])
    loss = Chart("Validation loss per epoch", "epoch", "cross-entropy", integer_x=True, lines=[
        Line([r["epoch"] for r in rs], [r["val_loss"] for r in rs], colors[n]) for n, rs in epochs.items()
    ])
    legend = "".join(
        f"<span class=\"swatch{' dashed' if n in references else ''}\" style=\"background:{c};border-color:{c}\">"
        f"</span>{_e(n)}" + (" (classical, validation)" if n in references else "")
        for n, c in colors.items())
    return [f"<h3>Learning curves</h3><p>{legend}</p>",
            f"<img alt=\"validation accuracy per epoch\" src=\"{png_data_uri(draw_chart(accuracy))}\">",
            f"<img alt=\"loss per epoch\" src=\"{png_data_uri(draw_chart(loss))}\">"]


def _evaluation_section(run: Run, name: str, record: dict[str, Any]) -> str:
    try:
        evaluation = Evaluation.from_dict(run.read(record["evaluation"])["test"])
    except (OSError, ValueError, KeyError, TypeError):
        return f"<h3>{_e(name)}</h3><p class=\"muted\">No evaluation saved for this pipeline.</p>"
    names = evaluation.class_names
    confusion = evaluation.confusion
    largest = max(int(confusion.max()), 1)
    cells = []
    for t, row in enumerate(confusion):
        tds = "".join(
            f"<td style=\"background:rgba({'0,114,178' if t == p else '213,94,0'},{0.85 * v / largest:.2f})"
            f"{';color:#fff' if v / largest > 0.5 else ''}\">{v}</td>" for p, v in enumerate(row))
        cells.append(f"<tr><th>{_e(names[t])}</th>{tds}</tr>")
    header = "".join(f"<th>{_e(n)}</th>" for n in names)
    matrix = (f"<table class=\"confusion\"><tr><th>true ↓ / predicted →</th>{header}</tr>{''.join(cells)}</table>")
    metrics = _table(["Class", "Precision", "Recall", "F1", "Images"],
                     [[m.name, _number(m.precision), _number(m.recall), _number(m.f1), m.support]
                      for m in evaluation.per_class()])
    return (f"<h3>{_e(name)} — test accuracy {_number(evaluation.accuracy)}</h3>"
            f"<p>Confusion matrix (rows: true class, columns: predicted class)</p>{matrix}"
            f"<p>Per-class precision, recall and F1</p>{metrics}")


def _data(value: Any) -> str:
    """A study's results: records (a list of tables, or tables by name) as a table, anything else as JSON."""
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        value = [{"name": name, **record} for name, record in value.items()]
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        columns = list(dict.fromkeys(k for v in value for k in v))
        return _table(columns, [[_cell(v.get(c, "")) for c in columns] for v in value])
    return f"<pre>{_e(json.dumps(value, indent=2, default=str))}</pre>"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _number(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))
