"""What `cvstudio run` does when torchrun starts it several times, and `--nproc`, which starts torchrun.

Process 0 runs the experiment as usual, into its run folder; the other processes train the same
[[deep]] pipelines alongside it, each on its share of every batch, and write nothing (see
:mod:`cvstudio.core.distributed`). docs/distributed-training.md says what users get.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Generator, Sequence

from cvstudio.core.distributed import DistributedError
from cvstudio.core.experiment import COMPARE, Experiment, load_dataset, split_dataset
from cvstudio.core.threads import usable_cores
from cvstudio.core.training import train_model
from cvstudio.plugins import Registry

GUIDE = "docs/distributed-training.md"


def check_experiment(experiment: Experiment) -> None:
    """Refuse what a distributed training cannot run, before any process trains."""
    if experiment.study.name != COMPARE:
        raise DistributedError(f"a [study] of kind '{experiment.study.name}' cannot be spread over processes with "
                               "torchrun: it trains many small networks, not one big one; run it without torchrun "
                               f"(see {GUIDE})")
    if not experiment.deep:
        raise DistributedError("this experiment has no [[deep]] pipeline: only a network's training is spread over "
                               "processes; run it without torchrun")
    from cvstudio.core.devices import resolve_device

    for pipeline in experiment.deep:
        if resolve_device(pipeline.training.device).type == "mps":
            raise DistributedError(f"[[deep]] '{pipeline.label}' trains on Apple's MPS, which torch.distributed "
                                   "cannot use: set its device to 'cpu' (or --device cpu)")


def follow(experiment: Experiment, registry: Registry, state: Any) -> Generator[Any, None, None]:
    """A process other than 0: train every [[deep]] pipeline alongside process 0, writing nothing.

    Process 0 fits the classical pipelines alone meanwhile; the others wait for it at the first
    step of the first network.
    """
    dataset = load_dataset(experiment, registry)
    split = split_dataset(experiment, dataset)
    for pipeline in experiment.deep:
        spec = registry.get("models", pipeline.model.name)
        yield from train_model(spec, pipeline.model.params, dataset, split, pipeline.training, state, pipeline.label)


def launch(processes: int, cvstudio_args: Sequence[str], debug: bool = False) -> int:
    """Run ``cvstudio *cvstudio_args`` in ``processes`` processes on this machine, as torchrun would; the exit status.

    This process is torchrun's agent (torch.distributed.run, standalone): it starts the processes,
    watches them and stops them all when one fails or on Ctrl-C. Each process gets an equal share of
    the usable cores as its threads, unless OMP_NUM_THREADS is set. Process 0 prints the errors; here
    one line says which process failed first (torchrun's logging and failure table with ``debug``).
    """
    if processes < 1:
        raise DistributedError(f"--nproc {processes}: give the number of processes to train with, 1 or more")
    if "TORCHELASTIC_RUN_ID" in os.environ:
        raise DistributedError("--nproc is given to a process that torchrun started: give one or the other")
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, usable_cores() // processes)))
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    if not debug:
        _quiet_loggers("torch.distributed")

    program = [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "cvstudio"]
    options = ["--standalone", f"--nproc-per-node={processes}", "--no-python", *program, *cvstudio_args]
    try:
        torchrun.run(torchrun.parse_args(options))
    except ChildFailedError as failed:
        if debug:
            print(failed.format_msg(), file=sys.stderr)
        rank, failure = failed.get_first_failure()
        others = "; torchrun stopped the others" if processes > 1 else ""
        print(f"error: process {rank} of {processes} failed first ({_ending(failure)}){others}", file=sys.stderr)
        return 1
    except SignalException as stopped:  # Ctrl-C or SIGTERM: torchrun stopped every process, which closed its run
        return 128 + int(stopped.sigval)
    return 0


def _quiet_loggers(prefix: str) -> None:
    """Only critical messages from torch's loggers under ``prefix``: the processes say what went wrong."""
    import logging

    for name in [prefix, *logging.root.manager.loggerDict]:
        if name.startswith(prefix):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def _ending(failure: Any) -> str:
    """How a process ended, in words."""
    return f"stopped by {failure.signal_name()}" if failure.exitcode < 0 else f"exit status {failure.exitcode}"
