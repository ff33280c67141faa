"""A dock for lesson notes: an example of a cvstudio panel plugin."""

from cvstudio import PanelSpec, hookimpl


@hookimpl
def cvstudio_register_panels() -> list[PanelSpec]:
    return [
        PanelSpec(
            name="lesson-notes",
            title="Lesson notes",
            description="Notes for the lesson, kept between sessions: what to show and say at each step.",
            factory="cvstudio_notes.panel:NotesPanel",
            area="right",
        )
    ]
