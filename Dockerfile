# The planwatch image: Airflow 3 + dbt + DuckDB + Great Expectations, from the same lock file as
# `make run` (requirements.lock), plus the few packages a multi-container deployment needs
# (PostgreSQL driver and provider, Celery provider): docker/requirements-deploy.lock.
# Build: docker compose build   (docs/deployment.md)
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIRFLOW_HOME=/opt/airflow \
    PLANWATCH_HOME=/opt/planwatch \
    PATH=/opt/venv/bin:$PATH

# curl for the healthchecks, tini to reap the task processes Airflow forks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl tini \
 && rm -rf /var/lib/apt/lists/*

# Group 0 as in the official Airflow image, so an arbitrary AIRFLOW_UID can write where group 0 can.
RUN useradd --uid 50000 --gid 0 --home-dir /opt/airflow --create-home --shell /bin/bash airflow \
 && mkdir -p /opt/planwatch /opt/airflow/logs \
 && chown -R 50000:0 /opt/planwatch /opt/airflow && chmod -R g+rwX /opt/planwatch /opt/airflow

COPY requirements.lock /opt/planwatch/requirements.lock
COPY docker/requirements-deploy.lock /opt/planwatch/docker/requirements-deploy.lock
RUN python -m venv /opt/venv \
 && /opt/venv/bin/python -m pip install --quiet -r /opt/planwatch/requirements.lock \
      -r /opt/planwatch/docker/requirements-deploy.lock \
 && echo /opt/planwatch > "$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/planwatch-repo.pth"

# The code is baked in so the image runs on its own; docker-compose.yml also mounts the project's
# folders over these paths so that a `git pull` on the host is what runs.
COPY --chown=50000:0 planwatch /opt/planwatch/planwatch
COPY --chown=50000:0 dags /opt/planwatch/dags
COPY --chown=50000:0 dbt /opt/planwatch/dbt
COPY --chown=50000:0 expectations /opt/planwatch/expectations
COPY --chown=50000:0 --chmod=0755 docker/entrypoint.sh /usr/local/bin/planwatch-entrypoint

USER 50000
WORKDIR /opt/planwatch
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/planwatch-entrypoint"]
CMD ["help"]
