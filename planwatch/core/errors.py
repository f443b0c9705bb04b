"""One root error for planwatch, split into terminal and transient failures.

Terminal errors are about the data or the configuration: retrying cannot help, a person must act.
Transient errors (a locked DuckDB file, a network hiccup) may go away on retry. The DAG maps the
first to Airflow's fail-without-retry exception and lets the second retry.
"""

from __future__ import annotations


class PlanwatchError(Exception):
    """Root of every planwatch error. Messages name the value, what was expected and what to do."""

    exit_code = 1


class TerminalError(PlanwatchError):
    """Bad data, schema drift, failed expectations: a person must act before a retry helps."""


class TransientError(PlanwatchError):
    """A failure that may pass on retry (DuckDB lock held by another process, network)."""

    exit_code = 3


class ConfigError(TerminalError):
    """A setting, path or command-line argument is wrong."""

    exit_code = 2


class FileRefused(TerminalError):
    """A raw file could not be read at all (encoding, truncated, empty, outside raw/)."""

    def __init__(self, path: str, reason: str, hint: str = "") -> None:
        self.path = path
        self.reason = reason
        self.hint = hint
        message = f"`file={path}`: {reason}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class ChecksFailed(TerminalError):
    """Blocking data-quality checks failed; the candidate warehouse was not published."""

    def __init__(self, run_id: str, failed: list[str], candidate: str) -> None:
        self.run_id = run_id
        self.failed = failed
        self.candidate = candidate
        shown = ", ".join(failed[:10]) + (" …" if len(failed) > 10 else "")
        super().__init__(
            f"`run_id={run_id}`: {len(failed)} blocking check(s) failed: {shown}. "
            f"Nothing was published; the candidate is kept at {candidate}. "
            f"Inspect it with `python -m planwatch status` or open it read-only in DuckDB."
        )


class WarehouseLocked(TransientError):
    """Another process holds the DuckDB file for writing."""
