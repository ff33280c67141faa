"""Training on a busy machine: the app's VGG-style training with one other CPU-bound process beside it.

Each training is a fresh ``cvstudio run`` process, as a user starts it; the competing process is a
Python busy loop this benchmark starts and stops itself. Each round measures, back to back:

- ``cvstudio run`` alone and beside the busy process: ``train_under_contention`` = busy / alone
  (the fair share of a machine with one other busy process is 0.5 on two cores; goal: at least 0.4);
- the same with torch's thread count fixed at its default (``OMP_NUM_THREADS``, which turns off
  :class:`~cvstudio.core.threads.FreeCoreThreads`: torch as it trains without cvstudio's care), alone
  and beside the busy process: ``train_under_contention_defaults`` and ``train_idle_vs_defaults`` =
  cvstudio alone / defaults alone (cvstudio's care must not cost anything on an idle machine: about 1).

Every figure is the median of the rounds (see :mod:`pairs`); ``train_contention_images_per_s`` gives
each side's median.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from cvstudio.testing import write_tiny_experiment
from pairs import Ratio, interleaved

LABEL = "VGG-style CNN"
BUSY_LOOP = "while True: pass"


def _train(lesson: Path, workdir: Path, defaults: bool, busy: bool) -> float:
    """Images/s of one training in a fresh process, beside a busy loop if ``busy``."""
    runs = Path(tempfile.mkdtemp(dir=workdir))
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if defaults:
        env["OMP_NUM_THREADS"] = str(torch.get_num_threads())  # torch's own default, held fixed
    competitor = subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) if busy else None
    try:
        subprocess.run([sys.executable, "-m", "cvstudio", "run", str(lesson), "--out", str(runs)],
                       check=True, capture_output=True, timeout=900, env=env)
    finally:
        if competitor is not None:
            competitor.kill()
            competitor.wait()
    (summary,) = runs.glob("*/summary.json")
    return json.loads(summary.read_text())["pipelines"][LABEL]["images_per_s"]


def contention_ratios(pairs: int = 5, quick: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        lesson = write_tiny_experiment(
            workdir / "lesson.toml", title="contention", description=None, classical=None,
            dataset={"name": "shapes", "params": {"per_class": 150, "image_size": 32}},
            split={"val": 0.15, "test": 0.15, "seed": 0},
            deep=[{"label": LABEL, "model": "vgg-small", "batch_size": 64}], epochs=1 if quick else 3)
        _train(lesson, workdir, defaults=False, busy=False)  # warm-up: the file cache, bytecode
        sides = [lambda defaults=defaults, busy=busy: _train(lesson, workdir, defaults, busy)
                 for defaults in (False, True) for busy in (False, True)]
        rounds = interleaved(sides, pairs)
    names = ("cvstudio_alone", "cvstudio_busy", "defaults_alone", "defaults_busy")
    return {
        "train_under_contention": Ratio(tuple(r[1] / r[0] for r in rounds)).to_json(),
        "train_under_contention_defaults": Ratio(tuple(r[3] / r[2] for r in rounds)).to_json(),
        "train_idle_vs_defaults": Ratio(tuple(r[0] / r[2] for r in rounds)).to_json(),
        "train_contention_images_per_s": {name: round(statistics.median(r[i] for r in rounds))
                                          for i, name in enumerate(names)},
    }


if __name__ == "__main__":
    print(json.dumps(contention_ratios(2, quick=True)))
