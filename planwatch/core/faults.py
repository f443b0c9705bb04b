"""Named crash points, for proving that a run killed at any moment leaves nothing half done.

`crash_point("publish.before_rename")` does nothing unless the environment variable
`PLANWATCH_CRASH_AT` names that point; then the process kills itself with SIGKILL, the signal
nothing can catch or clean up after (like the OOM killer or a power cut). `name@n` crashes on
the n-th time the point is reached in this process (`load_statistics.file_loaded@2`: after the
second file); several points may be listed, separated by commas. The reliability tests
(tests/reliability/test_crash.py) set the variable in a child process; production never does.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections import Counter

log = logging.getLogger(__name__)

ENV_VAR = "PLANWATCH_CRASH_AT"
_hits: Counter[str] = Counter()


def _wanted(spec: str, name: str) -> int | None:
    for item in spec.split(","):
        target, _, nth = item.strip().partition("@")
        if target == name:
            return int(nth) if nth else 1
    return None


def crash_point(name: str) -> None:
    """SIGKILL this process here when `PLANWATCH_CRASH_AT` names `name` (and this is the n-th hit)."""
    spec = os.environ.get(ENV_VAR)
    if not spec:
        return
    nth = _wanted(spec, name)
    if nth is None:
        return
    _hits[name] += 1
    if _hits[name] < nth:
        return
    log.critical("crash point %s reached (hit %d): killing process %d with SIGKILL", name, _hits[name], os.getpid())
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)
