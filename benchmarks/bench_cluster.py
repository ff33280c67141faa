"""cluster_speedup and cluster_overhead: a small data-scaling study on a Ray cluster started on this computer.

- ``cluster_speedup``: wall time of the study on one node / on two nodes (one CPU each, one thread
  per cell); the second node is added for the two-node side and removed again, pair by pair.
- ``cluster_overhead``: the study on the one-node cluster / in-process with one thread: what Ray's
  start of a job and its workers, scheduling and result transfer cost.

Each side is a whole study as a user runs it (``cvstudio run --cluster``): connecting, the workers'
start (a new job starts its own worker processes, which import torch), the cells, the run folder.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import torch

from cvstudio.core.cells import ray_executor
from cvstudio.core.experiment import parse_experiment, run_experiment
from cvstudio.core.runs import RunStore
from cvstudio.core.tasks import TaskState, drain
from cvstudio.plugins import load_registry
from pairs import Ratio, interleaved

NODE = {"num_cpus": 1, "object_store_memory": 100 * 1024**2}


def study(quick: bool) -> dict:
    """Six cells of about 4 s each on one core (less with ``quick``): a LeNet-5 at three sizes, two seeds."""
    return {
        "title": "Cluster benchmark",
        "study": {"kind": "scaling", "sizes": [20, 40, 60], "seeds": 2, "min_steps": 60 if quick else 500},
        "dataset": {"name": "shapes", "params": {"per_class": 100, "image_size": 32, "classes": 3}},
        "split": {"val": 0.2, "test": 0.2},
        "deep": [{"label": "LeNet-5", "model": "lenet5", "epochs": 2, "batch_size": 32, "device": "cpu"}],
    }


def _timed(experiment, registry, executor=None) -> float:
    with tempfile.TemporaryDirectory() as folder:
        run = RunStore(Path(folder)).create(experiment.title)
        start = time.perf_counter()
        drain(run_experiment(experiment, registry, run, TaskState(), executor=executor))
        return time.perf_counter() - start


def cluster_ratios(pairs: int, quick: bool) -> dict:
    from ray.cluster_utils import Cluster

    registry = load_registry(autoload=False, directories=[])
    experiment = parse_experiment(study(quick), registry)
    threads = torch.get_num_threads()
    cluster = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
    try:
        def one_node() -> float:
            return _timed(experiment, registry, ray_executor(cluster.address))

        def two_nodes() -> float:
            node = cluster.add_node(**NODE)
            cluster.wait_for_nodes()
            try:
                return _timed(experiment, registry, ray_executor(cluster.address))
            finally:
                cluster.remove_node(node)

        def in_process() -> float:
            torch.set_num_threads(1)  # one thread per cell, as on a node
            try:
                return _timed(experiment, registry)
            finally:
                torch.set_num_threads(threads)

        one_node()  # warm-up: Ray's first job on a fresh cluster sets up more than the others
        rounds = interleaved([one_node, two_nodes, in_process], pairs)
    finally:
        cluster.shutdown()
    return {
        "cluster_speedup": Ratio(tuple(one / two for one, two, _ in rounds)).to_json(),
        "cluster_overhead": Ratio(tuple(one / here for one, _, here in rounds)).to_json(),
        "cluster_extra_s": Ratio(tuple(one - here for one, _, here in rounds)).to_json(),
        "cluster_seconds": {"one_node": [round(r[0], 1) for r in rounds], "two_nodes": [round(r[1], 1) for r in rounds],
                            "in_process": [round(r[2], 1) for r in rounds]},
    }


if __name__ == "__main__":
    print(json.dumps(cluster_ratios(2, quick=True)))
