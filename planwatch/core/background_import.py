"""Heavy imports started in a daemon thread, for a process that runs several stages in turn (`run_all`,
the benchmark; planwatch.run.pipeline.before_stage).

GX's import takes 3-4 s of one core, dbt's about 1 s, altair's with the report's chart 0.3-0.4 s: started
while a stage whose DuckDB queries release the GIL runs (the statistics load, publish's export), they are
done when the stage that needs them begins.
Airflow runs each stage in its own process, so its tasks never call this. A stage waits for its module's
thread before the import of its own (a half-imported module must not be used); an import error surfaces
there, from that import.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

_threads: dict[str, threading.Thread] = {}


def import_in_background(module: str, then: Callable[[], None] | None = None) -> None:
    """Start importing `module` in a daemon thread (once per process); `then` runs after it, in the thread."""
    if module in _threads:
        return
    # Imported here first, so that the thread and the load stages never import them at the same time.
    import numpy  # noqa: F401
    import pyarrow  # noqa: F401

    def target() -> None:
        try:
            importlib.import_module(module)
            if then is not None:
                then()
        except Exception:  # noqa: BLE001 - the stage meets the error again, where it is reported
            log.debug("importing %s in the background failed", module, exc_info=True)

    thread = threading.Thread(target=target, name=f"import-{module}", daemon=True)
    _threads[module] = thread
    thread.start()


def wait_for_import(module: str) -> None:
    """Block until the background import of `module`, if one was started, has ended."""
    thread = _threads.get(module)
    if thread is not None:
        thread.join()
