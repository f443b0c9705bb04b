"""Rules every stage reads: settings, connections, errors, periods, the catalog and value normalisation."""
