"""Ratios a reader can trust on a noisy machine: the median of interleaved pairs, with its spread.

Each pair measures both sides back to back, the order alternating from pair to pair, so that the
machine's drift (another job starting, the CPU clocking down) falls on both sides alike. The median
of the pairs' ratios is the figure; the lowest and highest say how much it moved. Best-of figures
are not used: they hide the noise a reader needs to tell a regression from.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass
from typing import Any, Callable, Sequence


@dataclass(frozen=True)
class Ratio:
    """Several measurements of one ratio."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def to_json(self, digits: int = 3) -> dict[str, Any]:
        return {"median": round(self.median, digits),
                "spread": [round(min(self.values), digits), round(max(self.values), digits)],
                "pairs": len(self.values)}


def interleaved(sides: Sequence[Callable[[], Any]], pairs: int) -> list[tuple[Any, ...]]:
    """Measure every side ``pairs`` times, one round after another, the order rotating each round.

    Returns one tuple of measurements per round, in the order of ``sides``.
    """
    rounds = []
    for index in range(pairs):
        shift = index % len(sides)
        order = list(range(len(sides)))[shift:] + list(range(len(sides)))[:shift]
        measured: dict[int, Any] = {}
        for side in order:
            measured[side] = sides[side]()
        rounds.append(tuple(measured[side] for side in range(len(sides))))
    return rounds


def paired_ratio(numerator: Callable[[], float], denominator: Callable[[], float], pairs: int) -> Ratio:
    """numerator() / denominator() over ``pairs`` interleaved pairs."""
    return Ratio(tuple(n / d for n, d in interleaved([numerator, denominator], pairs)))


def machine() -> dict[str, Any]:
    """What the figures were measured on: cores, and the load average (1, 5 and 15 minutes) right now."""
    return {"cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]}


def describe(name: str, value: Any) -> list[str]:
    """Readable lines for one result: a ratio's median and spread, a per-model table, or a plain value."""
    if isinstance(value, dict) and "median" in value:
        low, high = value["spread"]
        return [f"{name:<32} {value['median']:>9}   [{low} – {high}]  ({value['pairs']} pairs)"]
    if isinstance(value, dict) and value and all(isinstance(v, dict) and "median" in v for v in value.values()):
        return [line for key, item in value.items() for line in describe(f"{name}.{key}", item)]
    return [f"{name:<32} {value}"]
