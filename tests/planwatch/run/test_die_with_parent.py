"""The checks' process of run_concurrent_stages dies with the process that started it
(planwatch.run.pipeline.die_with_parent), asked for in the child itself, not between fork and exec."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from planwatch.run.pipeline import PARENT_ENV

REPO_ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")

CHILD = "from planwatch.run.pipeline import die_with_parent; die_with_parent(); import time; time.sleep(60)"
# a parent that starts the child as run_concurrent_stages does (its pid in the env), prints the child's pid, waits
PARENT = f"""
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", {CHILD!r}], env={{**os.environ, {PARENT_ENV!r}: str(os.getpid())}})
print(child.pid, flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"  # a zombie has died, its parent not yet told
    except FileNotFoundError:
        return False


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_the_checks_process_dies_when_its_parent_is_killed() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    parent = subprocess.Popen([sys.executable, "-c", PARENT], env=env, stdout=subprocess.PIPE, text=True)
    child_pid = int(parent.stdout.readline())
    time.sleep(2.0)  # the child has imported planwatch and asked the kernel
    assert _alive(child_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)
    assert _gone_within(child_pid, 10), "the checks' process outlived its killed parent"


def test_a_checks_process_whose_parent_is_already_gone_ends_at_once() -> None:
    """The parent died before the child could ask: the pid it was given is no longer its parent's."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), PARENT_ENV: "1"}
    child = subprocess.run([sys.executable, "-c", CHILD], env=env, timeout=30)
    assert child.returncode == -signal.SIGKILL
