"""`cvstudio --selftest`: every check really runs, a failure fails the test and is reported, nothing else stops."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtGui import QImage

import cvstudio.selftest
from cvstudio.cli import main


def test_selftest_opens_the_window_trains_exports_and_infers(tmp_path, capsys):
    screenshot, summary_file = tmp_path / "shot.png", tmp_path / "summary.json"
    assert main(["--selftest", "--screenshot", str(screenshot), "--summary", str(summary_file)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary == json.loads(summary_file.read_text())
    checks = {check["name"]: check for check in summary["checks"]}
    assert summary["ok"] and all(check["ok"] for check in checks.values())
    assert checks["window"]["details"]["title"].startswith("cvstudio — ")
    assert checks["plugins"]["details"]["plugins"]["models"] == {"source": "built-in", "status": "ok"}
    result = checks["train-export-infer"]["details"]
    assert result["training"]["status"] == "completed"
    assert result["export"]["max_abs_diff"] < 1e-3 and result["inference"]["images"] == 8
    assert result["inference"]["providers"] == ["CPUExecutionProvider"]
    image = QImage(str(screenshot))
    pixels = np.frombuffer(image.convertToFormat(QImage.Format.Format_RGB888).constBits(), np.uint8)
    assert image.width() > 800 and len(np.unique(pixels)) > 50  # a painted window, not a blank one


def test_a_failing_check_fails_the_selftest_and_the_others_still_run(monkeypatch, tmp_path):
    ran = []
    monkeypatch.setattr(cvstudio.selftest, "check_plugins", lambda: ran.append("plugins") or {"plugins": {}})
    monkeypatch.setattr(cvstudio.selftest, "check_training_export_inference",
                        lambda workdir: (_ for _ in ()).throw(RuntimeError("ONNX Runtime is missing")))
    ok, summary = cvstudio.selftest.run_selftest(summary_path=tmp_path / "s.json", window_check=None)
    checks = {check["name"]: check for check in summary["checks"]}
    assert not ok and not summary["ok"] and ran == ["plugins"]
    assert checks["window"]["error"].startswith("RuntimeError: no display")
    assert checks["train-export-infer"]["error"] == "RuntimeError: ONNX Runtime is missing"
    assert "Traceback" in checks["train-export-infer"]["details"]["traceback"]
    assert json.loads((tmp_path / "s.json").read_text())["ok"] is False


def test_selftest_without_a_display_exits_1_and_says_why(monkeypatch, capsys):
    monkeypatch.setattr("cvstudio.cli.gui.has_display", lambda: False)
    monkeypatch.setattr(cvstudio.selftest, "check_training_export_inference", lambda workdir: {})
    assert main(["--selftest"]) == 1
    err = capsys.readouterr().err
    assert "window" in err and "FAILED: RuntimeError: no display" in err and "self-test" in err
