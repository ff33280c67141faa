"""`make bench`: every ratio, measured in one run, printed as one JSON object."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

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


def main() -> None:
    from bench_gui import gui_ratios
    from bench_hog import hog_vs_skimage
    from bench_inference import inference_ratios
    from bench_training import train_overhead

    results = {
        "lazy_import": lazy_import(),
        "hog_vs_skimage": round(hog_vs_skimage(), 1),
        "train_overhead": round(train_overhead(), 3),
        **gui_ratios(),
        **inference_ratios(),
    }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
