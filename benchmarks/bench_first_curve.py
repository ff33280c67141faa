"""Time to the first live curve: from starting the app on the bundled course to the CNN's first curve points.

What a teacher waits for: ``cvstudio`` (what ``make run`` starts) opens the course, Run is pressed as soon
as the window shows its dataset, and the Training view draws the network's first batch (the smoothed train
curve) and its first validation point (the end of epoch 1). Each start is a fresh process under a display
(Xvfb's when there is none), timed in phases, so that a slow figure says where the time went:

- ``window``: process start to the window painted;
- ``dataset``: to the step's dataset shown (press Run from here);
- ``deep_data``: Run pressed to the network's run holding its dataset and split;
- ``deep_start``: to the model built and its first activation snapshot (torch, the model, normalisation);
- ``first_batch``: to the first batch's point on the train curve;
- ``first_val``: to the first validation accuracy point;
and the totals from process start; ``torch_ready`` is when the warm-up job (torch's imports, begun when
the window is painted) ended, since process start. These are seconds on a shared machine: read them with the load average
that ``run.py`` records beside them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

COURSE = Path(__file__).resolve().parent.parent / "resources" / "lessons" / "course.toml"
XVFB = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24"]
PHASES = ("window", "dataset", "deep_data", "deep_start", "first_batch", "first_val")

# Runs in the child: the real entry point, watched by a timer that finds the window as soon as it exists.
CHILD = """
import json, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QWindow
from PySide6.QtWidgets import QApplication

START = float(sys.argv[2])
marks = {}

def mark(name):
    marks.setdefault(name, time.time() - START)

class Probe(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Expose and isinstance(obj, QWindow) and obj.isExposed():
            mark("window")
        return False

app = QApplication(sys.argv[:1])
probe = Probe()
app.installEventFilter(probe)

def watch(window):
    deliver = window.jobs.deliver

    def timed(slot, events):
        if slot == "deep":
            for event in events:
                kind = type(event).__name__
                if kind == "DatasetReady":
                    mark("deep_data")
                elif kind == "ActivationSnapshot":
                    mark("deep_start")
                elif kind == "BatchEnd":
                    mark("first_batch")
                elif kind == "EpochEnd":
                    mark("first_val")
                    QTimer.singleShot(0, finish)
        deliver(slot, events)

    def press():
        mark("dataset")
        marks["run_pressed"] = marks["dataset"]
        window.run_action.trigger()

    def finish():
        print(json.dumps(marks), flush=True)
        window.close()

    def torch_ready():  # the warm-up job (torch's imports) seen, then ended
        if "warm-up" in window.jobs.workers:
            marks["warm_up_started"] = True
        elif marks.get("warm_up_started"):
            mark("torch_ready")

    window.jobs.deliver = timed
    window.jobs.changed.connect(torch_ready)
    window.dataset_loaded.connect(lambda _: QTimer.singleShot(0, press))

def find():
    from cvstudio.qt.main_window import MainWindow
    windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
    if windows:
        watch(windows[0])
    else:
        QTimer.singleShot(1, find)

QTimer.singleShot(0, find)
from cvstudio.cli import main
main(["gui", sys.argv[1]])
"""


def one_start(course: Path, workdir: Path) -> dict[str, float]:
    """One fresh start of the app, Run pressed at once: each mark's seconds since the process started."""
    env = {**os.environ, "CVSTUDIO_SETTINGS": str(workdir / "first-curve.ini"),
           "CVSTUDIO_RUNS_DIR": str(workdir / "runs")}
    start = time.time()
    out = subprocess.run([sys.executable, "-c", CHILD, str(course), repr(start)], capture_output=True, text=True,
                         env=env, timeout=600)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        raise RuntimeError(f"the app did not reach its first curve (exit status {out.returncode}):\n{out.stderr}")
    return json.loads(lines[-1])


def phases(marks: dict[str, float]) -> dict[str, float]:
    """The marks as phases: each one's seconds since the one before it (Run pressed starts the run's phases)."""
    previous, result = 0.0, {}
    for name in PHASES:
        result[name] = marks[name] - previous
        previous = marks[name]
    return result


def measure(starts: int, course: Path = COURSE) -> dict[str, Any]:
    """``starts`` fresh starts (after one that warms the file cache): the median of each phase and total."""
    with tempfile.TemporaryDirectory(prefix="cvstudio-first-curve-") as tmp:
        workdir = Path(tmp)
        one_start(course, workdir)
        runs = [one_start(course, workdir) for _ in range(starts)]
    split = [phases(marks) for marks in runs]
    median = {name: round(statistics.median(p[name] for p in split), 2) for name in PHASES}
    return {
        "first_curve_phases_s": median,
        "first_batch_s": sorted(round(m["first_batch"], 2) for m in runs),
        "first_val_s": sorted(round(m["first_val"], 2) for m in runs),
        "run_to_first_batch_s": round(statistics.median(m["first_batch"] - m["run_pressed"] for m in runs), 2),
        "run_to_first_val_s": round(statistics.median(m["first_val"] - m["run_pressed"] for m in runs), 2),
        "torch_ready_s": round(statistics.median(m.get("torch_ready", float("nan")) for m in runs), 2),
    }


def first_curve(starts: int = 5) -> dict[str, Any]:
    """:func:`measure` in a child process with a display; Xvfb's when there is none."""
    command = [sys.executable, __file__, str(starts)]
    if not os.environ.get("DISPLAY"):
        if shutil.which("xvfb-run") is None:
            raise RuntimeError("the first-curve benchmark needs an X server: run `make system-deps` (installs Xvfb)")
        command = XVFB + command
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True) as child:
        try:
            out, _ = child.communicate(timeout=300 * (starts + 1))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            raise
    if child.returncode:
        raise RuntimeError(f"the first-curve benchmark failed (exit status {child.returncode}); its errors are above")
    return json.loads(out.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 3)))
