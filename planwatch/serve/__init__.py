"""Publishing and what people read: the published warehouse, bi views, report, summary, alerts."""
