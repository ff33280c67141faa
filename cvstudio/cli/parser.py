"""The command line's options: one subcommand per command, each taking ``--debug`` too."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cvstudio", description="Classical computer vision against deep learning, measured live."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.set_defaults(experiment=None)  # plain `cvstudio` is `cvstudio gui` on the default course
    parser.add_argument("--selftest", action="store_true",
                        help="check this installation (window, plugins, training, ONNX export and inference); "
                             "print a JSON summary and exit 0 only if all worked")
    parser.add_argument("--screenshot", type=Path, metavar="FILE", help="with --selftest: save the window to FILE")
    parser.add_argument("--summary", type=Path, metavar="FILE", help="with --selftest: also write the JSON to FILE")
    # --debug also after the command (`cvstudio run x.toml --debug`); SUPPRESS keeps one given before it.
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    sub = _SubcommandsWithDebug(parser.add_subparsers(dest="command", metavar="COMMAND"), debug)
    gui = sub.add_parser("gui", help="open the desktop app (the default command)")
    gui.add_argument("experiment", nargs="?", type=Path, help="experiment or lesson file to open")
    gui.add_argument("--screenshot", type=Path, metavar="PNG", default=argparse.SUPPRESS,
                     help="save a picture of the window once its data are in, then exit (no user settings changed)")
    gui.add_argument("--view", metavar="NAME", help="with --screenshot: the view to show, e.g. training, activations")
    run = sub.add_parser("run", help="run an experiment file (or every step of a lesson) headless, saving runs")
    run.add_argument("experiment", type=Path,
                     help="experiment or lesson TOML file, e.g. resources/lessons/why-deep-learning.toml")
    run.add_argument("--step", type=int, help="for a lesson: run only this step's experiment (from 1)")
    run.add_argument("--report", type=Path, help="also write an HTML report of the runs made to this file")
    run.add_argument("--out", type=Path, help="runs directory (default: $CVSTUDIO_RUNS_DIR or the user data dir)")
    run.add_argument("--epochs", type=int, help="override the epochs of every deep pipeline")
    run.add_argument("--device", help="override the device of every deep pipeline: auto, cpu, cuda, mps")
    run.add_argument("--nproc", type=int, metavar="N",
                     help="train the deep pipelines in N processes with DistributedDataParallel, started by "
                          "torchrun (see docs/distributed-training.md)")
    run.add_argument("--cluster", metavar="ADDRESS",
                     help="run the study's cells as Ray tasks: on the cluster at HOST:PORT, 'auto' ($RAY_ADDRESS), "
                          "or 'local' (a Ray runtime on this computer); see docs/cluster.md")
    run.add_argument("--cpus-per-cell", type=float, default=1.0, metavar="N",
                     help="with --cluster: CPUs each cell asks of its node (default 1)")
    run.add_argument("--gpus-per-cell", type=float, default=0.0, metavar="N",
                     help="with --cluster: GPUs each cell asks of its node, e.g. 1 or 0.5 (default 0)")
    run.add_argument("--retries", type=int, default=2, metavar="N",
                     help="with --cluster: how often a cell whose worker or node was lost starts again (default 2)")
    plugins = sub.add_parser("plugins", help="list plugins, what they provide and their errors")
    plugins.add_argument("--json", action="store_true", help="machine-readable output")
    plugin = sub.add_parser("plugin", help="write a plugin (`plugin new`) and check it (`plugin check`)")
    plugin_sub = _SubcommandsWithDebug(plugin.add_subparsers(dest="plugin_command", metavar="ACTION", required=True),
                                       debug)
    new = plugin_sub.add_parser("new", help="create an installable plugin package whose tests already pass")
    new.add_argument("name", help="plugin name, e.g. cvstudio-texture (the package: cvstudio_texture)")
    new.add_argument("--kind", required=True, action="append", metavar="KIND",
                     help="what it provides: feature, classifier, model, dataset, panel; several as "
                          "--kind feature,model or --kind feature --kind model")
    new.add_argument("--dir", type=Path, default=Path("."), help="where to create the package folder (default: here)")
    check = plugin_sub.add_parser("check", help="load plugins as the app does and run the contract checks on "
                                                "every component they provide; exit status 1 on any failure")
    check.add_argument("names", nargs="*", metavar="NAME",
                       help="plugins to check, as `cvstudio plugins` lists them (default: every one not built in)")
    install = plugin_sub.add_parser(
        "install", help="install a plugin for this user, without pip: a wheel, a project folder or a .py file")
    install.add_argument("source", type=Path, metavar="PATH", help="a .whl, a plugin project folder or a .py plugin")
    runs = sub.add_parser("runs", help="list saved runs")
    runs.add_argument("--out", type=Path, help="runs directory")
    runs.add_argument("--csv", type=Path, help="write every run's results (one row per pipeline) to this CSV file")
    report = sub.add_parser("report", help="write a self-contained HTML report of runs, or of a lesson's latest runs")
    report.add_argument("run_dirs", type=Path, nargs="*", metavar="RUN_DIR", help="run folders, as `cvstudio runs` lists them")
    report.add_argument("--lesson", type=Path, help="instead: the newest run of each of this lesson's experiments")
    report.add_argument("--out", type=Path, help="with --lesson: the runs directory to look in")
    report.add_argument("-o", "--output", type=Path,
                        help="HTML file to write (default: RUN_DIR/report.html, or LESSON-report.html here)")
    export = sub.add_parser("export", help="export a run's trained network to ONNX, verified against torch")
    export.add_argument("run_dir", type=Path, help="the run's folder, as `cvstudio runs` lists it")
    export.add_argument("-o", "--output", type=Path, help="ONNX file to write (default: RUN_DIR/exports/<pipeline>.onnx)")
    export.add_argument("--pipeline", help="which deep pipeline, by label (needed when the run has several)")
    predict = sub.add_parser("predict", help="classify images with an ONNX model in ONNX Runtime")
    predict.add_argument("model", type=Path, help="an .onnx file: a cvstudio export or any image classifier")
    predict.add_argument("images", type=Path, nargs="+", help="image files and folders of images")
    predict.add_argument("--provider", default="auto", help="auto (TensorRT > CUDA > CPU), cpu, cuda or tensorrt")
    predict.add_argument("--topk", type=int, default=3, help="how many classes to show per image")
    predict.add_argument("--csv", type=Path, help="also write every prediction to this CSV file")
    predict.add_argument("--config", type=Path,
                         help="preprocessing config (JSON); the keys it holds change the model's own or guessed "
                              "preprocessing, the others keep it, e.g. {\"invert\": true} "
                              "(default: MODEL.preprocess.json if present)")
    predict.add_argument("--labels", type=Path, help="class names, one a line (default: MODEL.labels.txt if present)")
    predict.add_argument("--batch-size", type=int, default=32, help="images per ONNX Runtime call")
    return parser


class _SubcommandsWithDebug:
    """Adds every subcommand with the shared ``--debug`` option."""

    def __init__(self, subparsers: Any, debug: argparse.ArgumentParser) -> None:
        self.subparsers, self.debug = subparsers, debug

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return self.subparsers.add_parser(name, parents=[self.debug], **kwargs)
