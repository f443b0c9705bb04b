"""Superset configuration for planwatch (mounted read-only at /app/pythonpath/superset_config.py).

Superset keeps its own metadata (users, charts, dashboards) in SQLite on the `superset-home`
volume. The planwatch warehouse is registered by start.sh as a database named `planwatch` with
`duckdb:////warehouse/planwatch.duckdb?access_mode=read_only`; /warehouse is mounted read-only.
"""

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = "sqlite:////app/superset_home/superset.db"

# Superset opens analytics databases with SQLAlchemy's NullPool: each query opens the DuckDB file
# anew, so dashboards see a new publish (an atomic rename of planwatch.duckdb) on their next query.
# Do not switch the planwatch database to a pooled engine: a pooled connection keeps reading the
# file it opened.
SQLLAB_TIMEOUT = 120
SUPERSET_WEBSERVER_TIMEOUT = 120
ROW_LIMIT = 50000
# No uploads into the warehouse: it is read-only for every BI tool.
CSV_EXTENSIONS: set[str] = set()
EXCEL_EXTENSIONS: set[str] = set()
COLUMNAR_EXTENSIONS: set[str] = set()
PREVENT_UNSAFE_DB_CONNECTIONS = True
