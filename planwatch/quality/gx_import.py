"""GX's import without the parts of its dependencies that planwatch's checks never run.

`import great_expectations` imports every expectation GX ships, and one of them
(`expect_column_kl_divergence_to_be_less_than`) imports `scipy.stats` at module level: about a quarter of
GX's import (0.6-0.9 s of the 2.5-2.8 s of CPU it took, measured under load, bench/README.md, fifteenth
pass). The checks process pays that import in every run, beside dbt's build. None of planwatch's rules
(expectations/) computes a statistical test, so `scipy.stats` is registered as a lazy module
(importlib.util.LazyLoader) before GX is imported: GX's `from scipy import stats` gets the module object,
and scipy.stats runs its code the first time anything reads an attribute of it, as an expectation that
needs it would. Nothing is stubbed: a use of scipy.stats behaves as with a plain import.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys

# modules GX imports at its own import and planwatch's checks never use
DEFERRED = ("scipy.stats",)


def defer(name: str) -> bool:
    """Register `name` in sys.modules as a lazy module, and as its parent package's attribute (the
    parent is imported: scipy's own package is small); False when it is already imported or not installed.

    The attribute matters: `from scipy import stats` finds it there without touching the module, while
    the import machinery, asked for a module in sys.modules, reads its `__spec__`, which would run it."""
    if name in sys.modules:
        return False
    parent, _, child = name.rpartition(".")
    try:
        package = importlib.import_module(parent) if parent else None
    except ImportError:
        return False
    spec = importlib.machinery.PathFinder.find_spec(name, getattr(package, "__path__", None))
    if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
        return False
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)  # the lazy loader only arms the module: its code runs on first use
    if package is not None:
        setattr(package, child, module)
    return True


def defer_unused_dependencies() -> None:
    """Before GX's first import in this process (validate.py calls it where it imports GX)."""
    if "great_expectations" not in sys.modules:
        for name in DEFERRED:
            defer(name)
