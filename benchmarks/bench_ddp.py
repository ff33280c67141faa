"""ddp_scaling: a LeNet-5 training on 2 DistributedDataParallel processes (1 thread each) over 1 process (1 thread).

Each side is a fresh ``cvstudio run`` as a user starts it: ``--nproc 2`` (torchrun's launcher, gloo on
the CPU) or a plain run, both with ``OMP_NUM_THREADS=1``. The figure compares the images per second
of training that each run records in its summary (the training epochs only: not the start of the
processes, nor the final test), so it prices the gradients' exchange after every batch and the
validation that every process repeats. On 2 free cores the ideal is 2.
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

from cvstudio.testing import write_tiny_experiment
from pairs import Ratio, interleaved

LABEL = "LeNet-5"
def _images_per_s(experiment: Path, workdir: Path, processes: int) -> float:
    runs = Path(tempfile.mkdtemp(dir=workdir))
    command = [sys.executable, "-m", "cvstudio", "run", str(experiment), "--out", str(runs)]
    if processes > 1:
        command += ["--nproc", str(processes)]
    subprocess.run(command, check=True, capture_output=True, timeout=900, env={**os.environ, "OMP_NUM_THREADS": "1"})
    (summary,) = runs.glob("*/summary.json")
    return json.loads(summary.read_text())["pipelines"][LABEL]["images_per_s"]


def ddp_ratios(pairs: int = 5, quick: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        experiment = write_tiny_experiment(
            workdir / "experiment.toml", title="ddp scaling", description=None, classical=None,
            dataset={"name": "shapes", "params": {"per_class": 150 if quick else 500, "image_size": 32}},
            split={"val": 0.1, "test": 0.1, "seed": 0},
            deep=[{"label": LABEL, "model": "lenet5", "batch_size": 64}], epochs=1 if quick else 3)
        _images_per_s(experiment, workdir, 2)  # warm-up: the file cache, bytecode
        rounds = interleaved([lambda: _images_per_s(experiment, workdir, 2),
                              lambda: _images_per_s(experiment, workdir, 1)], pairs)
    return {
        "ddp_scaling": Ratio(tuple(two / one for two, one in rounds)).to_json(),
        "ddp_images_per_s": {"two_processes": round(statistics.median(r[0] for r in rounds)),
                             "one_process": round(statistics.median(r[1] for r in rounds))},
    }


if __name__ == "__main__":
    print(json.dumps(ddp_ratios(2, quick=True)))
