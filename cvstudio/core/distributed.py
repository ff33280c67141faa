"""One training on several processes: the process group torchrun sets up, and what its processes share.

``torchrun --nproc-per-node N -m cvstudio run exp.toml`` (or ``cvstudio run exp.toml --nproc N``) starts
N copies of cvstudio with ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``
in their environment. Each joins one process group (gloo for the CPU, NCCL for CUDA GPUs) and, while it
lasts, :func:`current` returns the :class:`World` that training uses to split every batch between the
processes and to keep them in step. Outside torchrun there is no world and nothing here imports torch.

When one process fails, it leaves its message in the group's key-value store before it exits, so that
the others, whose next collective call fails (or whom torchrun stops), say *which* process failed and
why instead of a socket error or a SIGTERM (see :meth:`World.guard`). docs/distributed-training.md is
the user's side of this.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generator, Iterator, Mapping, TypeVar

T = TypeVar("T")
TIMEOUT_ENV = "CVSTUDIO_DIST_TIMEOUT_S"
# How long a process waits for the others at a collective call: long enough for process 0 to fit the
# classical pipelines alone while the others wait at the first deep one (torch's own default for gloo).
DEFAULT_TIMEOUT_S = 1800.0
_FAILED = "cvstudio/failed/"  # + rank: that process's error, in the group's store


class DistributedError(RuntimeError):
    """A distributed training cannot go on: a process failed, or the processes disagree."""


def launched_world_size(environ: Mapping[str, str] = os.environ) -> int:
    """How many processes torchrun started (``WORLD_SIZE``), 1 outside torchrun."""
    value = environ.get("WORLD_SIZE", "1")
    try:
        size = int(value)
    except ValueError:
        raise DistributedError(f"WORLD_SIZE={value!r} is not a number of processes; launch with "
                               "torchrun --nproc-per-node N or cvstudio run --nproc N") from None
    for name in ("RANK", "MASTER_ADDR", "MASTER_PORT"):
        if size > 1 and name not in environ:
            raise DistributedError(f"WORLD_SIZE={size} is set but {name} is not: launch the processes with "
                                   "torchrun --nproc-per-node N (or cvstudio run --nproc N), which sets them all")
    return max(size, 1)


def timeout_s(environ: Mapping[str, str] = os.environ) -> float:
    """``$CVSTUDIO_DIST_TIMEOUT_S``, else DEFAULT_TIMEOUT_S."""
    value = environ.get(TIMEOUT_ENV)
    if value is None:
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:  # NaN too
        raise DistributedError(f"{TIMEOUT_ENV}={value!r} is not a positive number of seconds")
    return seconds


@dataclass(frozen=True)
class World:
    """This process's place among the processes of one training, and what they do together."""

    rank: int
    size: int
    local_rank: int
    store: Any = field(default=None, repr=False, compare=False)

    @property
    def leader(self) -> bool:
        """Process 0: the one that writes the run and prints."""
        return self.rank == 0

    def describe(self, device: Any) -> dict[str, Any]:
        """What a run's summary records about how a network was trained on ``device``."""
        return {"processes": self.size, "backend": "nccl" if device.type == "cuda" else "gloo"}

    def first_problem(self, problem: str | None) -> str | None:
        """Every process's ``problem`` (None: it has none) gathered; the first one, naming its process, on all."""
        import torch.distributed as dist

        problems: list[Any] = [None] * self.size
        dist.all_gather_object(problems, problem)
        return next((f"process {rank} of {self.size}: {text}" if rank != self.rank else text
                     for rank, text in enumerate(problems) if text), None)

    def shard(self, items: T) -> T:
        """This process's part of a global batch (of indices, or of values drawn for it): every size-th item."""
        return items[self.rank::self.size]  # type: ignore[index]

    def all_sum(self, values: list[float]) -> list[float]:
        """The sums of ``values`` over every process."""
        import torch
        import torch.distributed as dist

        tensor = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(tensor)
        return tensor.cpu().tolist()

    def broadcast_buffers(self, model: Any) -> None:
        """Give every process process 0's buffers (batch-norm running statistics), as DDP does before a forward."""
        import torch.distributed as dist

        for buffer in model.buffers():
            dist.broadcast(buffer, 0)

    def agreed_weights(self, model: Any) -> str:
        """The SHA-256 of the network's weights, checked to be the same on every process."""
        import torch.distributed as dist

        digest = weights_digest(model.state_dict())
        digests: list[Any] = [None] * self.size
        dist.all_gather_object(digests, digest)
        differing = [rank for rank, other in enumerate(digests) if other != digest]
        if differing:
            raise DistributedError(f"after training, the weights of process(es) {differing} differ from those of "
                                   f"process {self.rank}: the processes did not train in step")
        return digest

    def report_failure(self, message: str) -> bool:
        """Leave this process's error for the others, before it leaves the group; whether they can read it.

        Only the first error of a process is kept: the later ones are its consequences.
        """
        key = f"{_FAILED}{self.rank}"
        try:
            if not _store_has(self.store, key):
                self.store.set(key, message)
        except Exception:  # noqa: BLE001 - the store is gone with the process that hosted it
            return False
        return True

    def peer_failure(self) -> str | None:
        """What another process reported before it failed, naming it; None when none did."""
        for rank in range(self.size):
            key = f"{_FAILED}{rank}"
            if rank != self.rank and _store_has(self.store, key):
                return f"process {rank} of {self.size} failed: {self.store.get(key).decode('utf-8', 'replace')}"
        return None

    def guard(self, events: Generator[Any, None, T]) -> Generator[Any, None, T]:
        """Pass a training's events through; an error becomes a DistributedError that names the process it came from.

        When another process failed first, this process's own error (a collective call that found
        its peer gone, or torchrun's SIGTERM) is only a consequence: the other's message is raised.
        Cancelling, and Ctrl-C reaching every process, go on up unchanged.
        """
        from cvstudio.core.tasks import Cancelled

        try:
            return (yield from events)
        except Cancelled:
            raise
        except KeyboardInterrupt as interrupt:
            peer = self.peer_failure()
            if peer is None:
                raise
            _ignore_termination()
            raise DistributedError(peer) from interrupt
        except DistributedError:
            raise
        except Exception as exc:
            peer = self.peer_failure()
            if peer is not None:
                _ignore_termination()
                raise DistributedError(peer) from exc
            message = str(exc) if type(exc).__module__.startswith("cvstudio") else f"{type(exc).__name__}: {exc}"
            self.report_failure(message)
            raise DistributedError(f"process {self.rank} of {self.size}: {message}") from exc


def _ignore_termination() -> None:
    """Let this process close its run with another's failure: torchrun sends it SIGTERM once that one has exited.

    Python handles signals only in the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def weights_digest(state_dict: Mapping[str, Any]) -> str:
    """SHA-256 of a model's weights and buffers: names, types and bytes, in name order."""
    import torch

    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}:{tensor.dtype}:".encode("utf-8"))
        digest.update(tensor.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _store_has(store: Any, key: str) -> bool:
    try:
        return bool(store.check([key]))
    except Exception:  # noqa: BLE001 - a store whose host is gone holds nothing we can read
        return False


_world: World | None = None


def current() -> World | None:
    """The world of this process while a distributed training runs in it, else None."""
    return _world


@contextlib.contextmanager
def process_group(environ: Mapping[str, str] = os.environ) -> Iterator[World]:
    """Join the processes torchrun started; leave the group however the block ends (error, Ctrl-C, SIGTERM).

    CPU tensors go through gloo and, where torch has CUDA and NCCL, CUDA tensors through NCCL, so that
    each pipeline trains on the device its experiment names. Joining waits at most the timeout
    (``$CVSTUDIO_DIST_TIMEOUT_S``) for the others.
    """
    global _world
    import torch
    import torch.distributed as dist

    if not dist.is_available():
        raise DistributedError("this torch build has no torch.distributed; install torch from pytorch.org")
    backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() and dist.is_nccl_available() else "gloo"
    timeout = timedelta(seconds=timeout_s(environ))
    try:
        store, rank, size = next(dist.rendezvous("env://", timeout=timeout))
        store.set_timeout(timeout)
        dist.init_process_group(backend, store=store, rank=rank, world_size=size, timeout=timeout)
    except (RuntimeError, ValueError, OSError) as exc:
        raise DistributedError(f"could not join the other processes (master {environ.get('MASTER_ADDR')}:"
                               f"{environ.get('MASTER_PORT')}): {exc}") from exc
    _world = World(rank, size, int(environ.get("LOCAL_RANK", rank)), store)
    try:
        yield _world
    finally:
        _world = None
        if dist.is_initialized():
            dist.destroy_process_group()


def use_gpu(world: World) -> Any:
    """The CUDA device of this process: one GPU per process on each machine, by local rank."""
    import torch

    count = torch.cuda.device_count()
    if world.local_rank >= count:
        raise DistributedError(f"process {world.rank} is number {world.local_rank} on its machine, which has "
                               f"{count} GPU(s): start at most {count} processes per machine (--nproc-per-node)")
    torch.cuda.set_device(world.local_rank)
    return torch.device("cuda", world.local_rank)
