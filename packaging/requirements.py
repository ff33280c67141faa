"""Print cvstudio's runtime requirements for this platform, one a line, less the torch the bundle brings.

A CPU bundle installs its torch first (a CPU build, from the PyTorch CPU index
or a local wheel), then these; ``--cpu`` also trades onnxruntime-gpu for the
CPU-only onnxruntime, which is a tenth of its size.
"""

import argparse
import sys
from pathlib import Path

from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
TORCH = {"torch", "torchvision"}


def requirements(cpu: bool, without_torch: bool) -> list[str]:
    """The dependencies of pyproject.toml whose markers hold here, optionally for a CPU-only bundle."""
    wanted = []
    for line in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        if without_torch and requirement.name in TORCH:
            continue
        if cpu and requirement.name == "onnxruntime-gpu":
            requirement.name = "onnxruntime"
        requirement.marker = None
        wanted.append(str(requirement))
    return wanted


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cpu", action="store_true", help="onnxruntime instead of onnxruntime-gpu")
    parser.add_argument("--without-torch", action="store_true", help="leave out torch and torchvision")
    options = parser.parse_args()
    print("\n".join(requirements(options.cpu, options.without_torch)))
