"""The pieces of a distributed training that need no torchrun: environment checks, batch shares, weight digests,
and two processes joined by hand checking that their weights agree."""

import os
import socket
import subprocess
import sys
import textwrap

import pytest

from cvstudio.core.distributed import (
    DistributedError,
    World,
    launched_world_size,
    timeout_s,
    weights_digest,
)
from cvstudio.core.experiment import parse_experiment
from cvstudio.core.torchrun import check_experiment, launch
from cvstudio.core.training import TrainingError, _batch_count, batch_size_check


def test_world_size_comes_from_torchrun_environment():
    assert launched_world_size({}) == 1
    assert launched_world_size({"WORLD_SIZE": "3", "RANK": "0", "MASTER_ADDR": "h", "MASTER_PORT": "1"}) == 3
    with pytest.raises(DistributedError, match="WORLD_SIZE='two' is not a number"):
        launched_world_size({"WORLD_SIZE": "two"})
    with pytest.raises(DistributedError, match="MASTER_ADDR is not.*torchrun --nproc-per-node N"):
        launched_world_size({"WORLD_SIZE": "2", "RANK": "1"})


def test_timeout_can_be_set_and_is_checked():
    assert timeout_s({}) == 1800
    assert timeout_s({"CVSTUDIO_DIST_TIMEOUT_S": "60"}) == 60
    for bad in ("0", "soon", "-5", "nan"):
        with pytest.raises(DistributedError, match="CVSTUDIO_DIST_TIMEOUT_S.*positive number of seconds"):
            timeout_s({"CVSTUDIO_DIST_TIMEOUT_S": bad})


def test_each_process_takes_every_size_th_image_of_a_batch():
    batch = list(range(10))
    shares = [World(rank, 3, rank).shard(batch) for rank in range(3)]
    assert shares == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert sorted(sum(shares, [])) == batch


def test_batches_leave_every_process_two_images():
    assert _batch_count(33, 16) == 2  # one image left joins the batch before
    assert _batch_count(35, 16, smallest=4) == 2  # three left: too few for two processes, joins too
    assert _batch_count(36, 16, smallest=4) == 3
    batch_size_check(4, 2)
    with pytest.raises(TrainingError, match="batch size 5 is too small for 3 processes.*6 or more"):
        batch_size_check(5, 3)


def test_weights_digest_changes_with_any_weight_or_buffer():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    before = weights_digest(model.state_dict())
    assert before == weights_digest(model.state_dict())
    model[1].running_mean[0] += 1e-6
    assert weights_digest(model.state_dict()) != before


def experiment(text):
    import tomllib

    from cvstudio.plugins import load_registry

    return parse_experiment(tomllib.loads(textwrap.dedent(text)), load_registry())


def test_only_a_comparison_with_a_network_is_spread_over_processes():
    classical_only = experiment("""
        [dataset]
        name = "shapes"
        [[classical]]
        features = ["color-moments"]
        classifier = "knn"
    """)
    with pytest.raises(DistributedError, match="no \\[\\[deep\\]\\] pipeline"):
        check_experiment(classical_only)
    study = experiment("""
        [study]
        kind = "architectures"
        [dataset]
        name = "shapes"
        [[deep]]
        model = "mlp"
    """)
    with pytest.raises(DistributedError, match="kind 'architectures' cannot be spread over processes"):
        check_experiment(study)
    on_cpu = experiment("""
        [dataset]
        name = "shapes"
        [[deep]]
        model = "mlp"
        device = "cpu"
    """)
    check_experiment(on_cpu)


def test_launch_refuses_no_processes():
    with pytest.raises(DistributedError, match="--nproc 0: give the number of processes to train with, 1 or more"):
        launch(0, ["run", "exp.toml"])


TWO_PROCESSES = """
import sys
import torch
from cvstudio.core.distributed import DistributedError, process_group

with process_group() as world:
    torch.manual_seed(int(sys.argv[1]))
    model = torch.nn.Linear(5, 2)
    try:
        print("agreed", world.agreed_weights(model))
    except DistributedError as exc:
        print("refused", exc)
    print("first problem:", world.first_problem(sys.argv[2] if len(sys.argv) > 2 else None))
"""


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def two_processes(tmp_path, seeds, problems=((), ())):
    """Two processes joined as torchrun would join them, each building a network from its seed."""
    script = tmp_path / "agree.py"
    script.write_text(TWO_PROCESSES)
    port = free_port()
    processes = []
    for rank, (seed, problem) in enumerate(zip(seeds, problems)):
        env = {"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1",
               "MASTER_PORT": str(port), "CVSTUDIO_DIST_TIMEOUT_S": "60", "OMP_NUM_THREADS": "1"}
        processes.append(subprocess.Popen([sys.executable, str(script), str(seed), *problem], text=True,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          env={**os.environ, **env}))
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        outputs.append(out.strip().splitlines())
    return outputs


def test_processes_refuse_weights_that_differ_and_share_problems(tmp_path):
    """(Agreeing weights are checked by every run on two processes: tests/cli/test_torchrun.py.)"""
    first, second = two_processes(tmp_path, [7, 8], problems=((), ("no such plugin",)))
    assert first[0] == "refused after training, the weights of process(es) [1] differ from those of " \
                       "process 0: the processes did not train in step"
    assert second[0].startswith("refused") and "process(es) [0]" in second[0]
    # a problem one process found is known to every one, naming that process where it is not its own
    assert first[1] == "first problem: process 1 of 2: no such plugin"
    assert second[1] == "first problem: no such plugin"
