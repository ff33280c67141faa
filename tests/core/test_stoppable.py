"""Long classical fits run in a child process that cancelling, Ctrl-C and errors end at once."""

import multiprocessing
import os
import signal
import threading

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from cvstudio.core import stoppable
from cvstudio.core.tasks import Cancelled, Progress, TaskState, drain
from cvstudio.testing import SlowClassifier

FEATURES = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
LABELS = np.arange(60) % 3


def test_a_fit_that_would_take_an_hour_stops_when_cancelled():
    state = TaskState()
    threading.Timer(1.0, state.cancel).start()
    with pytest.raises(Cancelled, match="cancelled"):
        drain(stoppable.fit(SlowClassifier(3600), FEATURES, LABELS, state, "slow", in_child=True))
    assert not multiprocessing.active_children()


def test_ctrl_c_during_a_fit_in_a_child_stops_the_child():
    threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        drain(stoppable.fit(SlowClassifier(3600), FEATURES, LABELS, TaskState(), "slow", in_child=True))
    assert not multiprocessing.active_children()


def test_a_fit_in_a_child_returns_the_fitted_model_and_beats_while_it_waits(monkeypatch):
    monkeypatch.setattr(stoppable, "BEAT_S", 0.2)
    events, model = drain(stoppable.fit(SlowClassifier(1.0), FEATURES, LABELS, TaskState(), "slow", in_child=True))
    assert model.predict(FEATURES[:2]).tolist() == [0, 0]
    assert events and all(isinstance(e, Progress) and e.stage == "fitting" for e in events)
    _, fitted = drain(stoppable.fit(LogisticRegression(), FEATURES, LABELS, TaskState(), "lr", in_child=True))
    assert fitted.score(FEATURES, LABELS) > 0.3


def test_an_error_in_the_child_comes_back_with_its_message():
    with pytest.raises(stoppable.FitFailed, match="InvalidParameterError: The .C. parameter of LogisticRegression"):
        drain(stoppable.fit(LogisticRegression(C=-1.0), FEATURES, LABELS, TaskState(), "bad", in_child=True))


def test_small_fits_and_models_a_child_cannot_rebuild_are_fitted_here():
    class Local(SlowClassifier):  # defined in a function: it cannot be pickled
        pass

    events, model = drain(stoppable.fit(Local(0.0), FEATURES, LABELS, TaskState(), "local", in_child=True))
    assert events == [] and isinstance(model, Local)
    events, model = drain(stoppable.fit(LogisticRegression(), FEATURES, LABELS, TaskState(), "small"))
    assert events == [] and hasattr(model, "coef_")
