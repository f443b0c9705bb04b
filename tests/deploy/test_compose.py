"""docker-compose.yml and the Dockerfile, checked without a Docker engine: the Compose
specification's JSON schema, mounts, ports, commands, secrets and the lock file."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
SCHEMA = REPO / "docker" / "compose-spec.json"
ENTRYPOINT = REPO / "docker" / "entrypoint.sh"
AIRFLOW_SERVICES = {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
                    "airflow-dag-processor": "dag-processor", "airflow-triggerer": "triggerer",
                    "airflow-init": "init", "airflow-worker": "celery worker"}

_VAR = re.compile(r"\$(?:\$|\{(?P<braced>[^}]+)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")


class MissingVariable(ValueError):
    pass


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable interpolation: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        expr = m.group("braced") or m.group("plain")
        name, op, arg = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(:?[-?])?(.*)", expr).groups()  # type: ignore[union-attr]
        current = env.get(name)
        unset = current is None or (op is not None and op.startswith(":") and current == "")
        if op and op.endswith("?") and unset:
            raise MissingVariable(f"{name}: {arg}")
        if op and op.endswith("-") and unset:
            return str(interpolate(arg, env))
        return current or ""

    return _VAR.sub(one, value)


def read_env(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def example_env() -> dict[str, str]:
    return read_env(REPO / ".env.example")


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any], example_env: dict[str, str]) -> dict[str, Any]:
    return interpolate(raw, example_env)


def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_compose_file_is_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(compose)]
    assert errors == []


def test_the_schema_check_catches_mistakes(compose: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["airflow-scheduler"]["comand"] = "scheduler"  # a typo
    broken["services"]["airflow-triggerer"]["depends_on"]["postgres"]["condition"] = "service_ready"
    messages = [m for e in validator().iter_errors(broken) for m in [e.message] + [c.message for c in e.context or []]]
    assert any("'comand' was unexpected" in m for m in messages)
    assert any("'service_ready' is not one of" in m for m in messages)


def test_docker_compose_config_when_the_plugin_is_there() -> None:
    docker = shutil.which("docker")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True) if docker else None
    if probe is None or probe.returncode != 0:
        pytest.skip("no `docker compose` plugin here (the docker CLI without it, or no docker): "
                    "the JSON-schema test stands in for `docker compose config`")
    done = subprocess.run([docker, "compose", "--env-file", ".env.example", "--profile", "celery",  # type: ignore[list-item]
                           "config", "--quiet"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_secrets_come_from_env_and_example_lists_every_variable(raw: dict[str, Any],
                                                                example_env: dict[str, str]) -> None:
    text = COMPOSE.read_text(encoding="utf-8").replace("$$", "")  # $$ is a literal $ for the container
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
    assert used - set(example_env) == set()
    required = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?", text))
    assert {"POSTGRES_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY",
            "AIRFLOW_ADMIN_PASSWORD", "SUPERSET_SECRET_KEY", "SUPERSET_ADMIN_PASSWORD"} <= required
    with pytest.raises(MissingVariable, match="POSTGRES_PASSWORD: set POSTGRES_PASSWORD in .env"):
        interpolate(raw, {})
    # the template holds no secret, and the real file is never committed
    for name in required:
        assert example_env[name] in ("change-me", "admin"), name
    assert not re.search(r"(?i)(password|secret|key)\s*[:=]\s*['\"]?[A-Za-z0-9+/]{16,}", text)
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO)
    assert ignored.returncode == 0, ".env must be in .gitignore"


def test_services_follow_the_official_airflow_layout(compose: dict[str, Any], raw: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(AIRFLOW_SERVICES) | {"postgres", "redis", "superset"} <= set(services)
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://airflow:change-me@postgres/")
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
        assert "healthcheck" in services[name]
    # scale-out is opt-in: Celery pieces only in the `celery` profile, executor switched by .env
    for name in ("redis", "airflow-worker", "flower"):
        assert services[name]["profiles"] == ["celery"]
    celery = interpolate(raw, {**read_env(REPO / ".env.example"), "AIRFLOW_EXECUTOR": "CeleryExecutor"})
    assert celery["services"]["airflow-worker"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    no_executor = {k: v for k, v in read_env(REPO / ".env.example").items() if k != "AIRFLOW_EXECUTOR"}
    assert interpolate(raw, no_executor)["services"]["airflow-scheduler"]["environment"][
        "AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"


def test_no_service_listens_on_a_public_interface(compose: dict[str, Any]) -> None:
    published = {name: s.get("ports", []) for name, s in compose["services"].items()}
    assert published["postgres"] == [] and published["redis"] == []
    for name, ports in published.items():
        for port in ports:
            assert isinstance(port, str) and port.startswith("127.0.0.1:"), (name, port)
    assert "127.0.0.1:8080:8080" in published["airflow-apiserver"]
    assert "127.0.0.1:8088:8088" in published["superset"]


def _binds(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for volume in service.get("volumes", []):
        source, target, *mode = volume.split(":")
        out.append((source, target, mode[0] if mode else "rw"))
    return out


def test_every_mounted_path_exists(compose: dict[str, Any]) -> None:
    named = set(compose.get("volumes", {}))
    checked = 0
    for name, service in compose["services"].items():
        for source, target, _ in _binds(service):
            if source.startswith((".", "/")):
                assert (REPO / source).resolve().exists(), f"{name}: {source} does not exist"
                checked += 1
            else:
                assert source in named, f"{name}: volume {source} is not declared"
    assert checked >= 10
    # planwatch's own layout inside the container: PLANWATCH_HOME and the DAG folder
    airflow = compose["services"]["airflow-scheduler"]
    targets = {t for _, t, _ in _binds(airflow)}
    assert {"/opt/planwatch/dags", "/opt/planwatch/warehouse", "/opt/planwatch/raw",
            "/opt/planwatch/reports", "/opt/planwatch/dbt"} <= targets
    assert airflow["environment"]["PLANWATCH_HOME"] == "/opt/planwatch"
    assert airflow["environment"]["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/planwatch/dags"


def test_superset_reads_the_published_warehouse_read_only(compose: dict[str, Any]) -> None:
    superset = compose["services"]["superset"]
    binds = {t: (s, m) for s, t, m in _binds(superset)}
    assert binds["/warehouse"] == ("./warehouse", "ro")
    assert superset["environment"]["PLANWATCH_WAREHOUSE_URI"] == (
        "duckdb:////warehouse/planwatch.duckdb?access_mode=read_only")
    start = (REPO / "docker" / "superset" / "start.sh").read_text(encoding="utf-8")
    assert 'set-database-uri --database_name planwatch --uri "${PLANWATCH_WAREHOUSE_URI}"' in start
    pins = _lock(REPO / "docker" / "superset" / "requirements.txt")
    assert pins == {k: v for k, v in _lock(REPO / "requirements.lock").items() if k in pins}
    assert set(pins) == {"duckdb", "duckdb-engine"}


def _entrypoint_commands() -> set[str]:
    text = ENTRYPOINT.read_text(encoding="utf-8")
    labels = re.findall(r"^\s{2}([a-z|\-]+)\)\s*$", text, flags=re.M)
    return {c for label in labels for c in label.split("|")}


def test_every_command_is_a_real_entry_point_of_the_image(compose: dict[str, Any]) -> None:
    from airflow.cli.cli_parser import get_parser

    from planwatch.run.cli import build_parser

    airflow_cli = get_parser()
    known = _entrypoint_commands()
    assert {"init", "api-server", "scheduler", "dag-processor", "triggerer", "celery", "planwatch"} <= known
    deploy_lock = _lock(REPO / "docker" / "requirements-deploy.lock")
    for name, service in compose["services"].items():
        if service.get("image", "").startswith("planwatch:"):
            argv = shlex.split(service["command"]) if isinstance(service["command"], str) else service["command"]
            assert argv[0] in known, f"{name}: {argv[0]} is not handled by docker/entrypoint.sh"
            if argv[0] == "planwatch":
                build_parser().parse_args(argv[1:])
            elif argv[0] == "celery":
                # the Celery commands come with the Celery provider, which only the image installs
                assert "apache-airflow-providers-celery" in deploy_lock
            elif argv[0] != "init":
                assert callable(airflow_cli.parse_args(argv).func), argv
            for test in (service.get("healthcheck") or {}).get("test", [])[1:]:
                if test.startswith("airflow "):  # the job checks are Airflow CLI calls too
                    args = shlex.split(test.replace("$${HOSTNAME}", "h").replace("${HOSTNAME}", "h"))[1:]
                    assert callable(airflow_cli.parse_args(args).func), test
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY --chown=50000:0 --chmod=0755 docker/entrypoint.sh /usr/local/bin/planwatch-entrypoint" in dockerfile
    assert 'ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/planwatch-entrypoint"]' in dockerfile


def test_entrypoint_script_runs(tmp_path: Path) -> None:
    ok = subprocess.run(["bash", str(ENTRYPOINT), "help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "api-server | scheduler | dag-processor | triggerer" in ok.stdout
    bad = subprocess.run(["bash", str(ENTRYPOINT), "webserver"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown command 'webserver'" in bad.stderr
    unset = subprocess.run(["bash", str(ENTRYPOINT), "init"], capture_output=True, text=True,
                           env={"PATH": "/usr/bin:/bin", "AIRFLOW_ADMIN_PASSWORD": "change-me",
                                "PLANWATCH_HOME": str(tmp_path)})
    assert unset.returncode == 2 and "AIRFLOW_ADMIN_PASSWORD is empty or still 'change-me'" in unset.stderr


def _lock(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_dockerfile_installs_the_lock_file_make_run_uses() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"pip install .*-r requirements\.lock", makefile)
    assert "COPY requirements.lock /opt/planwatch/requirements.lock" in dockerfile
    install = " ".join(dockerfile.split("\\\n"))
    assert re.search(r"pip install --quiet -r /opt/planwatch/requirements\.lock\s+"
                     r"-r /opt/planwatch/docker/requirements-deploy\.lock", install)
    assert re.search(r"^FROM python:3\.11-", dockerfile, flags=re.M)  # pyproject: >=3.11,<3.12
    base, deploy = _lock(REPO / "requirements.lock"), _lock(REPO / "docker" / "requirements-deploy.lock")
    assert {"apache-airflow-providers-postgres", "psycopg2-binary", "apache-airflow-providers-celery"} <= set(deploy)
    assert set(base) & set(deploy) == set()  # the deploy lock only adds; it never re-pins


def test_spark_profile_is_a_cluster_with_a_thrift_server_for_dbt(compose: dict[str, Any]) -> None:
    services = compose["services"]
    spark = {name for name, s in services.items() if s.get("profiles") == ["spark"]}
    assert spark == {"spark-master", "spark-worker", "spark-thrift"}
    # the official Apache Spark image at the Spark version the tests run (pyspark in the lock)
    pyspark = _lock(REPO / "requirements-spark.lock")["pyspark"]
    for name in spark:
        assert services[name]["image"] == f"apache/spark:{pyspark}", name
    master = services["spark-master"]["command"]
    assert master[:2] == ["/opt/spark/bin/spark-class", "org.apache.spark.deploy.master.Master"]
    assert services["spark-worker"]["command"][-1] == "spark://spark-master:7077"
    thrift = services["spark-thrift"]
    assert thrift["command"][0] == "/opt/spark/sbin/start-thriftserver.sh"
    assert thrift["command"][thrift["command"].index("--master") + 1] == "spark://spark-master:7077"
    assert thrift["environment"]["SPARK_NO_DAEMONIZE"] == "true"
    assert "127.0.0.1:10000:10000" in thrift["ports"]
    # driver (thrift) and executors (worker) see the raw Parquet and the tables at the same path
    shared = ("./warehouse/spark", "/opt/planwatch/warehouse/spark", "rw")
    assert shared in _binds(thrift) and shared in _binds(services["spark-worker"])
    assert "/opt/planwatch/warehouse" in {t for _, t, _ in _binds(services["airflow-scheduler"])}
    # dbt's thrift target reaches that server with what the Airflow containers are given
    profiles = yaml.safe_load((REPO / "dbt" / "profiles.yml").read_text(encoding="utf-8"))["planwatch"]
    target = profiles["outputs"]["spark_thrift"]
    assert (target["type"], target["method"]) == ("spark", "thrift")
    assert "PLANWATCH_SPARK_THRIFT_HOST" in target["host"] and "PLANWATCH_SPARK_THRIFT_PORT" in target["port"]
    env = services["airflow-scheduler"]["environment"]
    assert (env["PLANWATCH_SPARK_THRIFT_HOST"], env["PLANWATCH_SPARK_THRIFT_PORT"]) == ("spark-thrift", "10000")
    assert env["PLANWATCH_DBT_TARGET"] == "candidate"  # the pipeline stays on DuckDB unless told
    assert "PLANWATCH_DBT_TARGET" in profiles["target"]
