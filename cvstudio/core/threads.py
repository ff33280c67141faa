"""How many cores cvstudio's parallel work may use, and how many threads torch trains with.

torch runs a network's layers on OpenMP threads that spin for a while when they wait for each other.
On a laptop where a browser or a video call takes a core, the thread that shares it falls behind and
the others spin waiting for it: training fell fivefold for a twofold share of the CPU. Making the
threads sleep instead (``OMP_WAIT_POLICY=PASSIVE``) cost 15 % on an idle machine. So cvstudio keeps
torch's default wait and, while it trains, gives torch only as many threads as there are cores the
other programs leave free (:class:`FreeCoreThreads`): on two cores beside a busy program, one thread
trains at half the idle speed, where two trained at a fifth of it.
"""

from __future__ import annotations

import os
import time
from typing import Callable

CHECK_EVERY_S = 0.5  # how often the other programs' use of the cores is looked at


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS says), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds used so far by every program (all cores together), and by this process."""
    import psutil

    machine = psutil.cpu_times()
    waiting = machine.idle + getattr(machine, "iowait", 0.0)
    ours = psutil.Process().cpu_times()
    return sum(machine) - waiting, ours.user + ours.system


class FreeCoreThreads:
    """torch's thread count kept to the cores that other programs leave free; :meth:`check` at every batch.

    It sets the count only where cvstudio chose it: not when ``OMP_NUM_THREADS``
    is set (by the user, Ray or torchrun), nor once someone else has changed it,
    and never above the count torch had when it started. :meth:`restore` puts
    that count back.
    """

    def __init__(self, read: Callable[[], tuple[float, float]] = cpu_seconds,
                 clock: Callable[[], float] = time.monotonic, cores: int | None = None) -> None:
        import torch

        self.read, self.clock = read, clock
        self.cores = cores or os.cpu_count() or 1
        self.start = self.chosen = torch.get_num_threads()
        self.active = "OMP_NUM_THREADS" not in os.environ and self.start > 1
        self.last = (clock(), *read()) if self.active else (0.0, 0.0, 0.0)

    def check(self) -> None:
        """Every :data:`CHECK_EVERY_S`: as many threads as cores were free since the last look."""
        if not self.active or self.clock() - self.last[0] < CHECK_EVERY_S:
            return
        import torch

        if torch.get_num_threads() != self.chosen:  # someone else chose: theirs stands
            self.active = False
            return
        now, busy, ours = self.clock(), *self.read()
        others = ((busy - self.last[1]) - (ours - self.last[2])) / (now - self.last[0])
        self.last = (now, busy, ours)
        threads = min(self.start, max(1, round(self.cores - others)))
        if threads != self.chosen:
            torch.set_num_threads(threads)
            self.chosen = threads

    def restore(self) -> None:
        """torch's thread count as it was before, unless someone else has changed it since."""
        import torch

        if self.active and torch.get_num_threads() == self.chosen:
            torch.set_num_threads(self.start)
