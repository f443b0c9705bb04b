"""The data-quality rules' code, `expectations/suites/`, imported as a package from the home's code.

The suites live beside dbt/, not inside the planwatch package. The checks (planwatch.quality.validate)
run them; the receipts read their thresholds (expectations/thresholds.yml) through them, so that a
threshold has one home.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from planwatch.core.config import Settings
from planwatch.core.errors import ConfigError

SUITES_PACKAGE = "planwatch_expectation_suites"


def load_suites(settings: Settings) -> ModuleType:
    """Import `expectations/suites` (code kept beside dbt/, not inside the planwatch package)."""
    if SUITES_PACKAGE in sys.modules:
        module = sys.modules[SUITES_PACKAGE]
        if Path(module.__file__ or "").parent == settings.expectations_dir / "suites":
            return module
        for name in [n for n in sys.modules if n == SUITES_PACKAGE or n.startswith(SUITES_PACKAGE + ".")]:
            del sys.modules[name]
    init = settings.expectations_dir / "suites" / "__init__.py"
    if not init.exists():
        raise ConfigError(f"`file={init}` is missing: the data-quality suites live in expectations/suites/")
    spec = importlib.util.spec_from_file_location(SUITES_PACKAGE, init,
                                                  submodule_search_locations=[str(init.parent)])
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[SUITES_PACKAGE] = module
    spec.loader.exec_module(module)
    return module
