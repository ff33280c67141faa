"""The live part of the Inference view: a video file or a webcam through the model, top-k painted on.

The stream runs in a worker (:func:`cvstudio.core.inference_jobs.stream_video`)
as fast as frames come; the view keeps only the newest frame and draws it on
the window's timer tick, so a fast stream never floods the GUI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout

from cvstudio.core.inference import Predictor
from cvstudio.core.inference_jobs import LiveFrame, stream_video
from cvstudio.qt.images import to_pixmap
from cvstudio.qt.workers import Job, Worker
from cvstudio.qt.widgets import name_widget

FRAME_SIDE = 360
Launch = Callable[[str, Job, Callable[[Worker], None] | None], Worker]  # the main window's job starter


class LiveView(QGroupBox):
    """Open a video or start a camera; shows the newest frame, its top-k classes, FPS and latency."""

    def __init__(self, launch: Launch, predictor: Callable[[], Predictor | None],
                 topk: Callable[[], int]) -> None:
        super().__init__("Live: video file or webcam")
        self.launch, self.predictor, self.topk = launch, predictor, topk
        self.worker: Worker | None = None
        self.latest: LiveFrame | None = None
        self.frame = QLabel("The video or webcam shows here", alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.frame.setMinimumSize(FRAME_SIDE * 2 // 3, FRAME_SIDE * 2 // 3)
        self.rate = QLabel("")
        self.camera = name_widget(QSpinBox(minimum=0, maximum=99, toolTip="Camera number: 0 is the first"),
                                  "camera", "Camera number")
        self.stop_button = QPushButton("Stop", clicked=self.stop, enabled=False)
        video, camera = QHBoxLayout(), QHBoxLayout()  # two rows, so the view fits beside the others
        video.addWidget(QPushButton("Open video…", clicked=self.choose_video))
        video.addWidget(self.stop_button)
        camera.addWidget(QLabel("Camera"))
        camera.addWidget(self.camera, 1)
        camera.addWidget(QPushButton("Start camera", clicked=lambda: self.start(self.camera.value())))
        layout = QVBoxLayout(self)
        layout.addLayout(video)
        layout.addLayout(camera)
        layout.addWidget(self.frame, 1)
        layout.addWidget(self.rate)

    @Slot()
    def choose_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video", str(Path.home()),
                                              "Videos (*.mp4 *.avi *.mkv *.mov *.webm);;All files (*)")
        if path:
            self.start(Path(path))

    def start(self, source: int | Path) -> None:
        """Stream a camera (its number) or a video file through the current model."""
        predictor, topk = self.predictor(), self.topk()
        if predictor is None:
            self.rate.setText("Choose a model first: export a run or open an .onnx file.")
            return

        def job(state: Any) -> Any:
            return stream_video(predictor, source, state, topk)

        self.rate.setText(f"Opening {'camera ' + str(source) if isinstance(source, int) else source.name}…")
        self.worker = self.launch("inference-live", job, self._done)
        self.stop_button.setEnabled(True)

    @Slot()
    def stop(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _done(self, worker: Worker) -> None:
        self.refresh()  # the last frame first, so the final message is not drawn over
        self.worker = None
        self.stop_button.setEnabled(False)
        if worker.result is not None:
            self.rate.setText(f"{self.rate.text()} — stopped after {worker.result} frames")
        elif worker.error is not None:
            self.rate.setText(f"Stopped: {worker.error}")

    def refresh(self) -> None:
        """The timer tick: draw only the newest frame, whatever the stream's rate."""
        frame, self.latest = self.latest, None
        if frame is None:
            return
        self.frame.setPixmap(overlay(to_pixmap(frame.image, FRAME_SIDE), frame.prediction.top))
        predictor = self.predictor()
        where = f" on {predictor.providers[0]}" if predictor is not None else ""
        self.rate.setText(f"frame {frame.index} · {frame.fps:.1f} FPS · model latency {frame.latency_ms:.2f} ms{where}")


def overlay(pixmap: QPixmap, top: Sequence[tuple[str, Any]]) -> QPixmap:
    """The top-k classes written over the frame, on a dark band so they read on any image."""
    painter = QPainter(pixmap)
    line = painter.fontMetrics().height() + 2
    painter.fillRect(0, 0, pixmap.width(), line * len(top) + 6, QColor(0, 0, 0, 160))
    painter.setPen(QColor("white"))
    for i, (label, probability) in enumerate(top):
        painter.drawText(6, 3 + line * (i + 1) - 4, f"{label}  {probability:.1%}")
    painter.end()
    return pixmap
