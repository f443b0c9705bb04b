"""Raw files into warehouse/ingest.duckdb: plans, statistics, the file ledger, forms, receipts, the plan extractor."""
