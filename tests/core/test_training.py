import numpy as np
import pytest
import torch

from cvstudio import ModelSpec
from cvstudio.specs import SpecError
from cvstudio.core.data import stratified_split
from cvstudio.core.tasks import Cancelled, TaskState, drain
from cvstudio.core.training import (
    ActivationSnapshot,
    BatchEnd,
    CheckpointSaved,
    EpochEnd,
    TrainConfig,
    TrainingError,
    _optimizer,
    _scheduler,
    train_model,
)
from cvstudio.testing import make_tiny_dataset


@pytest.fixture
def data():
    dataset = make_tiny_dataset(classes=3, per_class=20, size=16)
    return dataset, stratified_split(dataset.labels, 0.2, 0.2, seed=0)


def train(registry, data, model="lenet5", state=None, **settings):
    dataset, split = data
    config = TrainConfig.from_params({"epochs": 2, "batch_size": 16, **settings}, snapshot_interval_s=0.0)
    spec = registry.get("models", model) if isinstance(model, str) else model
    return train_model(spec, {}, dataset, split, config, state or TaskState())


def test_training_yields_metrics_snapshots_and_a_result(cvstudio_registry, data, tmp_path):
    dataset, split = data
    config = TrainConfig.from_params({"epochs": 3, "batch_size": 16, "learning_rate": 3e-3}, snapshot_interval_s=0.0)
    events, result = drain(train_model(cvstudio_registry.get("models", "lenet5"), {}, dataset, split, config,
                                       TaskState(), checkpoint_path=tmp_path / "ck.pt"))
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    batches = [e for e in events if isinstance(e, BatchEnd)]
    snapshots = [e for e in events if isinstance(e, ActivationSnapshot)]
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert len(batches) == 3 * 3  # 36 training images in batches of 16
    assert all(np.isfinite(b.loss) for b in batches)
    assert snapshots[0].epoch == 0 and snapshots[-1].epoch == 3
    first, last = snapshots[0], snapshots[-1]
    assert set(first.activations) == set(last.activations) and len(first.activations) >= 4
    assert first.filters.shape[1] == 3  # first conv sees RGB
    assert not np.allclose(first.filters, last.filters)  # the filters learned something
    assert any(isinstance(e, CheckpointSaved) for e in events) and (tmp_path / "ck.pt").exists()
    assert result.test.accuracy >= 0.0 and len(result.test.labels) == len(split.test)
    assert result.parameters > 0 and result.device == "cpu"
    assert epochs[-1].train_loss < epochs[0].train_loss


def test_same_seed_same_metrics(cvstudio_registry, data):
    runs = [drain(train(cvstudio_registry, data, seed=7))[0] for _ in range(2)]
    losses = [[e.loss for e in events if isinstance(e, BatchEnd)] for events in runs]
    assert losses[0] == losses[1]
    other = drain(train(cvstudio_registry, data, seed=8))[0]
    assert [e.loss for e in other if isinstance(e, BatchEnd)] != losses[0]


def test_cancel_between_batches(cvstudio_registry, data):
    state = TaskState()
    events = train(cvstudio_registry, data, state=state)
    for event in events:
        if isinstance(event, BatchEnd):
            state.cancel()
            break
    with pytest.raises(Cancelled):
        drain(events)


class _Broken(torch.nn.Module):
    def __init__(self, channels, size, classes, mode="shape"):
        super().__init__()
        self.mode = mode
        self.linear = torch.nn.Linear(channels * size[0] * size[1], classes + (1 if mode == "shape" else 0))

    def forward(self, x):
        if self.mode == "oom" and self.training:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        logits = self.linear(x.flatten(1))
        return logits * float("inf") if self.mode == "nan" and self.training else logits


def test_wrong_output_shape_is_caught_before_training(data, cvstudio_registry):
    spec = ModelSpec(name="broken", description="x", factory=_Broken)
    with pytest.raises(TrainingError, match=r"returned shape \(2, 4\) for 2 images; expected \(2, 3\)"):
        drain(train(cvstudio_registry, data, model=spec))


def test_out_of_memory_names_the_fix(data, cvstudio_registry):
    spec = ModelSpec(name="hungry", description="x", factory=lambda c, s, k: _Broken(c, s, k, mode="oom"))
    with pytest.raises(TrainingError, match="ran out of memory with batch size 16; lower the batch size"):
        drain(train(cvstudio_registry, data, model=spec))


def test_nan_loss_names_the_fix(data, cvstudio_registry):
    spec = ModelSpec(name="diverging", description="x", factory=lambda c, s, k: _Broken(c, s, k, mode="nan"))
    with pytest.raises(TrainingError, match=r"loss became nan at epoch 1, batch 1.*lower the learning rate \(now 0.001\)"):
        drain(train(cvstudio_registry, data, model=spec))


def test_unknown_or_invalid_training_settings():
    with pytest.raises(SpecError, match="unknown training setting 'epoch'"):
        TrainConfig.from_params({"epoch": 3})
    with pytest.raises(SpecError, match="parameter 'batch_size' is 0, below its minimum 1"):
        TrainConfig.from_params({"batch_size": 0})


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")
def test_cuda_requested_without_cuda(cvstudio_registry, data):
    from cvstudio.core.devices import DeviceError

    with pytest.raises(DeviceError, match="device 'cuda' was requested but is not available.*'auto' or 'cpu'"):
        drain(train(cvstudio_registry, data, device="cuda"))


def test_augmentation_keeps_shape_and_changes_images():
    from cvstudio.core.training import _augment

    images = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8)
    generator = torch.Generator().manual_seed(0)
    shifted = _augment(images, "flip+shift", generator)
    assert shifted.shape == images.shape and not torch.equal(shifted, images)
    assert _augment(images, "none", generator) is images


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_training_on_cuda_with_mixed_precision(cvstudio_registry, data):
    events, result = drain(train(cvstudio_registry, data, device="cuda", amp=True))
    assert result.device.startswith("cuda")
    assert all(np.isfinite(e.loss) for e in events if isinstance(e, BatchEnd))


def test_a_last_batch_of_one_joins_the_previous_batch():
    from cvstudio.core.training import _batch_count

    assert [_batch_count(n, 16) for n in (1, 16, 17, 18, 32, 33)] == [1, 1, 1, 2, 2, 2]


def test_a_loss_that_explodes_without_becoming_nan_is_divergence(cvstudio_registry, data):
    events = []
    with pytest.raises(TrainingError, match="diverged.*lower the learning rate") as caught:
        for event in train(cvstudio_registry, data, model="mlp", epochs=4, batch_size=8, learning_rate=10.0):
            events.append(event)
    assert "epoch 1" in str(caught.value) and not any(isinstance(e, EpochEnd) for e in events)


def test_snapshots_follow_the_image_in_focus_from_the_next_batch(cvstudio_registry, data):
    dataset, split = data
    state = TaskState()
    config = TrainConfig.from_params({"epochs": 2, "batch_size": 16}, snapshot_interval_s=1e9)  # no timed snapshot
    events = train_model(cvstudio_registry.get("models", "lenet5"), {}, dataset, split, config, state)
    first = next(events)
    assert isinstance(first, ActivationSnapshot) and first.probe_index == int(split.val[0])
    chosen = int(split.train[3])
    state.focus = chosen
    next(events)  # the first batch
    followed = next(events)
    assert isinstance(followed, ActivationSnapshot) and followed.probe_index == chosen and followed.epoch == 1
    rest = [e for e in events if isinstance(e, ActivationSnapshot)]
    assert [s.probe_index for s in rest] == [chosen, chosen]  # one at the end of each epoch, of the same image


def test_a_checkpoint_gives_the_maps_of_any_image_as_the_training_saw_them(cvstudio_registry, data, tmp_path):
    from cvstudio.core.checkpoints import CheckpointError, CheckpointMaps

    dataset, split = data
    state = TaskState()
    state.focus = 5
    config = TrainConfig.from_params({"epochs": 1, "batch_size": 16}, snapshot_interval_s=1e9)
    events, _ = drain(train_model(cvstudio_registry.get("models", "lenet5"), {}, dataset, split, config, state,
                                  "net", tmp_path / "net.pt"))
    last = [e for e in events if isinstance(e, ActivationSnapshot)][-1]
    maps = CheckpointMaps(tmp_path / "net.pt", "net", cvstudio_registry, dataset)
    again = maps.snapshot(5)
    assert again.probe_index == 5 and again.epoch == 1 and again.pipeline == "net"
    assert set(again.activations) == set(last.activations)
    for name, activation in last.activations.items():
        np.testing.assert_allclose(again.activations[name], activation, rtol=1e-4, atol=1e-5)
    first_layer = next(iter(again.activations))
    assert not np.allclose(maps.snapshot(6).activations[first_layer], again.activations[first_layer])
    other = make_tiny_dataset(classes=4, per_class=20, size=16)
    with pytest.raises(CheckpointError, match="use the \\[dataset\\] of the run that saved it"):
        CheckpointMaps(tmp_path / "net.pt", "net", cvstudio_registry, other).snapshot(0)


def test_the_one_cycle_schedule_rises_to_the_learning_rate_then_falls_to_almost_nothing():
    config = TrainConfig.from_params({"learning_rate": 0.002, "schedule": "onecycle"})
    optimizer = _optimizer(torch.nn.Linear(2, 2), config)
    scheduler, rates = _scheduler(optimizer, config, steps=20), []
    for _ in range(20):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    peak = rates.index(max(rates))
    assert max(rates) == pytest.approx(0.002) and 4 <= peak <= 7  # the top after about 30 % of the steps
    assert rates[0] < 0.002 / 10 and rates[-1] < 0.002 / 100
    assert _scheduler(optimizer, TrainConfig.from_params({}), steps=20) is None  # constant: nothing to step


def test_a_one_cycle_training_runs_its_steps_and_differs_from_a_constant_rate(cvstudio_registry, data):
    def losses(schedule):
        events = drain(train(cvstudio_registry, data, schedule=schedule, epochs=3))[0]
        return [e.loss for e in events if isinstance(e, BatchEnd)]

    assert losses("onecycle") == losses("onecycle") != losses("constant")
    assert len(losses("onecycle")) == len(losses("constant"))  # the schedule's steps match the batches
