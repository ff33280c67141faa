"""The fixtures cvstudio ships to plugin authors, used as an author's project uses them (pytester).

The inner test files get the fixtures through cvstudio's ``pytest11`` entry
point, with no import, exactly like a plugin project.
"""

import textwrap

import pytest

pytest_plugins = ("pytester",)
# The inner sessions need no display: without "no:xvfb" each started an Xvfb that outlived it.
INNER_SESSION = ("-p", "no:cacheprovider", "-p", "no:xvfb")

SHELL_PLUGIN = """
from cvstudio import ClassifierSpec, hookimpl

@hookimpl
def cvstudio_register_classifiers():
    return [ClassifierSpec(name="from-the-shell", description="x", factory="sklearn.linear_model:RidgeClassifier")]
"""


def install(site, distribution, entry_points, module_source):
    """A minimal installed distribution in ``site``: its module and a dist-info with the given entry points."""
    module = distribution.replace("-", "_")
    (site / f"{module}.py").write_text(textwrap.dedent(module_source))
    info = site / f"{module}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1\n")
    lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[cvstudio.plugins]\n{lines}")


def test_cvstudio_registry_ignores_plugin_path_and_user_folder(pytester, tmp_path, monkeypatch):
    shell = tmp_path / "shell-plugins"
    shell.mkdir()
    (shell / "shellplugin.py").write_text(SHELL_PLUGIN)
    monkeypatch.setenv("CVSTUDIO_PLUGIN_PATH", str(shell))
    from cvstudio.plugins import user_plugin_dir

    user_plugin_dir().mkdir(parents=True)
    (user_plugin_dir() / "userplugin.py").write_text(SHELL_PLUGIN.replace("from-the-shell", "from-the-user"))
    monkeypatch.delenv("CVSTUDIO_DISABLE_PLUGIN_AUTOLOAD")
    pytester.makepyfile("""
        def test_built_ins_only(cvstudio_registry):
            assert set(cvstudio_registry.plugins) == {"datasets", "features", "classifiers", "models"}
            assert not cvstudio_registry.errors
    """)
    pytester.runpytest(*INNER_SESSION).assert_outcomes(passed=1)


@pytest.fixture
def site(tmp_path, monkeypatch):
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


AUTHOR_TEST = """
    def test_installed(cvstudio_installed_plugin):
        registry = cvstudio_installed_plugin("cvstudio_ridge")
        assert not registry.errors
        assert registry.plugins["cvstudio_ridge"].specs == {"classifiers": ["from-the-shell"]}
"""


def test_the_installed_plugin_fixture_loads_through_the_entry_point(pytester, site):
    install(site, "cvstudio-ridge", {"cvstudio_ridge": "cvstudio_ridge"}, SHELL_PLUGIN)
    pytester.makepyfile(AUTHOR_TEST)
    pytester.runpytest(*INNER_SESSION).assert_outcomes(passed=1)


def test_a_typo_in_the_entry_points_module_fails_the_authors_test(pytester, site):
    install(site, "cvstudio-ridge", {"cvstudio_ridge": "cvstudio_rigde"}, SHELL_PLUGIN)
    pytester.makepyfile(AUTHOR_TEST)
    result = pytester.runpytest(*INNER_SESSION)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*could not load: No module named 'cvstudio_rigde'*"])


def test_a_typo_in_the_entry_points_name_fails_with_the_fix(pytester, site):
    install(site, "cvstudio-ridge", {"cvstudio_rigde": "cvstudio_ridge"}, SHELL_PLUGIN)
    pytester.makepyfile(AUTHOR_TEST)
    result = pytester.runpytest(*INNER_SESSION)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no installed distribution has a 'cvstudio.plugins' entry point named "
                                 "cvstudio_ridge*cvstudio_rigde*pyproject.toml*pip install -e .*"])
