"""Runs are directories: config, metrics as JSON lines, summary, evaluations, checkpoints, log.

Every file but the append-only metrics and log is written atomically
(temporary file + ``os.replace``), so a run interrupted at any moment stays
readable, and its status says whether it completed, was cancelled or failed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

RUNS_DIR_ENV = "CVSTUDIO_RUNS_DIR"
STATUS_FILE, CONFIG_FILE, SUMMARY_FILE = "status.json", "config.json", "summary.json"
METRICS_FILE, LOG_FILE = "metrics.jsonl", "log.txt"
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


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically: readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_jsonable), encoding="utf-8")
    os.replace(tmp, path)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


@dataclass
class Run:
    path: Path

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
        with open(self.path / METRICS_FILE, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(record, default=_jsonable) + "\n")

    def metrics(self) -> list[dict[str, Any]]:
        """Metric records; a last line cut short by a crash is ignored."""
        path = self.path / METRICS_FILE
        if not path.exists():
            return []
        records = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return records

    def log(self, message: str) -> None:
        with open(self.path / LOG_FILE, "a", encoding="utf-8") as stream:
            stream.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")

    def set_status(self, status: str, error: str | None = None) -> None:
        record: dict[str, Any] = {"status": status, "updated": time.time()}
        if error:
            record["error"] = error
        self.write(STATUS_FILE, record)

    @property
    def status(self) -> str:
        try:
            return self.read(STATUS_FILE)["status"]
        except (OSError, ValueError, KeyError):
            return "unreadable"


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
            run.set_status("running")
            return run
        raise RuntimeError(f"could not create a run directory under {self.root}")

    def runs(self) -> list[Run]:
        if not self.root.is_dir():
            return []
        return [Run(p) for p in sorted(self.root.iterdir(), reverse=True) if (p / STATUS_FILE).exists()]
