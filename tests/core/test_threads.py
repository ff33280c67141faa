"""torch trains on as many threads as other programs leave cores free, and gives its count back after."""

import os

import pytest
import torch

from cvstudio.core import training
from cvstudio.core.data import stratified_split
from cvstudio.core.tasks import TaskState
from cvstudio.core.threads import CHECK_EVERY_S, FreeCoreThreads, cpu_seconds, usable_cores
from cvstudio.core.training import BatchEnd, TrainConfig, train_model
from cvstudio.testing import make_tiny_dataset


class Machine:
    """A clock and the CPU seconds used so far: ``others`` cores busy with other programs, this process one."""

    def __init__(self) -> None:
        self.now = self.busy = self.ours = 0.0
        self.others = 0.0

    def run(self, seconds: float) -> None:
        self.now += seconds
        self.ours += seconds
        self.busy += seconds * (1 + self.others)

    def read(self) -> tuple[float, float]:
        return self.busy, self.ours

    def threads_after(self, seconds: float, threads: FreeCoreThreads) -> int:
        """Let ``seconds`` pass, have ``threads`` look, and say how many threads torch has then."""
        self.run(seconds)
        threads.check()
        return torch.get_num_threads()


@pytest.fixture
def four_threads(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(4)
    yield
    torch.set_num_threads(before)


def watched(machine: Machine) -> FreeCoreThreads:
    return FreeCoreThreads(machine.read, lambda: machine.now, cores=4)


def test_torch_gets_the_cores_others_leave_free_and_never_more_than_it_had(four_threads):
    machine = Machine()
    threads = watched(machine)
    for others, expected in [(0.0, 4), (1.0, 3), (2.6, 1), (3.9, 1), (0.2, 4)]:
        machine.others = others
        assert machine.threads_after(CHECK_EVERY_S, threads) == expected, f"{others} cores busy elsewhere"
    threads.restore()
    assert torch.get_num_threads() == 4


def test_it_looks_only_every_half_second(four_threads):
    machine = Machine()
    threads = watched(machine)
    machine.others = 3.0
    assert machine.threads_after(CHECK_EVERY_S / 2, threads) == 4
    assert machine.threads_after(CHECK_EVERY_S / 2, threads) == 1


def test_a_count_chosen_by_someone_else_stands(four_threads):
    machine = Machine()
    threads = watched(machine)
    machine.others = 2.0
    assert machine.threads_after(CHECK_EVERY_S, threads) == 2
    torch.set_num_threads(3)  # a study giving each of its cells its own threads, say
    machine.others = 0.0
    assert machine.threads_after(CHECK_EVERY_S, threads) == 3
    threads.restore()
    assert torch.get_num_threads() == 3


def test_omp_num_threads_is_the_users_choice(four_threads, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    machine = Machine()
    threads = watched(machine)
    machine.others = 3.0
    assert machine.threads_after(CHECK_EVERY_S, threads) == 4
    threads.restore()
    assert torch.get_num_threads() == 4


def test_a_training_uses_one_thread_beside_busy_programs_and_gives_the_cores_back(four_threads, monkeypatch,
                                                                                cvstudio_registry):
    machine = Machine()
    machine.others = 3.0
    monkeypatch.setattr(training, "FreeCoreThreads", lambda: watched(machine))
    dataset = make_tiny_dataset(classes=3, per_class=20, size=16)
    config = TrainConfig.from_params({"epochs": 2, "batch_size": 8}, snapshot_interval_s=60.0)
    during = []
    for event in train_model(cvstudio_registry.get("models", "lenet5"), {}, dataset,
                             stratified_split(dataset.labels, 0.2, 0.2, seed=0), config, TaskState()):
        if isinstance(event, BatchEnd):
            during.append(torch.get_num_threads())
            machine.run(CHECK_EVERY_S)
    assert during[0] == 4 and set(during[1:]) == {1}
    assert torch.get_num_threads() == 4


def test_cpu_seconds_count_this_process_among_all():
    busy, ours = cpu_seconds()
    sum(i * i for i in range(300_000))
    busy_after, ours_after = cpu_seconds()
    assert ours_after > ours and busy_after >= busy
    assert 0 < ours_after <= busy_after + 1


def test_usable_cores_is_at_least_one_and_at_most_the_machine():
    assert 1 <= usable_cores() <= (os.cpu_count() or 1)
