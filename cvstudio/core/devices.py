"""Choosing where torch runs: Auto picks CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

from dataclasses import dataclass

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


class DeviceError(RuntimeError):
    """The requested device is not usable on this machine."""


@dataclass(frozen=True)
class DeviceInfo:
    name: str
    available: bool
    detail: str


def available_devices() -> list[DeviceInfo]:
    """What this machine offers, for the device picker and `cvstudio plugins`."""
    import torch

    devices = [DeviceInfo("cpu", True, f"{torch.get_num_threads()} threads")]
    if torch.cuda.is_available():
        devices.append(DeviceInfo("cuda", True, torch.cuda.get_device_name(0)))
    else:
        devices.append(DeviceInfo("cuda", False, "no CUDA device found"))
    mps = getattr(torch.backends, "mps", None)
    devices.append(DeviceInfo("mps", bool(mps and mps.is_available()), "Apple GPU"))
    return devices


def resolve_device(name: str) -> "torch.device":  # noqa: F821 - torch is imported lazily
    import torch

    if name not in DEVICE_CHOICES:
        raise DeviceError(f"unknown device '{name}'; choose one of {', '.join(DEVICE_CHOICES)}")
    usable = {d.name: d for d in available_devices()}
    if name == "auto":
        name = next(n for n in ("cuda", "mps", "cpu") if usable[n].available)
    elif not usable[name].available:
        raise DeviceError(
            f"device '{name}' was requested but is not available here ({usable[name].detail}); "
            "set device to 'auto' or 'cpu'"
        )
    return torch.device(name)
