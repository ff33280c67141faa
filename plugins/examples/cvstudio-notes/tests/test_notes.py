"""The notes panel, tested in the real window with the fixture cvstudio ships to plugin authors."""

import cvstudio_notes
from cvstudio_notes.panel import NotesPanel


def test_listing_the_plugin_does_not_import_qt(cvstudio_registry_with):
    registry = cvstudio_registry_with(cvstudio_notes)
    assert not registry.errors
    assert registry.get("panels", "lesson-notes").factory == "cvstudio_notes.panel:NotesPanel"


def test_the_notes_dock_appears_and_keeps_its_text(cvstudio_main_window, qtbot):
    window = cvstudio_main_window(cvstudio_notes)
    dock = window.plugin_docks["lesson-notes"]
    assert dock.isVisible() and dock.windowTitle() == "Lesson notes"
    qtbot.keyClicks(dock.widget(), "Show HOG glyphs first")
    window.settings.sync()

    again = cvstudio_main_window(cvstudio_notes).plugin_docks["lesson-notes"].widget()
    assert isinstance(again, NotesPanel) and again.toPlainText() == "Show HOG glyphs first"
