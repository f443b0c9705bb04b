"""The Great Expectations checks on the ingest store and the candidate."""
