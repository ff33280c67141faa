"""What the main window coordinates, one concern each: the experiment and its data, runs, lessons.

A controller owns the state of its concern and drives the window's views; the
window builds the views and exposes the public API (:mod:`cvstudio.qt.main_window`).
"""
