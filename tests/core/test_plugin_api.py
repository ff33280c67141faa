"""The plugin API's version: exposed, and a plugin that needs another one fails to load saying so."""

import pytest

import cvstudio
from cvstudio.plugin_api import PluginAPIError, require_plugin_api
from cvstudio.plugins import load_registry


def test_the_version_is_exposed_as_major_dot_minor():
    major, minor = cvstudio.PLUGIN_API_VERSION.split(".")
    assert major.isdigit() and minor.isdigit()


def test_the_current_and_older_minor_versions_are_provided():
    require_plugin_api(cvstudio.PLUGIN_API_VERSION)
    require_plugin_api(cvstudio.PLUGIN_API_VERSION.split(".")[0] + ".0")


@pytest.mark.parametrize("needed, advice", [("1.99", "upgrade cvstudio"), ("2.0", "upgrade cvstudio"),
                                            ("0.9", "a release of the plugin written for this cvstudio")])
def test_a_plugin_needing_another_api_is_reported_with_the_fix(tmp_path, needed, advice):
    (tmp_path / "future.py").write_text(f"import cvstudio\ncvstudio.require_plugin_api({needed!r})\n")
    registry = load_registry(autoload=False, directories=[tmp_path])
    (error,) = registry.plugins["future"].errors
    assert f"needs cvstudio plugin API {needed}, but this cvstudio provides {cvstudio.PLUGIN_API_VERSION}" in error.message
    assert advice in error.message


def test_a_malformed_version_is_refused():
    with pytest.raises(ValueError, match="must look like '1.0'"):
        require_plugin_api("one")
    assert issubclass(PluginAPIError, ImportError)
