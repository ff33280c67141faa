"""How much memory a dataset needs, checked against what the machine has free before it is made.

A dataset too large for the machine is refused with both figures and what to
change, instead of growing until the operating system kills the process.
"""

from __future__ import annotations

from cvstudio.core.data import DatasetError

# Part of the free memory a dataset may take: the run that uses it needs room too.
USABLE_FRACTION = 0.5


def available_bytes() -> int:
    """Memory the machine can give without swapping, as the operating system reports it."""
    import psutil

    return int(psutil.virtual_memory().available)


def image_bytes(count: int, height: int, width: int, channels: int) -> int:
    """Bytes of ``count`` uint8 images: what an ImageDataset of them holds."""
    return count * height * width * channels


def check_fits(needed: int, what: str, fix: str) -> None:
    """Refuse ``what`` if it needs more than USABLE_FRACTION of the free memory, saying both figures and ``fix``."""
    available = available_bytes()
    if needed > USABLE_FRACTION * available:
        raise DatasetError(f"{what} needs about {_gb(needed)} of memory, and a run needs as much again, but this "
                           f"machine has {_gb(available)} free; {fix}")


def _gb(size: int) -> str:
    return f"{size / 1024**3:.1f} GB" if size >= 1024**3 / 10 else f"{size / 1024**2:.0f} MB"
