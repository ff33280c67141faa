"""Runs are directories: config, metrics as JSON lines, summary, evaluations, checkpoints, log.

Every file but the append-only metrics and log is written atomically
(temporary file + ``os.replace``), so a run interrupted at any moment stays
readable, and its status says whether it completed, was cancelled or failed.
A running run's status also names its process and host and carries a
heartbeat, so a run whose process died (killed, out of memory, power cut)
reads as *interrupted* rather than running forever. docs/runs.md says what
is guaranteed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

RUNS_DIR_ENV = "CVSTUDIO_RUNS_DIR"
STATUS_FILE, CONFIG_FILE, SUMMARY_FILE = "status.json", "config.json", "summary.json"
METRICS_FILE, LOG_FILE = "metrics.jsonl", "log.txt"
RUNNING, INTERRUPTED, UNREADABLE = "running", "interrupted", "unreadable"
# A running run rewrites its status this often (between the events of its work); one whose
# heartbeat is this much older and whose process cannot be looked at (it ran on another
# host, or before processes were recorded) is taken for interrupted.
HEARTBEAT_S, STALE_AFTER_S = 30.0, 300.0
# What a metrics record of these kinds must hold for its readers (curves, reports) to use it.
_NUMBER = (int, float)
METRIC_FIELDS: dict[str, dict[str, Any]] = {
    "epoch": {"pipeline": str, "epoch": int, "epochs": int, "train_loss": _NUMBER, "train_accuracy": _NUMBER,
              "val_loss": _NUMBER, "val_accuracy": _NUMBER, "seconds": _NUMBER, "images_per_s": _NUMBER},
    "final": {"pipeline": str, "val_accuracy": _NUMBER, "test_accuracy": _NUMBER},
}
# Longest slug in a file or folder name: file systems refuse names over 255 bytes.
SLUG_LENGTH = 60


def default_runs_dir() -> Path:
    """``$CVSTUDIO_RUNS_DIR``, else the user's data directory."""
    if os.environ.get(RUNS_DIR_ENV):
        return Path(os.environ[RUNS_DIR_ENV])
    import platformdirs

    return Path(platformdirs.user_data_dir("cvstudio")) / "runs"


def slugify(text: str) -> str:
    """Lowercase letters, digits and hyphens, at most SLUG_LENGTH characters: safe in any file name."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower())[:SLUG_LENGTH].strip("-") or "run"


def file_stems(labels: Iterable[str]) -> dict[str, str]:
    """A file-name stem for each label, distinct for distinct labels.

    A label's stem is its slug; labels whose slugs coincide ("CNN +aug" and
    "CNN -aug" are both ``cnn-aug``) each get a short hash of their exact text
    added, so that they do not overwrite each other's files.
    """
    slugs = {label: slugify(label) for label in labels}
    shared = Counter(slugs.values())
    return {label: slug if shared[slug] == 1 else f"{slug}-{hashlib.sha1(label.encode('utf-8')).hexdigest()[:8]}"
            for label, slug in slugs.items()}


class UnreadableRun(ValueError):
    """One of a run's files cannot be read as what it should hold; the message names the file and why.

    Readers show such a run as *unreadable* and go on with the others.
    """


class WriteError(OSError):
    """A run's file could not be written (a full disk, say); the message names the file."""

    def __init__(self, path: Path, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause), str(path))
        self.path = Path(path)

    def __str__(self) -> str:
        return f"could not write {self.path}: {self.strerror}"


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Have ``write`` fill a temporary file that then replaces ``path``: readers see the old file or the new one.

    On any failure the temporary file is removed; an OSError becomes a
    :class:`WriteError` naming ``path``.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, WriteError):
            raise WriteError(path, exc) from exc
        raise


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (:func:`atomic_write`)."""
    text = json.dumps(data, indent=2, default=_jsonable)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def append_line(path: Path, line: str) -> None:
    """Append one line to a log-like file; a failure is a :class:`WriteError` naming the file."""
    try:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(line + "\n")
    except OSError as exc:
        raise WriteError(path, exc) from exc


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


@dataclass
class Run:
    path: Path
    _written: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.path.name

    def write(self, name: str, data: Any) -> None:
        write_json(self.path / name, data)

    def read(self, name: str) -> Any:
        return json.loads((self.path / name).read_text(encoding="utf-8"))

    def file_stem(self, label: str) -> str:
        """The name of what the run saves for pipeline ``label``: distinct among the pipelines of its config."""
        try:
            config = self.read(CONFIG_FILE)
            labels = [p["label"] for part in ("classical", "deep") for p in config.get(part, [])]
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            labels = []
        return file_stems([*map(str, labels), label])[label]

    def checkpoint_path(self, label: str) -> Path:
        """Where pipeline ``label``'s network is saved."""
        return self.path / "checkpoints" / f"{self.file_stem(label)}.pt"

    def append_metrics(self, record: dict[str, Any]) -> None:
        append_line(self.path / METRICS_FILE, json.dumps(record, default=_jsonable))

    def metrics(self) -> list[dict[str, Any]]:
        """Metric records; a line cut short by a crash, or one that is not a record, is ignored."""
        path = self.path / METRICS_FILE
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        records = []
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if _is_record(record):
                records.append(record)
        return records

    def summary(self) -> dict[str, Any]:
        """The run's summary, checked to be one; empty while the run has not written one yet.

        Raises :class:`UnreadableRun` for a file that is damaged or holds something
        else, so that one bad run is shown as such instead of stopping its readers.
        """
        path = self.path / SUMMARY_FILE
        try:
            summary = self.read(SUMMARY_FILE)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise UnreadableRun(f"{path} cannot be read ({exc})") from None
        problem = _summary_problem(summary)
        if problem:
            raise UnreadableRun(f"{path} is not a run summary: {problem}")
        return summary

    def log(self, message: str) -> None:
        append_line(self.path / LOG_FILE, f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}")

    def set_status(self, status: str, error: str | None = None) -> None:
        """Record ``status``, with who writes it (process, host) and a first heartbeat."""
        now = time.time()
        record: dict[str, Any] = {"status": status, "updated": now, "heartbeat": now, **_this_process()}
        if error:
            record["error"] = error
        self._written = None
        self.write(STATUS_FILE, record)
        self._written = record

    def beat(self) -> None:
        """Refresh the heartbeat of a run this process set running, at most every HEARTBEAT_S.

        A beat that cannot be written (a full disk) is skipped: the run goes on.
        """
        record = self._written
        if record is None or record["status"] != RUNNING or time.time() - record["heartbeat"] < HEARTBEAT_S:
            return
        record["heartbeat"] = time.time()
        try:
            self.write(STATUS_FILE, record)
        except OSError:
            pass

    def status_record(self) -> dict[str, Any] | None:
        """The status file as written, or None when it cannot be read or is not a status."""
        try:
            record = self.read(STATUS_FILE)
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) and isinstance(record.get("status"), str) else None

    @property
    def status(self) -> str:
        """completed, cancelled, failed, running, *interrupted* (its process is gone) or *unreadable*."""
        record = self.status_record()
        if record is None:
            return UNREADABLE
        if record["status"] == RUNNING and not _still_running(record):
            return INTERRUPTED
        return record["status"]


def _is_record(record: Any) -> bool:
    """A metrics line its readers can use: a table, with the fields its kind needs."""
    if not isinstance(record, dict):
        return False
    needed = METRIC_FIELDS.get(record.get("kind"), {})
    return all(isinstance(record.get(name), kind) and not isinstance(record.get(name), bool)
               for name, kind in needed.items())


def _summary_problem(summary: Any) -> str | None:
    """What makes ``summary`` unusable as a run's summary, or None."""
    if not isinstance(summary, dict):
        return f"it holds {type(summary).__name__} {str(summary)[:40]!r}, not a table"
    if not isinstance(summary.get("title", ""), str):
        return "its 'title' is not text"
    pipelines = summary.get("pipelines", {})
    if not isinstance(pipelines, dict) or not all(isinstance(p, dict) for p in pipelines.values()):
        return "its 'pipelines' is not a table of pipeline results"
    for name, record in pipelines.items():
        for key in ("val_accuracy", "test_accuracy"):
            if key in record and (not isinstance(record[key], _NUMBER) or isinstance(record[key], bool)):
                return f"pipeline {name!r} has a {key} that is not a number"
    return None


def _this_process() -> dict[str, Any]:
    """Who is writing a status: enough for another process to tell whether the writer still lives."""
    import psutil

    return {"pid": os.getpid(), "host": socket.gethostname(), "process_started": psutil.Process().create_time()}


def _still_running(record: dict[str, Any]) -> bool:
    """Whether the process that wrote a running status still lives (on this host), else whether it beats."""
    import psutil

    pid, started = record.get("pid"), record.get("process_started")
    if record.get("host") == socket.gethostname() and isinstance(pid, int) and isinstance(started, (int, float)):
        try:
            return abs(psutil.Process(pid).create_time() - started) < 1.0  # not another process given its id
        except psutil.Error:
            return False
    beat = record.get("heartbeat", record.get("updated"))
    return isinstance(beat, (int, float)) and time.time() - beat < STALE_AFTER_S


class RunStore:
    """All runs under one directory, newest first."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_runs_dir()

    def create(self, title: str) -> Run:
        self.root.mkdir(parents=True, exist_ok=True)
        stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{slugify(title)}"
        for attempt in range(1000):
            path = self.root / (stem if attempt == 0 else f"{stem}-{attempt + 1}")
            try:
                path.mkdir()
            except FileExistsError:
                continue
            run = Run(path)
            run.set_status(RUNNING)
            return run
        raise RuntimeError(f"could not create a run directory under {self.root}")

    def runs(self) -> list[Run]:
        if not self.root.is_dir():
            return []
        return [Run(p) for p in sorted(self.root.iterdir(), reverse=True) if (p / STATUS_FILE).exists()]
