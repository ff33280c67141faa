"""The application announces the desktop entry's id and names, and carries the app icon."""

from PySide6.QtCore import QSize

from cvstudio.appinfo import APP_ID, APP_NAME, ICON_SIZES
from cvstudio.qt.app import setup_application


def test_application_names_agree_with_the_desktop_entry(qapp):
    app = setup_application()
    assert app is qapp
    assert (app.applicationName(), app.organizationName(), app.desktopFileName()) == (APP_NAME, "cvstudio", APP_ID)


def test_window_title_starts_with_the_application_name_and_has_the_icon(make_window):
    app = setup_application()
    window = make_window()
    assert window.windowTitle().startswith(app.applicationName() + " — ")
    icon = window.windowIcon()
    assert not icon.isNull()
    assert {QSize(n, n) for n in ICON_SIZES} <= set(icon.availableSizes())
