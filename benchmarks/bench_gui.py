"""GUI ratios: training with the window plotting against headless, UI lag, startup time.

They need an X server: :func:`gui_ratios` runs this file as a script (under
``xvfb-run`` when there is no display) and reads the one JSON object it prints.
Each run is a fresh process started as a user would start it, headless and
windowed runs interleaved so that both see the machine's drift.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from cvstudio.testing import write_tiny_experiment  # noqa: E402
from pairs import Ratio, interleaved, paired_ratio  # noqa: E402

LABEL = "LeNet-5 CNN"
TIMER_MS = 10
XVFB = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24"]

# Prints the wall-clock time once the first window has been exposed and painted, then exits.
EXPOSE_PROBE = """
import os, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QWindow
from PySide6.QtWidgets import QApplication

def report():
    print(time.time(), flush=True)
    os._exit(0)

class Probe(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Expose and isinstance(obj, QWindow) and obj.isExposed():
            QTimer.singleShot(0, report)
        return False

app = QApplication(sys.argv)
probe = Probe()
app.installEventFilter(probe)
"""
BARE_WINDOW = EXPOSE_PROBE + """
import pyqtgraph as pg
from PySide6.QtWidgets import QMainWindow
window = QMainWindow()
window.setCentralWidget(pg.PlotWidget())
window.resize(1500, 950)
window.show()
app.exec()
"""
APP_WINDOW = EXPOSE_PROBE + """
from cvstudio.cli import main
main(["gui", sys.argv[1]])
"""


def gui_ratios(pairs: int = 5, quick: bool = False) -> dict[str, Any]:
    """Run the measurements in a child process with a display; Xvfb's when there is none."""
    command = [sys.executable, __file__, str(pairs), str(3 if quick else 15)]
    if not os.environ.get("DISPLAY"):
        if shutil.which("xvfb-run") is None:
            raise RuntimeError("the GUI benchmarks need an X server: run `make system-deps` (installs Xvfb)")
        command = XVFB + command
    # Its own process group: on a timeout, Xvfb and the windows go too, not just xvfb-run.
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True) as child:
        try:
            out, _ = child.communicate(timeout=600 + 900 * pairs)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            raise
    if child.returncode:
        raise RuntimeError(f"the GUI benchmark failed (exit status {child.returncode}); its errors are above")
    return json.loads(out.strip().splitlines()[-1])


def _seconds_to_window(script: str, lesson: Path, env: dict[str, str]) -> float:
    start = time.time()
    out = subprocess.run([sys.executable, "-c", script, str(lesson)], capture_output=True, text=True, env=env,
                         check=True, timeout=120)
    return float(out.stdout.strip().splitlines()[-1]) - start


def startup_ratio(lesson: Path, workdir: Path, pairs: int) -> Ratio:
    """Time to the app's first painted window / time for a bare QMainWindow + PlotWidget, in interleaved pairs."""
    env = {**os.environ, "CVSTUDIO_SETTINGS": str(workdir / "startup.ini"), "CVSTUDIO_RUNS_DIR": str(workdir / "runs")}
    for script in (BARE_WINDOW, APP_WINDOW):  # warm the file cache
        _seconds_to_window(script, lesson, env)
    return paired_ratio(lambda: _seconds_to_window(APP_WINDOW, lesson, env),
                        lambda: _seconds_to_window(BARE_WINDOW, lesson, env), pairs)


def headless_throughput(lesson: Path, workdir: Path) -> float:
    """Images/s of `cvstudio run` on the lesson: the engine in the main thread, no Qt."""
    from cvstudio.core.experiment import load_experiment, run_experiment
    from cvstudio.core.runs import RunStore
    from cvstudio.core.tasks import TaskState, drain
    from cvstudio.plugins import load_registry

    registry = load_registry()
    experiment = load_experiment(lesson, registry)
    run = RunStore(workdir / "runs").create(experiment.title)
    _, summary = drain(run_experiment(experiment, registry, run, TaskState()))
    return summary["pipelines"][LABEL]["images_per_s"]


def window_run(lesson: Path, workdir: Path) -> dict[str, Any]:
    """Open the window, press Run; the network's images/s and the 10 ms timer's lags (ms) after its first batch."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from cvstudio.core.runs import RunStore
    from cvstudio.plugins import load_registry
    from cvstudio.qt.main_window import MainWindow
    from cvstudio.qt.settings import open_settings

    app = QApplication([])
    window = MainWindow(load_registry(), lesson, open_settings(workdir / "settings.ini"), RunStore(workdir / "runs"))
    window.show()
    while window.dataset is None or window.workers:  # loading the dataset, detecting the devices
        app.processEvents()
        time.sleep(0.01)
    ticks: list[float] = []
    loop = QEventLoop()
    probe = QTimer(timerType=Qt.TimerType.PreciseTimer, interval=TIMER_MS)
    probe.timeout.connect(lambda: window.training.series["batch_loss"].x and ticks.append(time.perf_counter()))
    done = QTimer(interval=50)
    done.timeout.connect(lambda: "deep" in window.workers or loop.quit())
    window.run_action.trigger()
    probe.start()
    done.start()
    loop.exec()
    probe.stop()
    done.stop()
    summary = window.runs["deep"].read("summary.json")
    window.close()
    return {"images_per_s": summary["pipelines"][LABEL]["images_per_s"],
            "lags": [1000 * (b - a) - TIMER_MS for a, b in zip(ticks, ticks[1:])]}


def _child(mode: str, lesson: Path, workdir: Path) -> Any:
    """Each run in a fresh process, as a user would start it: no thread of the other kind has touched torch."""
    out = subprocess.run([sys.executable, __file__, mode, str(lesson), str(workdir)], capture_output=True,
                         text=True, check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(pairs: int = 5, epochs: int = 15) -> dict[str, Any]:
    """Headless and windowed runs in interleaved pairs (the median of their ratios), the lags of every windowed
    run pooled."""
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        lesson = write_tiny_experiment(  # the default lesson's network, without its classical side (sharing the CPU)
            workdir / "lesson.toml", title="GUI benchmark", description=None, classical=None,
            dataset={"name": "shapes"}, split={"val": 0.15, "test": 0.15, "seed": 0},
            deep=[{"label": LABEL, "model": "lenet5", "batch_size": 64, "learning_rate": 0.002, "augment": "shift"}],
            epochs=epochs)
        startup = startup_ratio(lesson, workdir, pairs)
        windowed: list[dict[str, Any]] = []

        def windowed_rate() -> float:
            windowed.append(_child("window", lesson, workdir))
            return windowed[-1]["images_per_s"]

        rounds = interleaved([windowed_rate, lambda: _child("headless", lesson, workdir)], pairs)
    lags = [lag for run in windowed for lag in run["lags"]]
    return {
        "gui_train_throughput": Ratio(tuple(w / h for w, h in rounds)).to_json(),
        "gui_train_images_per_s": {"windowed": [round(w) for w, _ in rounds], "headless": [round(h) for _, h in rounds]},
        "ui_lag_p99_ms": round(float(np.percentile(lags, 99)), 1),
        "ui_lag_max_ms": round(float(np.max(lags)), 1),
        "startup_ratio": startup.to_json(digits=2),
    }


if __name__ == "__main__":
    if len(sys.argv) == 4:
        mode, lesson_path, work_path = sys.argv[1:]
        job = headless_throughput if mode == "headless" else window_run
        print(json.dumps(job(Path(lesson_path), Path(work_path))))
    else:
        print(json.dumps(measure(*map(int, sys.argv[1:3]))))
