"""deploy/systemd: the native deployment's units (docs/deployment.md) run the commands the entry point
knows, with the settings docker-compose.yml gives its Airflow containers."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "deploy" / "systemd"


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    return parser


def test_units_run_entrypoint_commands_as_the_planwatch_user() -> None:
    entry = (REPO / "docker" / "entrypoint.sh").read_text(encoding="utf-8")
    known = set(re.search(r'COMMANDS="([^"]+)"', entry).group(1).split())  # type: ignore[union-attr]
    units = sorted(UNITS.glob("*.service"))
    commands = {}
    for path in units:
        service = _unit(path)["Service"]
        exec_start = service["ExecStart"].split()
        assert exec_start[0] == "/srv/planwatch/docker/entrypoint.sh" and exec_start[1] in known, path.name
        assert service["User"] == "planwatch" and service["UMask"] == "0027", path.name
        assert service["EnvironmentFile"] == "/etc/planwatch/planwatch.env", path.name
        commands[path.stem] = " ".join(exec_start[1:])
    assert commands == {"planwatch-init": "init", "planwatch-api-server": "api-server",
                        "planwatch-scheduler": "scheduler", "planwatch-dag-processor": "dag-processor",
                        "planwatch-triggerer": "triggerer", "planwatch-celery-worker": "celery worker"}


def test_the_environment_file_sets_what_compose_sets() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    # every setting but the optional alert addresses (PLANWATCH_WEBHOOK_URL, PLANWATCH_SMTP_*, ...)
    wanted = {k for k in compose["x-airflow-common"]["environment"]
              if not k.startswith(("PLANWATCH_WEBHOOK", "PLANWATCH_SMTP", "PLANWATCH_ALERT"))}
    lines = (UNITS / "planwatch.env.example").read_text(encoding="utf-8").splitlines()
    given = {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}
    assert wanted - given == set()
    assert "AIRFLOW_HOME" in given and "PATH" in given
