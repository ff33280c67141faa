"""The version of the plugin API (hooks, spec types, contracts, fixtures), for plugins to require.

``MAJOR.MINOR``: the minor number grows when something is added (a hook, a
spec field with a default, a fixture); the major number grows when something
a plugin may use is removed or changed incompatibly. A deprecated name keeps
working, with a ``DeprecationWarning``, until the next major version.
"""

from __future__ import annotations

PLUGIN_API_VERSION = "1.0"


class PluginAPIError(ImportError):
    """A plugin needs a plugin API this cvstudio does not provide; reported as that plugin's load error."""


def _parse(version: str) -> tuple[int, int]:
    major, _, minor = str(version).partition(".")
    try:
        return int(major), int(minor or 0)
    except ValueError:
        raise ValueError(f"plugin API version {version!r} must look like '1.0'") from None


def require_plugin_api(version: str) -> None:
    """Raise :class:`PluginAPIError` unless this cvstudio provides plugin API ``version`` (same major, minor at least).

    Call it at the top of a plugin module: a plugin that needs a newer cvstudio
    then fails to load with a message saying so, instead of failing later.
    """
    needed, present = _parse(version), _parse(PLUGIN_API_VERSION)
    if needed[0] != present[0] or needed[1] > present[1]:
        advice = "upgrade cvstudio" if needed > present else "use a release of the plugin written for this cvstudio"
        raise PluginAPIError(f"needs cvstudio plugin API {version}, but this cvstudio provides {PLUGIN_API_VERSION}; "
                             f"{advice}")
