"""Files fetched once from the network (pretrained weights), with progress, cancel and a plain offline error.

A download is written beside its target and moved into place only when it is
complete and, where the file name carries one (torch hub's ``name-HASH.pth``),
its SHA-256 prefix matches: an interrupted or corrupt download never reaches
the cache, so the next try starts clean.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import urllib.request
from pathlib import Path
from typing import Generator

from cvstudio.core.tasks import Progress, TaskState

CHUNK = 1 << 20
TIMEOUT_S = 30
HASH_PREFIX = re.compile(r"-([a-f0-9]{8,})\.")  # torch hub's convention: resnet18-f37072fd.pth


class DownloadFailed(OSError):
    """A download could not finish; the message says why in words (no network, refused, corrupt)."""


def download(url: str, target: Path, pipeline: str, state: TaskState) -> Generator[Progress, None, None]:
    """Fetch ``url`` into ``target``, yielding how many bytes arrived; raises DownloadFailed."""
    stage = f"downloading {target.name}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        os.close(handle)
    except OSError as exc:
        raise DownloadFailed(f"cannot write to {target.parent} ({reason(exc)})") from exc
    part = Path(name)
    try:
        digest = hashlib.sha256()
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, part.open("wb") as out:
            total, done = int(response.headers.get("Content-Length") or 0), 0
            yield Progress(pipeline, stage, done, total)
            while chunk := response.read(CHUNK):
                state.check()
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                yield Progress(pipeline, stage, done, total)
        if total and done != total:
            raise DownloadFailed(f"the connection closed after {done:,} of {total:,} bytes")
        expected = HASH_PREFIX.search(target.name)
        if expected and not digest.hexdigest().startswith(expected.group(1)):
            raise DownloadFailed(f"the file that arrived is not {target.name} (its SHA-256 differs)")
        os.replace(part, target)
    except DownloadFailed:
        raise
    except OSError as exc:
        raise DownloadFailed(reason(exc)) from exc
    finally:
        part.unlink(missing_ok=True)


def reason(exc: OSError) -> str:
    """Why a download failed, in words: 'no network (Name or service not known)' rather than a urlopen repr."""
    cause = getattr(exc, "reason", exc)  # URLError wraps the socket's error
    words = getattr(cause, "strerror", None) or str(cause)
    if isinstance(cause, OSError) and cause.errno is not None and cause.errno < 0:  # getaddrinfo: no name lookup
        return f"no network ({words})"
    return str(words)
