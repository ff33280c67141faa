"""`cvstudio --selftest`: does this installation work? What a support request asks a user to run.

Each check runs on its own and records whether it worked, how long it took
and what it found: the main window opens (and is photographed), the plugins
load, a tiny network trains a step on the bundled shapes, exports to ONNX and
runs in ONNX Runtime. The JSON summary says it all; the exit status is 0 only
if every check passed.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from cvstudio import __version__

# Small enough for a few seconds on a laptop CPU, big enough to train and export a real network.
TINY_EXPERIMENT = {
    "title": "Self-test",
    "dataset": {"name": "shapes", "params": {"per_class": 16, "image_size": 32}},
    "split": {"val": 0.25, "test": 0.25, "seed": 0},
    "deep": [{"label": "LeNet-5", "model": "lenet5", "epochs": 1, "batch_size": 16, "device": "cpu"}],
}


@dataclass
class Check:
    name: str
    ok: bool
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def run_check(name: str, check: Callable[[], dict[str, Any]]) -> Check:
    """Run one check; an exception fails this check only, with its message and traceback kept."""
    start = time.perf_counter()
    try:
        details = check()
    except Exception as exc:  # noqa: BLE001 - every failure is a result to report
        return Check(name, False, time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}",
                     details={"traceback": traceback.format_exc()})
    return Check(name, True, time.perf_counter() - start, details)


def check_plugins() -> dict[str, Any]:
    """Every plugin with its status; the built-ins must all load."""
    from cvstudio.plugins import BUILTIN, load_registry

    registry = load_registry()
    plugins = {info.name: {"source": info.source, "status": info.status} for info in registry.plugins.values()}
    broken = [name for name, info in registry.plugins.items() if info.source == BUILTIN and info.status != "ok"]
    if not any(info.source == BUILTIN for info in registry.plugins.values()):
        raise RuntimeError("no built-in plugin was found: the cvstudio entry points are missing")
    if broken:
        raise RuntimeError(f"built-in plugins failed to load: {', '.join(broken)}")
    return {"plugins": plugins}


def check_training_export_inference(workdir: Path) -> dict[str, Any]:
    """Train a tiny LeNet for one epoch, export it to ONNX, and classify test images in ONNX Runtime."""
    from cvstudio.core.experiment import load_dataset, parse_experiment, run_experiment, split_dataset
    from cvstudio.core.export import export_run
    from cvstudio.core.inference import Predictor
    from cvstudio.core.runs import RunStore
    from cvstudio.core.tasks import TaskState
    from cvstudio.plugins import load_registry

    registry = load_registry()
    experiment = parse_experiment(TINY_EXPERIMENT, registry)
    run = RunStore(workdir / "runs").create(experiment.title)
    events = run_experiment(experiment, registry, run, TaskState())
    while True:
        try:
            next(events)
        except StopIteration as stop:
            summary = stop.value
            break
    pipeline = summary["pipelines"]["LeNet-5"]
    exported = export_run(run.path, registry, workdir / "selftest.onnx")
    predictor = Predictor(exported.path, provider="cpu")
    dataset = load_dataset(experiment, registry)
    test = split_dataset(experiment, dataset).test[:8]
    predictions = predictor.predict(dataset.images[test], topk=1)
    if len(predictions) != len(test):
        raise RuntimeError(f"ONNX Runtime returned {len(predictions)} predictions for {len(test)} images")
    import onnxruntime
    import torch

    return {
        "training": {"status": summary["status"], "val_accuracy": pipeline["val_accuracy"],
                     "seconds": pipeline["seconds"]},
        "export": {"exporter": exported.exporter, "max_abs_diff": exported.max_abs_diff,
                   "bytes": exported.path.stat().st_size},
        "inference": {"providers": predictor.providers, "images": len(predictions),
                      "agree_with_labels": sum(p.label == dataset.class_names[dataset.labels[i]]
                                               for p, i in zip(predictions, test))},
        "torch": torch.__version__, "cuda": torch.cuda.is_available(), "onnxruntime": onnxruntime.__version__,
    }


def environment() -> dict[str, Any]:
    return {
        "cvstudio": __version__, "python": platform.python_version(), "platform": platform.platform(),
        "executable": sys.executable, "frozen": bool(getattr(sys, "frozen", False)),
    }


def run_selftest(screenshot: Path | None = None, summary_path: Path | None = None,
                 window_check: Callable[[Path | None], dict[str, Any]] | None = None) -> tuple[bool, dict[str, Any]]:
    """Run every check; returns (all passed, the summary), also written to ``summary_path`` if given.

    ``window_check`` opens the main window (the Qt part lives under cvstudio.qt);
    without it, or without a display, that check fails with the reason.
    """
    start = time.perf_counter()
    checks = [run_check("window", lambda: _window(window_check, screenshot)), run_check("plugins", check_plugins)]
    with tempfile.TemporaryDirectory(prefix="cvstudio-selftest-") as workdir:
        checks.append(run_check("train-export-infer", lambda: check_training_export_inference(Path(workdir))))
    summary = {"ok": all(c.ok for c in checks), **environment(), "wall_seconds": time.perf_counter() - start,
               "checks": [asdict(c) for c in checks]}
    if summary_path is not None:
        _write_atomically(Path(summary_path), json.dumps(summary, indent=2, default=str))
    return summary["ok"], summary


def _window(window_check: Callable[[Path | None], dict[str, Any]] | None, screenshot: Path | None) -> dict[str, Any]:
    if window_check is None:
        raise RuntimeError("no display: the window cannot open (run under a desktop session, or xvfb-run)")
    return window_check(screenshot)


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def format_checks(summary: dict[str, Any]) -> str:
    """One line per check, for the terminal."""
    lines = []
    for check in summary["checks"]:
        outcome = "ok" if check["ok"] else f"FAILED: {check['error']}"
        lines.append(f"{check['name']:<20} {check['seconds']:6.1f} s  {outcome}")
    lines.append(f"{'self-test':<20} {summary['wall_seconds']:6.1f} s  {'passed' if summary['ok'] else 'FAILED'}")
    return "\n".join(lines)
