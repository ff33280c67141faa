import hashlib
import io
import socket
import urllib.error
import urllib.request

import pytest

from cvstudio.core.downloads import DownloadFailed, download
from cvstudio.core.tasks import Cancelled, Progress, TaskState, drain

PAYLOAD = bytes(range(256)) * 5000  # 1.28 MB: two chunks


class Response(io.BytesIO):
    def __init__(self, body: bytes, length: int | None = None):
        super().__init__(body)
        self.headers = {"Content-Length": str(len(body) if length is None else length)}


@pytest.fixture
def serve(monkeypatch):
    """urlopen answers with the given body (and announced length)."""
    def serve(body: bytes, length: int | None = None) -> None:
        monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Response(body, length))
    return serve


def hashed_name(body: bytes) -> str:
    return f"weights-{hashlib.sha256(body).hexdigest()[:8]}.pth"


def test_a_download_reports_its_progress_and_lands_whole(serve, tmp_path):
    serve(PAYLOAD)
    target = tmp_path / "cache" / hashed_name(PAYLOAD)
    events, _ = drain(download("https://example.org/w.pth", target, "net", TaskState()))
    assert all(isinstance(e, Progress) and e.total == len(PAYLOAD) for e in events)
    assert [e.done for e in events] == [0, 1 << 20, len(PAYLOAD)]
    assert target.read_bytes() == PAYLOAD and list(target.parent.iterdir()) == [target]


def test_a_file_whose_hash_differs_from_its_name_is_refused_and_not_kept(serve, tmp_path):
    serve(b"an error page")
    target = tmp_path / hashed_name(PAYLOAD)
    with pytest.raises(DownloadFailed, match="SHA-256 differs"):
        drain(download("https://example.org/w.pth", target, "net", TaskState()))
    assert list(tmp_path.iterdir()) == []


def test_a_connection_closed_early_is_refused_and_not_kept(serve, tmp_path):
    serve(PAYLOAD[:1000], length=len(PAYLOAD))
    with pytest.raises(DownloadFailed, match=f"closed after 1,000 of {len(PAYLOAD):,} bytes"):
        drain(download("https://example.org/w.pth", tmp_path / "w.pth", "net", TaskState()))
    assert list(tmp_path.iterdir()) == []


def test_offline_says_no_network_in_words(monkeypatch, tmp_path):
    def no_network(url, timeout):
        raise urllib.error.URLError(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(DownloadFailed) as caught:
        drain(download("https://example.org/w.pth", tmp_path / "w.pth", "net", TaskState()))
    assert str(caught.value) == "no network (Name or service not known)"
    assert list(tmp_path.iterdir()) == []


def test_cancel_stops_the_download_and_keeps_nothing(serve, tmp_path):
    serve(PAYLOAD)
    state = TaskState()
    events = download("https://example.org/w.pth", tmp_path / "w.pth", "net", state)
    next(events), next(events)  # started, then the first chunk is in
    state.cancel()
    with pytest.raises(Cancelled):
        list(events)
    assert list(tmp_path.iterdir()) == []
