import pytest


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """No user plugins, no user runs directory, no user settings or caches leak into a test."""
    monkeypatch.setenv("CVSTUDIO_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("CVSTUDIO_PLUGIN_PATH", raising=False)
    monkeypatch.setenv("CVSTUDIO_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield

