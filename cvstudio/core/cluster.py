"""A study's cells as Ray tasks: on a Ray cluster, or a Ray runtime started on this computer.

Imported only when a cluster is asked for (``cvstudio run --cluster``, the
window's *Run on* choice): Ray is an optional extra (``pip install
"cvstudio[cluster]"``). Each cell of a study becomes one task with the CPUs
(and GPUs) it needs; results come back as cells finish (``ray.wait``) and the
study writes them into its run folder as it would write a local result. Each
worker loads the dataset itself and trains as the study would here; a cell's
start and per-epoch events travel back while it trains (:class:`CellEvents`).
Third-party plugins go with the tasks (``runtime_env`` ``py_modules``, as
:mod:`cvstudio.core.plugin_shipping` prepares them), so that workers need
only cvstudio and Ray installed. docs/cluster.md says what runs where.

This is the only module that imports Ray.
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generator, Sequence

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

import cvstudio
from cvstudio.core.cells import Cell, CellContext, CellDone, CellEpoch, CellFailed, CellStarted, CellsUnwatched
from cvstudio.core.experiment import Experiment, load_dataset, split_dataset
from cvstudio.core.plugin_shipping import (
    missing_plugin,
    PluginShipment,
    ship_plugins,
    worker_registry,
    WorkerPluginError,
)
from cvstudio.core.tasks import Cancelled, TaskState
from cvstudio.core.training import EpochEnd
from cvstudio.plugins import UnknownComponentError

LOCAL = "local"  # start a Ray runtime on this computer
AUTO = "auto"  # Ray's own search: $RAY_ADDRESS, else a cluster started on this computer with `ray start`
POLL_S = 0.2  # how often the study looks for finished cells, streamed epochs and a cancel
CONNECT_TIMEOUT_S = 5.0
EVENTS_TIMEOUT_S = 2.0  # the longest a look at the cells' events waits for an answer


class ClusterError(RuntimeError):
    """The cluster cannot be used (no answer, another Ray version); the message says how to fix it."""


@dataclass(frozen=True)
class ClusterOptions:
    """Where the cells run and what each one asks of a node."""

    address: str = LOCAL
    cpus_per_cell: float = 1.0
    gpus_per_cell: float = 0.0
    max_retries: int = 2  # a cell whose worker or node is lost starts again at most this often


class RayCells:
    """Runs a study's cells as Ray tasks: see the module's docstring.

    It connects when a study starts and disconnects when it ends, unless this
    process was already connected to Ray (then that connection is used and kept).
    """

    def __init__(self, options: ClusterOptions) -> None:
        self.options = options
        self.events: CellEvents | None = None  # the running study's, while one runs

    def run(self, experiment: Experiment, context: CellContext, cells: Sequence[Cell],
            state: TaskState) -> Generator[Any, None, None]:
        staging = Path(tempfile.mkdtemp(prefix="cvstudio-cluster-"))
        pending, connected_here = [], False
        try:
            shipment = ship_plugins(context.registry, experiment, staging)
            runtime_env: dict[str, Any] = {}
            if shipment.py_modules:  # an empty list stops Ray's workers from starting
                runtime_env["py_modules"] = list(shipment.py_modules)
            connected_here = connect(self.options.address, runtime_env)
            self.events = events = CellEvents(cells)
            task = ray.remote(_run_cell).options(
                num_cpus=self.options.cpus_per_cell, num_gpus=self.options.gpus_per_cell,
                max_retries=self.options.max_retries)
            refs = {task.remote(experiment, cell, index, shipment, events.mailbox, cvstudio.__version__): index
                    for index, cell in enumerate(cells)}
            pending = list(refs)
            while pending:
                if state.cancelled:
                    raise Cancelled("cancelled")
                finished, pending = ray.wait(pending, num_returns=1, timeout=POLL_S)
                yield from events.new()
                for ref in finished:
                    index = refs[ref]
                    events.finished(index)
                    try:
                        value, node = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        yield CellFailed(index, cells[index].label,
                                         explain_failure(exc, cells[index].label, events.nodes.get(index),
                                                         self.options.max_retries), exc)
                    else:
                        yield CellDone(index, value, node)
        finally:
            for ref in pending:  # cancelled, interrupted or failed: the cells not finished stop now
                ray.cancel(ref, force=True)
            if self.events is not None:
                self.events.close()
                self.events = None
            shutil.rmtree(staging, ignore_errors=True)
            if connected_here:
                ray.shutdown()


class _Mailbox:
    """The running cells' starts and epochs on their way to the study: a Ray actor on the driver's node."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def put(self, item: Any) -> None:
        self.items.append(item)

    def take(self) -> list[Any]:
        items, self.items = self.items, []
        return items


class CellEvents:
    """The running cells' starts and epochs as the study sees them, and where and how often each cell started.

    The mailbox they go through lives on the driver's node, which the study
    cannot outlive; should it still be lost, that is not the study's failure:
    results come back with the cells' tasks, so the study goes on, unwatched.
    """

    def __init__(self, cells: Sequence[Cell]) -> None:
        self.cells = cells
        self.nodes: dict[int, str] = {}  # cell index -> the node it started on last
        self.starts: Counter[int] = Counter()
        self.lost = False
        self._ended: set[int] = set()  # the cells whose result (or failure) the study has
        self._taking: Any = None  # a look asked for and not answered yet
        here = ray.get_runtime_context().get_node_id()
        self.mailbox = ray.remote(_Mailbox).options(
            num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False)).remote()

    def new(self) -> Generator[Any, None, None]:
        """The events sent since the last look: a start (with its attempt), an epoch, or that they stopped coming."""
        if self.lost:
            return
        self._taking = self._taking or self.mailbox.take.remote()
        try:
            items = ray.get(self._taking, timeout=EVENTS_TIMEOUT_S)
        except ray.exceptions.GetTimeoutError:
            return  # slow to answer (a busy node): the answer is read at the next look
        except ray.exceptions.ActorUnavailableError:
            self._taking = None  # unreachable for a moment: asked again at the next look
            return
        except ray.exceptions.RayActorError as exc:
            self.lost = True
            yield CellsUnwatched(f"their mailbox on the driver's node was lost: {type(exc).__name__}")
            return
        self._taking = None
        for index, kind, payload in items:
            if index in self._ended:  # sent just before its result, and come after it: the views know it ended
                continue
            if kind == "started":
                self.nodes[index] = payload
                self.starts[index] += 1
                yield CellStarted(self.cells[index].label, payload, self.starts[index])
            else:
                yield CellEpoch(self.cells[index].label, payload)

    def finished(self, index: int) -> None:
        """Cell ``index``'s result (or failure) came back: its starts and epochs still on their way are dropped."""
        self._ended.add(index)

    def close(self) -> None:
        ray.kill(self.mailbox)


def connect(address: str, runtime_env: dict[str, Any]) -> bool:
    """Connect this process to Ray at ``address`` (``local``: start a runtime here); False if it already was.

    ``runtime_env`` is every task's: Ray uploads local ``py_modules`` only for
    the job as a whole, so a process already connected without them cannot
    ship plugins. An address that does not answer, or a cluster on another Ray
    or Python version, raises :class:`ClusterError` saying what to do.
    """
    if ray.is_initialized():
        if runtime_env.get("py_modules"):
            raise ClusterError("this process is already connected to Ray, so the study's plugins cannot be shipped "
                               "with it: call ray.shutdown() first and let the study connect")
        return False
    if address == LOCAL:
        ray.init(address=LOCAL, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 runtime_env=runtime_env)  # "local", not None: a $RAY_ADDRESS must not send it elsewhere
        return True
    if address != AUTO:
        check_answers(address)
    try:
        ray.init(address=address, log_to_driver=False, configure_logging=False, runtime_env=runtime_env)
    except RuntimeError as exc:
        if "Version mismatch" in str(exc):
            raise ClusterError(
                f"the Ray cluster at {address} runs another version of Ray or Python than this computer.\n"
                f"{str(exc).partition('Version mismatch: ')[2].strip()}\nInstall the cluster's versions here "
                f"(pip install \"ray[default]==VERSION\" in the environment of cvstudio), or start the cluster "
                f"with this computer's: Ray {ray.__version__}, Python {sys.version.split()[0]}") from None
        raise ClusterError(f"cannot connect to the Ray cluster at {address}: {exc}") from exc
    except ConnectionError as exc:
        raise ClusterError(f"cannot connect to the Ray cluster at {address}: {exc}; is it running "
                           "(`ray status` on its head node)?") from None
    return True


def check_answers(address: str) -> None:
    """Fail at once, not after Ray's minutes of retries, when nothing listens at ``host:port``."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"'{address}' is not a Ray cluster address: give HOST:PORT, the address that "
                           "`ray start --head` printed on the cluster's head node (e.g. 10.0.0.5:6379), "
                           "or 'local' to start Ray on this computer")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ClusterError(f"no Ray cluster answers at {address} ({reason}): start one there with "
                           "`ray start --head`, check the address and the firewall, or use 'local' to run "
                           "on this computer") from None


def explain_failure(exc: BaseException, label: str, node: str | None, retries: int) -> str:
    """Why cell ``label`` did not finish, and what to do about it, in one message."""
    where = f" on node {node[:12]}" if node else ""
    errors = ray.exceptions
    if isinstance(exc, errors.RayTaskError):
        cause = exc.cause if isinstance(getattr(exc, "cause", None), BaseException) else exc
        if isinstance(cause, (ClusterError, WorkerPluginError)):
            return f"cell '{label}'{where}: {cause}"
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
        return _own_error(label, where, f"{type(cause).__name__}: {first}")
    if isinstance(exc, errors.UnserializableException):  # its class cannot be rebuilt here: its traceback's last line
        return _own_error(label, where, str(exc).strip().splitlines()[-1])
    if isinstance(exc, errors.OutOfMemoryError):
        return (f"cell '{label}': its worker{where} ran out of memory (tried {retries + 1} times); give each cell "
                "more memory: more CPUs per cell so fewer share a node, a smaller batch or dataset, or larger nodes")
    if isinstance(exc, errors.RuntimeEnvSetupError):
        return f"cell '{label}': the worker{where} could not set up the plugins shipped with it: {exc}"
    if isinstance(exc, (errors.NodeDiedError, errors.WorkerCrashedError, errors.ObjectLostError,
                        errors.LocalRayletDiedError)):
        return (f"cell '{label}': its worker or node was lost{where} (tried {retries + 1} times, "
                f"{type(exc).__name__}); the study went on with the other cells: run it again for this one")
    return f"cell '{label}'{where}: {type(exc).__name__}: {exc}"


def _own_error(label: str, where: str, error: str) -> str:
    return (f"cell '{label}' raised{where}: {error}; it is the cell's own error: "
            "run the experiment on this computer (without a cluster, --debug shows the traceback) to fix it")


# --- on the worker -------------------------------------------------------------------------------

# A worker process runs many cells of one study: its plugins and dataset are loaded once.
_contexts: dict[tuple[str, str], tuple[CellContext, dict[str, str]]] = {}


def _run_cell(experiment: Experiment, cell: Cell, index: int, shipment: PluginShipment, mailbox: Any,
              version: str) -> tuple[dict[str, Any], str]:
    """A Ray task: run one cell here, sending its start and epochs back; its measurements and this node."""
    node = ray.get_runtime_context().get_node_id()
    _send(mailbox, (index, "started", node))
    if version != cvstudio.__version__:
        raise ClusterError(f"this worker runs cvstudio {cvstudio.__version__}, the study was started with "
                           f"{version}: install the same version on every node")
    context, failures = _worker_context(experiment, shipment, node)
    run = cell.run(context, TaskState())
    try:
        while True:
            try:
                event = next(run)
            except StopIteration as stop:
                return stop.value, node
            if isinstance(event, EpochEnd):
                _send(mailbox, (index, "epoch", event))
    except UnknownComponentError as exc:
        raise missing_plugin(exc, shipment, context.registry, failures, node) from None


def _send(mailbox: Any, item: Any) -> None:
    """Send one event to the study without waiting for it to arrive.

    A task that waits in ``ray.get`` lends its CPUs back to Ray, which starts
    the next cell on them in a new worker process: a one-CPU node would train
    two cells at once, each paying for its own process, imports and dataset.
    A mailbox that is lost is the study's to notice (:class:`CellEvents`); the
    cell works on unwatched and never fails for it.
    """
    mailbox.put.remote(item)


def _worker_context(experiment: Experiment, shipment: PluginShipment,
                    node: str) -> tuple[CellContext, dict[str, str]]:
    key = (shipment.key, json.dumps([experiment.dataset.to_dict(), experiment.split], sort_keys=True, default=str))
    if key not in _contexts:
        registry, failures = worker_registry(shipment)
        try:
            dataset = load_dataset(experiment, registry)
        except UnknownComponentError as exc:
            raise missing_plugin(exc, shipment, registry, failures, node) from None
        _contexts.clear()  # one study's dataset at a time
        _contexts[key] = CellContext(registry, dataset, split_dataset(experiment, dataset)), failures
    return _contexts[key]
