"""Which region a plan document is about, from its title and publisher lines."""

from __future__ import annotations

from planwatch.core.catalog import Catalog, Region

TITLE_WINDOW = 2000  # characters: title, publisher and the first paragraph


def detect_region(text: str, catalog: Catalog | None) -> Region | None:
    """The region whose Chinese name appears first near the top of the document.

    The title and the publishing office come first; higher-level regions (the province, the
    prefecture) are only cited afterwards, so the earliest match is the author. Ties on position
    go to the longer name ('苏州市' inside '苏州市吴江区').
    """
    if catalog is None:
        return None
    head = text[:TITLE_WINDOW]
    best: tuple[int, int, Region] | None = None
    for region in catalog.regions.values():
        name = region.name_zh
        if not name:
            continue
        at = head.find(name)
        if at < 0:
            continue
        key = (at, -len(name))
        if best is None or key < best[:2]:
            best = (at, -len(name), region)
    return best[2] if best else None
