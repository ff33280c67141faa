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
