"""How many cores cvstudio's parallel work may use, and how torch's threads wait for each other.

torch runs a network's layers on OpenMP threads that, by default, spin for a while when they wait for
each other. On a laptop where a browser or a video call takes a core, a spinning thread keeps burning
the core it shares while the others wait for it, and training fell eightfold for a twofold share of the
CPU. Sleeping instead of spinning (``OMP_WAIT_POLICY=PASSIVE``) gives up the core at once; it has to be
set before torch is imported, so every entry point calls :func:`prepare_cpu_threads` first.
"""

from __future__ import annotations

import os
from typing import MutableMapping

CPU_THREAD_SETTINGS = {"OMP_WAIT_POLICY": "PASSIVE"}


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS says), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def prepare_cpu_threads(environ: MutableMapping[str, str] = os.environ) -> None:
    """Make torch's threads sleep, not spin, while they wait; a value the user set is kept.

    Call it before anything imports torch: OpenMP reads the setting once, when it starts.
    """
    for name, value in CPU_THREAD_SETTINGS.items():
        environ.setdefault(name, value)
