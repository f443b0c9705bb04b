"""Superset configuration for planwatch (mounted read-only at /app/pythonpath/superset_config.py).

Superset keeps its own metadata (users, charts, dashboards) in SQLite on the `superset-home`
volume. The planwatch warehouse is registered by start.sh as a database named `planwatch` with
`duckdb:////warehouse/planwatch.duckdb?access_mode=read_only`; /warehouse is mounted read-only.
"""

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
# Outside Docker (docs/deployment.md, make test-deploy) the metadata database is elsewhere.
SQLALCHEMY_DATABASE_URI = os.environ.get("SUPERSET_METADATA_URI", "sqlite:////app/superset_home/superset.db")

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

# Telemetry off. Superset 6.0's pages carry an image from Scarf (apachesuperset.gateway.scarf.sh) that
# reports each page view; the built frontend has no switch for it, so the Content-Security-Policy below
# (Superset's default, minus the Scarf hosts) makes the browser refuse to load it.
# tests/deploy/test_superset.py checks the header.
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "script-src": ["'self'", "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
