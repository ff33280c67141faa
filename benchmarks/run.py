"""`make bench`: every ratio, measured in one run, printed as a table (stderr) and one JSON object (stdout).

Each ratio is the median of several interleaved pairs, with its spread (see :mod:`pairs`); the JSON also
records the machine's cores and its load average before and after, so that a reader can tell a regression
from a busy machine. ``--quick`` measures smaller workloads with fewer pairs (a check that everything
runs, not figures to compare); ``--repeat N`` sets the number of pairs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from pairs import describe, machine  # noqa: E402

GROUPS = ("hog", "training", "contention", "gui", "first_curve", "inference", "datasets", "ddp", "cluster", "gpu")
LAZY_IMPORT_CHECK = """
import contextlib, io, sys
from cvstudio.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    main(["plugins"])
print(not any(m in sys.modules for m in ("torch", "PySide6")))
"""


def lazy_import() -> bool:
    """True when listing plugins imports neither torch nor PySide6 (in a fresh interpreter)."""
    result = subprocess.run([sys.executable, "-c", LAZY_IMPORT_CHECK], capture_output=True, text=True, check=True)
    return result.stdout.strip() == "True"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Measure cvstudio's performance ratios.")
    parser.add_argument("--quick", action="store_true", help="small workloads, 2 pairs: checks that it all runs")
    parser.add_argument("--repeat", type=int, help="interleaved pairs per ratio (default 5; 2 with --quick)")
    parser.add_argument("--only", nargs="+", choices=GROUPS, help="measure only these groups")
    args = parser.parse_args(argv)
    pairs = args.repeat or (2 if args.quick else 5)
    if pairs < 1:
        parser.error("--repeat must be at least 1")

    from bench_cluster import cluster_ratios
    from bench_contention import contention_ratios
    from bench_datasets import dataset_ratios
    from bench_ddp import ddp_ratios
    from bench_first_curve import first_curve
    from bench_gpu import gpu_ratios
    from bench_gui import gui_ratios
    from bench_hog import hog_vs_skimage
    from bench_inference import inference_ratios
    from bench_training import train_overhead

    groups = {
        "hog": lambda: {"hog_vs_skimage": hog_vs_skimage(pairs)},
        "training": lambda: {"train_overhead": train_overhead(pairs)},
        "contention": lambda: contention_ratios(pairs, args.quick),
        "gui": lambda: gui_ratios(pairs, args.quick),
        "first_curve": lambda: first_curve(pairs),
        "inference": lambda: inference_ratios(pairs, args.quick),
        "datasets": lambda: dataset_ratios(pairs, args.quick),
        "ddp": lambda: ddp_ratios(pairs, args.quick),
        "cluster": lambda: cluster_ratios(pairs, args.quick),
        "gpu": lambda: gpu_ratios(pairs, args.quick),
    }
    before, started = machine(), time.time()
    results: dict[str, object] = {"lazy_import": lazy_import()}
    for name in args.only or groups:
        measured = groups[name]()
        for key, value in measured.items():
            print("\n".join(describe(key, value)), file=sys.stderr, flush=True)
        results.update(measured)
    results["machine"] = {**before, "load_average_after": machine()["load_average"], "pairs": pairs,
                          "quick": args.quick, "seconds": round(time.time() - started)}
    print(f"machine: {results['machine']}", file=sys.stderr)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
