from pathlib import Path

import pytest

from cvstudio.core.runs import RunStore


def test_runs_are_directories_with_status_metrics_and_atomic_json(tmp_path):
    store = RunStore(tmp_path / "runs")
    first, second = store.create("My Lesson!"), store.create("My Lesson!")
    assert first.path != second.path and first.id.endswith("my-lesson")
    assert first.status == "running"
    first.append_metrics({"epoch": 1, "loss": 0.5})
    with open(first.path / "metrics.jsonl", "a") as stream:
        stream.write('{"epoch": 2, "lo')  # a crash mid-line
    assert first.metrics() == [{"epoch": 1, "loss": 0.5}]
    first.write("summary.json", {"acc": 0.9})
    assert first.read("summary.json") == {"acc": 0.9}
    assert not list(first.path.glob(".*.tmp"))
    first.set_status("failed", "boom")
    assert first.status == "failed" and first.read("status.json")["error"] == "boom"
    assert {r.id for r in store.runs()} == {first.id, second.id}


def test_store_without_directory_lists_nothing(tmp_path):
    assert RunStore(tmp_path / "missing").runs() == []


def test_file_stems_are_distinct_for_labels_sharing_a_slug():
    from cvstudio.core.runs import file_stems, slugify

    stems = file_stems(["CNN +aug", "CNN -aug", "cnn aug", "MLP"])
    assert len(set(stems.values())) == 4
    assert stems["MLP"] == "mlp" and stems["CNN +aug"].startswith("cnn-aug-")
    assert len(slugify("x" * 400)) <= 60


def test_a_running_status_names_its_process_and_a_dead_process_reads_as_interrupted(tmp_path):
    import socket
    import subprocess
    import sys

    from cvstudio.core.runs import Run

    script = ("import sys, time\nfrom cvstudio.core.runs import RunStore\n"
              "print(RunStore(sys.argv[1]).create('killed').path, flush=True)\ntime.sleep(120)\n")
    process = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        run = Run(Path(process.stdout.readline().strip()))
        record = run.read("status.json")
        assert record["pid"] == process.pid and record["host"] == socket.gethostname()
        assert record["heartbeat"] >= record["updated"]
        assert run.status == "running"
    finally:
        process.kill()  # as the out-of-memory killer would
        process.wait()
    assert run.status == "interrupted"
    assert run.status_record()["status"] == "running"  # the file is left as it was written


def test_a_run_on_another_host_is_interrupted_once_its_heartbeat_is_stale(tmp_path):
    import time

    from cvstudio.core.runs import STALE_AFTER_S, Run, write_json

    run = Run(tmp_path)
    beat = {"status": "running", "pid": 1, "host": "elsewhere", "process_started": 0.0}
    write_json(tmp_path / "status.json", {**beat, "updated": time.time(), "heartbeat": time.time()})
    assert run.status == "running"
    stale = time.time() - STALE_AFTER_S - 1
    write_json(tmp_path / "status.json", {**beat, "updated": stale, "heartbeat": stale})
    assert run.status == "interrupted"


def test_the_heartbeat_beats_while_running_and_stops_with_the_final_status(tmp_path, monkeypatch):
    from cvstudio.core import runs

    run = RunStore(tmp_path).create("beating")
    first = run.read("status.json")["heartbeat"]
    run.beat()
    assert run.read("status.json")["heartbeat"] == first  # not due yet
    monkeypatch.setattr(runs, "HEARTBEAT_S", 0.0)
    run.beat()
    assert run.read("status.json")["heartbeat"] > first and run.status == "running"
    run.set_status("completed")
    ended = run.read("status.json")
    run.beat()
    assert run.read("status.json") == ended and run.status == "completed"


@pytest.mark.parametrize("content", ["[]", "{\"status\": null}", "not json", ""])
def test_a_malformed_status_reads_as_unreadable(tmp_path, content):
    from cvstudio.core.runs import Run

    (tmp_path / "status.json").write_text(content)
    assert Run(tmp_path).status == "unreadable"


def test_a_failed_write_names_the_file_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    import errno

    from cvstudio.core.runs import WriteError, write_json

    def full_disk(self, data, *args, **kwargs):
        with open(self, "w") as stream:
            stream.write(data[:5])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(WriteError, match=r"could not write .*summary.json: No space left on device"):
        write_json(tmp_path / "summary.json", {"a": 1})
    assert list(tmp_path.iterdir()) == []
