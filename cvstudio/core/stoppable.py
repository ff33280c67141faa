"""Long classical fits in a child process, so that cancelling stops them at once.

scikit-learn's fits (an RBF SVM on thousands of raw-pixel vectors takes
minutes) run in C code that cannot be interrupted from Python: neither a
cancel flag nor Ctrl-C is seen until the fit returns. A fit that may take
long runs in a spawned child process instead; the parent waits on it in
short steps, and cancelling (the flag, Ctrl-C, SIGTERM) ends the child.
"""

from __future__ import annotations

import multiprocessing
import pickle
import signal
import time
import traceback
from typing import Any, Generator

import numpy as np

from cvstudio.core.tasks import Cancelled, Progress, TaskState

# Below this many feature values a fit takes about a second at most: in-process it skips
# the child's start (its imports take a second or two).
CHILD_FIT_VALUES = 2_000_000
POLL_S = 0.1
BEAT_S = 5.0  # how often a fit still under way yields a progress event (the run's heartbeat goes with it)


class FitFailed(RuntimeError):
    """The fit raised in the child process; the message is its error, the traceback is kept."""

    def __init__(self, message: str, details: str) -> None:
        super().__init__(message)
        self.details = details


def fit(model: Any, features: np.ndarray, labels: np.ndarray, state: TaskState, pipeline: str,
        in_child: bool | None = None) -> Generator[Progress, None, Any]:
    """``model`` fitted to ``features``: in a child process when the fit may be long (``in_child``: force it).

    A model that cannot be sent to a child (a plugin's class defined in a
    file, not a package) is fitted here, as before.
    """
    if in_child is None:
        in_child = features.size >= CHILD_FIT_VALUES
    if in_child:
        try:
            payload = pickle.dumps((model, features, labels), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - not picklable: fit in this process
            in_child = False
    if in_child:
        fitted = yield from _fit_in_child(payload, state, pipeline)
        if fitted is not _NOT_IN_CHILD:
            return fitted
    state.check()
    return model.fit(features, labels)


_NOT_IN_CHILD = object()  # the child could not rebuild the model: fit it here


def _fit_in_child(payload: bytes, state: TaskState, pipeline: str) -> Generator[Progress, None, Any]:
    context = multiprocessing.get_context("spawn")  # no fork: the parent may hold threads and Qt
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(payload, sender), daemon=True, name=f"cvstudio fit {pipeline}")
    child.start()
    sender.close()
    last_beat, answered = time.monotonic(), False
    try:
        while not receiver.poll(POLL_S):
            if state.cancelled:
                raise Cancelled("cancelled")
            if not child.is_alive() and not receiver.poll(0):
                raise RuntimeError(f"the process fitting '{pipeline}' ended with exit code {child.exitcode} "
                                   "before it finished (out of memory?)")
            if time.monotonic() - last_beat >= BEAT_S:
                last_beat = time.monotonic()
                yield Progress(pipeline, "fitting", 0, 1)
        outcome, value, details = receiver.recv()
        answered = True
    finally:
        if not answered:
            child.kill()  # cancelled, interrupted or failed: the fit stops now
        child.join()
        receiver.close()
    if outcome == "unloadable":
        return _NOT_IN_CHILD
    if outcome == "error":
        raise FitFailed(value, details)
    return value


def _child(payload: bytes, sender: Any) -> None:
    """In the child: fit, and send back ("ok", model, "") or ("error", message, traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides
    try:
        model, features, labels = pickle.loads(payload)
    except BaseException as exc:  # noqa: BLE001 - e.g. a plugin's class the child cannot import
        sender.send(("unloadable", str(exc), ""))
        sender.close()
        return
    try:
        sender.send(("ok", model.fit(features, labels), ""))
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
        sender.send(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
    finally:
        sender.close()
