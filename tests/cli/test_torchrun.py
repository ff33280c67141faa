"""One training on two processes (torchrun, gloo on the CPU) against the same training in one process."""

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from cvstudio.cli import main
from cvstudio.core.distributed import weights_digest
from cvstudio.testing import write_tiny_experiment

# LeNet-5 has neither batch norm nor dropout: two processes must follow one process's curve up to
# rounding (docs/distributed-training.md states these tolerances).
LOSS_TOLERANCE = 1e-4  # relative, per epoch
FRAGILE_PLUGIN = """
import os
from cvstudio import hookimpl, ModelSpec


def make(in_channels, image_size, num_classes):
    import torch

    class Fragile(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(in_channels * image_size[0] * image_size[1], num_classes)
            self.steps = 0

        def forward(self, x):
            self.steps += self.training
            if os.environ.get("RANK") == "1" and self.steps == 6:
                raise ValueError("fragile broke on purpose")
            return self.fc(x.flatten(1))

    return Fragile()


@hookimpl
def cvstudio_register_models():
    return [ModelSpec(name="fragile", description="Breaks on the second process.", factory=make)]
"""


def write_experiment(tmp_path, model="lenet5"):
    return write_tiny_experiment(
        tmp_path / f"{model}.toml", title="two processes",
        dataset={"name": "shapes", "params": {"per_class": 24, "image_size": 16, "classes": 3}},
        classical=[{"label": "moments", "features": ["color-moments"], "classifier": "logistic-regression"}],
        deep=[{"label": "LeNet-5", "model": model, "augment": "flip+shift"}], epochs=3)


def cvstudio(*args, env=None):
    """A cvstudio command in a new process (torchrun's processes are children of it); its result."""
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})
    return result


def only_run(folder):
    (run,) = folder.iterdir()
    return run


def epochs(run):
    lines = (json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines())
    return [record for record in lines if record["kind"] == "epoch"]


def left_running(path):
    """Processes still running with ``path`` in their command line."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(str(path) in part for part in process.info["cmdline"] or ()):
            found.append(process)
    return found


def test_torchrun_trains_on_two_processes_like_one(tmp_path, capsys):
    experiment = write_experiment(tmp_path)
    assert main(["run", str(experiment), "--out", str(tmp_path / "one")]) == 0
    result = cvstudio("-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                      "-m", "cvstudio", "run", str(experiment), "--out", str(tmp_path / "two"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("two processes — completed") == 1  # process 0 alone prints
    assert result.stderr.count("deep pipeline: LeNet-5") == 1
    one, two = only_run(tmp_path / "one"), only_run(tmp_path / "two")
    summary = json.loads((two / "summary.json").read_text())
    record = summary["pipelines"]["LeNet-5"]
    import torch

    saved = torch.load(two / record["checkpoint"], weights_only=True)["state_dict"]
    # every process computed this digest of its weights, and they agreed (or the run would have failed)
    assert record["distributed"] == {"processes": 2, "backend": "gloo", "weights_sha256": weights_digest(saved)}
    assert summary["status"] == "completed" and summary["pipelines"]["moments"]["kind"] == "classical"

    reference = json.loads((one / "summary.json").read_text())["pipelines"]["LeNet-5"]
    assert abs(record["test_accuracy"] - reference["test_accuracy"]) <= 1 / summary["dataset"]["split"]["test"]
    for alone, shared in zip(epochs(one), epochs(two), strict=True):
        assert shared["train_loss"] == pytest.approx(alone["train_loss"], rel=LOSS_TOLERANCE)
        assert shared["val_loss"] == pytest.approx(alone["val_loss"], rel=LOSS_TOLERANCE)

    # a normal run: listed, and its network exported to ONNX
    capsys.readouterr()
    assert main(["runs", "--out", str(tmp_path / "two")]) == 0
    assert f"{two.name}  completed" in capsys.readouterr().out
    assert main(["export", str(two), "--pipeline", "LeNet-5"]) == 0
    assert (two / "exports" / "lenet-5.onnx").is_file()


def test_a_failing_process_stops_every_one_and_the_run_names_it(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "fragile.py").write_text(FRAGILE_PLUGIN)
    experiment = write_experiment(tmp_path, "fragile")
    result = cvstudio("-m", "cvstudio", "run", str(experiment), "--out", str(tmp_path / "runs"), "--nproc", "2",
                      env={"CVSTUDIO_PLUGIN_PATH": str(plugins)})
    assert result.returncode == 1
    assert "error: process 1 of 2 failed: ValueError: fragile broke on purpose" in result.stderr
    assert "process 1 of 2 failed first (exit status 1); torchrun stopped the others" in result.stderr
    assert "Traceback" not in result.stderr
    run = only_run(tmp_path / "runs")
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "failed" and "process 1 of 2 failed: ValueError: fragile broke" in status["error"]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["pipelines"]["moments"]["kind"] == "classical"  # what finished before is kept
    assert epochs(run), "the epoch before the failure is recorded"
    assert left_running(experiment) == []


def test_ctrl_c_stops_every_process_and_the_run_is_marked_cancelled(tmp_path):
    experiment = write_experiment(tmp_path)
    experiment.write_text(experiment.read_text().replace("epochs = 3", "epochs = 1000"))
    launcher = subprocess.Popen([sys.executable, "-m", "cvstudio", "run", str(experiment), "--out", str(tmp_path / "runs"),
                                 "--nproc", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 240
        while not list(tmp_path.glob("runs/*/metrics.jsonl")) or not epochs(only_run(tmp_path / "runs")):
            assert launcher.poll() is None and time.monotonic() < deadline, launcher.stderr.read() if launcher.poll() else ""
            time.sleep(0.5)
        launcher.send_signal(signal.SIGINT)  # what Ctrl-C in its terminal does; torchrun passes it on
        _, err = launcher.communicate(timeout=120)
    finally:
        launcher.kill()
    assert launcher.returncode == 130, err
    run = only_run(tmp_path / "runs")
    assert json.loads((run / "status.json").read_text())["status"] == "cancelled"
    assert "interrupted during epoch" in json.loads((run / "summary.json").read_text())["stopped"]
    assert "the run so far is kept, marked cancelled" in err and "Traceback" not in err
    assert left_running(experiment) == []


@pytest.mark.slow  # the sharing of a problem between processes is also tested in tests/core/test_distributed.py
def test_a_problem_in_the_experiment_is_said_once_and_nothing_is_run(tmp_path):
    experiment = write_experiment(tmp_path, "no-such-model")
    result = cvstudio("-m", "cvstudio", "run", str(experiment), "--out", str(tmp_path / "runs"), "--nproc", "2")
    assert result.returncode == 1
    assert result.stderr.count("unknown model 'no-such-model'") == 1
    assert not (tmp_path / "runs").exists()
    assert left_running(experiment) == []


def test_nproc_must_be_a_number_of_processes(tmp_path, capsys):
    experiment = write_experiment(tmp_path)
    assert main(["run", str(experiment), "--nproc", "0"]) == 1
    assert "--nproc 0: give the number of processes to train with, 1 or more" in capsys.readouterr().err
