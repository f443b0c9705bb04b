"""Draft plan rows from plan documents: `python -m planwatch.ingest.extract PLAN.txt`.

See docs/extractor.md for the layouts, the rules and the reasons a row is marked ambiguous.
"""

from planwatch.ingest.extract.document import ExtractResult, extract_document

__all__ = ["ExtractResult", "extract_document"]
