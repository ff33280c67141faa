"""The bundle's entry point: the `cvstudio` command, as `pip install` would make it."""

import multiprocessing
import sys

from cvstudio.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen app's worker processes start through this executable
    sys.exit(main())
