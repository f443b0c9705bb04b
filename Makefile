# planwatch: `make run` builds and publishes the warehouse once; `make test` runs the test suite.
# Both create .venv from requirements.lock on first use; nothing else needs to be installed by hand.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.planwatch-installed

export PLANWATCH_HOME ?= $(CURDIR)
export PYTHONPATH := $(CURDIR)
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN := sqlite:///$(CURDIR)/.airflow/airflow.db
export AIRFLOW__LOGGING__LOGGING_LEVEL := WARNING
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export GX_ANALYTICS_ENABLED := False

.PHONY: venv run test test-all test-deploy test-spark spark-venv bench bench-spark airflow-db clean lint

venv: $(STAMP)

$(STAMP): requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing the pinned stack from requirements.lock into $(VENV) (about 80 s the first time)"
	@set -o pipefail; $(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock 2>&1 \
	  | { grep -v "^WARNING: Location" || true; }
	@# The repository itself is the package path: no build step, the same code in tests and DAGs.
	@echo "$(CURDIR)" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/planwatch-repo.pth"
	@touch $(STAMP)

airflow-db: $(STAMP)
	@mkdir -p .airflow
	@$(VENV)/bin/airflow db migrate > .airflow/db-migrate.log 2>&1 || (cat .airflow/db-migrate.log; exit 1)

# Runs the real DAG once, with `airflow dags test`, for the latest complete quarter.
run: airflow-db
	@$(PY) -m planwatch demo-data
	@LOGICAL_DATE=$$($(PY) -m planwatch logical-date) && \
	  echo "airflow dags test plan_monitoring $$LOGICAL_DATE" && \
	  $(VENV)/bin/airflow dags test plan_monitoring "$$LOGICAL_DATE" > .airflow/last-run.log 2>&1; \
	  status=$$?; grep -E "planwatch|ERROR|Traceback" .airflow/last-run.log | grep -v "^\s*$$" | tail -n 40; \
	  $(PY) -m planwatch summary; exit $$status

test: $(STAMP)
	@bash scripts/ensure_chromium.sh || true
	$(PY) -m pytest -q

# Slow reliability tests (SIGKILL during every stage, a 200 MB file) are behind a marker.
test-all: $(STAMP)
	@bash scripts/ensure_chromium.sh || true
	$(PY) -m pytest -q -m "not deploy and not spark"

# The deployment for real (tests/deploy/test_native_deploy.py): PostgreSQL and Redis from Debian
# (scripts/deploy_setup.sh installs them if missing), Airflow's services as docker-compose.yml
# configures them, in .venv-deploy (requirements.lock + docker/requirements-deploy.lock, as the image).
DEPLOY_VENV := .venv-deploy
DEPLOY_STAMP := $(DEPLOY_VENV)/.planwatch-installed

$(DEPLOY_STAMP): requirements.lock docker/requirements-deploy.lock
	@test -x $(DEPLOY_VENV)/bin/python || $(PYTHON) -m venv $(DEPLOY_VENV)
	@echo "installing requirements.lock + docker/requirements-deploy.lock into $(DEPLOY_VENV)"
	@set -o pipefail; $(DEPLOY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	  -r requirements.lock -r docker/requirements-deploy.lock 2>&1 | { grep -v "^WARNING: Location" || true; }
	@echo "$(CURDIR)" > "$$($(DEPLOY_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/planwatch-repo.pth"
	@touch $(DEPLOY_STAMP)

# Superset in its own virtualenv (docker/superset/requirements-native.txt), as a BI server beside Airflow.
SUPERSET_VENV := .venv-superset
SUPERSET_STAMP := $(SUPERSET_VENV)/.planwatch-installed

$(SUPERSET_STAMP): docker/superset/requirements-native.txt
	@test -x $(SUPERSET_VENV)/bin/python || $(PYTHON) -m venv $(SUPERSET_VENV)
	@echo "installing Superset from docker/superset/requirements-native.txt into $(SUPERSET_VENV) (about 4 min the first time)"
	@set -o pipefail; $(SUPERSET_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	  -r docker/superset/requirements-native.txt 2>&1 | { grep -v "^WARNING: Location" || true; }
	@touch $(SUPERSET_STAMP)

test-deploy: $(DEPLOY_STAMP) $(SUPERSET_STAMP)
	@bash scripts/deploy_setup.sh
	@bash scripts/ensure_chromium.sh || true
	$(DEPLOY_VENV)/bin/python -m pytest -q -m deploy -s tests/deploy/test_native_deploy.py tests/deploy/test_superset.py

# The dbt project on Apache Spark (tests/spark/): pyspark in local mode (local[2]) with dbt-spark's
# `session` method, in .venv-spark (requirements.lock + requirements-spark.lock); a Java runtime from
# Debian (scripts/spark_setup.sh installs it if missing). Builds the fixture warehouse on both engines
# and compares every mart; reads the published Parquet export with both.
SPARK_VENV := .venv-spark
SPARK_STAMP := $(SPARK_VENV)/.planwatch-installed

$(SPARK_STAMP): requirements.lock requirements-spark.lock
	@test -x $(SPARK_VENV)/bin/python || $(PYTHON) -m venv $(SPARK_VENV)
	@echo "installing requirements.lock + requirements-spark.lock into $(SPARK_VENV) (pyspark is 400 MB)"
	@set -o pipefail; $(SPARK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	  -r requirements.lock -r requirements-spark.lock 2>&1 | { grep -v "^WARNING: Location" || true; }
	@echo "$(CURDIR)" > "$$($(SPARK_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/planwatch-repo.pth"
	@touch $(SPARK_STAMP)

spark-venv: $(SPARK_STAMP)
	@bash scripts/spark_setup.sh

test-spark: spark-venv
	$(SPARK_VENV)/bin/python -m pytest -q -m spark tests/spark

bench: $(STAMP)
	$(PY) -m bench.run

# The dbt stage on DuckDB and on Spark local[2] at 1/4 and full national scale (bench/engines.py);
# bench/README.md, "Engines". Needs .venv-spark.
bench-spark: spark-venv
	$(SPARK_VENV)/bin/python -m bench.run --engine spark

clean:
	rm -rf .airflow warehouse/*.duckdb warehouse/candidates warehouse/versions warehouse/parquet reports/*.html
