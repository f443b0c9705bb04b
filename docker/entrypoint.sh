#!/usr/bin/env bash
# Entry point of the planwatch image. The first argument names what to run:
#   init                      migrate Airflow's metadata database and write the admin credentials
#   api-server | scheduler | dag-processor | triggerer
#                             the Airflow component of that name
#   celery worker | celery flower
#                             CeleryExecutor workers (profile `celery` in docker-compose.yml)
#   planwatch ARGS...         python -m planwatch ARGS (status, summary, run, rollback, ...)
#   airflow ARGS...           the Airflow CLI
#   help                      this text
set -euo pipefail

COMMANDS="init api-server scheduler dag-processor triggerer celery planwatch airflow help"

write_admin_credentials() {
  # Airflow 3's simple auth manager reads users from [core] simple_auth_manager_users and their
  # passwords from this JSON file; both come from .env, nothing is generated or printed.
  : "${AIRFLOW_ADMIN_USERNAME:?set AIRFLOW_ADMIN_USERNAME in .env (see .env.example)}"
  : "${AIRFLOW_ADMIN_PASSWORD:?set AIRFLOW_ADMIN_PASSWORD in .env (see .env.example)}"
  local file="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-${AIRFLOW_HOME}/passwords.json}"
  mkdir -p "$(dirname "$file")"
  # umask 077 for this file only (a subshell): Airflow, exec'd afterwards, must keep the usual
  # umask, or the warehouse files its tasks publish would be unreadable by the BI service's group.
  (
    umask 077
    python - "$file" <<'PY'
import json, os, sys
json.dump({os.environ["AIRFLOW_ADMIN_USERNAME"]: os.environ["AIRFLOW_ADMIN_PASSWORD"]}, open(sys.argv[1], "w"))
PY
  )
}

cmd="${1:-help}"
case "$cmd" in
  init)
    for var in AIRFLOW_ADMIN_PASSWORD AIRFLOW__CORE__FERNET_KEY AIRFLOW__API__SECRET_KEY AIRFLOW__API_AUTH__JWT_SECRET; do
      if [ -z "${!var:-}" ] || [ "${!var}" = "change-me" ]; then
        echo "planwatch init: $var is empty or still 'change-me': set it in .env (docs/deployment.md)" >&2
        exit 2
      fi
    done
    for dir in dags dbt expectations raw warehouse reports; do
      if [ ! -d "${PLANWATCH_HOME}/${dir}" ]; then
        echo "planwatch init: ${PLANWATCH_HOME}/${dir} is missing: check the volumes of docker-compose.yml" >&2
        exit 2
      fi
    done
    mkdir -p "${PLANWATCH_HOME}/warehouse/candidates" "${PLANWATCH_HOME}/warehouse/versions" \
             "${PLANWATCH_HOME}/warehouse/parquet" "${PLANWATCH_HOME}/reports"
    airflow db migrate
    write_admin_credentials
    echo "planwatch init: metadata database migrated, admin user ${AIRFLOW_ADMIN_USERNAME} configured"
    ;;
  api-server|scheduler|dag-processor|triggerer)
    write_admin_credentials
    exec airflow "$@"
    ;;
  celery)
    exec airflow "$@"
    ;;
  planwatch)
    shift
    exec python -m planwatch "$@"
    ;;
  airflow)
    shift
    exec airflow "$@"
    ;;
  help|--help|-h)
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    ;;
  *)
    echo "planwatch-entrypoint: unknown command '$cmd'; one of: $COMMANDS" >&2
    exit 2
    ;;
esac
