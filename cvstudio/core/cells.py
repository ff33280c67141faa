"""A study's independent cells, and where they run: here, one after the other, or on a cluster.

A study is a list of cells that share nothing but the dataset: the data-scaling
sweep's trainings (pipeline × size × seed), the networks of the architectures
study, the pipelines of a head-to-head comparison. The study says what one cell
does (:class:`Cell`) and records each result as it arrives; an executor decides
where the cells run. :class:`InProcess`, the default, runs them in order in
this thread, exactly as a study always has; ``cvstudio.core.cluster.RayCells``
runs each as a Ray task and hands back results as they finish. This module
never imports Ray.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generator, Protocol, Sequence

from cvstudio.core.distributed import DistributedError
from cvstudio.core.runs import WriteError
from cvstudio.core.tasks import Cancelled, TaskState

if TYPE_CHECKING:
    from cvstudio.core.data import ImageDataset, Split
    from cvstudio.core.experiment import Experiment
    from cvstudio.core.runs import Run
    from cvstudio.core.training import EpochEnd
    from cvstudio.plugins import Registry


@dataclass(frozen=True)
class CellContext:
    """What every cell of a study needs: the plugins, the dataset and its split, and the run folder.

    ``run`` is the study's run where the cell runs beside it, so that it can
    save as it goes (a network's epochs and checkpoints); it is None on a
    cluster's worker, where the run folder is not: there a cell returns what
    the study is to save, and passes on its per-epoch events (they travel back
    to the study while it trains).
    """

    registry: Registry
    dataset: ImageDataset
    split: Split
    run: Run | None = None

    @property
    def remote(self) -> bool:
        """True on a cluster's worker."""
        return self.run is None


class Cell(Protocol):
    """One independent piece of a study; picklable, so that it can be sent to a worker."""

    label: str  # names the cell in messages, e.g. "LeNet-5, 30 per class, seed 1"

    def run(self, context: CellContext, state: TaskState) -> Generator[Any, None, dict[str, Any]]:
        """Do the work, yielding engine events; return the measurements the study records."""
        ...


@dataclass(frozen=True)
class CellDone:
    """Cell ``index`` of the study's list finished with ``value``; ``node`` is where it ran (None: here)."""

    index: int
    value: dict[str, Any]
    node: str | None = None


@dataclass(frozen=True)
class CellStarted:
    """A cell began on a cluster's ``node``; ``attempt`` above 1 means its node or worker was lost before."""

    label: str
    node: str
    attempt: int = 1

    def describe(self) -> str:
        again = f" (attempt {self.attempt}: its worker or node was lost before)" if self.attempt > 1 else ""
        return f"  started {self.label} on node {self.node[:12]}{again}"


@dataclass(frozen=True)
class CellEpoch:
    """An epoch of a network that a cell is training on a cluster, as it ends there."""

    label: str
    epoch: EpochEnd

    def describe(self) -> str:
        e = self.epoch
        return (f"  {self.label}: epoch {e.epoch}/{e.epochs}, loss {e.train_loss:.3f}, "
                f"val acc {e.val_accuracy:.3f}")


@dataclass(frozen=True)
class CellFailed:
    """A cell could not finish (it raised, its worker ran out of memory, its node was lost too often).

    ``cause`` is the exception that says so, for its traceback (on a cluster, Ray's, holding the worker's).
    """

    index: int
    label: str
    error: str
    cause: BaseException | None = field(default=None, compare=False, repr=False)

    def describe(self) -> str:
        return f"  FAILED {self.error}"


@dataclass(frozen=True)
class CellsUnwatched:
    """The running cells on a cluster can no longer be watched (their events were lost); their results still come."""

    reason: str

    def describe(self) -> str:
        return (f"  the running cells' starts and epochs no longer come back ({self.reason}); "
                "their results still arrive as they finish")


class CellsFailed(RuntimeError):
    """Some cells of a study failed while the others finished; the message names each and its fix."""

    def __init__(self, failures: Sequence[CellFailed], total: int) -> None:
        self.failures = tuple(failures)
        super().__init__(f"{len(self.failures)} of {total} cell(s) failed: "
                         + "; ".join(f.error for f in self.failures))


class Executor(Protocol):
    """Where a study's cells run."""

    def run(self, experiment: Experiment, context: CellContext, cells: Sequence[Cell],
            state: TaskState) -> Generator[Any, None, None]:
        """Run ``cells``, yielding their events and a :class:`CellDone` (or :class:`CellFailed`) for each."""
        ...


class InProcess:
    """Each cell in turn, in this thread, in the study's order.

    A cell that raises stops the study, unless ``isolated``: then it is a
    :class:`CellFailed` and the next cell runs, as on a cluster. Even then,
    cancelling, Ctrl-C, a run file that cannot be written (a full disk stops
    every cell) and a failed training spread over several processes (they
    cannot agree to go on) stop the study.
    """

    def __init__(self, isolated: bool = False) -> None:
        self.isolated = isolated

    def run(self, experiment: Experiment, context: CellContext, cells: Sequence[Cell],
            state: TaskState) -> Generator[Any, None, None]:
        for index, cell in enumerate(cells):
            try:
                value = yield from cell.run(context, state)
            except (Cancelled, WriteError, DistributedError):
                raise
            except Exception as exc:
                if not self.isolated:
                    raise
                error = str(exc) if type(exc).__module__.startswith("cvstudio") else f"{type(exc).__name__}: {exc}"
                yield CellFailed(index, cell.label, error, exc)
            else:
                yield CellDone(index, value)


class ClusterUnavailable(RuntimeError):
    """A cluster was asked for where Ray is not installed; the message says how to install it."""


def ray_executor(address: str, cpus_per_cell: float = 1.0, gpus_per_cell: float = 0.0,
                 max_retries: int = 2) -> Executor:
    """An executor that runs cells on the Ray cluster at ``address`` (``local``: a Ray runtime started here).

    Ray is imported here, and only here: a study that stays on this computer never loads it.
    An address where nothing answers is refused at once.
    """
    if cpus_per_cell <= 0 or gpus_per_cell < 0 or max_retries < 0:
        raise ValueError(f"a cell needs more than 0 CPUs (got {cpus_per_cell}), at least 0 GPUs (got {gpus_per_cell}) "
                         f"and at least 0 retries (got {max_retries})")
    try:
        from cvstudio.core import cluster
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "ray":
            raise
        raise ClusterUnavailable('running on a Ray cluster needs Ray: pip install "cvstudio[cluster]" '
                                 '(or pip install "ray[default]>=2.40,<3")') from None
    if address not in (cluster.LOCAL, cluster.AUTO):
        cluster.check_answers(address)
    return cluster.RayCells(cluster.ClusterOptions(address, cpus_per_cell, gpus_per_cell, max_retries))
