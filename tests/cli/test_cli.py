import json
import re
import os
import subprocess
import sys
import textwrap

import pytest

from cvstudio.cli import main
from cvstudio.testing import write_tiny_experiment

TINY_PLUGIN = """
from cvstudio import hookimpl, DatasetSpec
@hookimpl
def cvstudio_register_datasets():
    return [DatasetSpec(name="tiny", description="Tiny.", factory="cvstudio.testing:make_tiny_dataset")]
"""


@pytest.fixture
def tiny_plugin(tmp_path, monkeypatch):
    directory = tmp_path / "plugins"
    directory.mkdir()
    (directory / "tinydata.py").write_text(TINY_PLUGIN)
    monkeypatch.setenv("CVSTUDIO_PLUGIN_PATH", str(directory))
    return directory


def write(tmp_path, text, name="exp.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_run_prints_summary_and_writes_run(tmp_path, tiny_plugin, capsys):
    experiment = write_tiny_experiment(
        tmp_path / "exp.toml", title="cli tiny", dataset={"name": "tiny"}, split=None,
        classical=[{"features": ["color-moments"], "classifier": "knn"}], deep=[{"model": "mlp"}], epochs=3)
    out = tmp_path / "runs"
    assert main(["run", str(experiment), "--out", str(out), "--epochs", "1"]) == 0
    captured = capsys.readouterr()
    assert "cli tiny — completed" in captured.out and "color-moments → knn" in captured.out
    assert "epoch 1/1" in captured.err
    (run_dir,) = out.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and set(summary["pipelines"]) == {"color-moments → knn", "mlp"}


@pytest.mark.parametrize(
    "text, message",
    [
        ('[dataset]\nname = "nope"\n[[deep]]\nmodel = "mlp"\n', "unknown dataset 'nope'"),
        ('[dataset]\nname = "tiny"\n[[deep]]\nmodel = "mlp"\nepochs = -1\n', "below its minimum 1"),
        ("[dataset\n", "not valid TOML"),
    ],
)
def test_run_errors_exit_nonzero_with_one_clear_line(tmp_path, tiny_plugin, capsys, text, message):
    assert main(["run", str(write(tmp_path, text))]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_run_override_is_validated(tmp_path, tiny_plugin, capsys):
    experiment = write(tmp_path, '[dataset]\nname = "tiny"\n[[deep]]\nmodel = "mlp"\n')
    assert main(["run", str(experiment), "--device", "tpu"]) == 1
    assert "choose one of 'auto', 'cpu', 'cuda', 'mps'" in capsys.readouterr().err


def test_failed_run_is_kept_and_marked(tmp_path, tiny_plugin, capsys, monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    experiment = write(tmp_path, '[dataset]\nname = "tiny"\n[[deep]]\nmodel = "mlp"\ndevice = "cuda"\n')
    out = tmp_path / "runs"
    assert main(["run", str(experiment), "--out", str(out)]) == 1
    assert "marked failed" in capsys.readouterr().err
    (run_dir,) = out.iterdir()
    assert json.loads((run_dir / "status.json").read_text())["status"] == "failed"


def test_plugins_lists_builtins_and_errors(tmp_path, monkeypatch, capsys):
    (tmp_path / "broken.py").write_text("raise ImportError('missing dependency: cupy')\n")
    monkeypatch.setenv("CVSTUDIO_PLUGIN_PATH", str(tmp_path))
    assert main(["plugins"]) == 1  # an error is present
    out = capsys.readouterr().out
    for name in ("lenet5", "hog", "shapes", "rbf-svm"):
        assert name in out
    assert "broken  [file]  failed" in out and "missing dependency: cupy" in out
    assert main(["plugins", "--json"]) == 1
    listing = json.loads(capsys.readouterr().out)
    assert {p["name"]: p["source"] for p in listing}["models"] == "built-in"


def test_listing_plugins_imports_neither_torch_nor_qt():
    code = (
        "import sys, io, contextlib\n"
        "from cvstudio.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['plugins'])\n"
        "heavy = [m for m in ('torch', 'PySide6', 'pyqtgraph', 'torchvision', 'cv2') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_gui_without_display_explains_and_shows_the_headless_command(monkeypatch, capsys):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert main(["gui"]) == 2
    err = capsys.readouterr().err
    assert "no display found" in err and "cvstudio run" in err and "course.toml" in err


def test_python_dash_m_entry_point():
    result = subprocess.run([sys.executable, "-m", "cvstudio", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "run" in result.stdout and "plugins" in result.stdout


def test_no_command_opens_the_app_on_the_default_course(monkeypatch):
    import cvstudio.qt.app

    opened = []
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setattr(cvstudio.qt.app, "run_app", lambda experiment: opened.append(experiment) or 0)
    assert main([]) == 0
    assert [path.name for path in opened] == ["course.toml"]


def test_no_command_without_display_says_what_to_do():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "cvstudio"], capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert "no display found" in result.stderr and "xvfb-run cvstudio" in result.stderr


BROKEN_CLASSIFIER = """
from cvstudio import hookimpl, ClassifierSpec

def build():
    raise ValueError("no estimator today")

@hookimpl
def cvstudio_register_classifiers():
    return [ClassifierSpec(name="broken", description="Raises.", factory=build)]
"""


def test_a_failing_pipeline_is_reported_and_the_others_run_as_in_the_app(tmp_path, tiny_plugin, capsys):
    (tiny_plugin / "brokenclassifier.py").write_text(BROKEN_CLASSIFIER)
    experiment = write_tiny_experiment(
        tmp_path / "exp.toml", title="one broken", dataset={"name": "tiny"}, split=None,
        classical=[{"label": "broken", "features": ["color-moments"], "classifier": "broken"}],
        deep=[{"model": "mlp"}], epochs=1)
    out = tmp_path / "runs"
    assert main(["run", str(experiment), "--out", str(out), "--report", str(tmp_path / "report.html")]) == 1
    captured = capsys.readouterr()
    assert "one broken — failed" in captured.out
    assert (tmp_path / "report.html").exists() and "mlp" in (tmp_path / "report.html").read_text()
    assert re.search(r"^mlp +deep .*\d\.\d{3}", captured.out, re.MULTILINE)
    assert "broken  classical  FAILED: classifier 'broken' from plugin 'brokenclassifier'" in captured.out
    assert "epoch 1/1" in captured.err and "  FAILED: classifier 'broken'" in captured.err
    assert "error: 1 of 2 pipeline(s) failed" in captured.err and "marked failed" in captured.err
    (run_dir,) = out.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "failed" and set(summary["pipelines"]) == {"mlp"}


def fill_the_disk(monkeypatch, fails):
    """Writes of files for which ``fails(name, data)`` is true stop half-way with ENOSPC, as on a full disk."""
    import errno
    from pathlib import Path

    def failing(real):
        def write(self, data, *args, **kwargs):
            if fails(self.name, data):
                real(self, data[: len(data) // 2], *args, **kwargs)
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(self, data, *args, **kwargs)
        return write

    monkeypatch.setattr(Path, "write_text", failing(Path.write_text))
    monkeypatch.setattr(Path, "write_bytes", failing(Path.write_bytes))


FULL_DISK_EXPERIMENT = '[dataset]\nname = "tiny"\n[[deep]]\nmodel = "mlp"\nepochs = 2\n'


def test_a_full_disk_names_the_file_and_the_status_says_what_was_written(tmp_path, tiny_plugin, capsys, monkeypatch):
    fill_the_disk(monkeypatch, lambda name, data: ".summary.json." in name)
    out = tmp_path / "runs"
    assert main(["run", str(write(tmp_path, FULL_DISK_EXPERIMENT)), "--out", str(out)]) == 1
    (run_dir,) = out.iterdir()
    err = capsys.readouterr().err
    assert f"error: could not write {run_dir / 'summary.json'}: No space left on device" in err
    assert f"the run so far is kept, marked failed, in {run_dir}" in err
    assert json.loads((run_dir / "status.json").read_text())["status"] == "failed"
    assert not [p for p in run_dir.rglob("*") if p.name.endswith(".tmp")]


def test_a_full_disk_that_takes_the_status_too_is_not_reported_as_marked(tmp_path, tiny_plugin, capsys, monkeypatch):
    def fails(name, data):
        final_status = ".status.json." in name and '"running"' not in str(data)
        return final_status or ".mlp.pt." in name or ".summary.json." in name

    fill_the_disk(monkeypatch, fails)
    out = tmp_path / "runs"
    assert main(["run", str(write(tmp_path, FULL_DISK_EXPERIMENT)), "--out", str(out)]) == 1
    (run_dir,) = out.iterdir()
    err = capsys.readouterr().err
    assert f"error: could not write {run_dir / 'checkpoints' / 'mlp.pt'}: No space left on device" in err
    assert "marked failed" not in err and "its status could not be written" in err
    assert json.loads((run_dir / "status.json").read_text())["status"] == "running"
    assert not [p for p in run_dir.rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_end_a_run_like_ctrl_c(tmp_path, tiny_plugin, signal_name):
    import signal
    import time

    signum = getattr(signal, signal_name)
    experiment = write(tmp_path, '[dataset]\nname = "tiny"\n[[deep]]\nmodel = "mlp"\nepochs = 1000\n')
    out = tmp_path / "runs"
    process = subprocess.Popen([sys.executable, "-m", "cvstudio", "run", str(experiment), "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not list(out.glob("*/checkpoints/mlp.pt")) and time.time() < deadline and process.poll() is None:
        time.sleep(0.1)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signum
    (run_dir,) = out.iterdir()
    assert f"cancelled; the run so far is kept, marked cancelled, in {run_dir}" in err
    assert json.loads((run_dir / "status.json").read_text())["status"] == "cancelled"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "cancelled"
    assert summary["stopped"].startswith(f"{signal_name} during epoch ") and summary["stopped"].endswith(" of 'mlp'")


def test_run_says_which_files_were_skipped_and_why_and_keeps_opencv_quiet(
    tmp_path, folder_with_bad_files, capfd, monkeypatch
):
    import cv2

    from cvstudio.core.image_files import quiet_opencv

    experiment = write(tmp_path, f"""
        title = "my photos"
        [dataset]
        name = "image-folder"
        params = {{ root = "{folder_with_bad_files.as_posix()}", image_size = 16 }}
        [[classical]]
        features = ["color-moments"]
        classifier = "knn"
    """)
    monkeypatch.delenv("OPENCV_LOG_LEVEL", raising=False)
    previous = cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_WARNING)  # as a fresh process starts
    quiet_opencv.cache_clear()  # which has not quietened OpenCV yet
    try:
        reports = []
        for _ in range(2):  # decoded, then read back from the image-folder cache
            assert main(["run", str(experiment), "--out", str(tmp_path / "runs")]) == 0
            reports.append(capfd.readouterr())
    finally:
        cv2.utils.logging.setLogLevel(previous)
    decoded, cached = reports
    expected = "\n".join([
        "5 files skipped (not used):",
        f"  {folder_with_bad_files / 'cat' / 'a-truncated.png'}: not a readable image: the file is empty, corrupt "
        "or in an unsupported format",
        f"  {folder_with_bad_files / 'dog' / 'b-notes.jpg'}: not a readable image: the file is empty, corrupt "
        "or in an unsupported format",
        f"  {folder_with_bad_files / 'dog' / 'c-empty.png'}: not a readable image: the file is empty, corrupt "
        "or in an unsupported format",
        "  … and 2 more",
    ])
    assert expected in decoded.err and expected in cached.err
    for output in (decoded.out + decoded.err, cached.out + cached.err):
        assert "WARN" not in output and "PNG input buffer" not in output  # OpenCV's own warnings stay off
    for run_dir in (tmp_path / "runs").iterdir():
        log = (run_dir / "log.txt").read_text(encoding="utf-8")
        assert expected in log
        skipped = json.loads((run_dir / "summary.json").read_text())["dataset"]["skipped"]
        assert len(skipped) == 5 and skipped[-1]["reason"].startswith("not an image file")
