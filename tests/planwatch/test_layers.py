"""The package's folders are layers: no module imports from a layer above its own.

core < ingest < build < quality < serve < run. demo (the simulator) may use core and ingest;
nothing in core, ingest, build, quality or serve imports run or demo. Imports inside functions
count too: a lazy import is still an arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "planwatch"
LAYERS = ("core", "ingest", "build", "quality", "serve", "run")
DEMO_MAY_USE = ("core", "ingest")
# Arrows that stay for now, each with the reason and what removes it.
ALLOWED: dict[tuple[str, str], str] = {}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import of a planwatch module in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            if node.module == "planwatch":  # `from planwatch import x`
                found += [(node.lineno, f"planwatch.{a.name}") for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return [(line, m) for line, m in found if m.startswith("planwatch.")]


def upward(importer: str, imported: str) -> bool:
    """Whether a module of folder `importer` may not import one of folder `imported`."""
    if imported == importer:
        return False
    if importer == "demo":
        return imported not in DEMO_MAY_USE
    if imported == "demo":
        return importer != "run"
    return LAYERS.index(imported) > LAYERS.index(importer)


def arrows_up() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2:
            continue  # planwatch/__init__.py, __main__.py: the entry point sits above every layer
        rel = f"planwatch/{'/'.join(parts)}"
        for line, module in imported_modules(path):
            folder = module.split(".")[1]
            if folder in LAYERS + ("demo",) and upward(parts[0], folder):
                key = (rel, ".".join(module.split(".")[:3]))
                if key not in ALLOWED:
                    found.append(f"{rel}:{line} ({parts[0]}) imports {module}")
    return found


def test_every_module_sits_in_a_layer_folder() -> None:
    folders = {p.relative_to(PACKAGE).parts[0] for p in PACKAGE.rglob("*.py") if len(p.relative_to(PACKAGE).parts) > 1}
    assert folders == set(LAYERS) | {"demo"}
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py", "__main__.py"]


def test_no_module_imports_from_a_layer_above_it() -> None:
    found = arrows_up()
    assert not found, ("imports that run back up the layers (core < ingest < build < quality < serve < run; "
                       "demo uses core and ingest): move the shared code down a layer instead:\n" + "\n".join(found))


def test_the_rule_sees_an_upward_arrow() -> None:
    assert upward("ingest", "serve") and upward("core", "run") and upward("serve", "demo")
    assert upward("demo", "build")
    assert not upward("run", "demo") and not upward("serve", "core") and not upward("demo", "ingest")


def test_allowed_arrows_still_exist() -> None:
    """An allowed arrow that is gone must leave the list, so the list never grows stale."""
    for (rel, module), _reason in ALLOWED.items():
        path = PACKAGE.parent / rel
        assert path.exists() and any(m.startswith(module) for _, m in imported_modules(path)), (
            f"{rel} no longer imports {module}: delete its entry from ALLOWED in tests/planwatch/test_layers.py")
