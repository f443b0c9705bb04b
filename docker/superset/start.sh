#!/usr/bin/env bash
# Superset start-up: migrate its metadata, make the admin from .env, register the planwatch
# warehouse read-only, then run the web server of the image.
set -euo pipefail
superset db upgrade
superset fab create-admin --username "${SUPERSET_ADMIN_USERNAME}" --password "${SUPERSET_ADMIN_PASSWORD}" \
  --firstname planwatch --lastname admin --email "${SUPERSET_ADMIN_EMAIL}" \
  || echo "superset admin ${SUPERSET_ADMIN_USERNAME} exists already"
superset init
superset set-database-uri --database_name planwatch --uri "${PLANWATCH_WAREHOUSE_URI}"
exec /usr/bin/run-server.sh
