"""Start the deployment natively, as docker-compose.yml configures it, and stop every process after.

PostgreSQL and Redis come from Debian (installed by scripts/deploy_setup.sh), each on a free port of
127.0.0.1 with its data in a temporary folder. The Airflow services are started through
docker/entrypoint.sh with the environment of compose's `x-airflow-common`, where only what a container
gets from Docker is replaced: host names (postgres, redis, airflow-apiserver) by 127.0.0.1 and free
ports, /opt/planwatch and /opt/airflow by folders of the test.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_compose import interpolate, read_env  # noqa: E402

PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name)) \
    if Path("/usr/lib/postgresql").exists() else Path("/usr/lib/postgresql/15/bin")
VENV = REPO / ".venv-deploy"
PASSWORD = "deploy-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(what: str, check: Any, timeout: float, proc: subprocess.Popen | None = None,
               log: Path | None = None) -> Any:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"{what}: the process exited with {proc.returncode}\n{tail}")
        try:
            value = check()
            if value:
                return value
        except AssertionError:
            raise
        except Exception as exc:
            last = f"{type(exc).__name__}: {exc}"[-3000:]
        time.sleep(1)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise TimeoutError(f"{what}: not ready after {timeout:.0f} s; last error: {last}\n{tail}")


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=5) as r:
        return bool(r.status == 200)


class Services:
    """Every process started here is in `self.procs` and is stopped by `stop()`, whatever happened."""

    def __init__(self, root: Path, executor: str) -> None:
        self.root = root
        self.executor = executor
        self.procs: list[tuple[str, subprocess.Popen, Path]] = []
        self.home = root / "planwatch"
        self.airflow_home = root / "airflow"
        self.logs = root / "logs"
        self.ports = {name: free_port() for name in
                      ("postgres", "redis", "api", "scheduler_health", "worker_logs", "trigger_logs")}
        self.env: dict[str, str] = {}

    # -- processes ------------------------------------------------------------------------------
    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None, user: str | None = None,
              cwd: Path | None = None) -> subprocess.Popen:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        out = open(log, "ab")
        proc = subprocess.Popen(argv, env=env if env is not None else self.env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, user=user, cwd=cwd or self.root)
        out.close()
        self.procs.append((name, proc, log))
        return proc

    def log_of(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def stop(self) -> list[str]:
        """SIGTERM every process group (newest first), SIGKILL what is left after 30 s."""
        stopped = []
        for name, proc, _ in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 30
        for name, proc, _ in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=30)
            # children that left the group (task runners) are in the group still: kill it for good
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            stopped.append(name)
        if getattr(self, "pg_root", None):
            shutil.rmtree(self.pg_root, ignore_errors=True)
        return stopped

    def alive(self) -> list[str]:
        return [name for name, proc, _ in self.procs if proc.poll() is None]

    # -- PostgreSQL and Redis ---------------------------------------------------------------------
    def start_postgres(self) -> None:
        # initdb refuses root: the cluster belongs to Debian's `postgres` user, in a folder it can reach.
        pg_root = Path(tempfile.mkdtemp(prefix="planwatch-pg-", dir="/tmp"))
        self.pg_root = pg_root
        os.chmod(pg_root, 0o755)
        data, sock = pg_root / "data", pg_root / "run"
        sock.mkdir()
        shutil.chown(pg_root, "postgres")
        shutil.chown(sock, "postgres")
        clean = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
        done = subprocess.run([str(PG_BIN / "initdb"), "-D", str(data), "-U", "airflow", "--auth=trust",
                               "-E", "UTF8"], env=clean, user="postgres", capture_output=True, text=True, cwd="/tmp")
        assert done.returncode == 0, done.stderr
        port = self.ports["postgres"]
        proc = self.spawn("postgres", [str(PG_BIN / "postgres"), "-D", str(data), "-p", str(port), "-k", str(sock),
                                       "-c", "listen_addresses=127.0.0.1"], env=clean, user="postgres", cwd=Path("/tmp"))
        wait_until("postgres", lambda: subprocess.run([str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                                                      capture_output=True).returncode == 0,
                   60, proc, self.log_of("postgres"))
        done = subprocess.run([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "airflow", "airflow"],
                              env=clean, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr

    def start_redis(self) -> None:
        port = self.ports["redis"]
        proc = self.spawn("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                    "--appendonly", "no", "--requirepass", PASSWORD],
                          env={"PATH": os.environ["PATH"]})

        def pong() -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(f"AUTH {PASSWORD}\r\nPING\r\n".encode())
                time.sleep(0.2)
                return b"PONG" in s.recv(100)
        wait_until("redis", pong, 30, proc, self.log_of("redis"))

    # -- Airflow, as compose configures it --------------------------------------------------------
    def compose_env(self) -> dict[str, str]:
        values = {**read_env(REPO / ".env.example"), "POSTGRES_PASSWORD": PASSWORD, "REDIS_PASSWORD": PASSWORD,
                  "AIRFLOW_EXECUTOR": self.executor, "AIRFLOW_FERNET_KEY": "wmVNfCXAibOdm0kxWC4Id_K6E6tYB1QBlG_bxFkoJ6E=",
                  "AIRFLOW_API_SECRET_KEY": "deploy-test-api", "AIRFLOW_JWT_SECRET": "deploy-test-jwt",
                  "AIRFLOW_ADMIN_PASSWORD": PASSWORD}
        raw = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
        env = interpolate(raw["x-airflow-common"]["environment"], values)
        p = self.ports
        swaps = [("@postgres/", f"@127.0.0.1:{p['postgres']}/"), ("@redis:6379/", f"@127.0.0.1:{p['redis']}/"),
                 ("http://airflow-apiserver:8080/", f"http://127.0.0.1:{p['api']}/"),
                 ("/opt/planwatch", str(self.home)), ("/opt/airflow", str(self.airflow_home))]
        out = {}
        for key, value in env.items():
            value = str(value)
            for old, new in swaps:
                value = value.replace(old, new)
            out[key] = value
        return out

    def prepare(self) -> None:
        """A planwatch home like the image's /opt/planwatch: the code linked, raw/ copied, demo statistics."""
        self.home.mkdir(parents=True)
        for name in ("dags", "planwatch", "dbt", "expectations"):
            (self.home / name).symlink_to(REPO / name)
        shutil.copytree(REPO / "raw", self.home / "raw", ignore=shutil.ignore_patterns("simulated"))
        for name in ("warehouse", "reports"):
            (self.home / name).mkdir()
        self.airflow_home.mkdir(parents=True)
        env = {"PATH": f"{VENV / 'bin'}:{os.environ['PATH']}", "LANG": "C.UTF-8", "HOME": str(self.root),
               "AIRFLOW_HOME": str(self.airflow_home),
               # Ports a container has to itself; here, free ones (other Airflows may run on this machine).
               "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(self.ports["scheduler_health"]),
               "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.ports["worker_logs"]),
               "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.ports["trigger_logs"]),
               "AIRFLOW__CELERY__WORKER_CONCURRENCY": "4",
               "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO"}
        env.update(self.compose_env())
        # Runs come from the test (backfill, trigger) until it lets the scheduler make its own.
        env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] = "False"
        self.env = env
        demo = subprocess.run([str(VENV / "bin" / "python"), "-m", "planwatch", "demo-data"], env=env,
                              capture_output=True, text=True, cwd=self.root)
        assert demo.returncode == 0, demo.stderr[-3000:]

    def entrypoint(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(REPO / "docker" / "entrypoint.sh"), *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout, cwd=self.root)

    def airflow(self, *args: str, timeout: float = 300) -> str:
        done = self.entrypoint("airflow", *args, timeout=timeout)
        assert done.returncode == 0, f"airflow {' '.join(args)}: {done.stderr[-3000:]}"
        return done.stdout

    def airflow_json(self, *args: str) -> Any:
        out = self.airflow(*args, "-o", "json")
        for line in reversed(out.splitlines()):  # log lines ("[warning ] ...") may come first
            if line.startswith(("[", "{")):
                try:
                    return json.loads(line)
                except ValueError:
                    continue
        raise ValueError(f"airflow {' '.join(args)} printed no JSON: {out[-2000:]}")

    def start_airflow(self) -> None:
        init = self.entrypoint("init", timeout=600)
        assert init.returncode == 0, init.stdout[-2000:] + init.stderr[-3000:]
        entry = ["bash", str(REPO / "docker" / "entrypoint.sh")]
        api = self.spawn("api-server", entry + ["api-server", "--host", "127.0.0.1", "--port", str(self.ports["api"])])
        wait_until("api-server", lambda: http_ok(f"http://127.0.0.1:{self.ports['api']}/api/v2/version"), 180,
                   api, self.log_of("api-server"))
        for name in ("scheduler", "dag-processor", "triggerer"):
            self.spawn(name, entry + [name])
        if self.executor == "CeleryExecutor":
            self.spawn("celery-worker", entry + ["celery", "worker"])
        wait_until("scheduler", lambda: http_ok(f"http://127.0.0.1:{self.ports['scheduler_health']}/health"), 180,
                   None, self.log_of("scheduler"))

    def restart_scheduler(self, **extra: str) -> None:
        """Stop the scheduler, start it again with `extra` settings (e.g. its own schedule on)."""
        for name, proc, _ in self.procs:
            if name.startswith("scheduler") and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=60)
        self.env.update(extra)
        n = sum(1 for name, _, _ in self.procs if name.startswith("scheduler"))
        self.spawn(f"scheduler-{n}", ["bash", str(REPO / "docker" / "entrypoint.sh"), "scheduler"])
        wait_until("scheduler", lambda: http_ok(f"http://127.0.0.1:{self.ports['scheduler_health']}/health"), 180,
                   None, self.log_of(f"scheduler-{n}"))

    def start(self) -> None:
        self.prepare()
        self.start_postgres()
        if self.executor == "CeleryExecutor":
            self.start_redis()
        self.start_airflow()


@contextlib.contextmanager
def running(root: Path, executor: str) -> Iterator[Services]:
    """The started deployment; every process stopped on the way out, whatever happened."""
    services = Services(root, executor)
    try:
        services.start()
        yield services
    finally:
        services.stop()
        assert services.alive() == []
