"""torch's threads sleep while they wait, set by every entry point before torch is imported."""

import os
import subprocess
import sys

from cvstudio.core.threads import prepare_cpu_threads, usable_cores

ENTRY_POINT = """
import contextlib, io, os, sys
from cvstudio.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    main(["plugins"])
print("torch" in sys.modules, os.environ.get("OMP_WAIT_POLICY"))
"""


def test_threads_wait_passively_unless_the_user_chose_otherwise():
    environ = {}
    prepare_cpu_threads(environ)
    assert environ == {"OMP_WAIT_POLICY": "PASSIVE"}
    chosen = {"OMP_WAIT_POLICY": "ACTIVE"}
    prepare_cpu_threads(chosen)
    assert chosen == {"OMP_WAIT_POLICY": "ACTIVE"}


def test_the_command_line_sets_the_wait_policy_before_torch_is_imported():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", ENTRY_POINT], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["False", "PASSIVE"]


def test_usable_cores_is_at_least_one_and_at_most_the_machine():
    assert 1 <= usable_cores() <= (os.cpu_count() or 1)
