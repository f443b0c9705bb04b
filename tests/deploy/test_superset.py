"""Superset 6.0.0 in its own virtualenv (.venv-superset, docker/superset/requirements-native.txt) on the
published warehouse, read-only: the dashboard committed in docker/superset/dashboard/ is imported, each
chart's data is fetched through Superset's REST API and compared with the same query run directly, and
headless Chromium takes a screenshot of the dashboard for docs/bi.md."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from native import REPO, Services, free_port, http_ok, wait_until  # noqa: E402

pytestmark = pytest.mark.deploy
SUPERSET = REPO / ".venv-superset" / "bin"
BUNDLE = REPO / "docker" / "superset" / "dashboard"
SCREENSHOT = REPO / "docs" / "img" / "superset-dashboard.png"
ADMIN, PASSWORD = "admin", "deploy-test"


def _bundle(warehouse: Path) -> bytes:
    """The committed bundle as the zip `superset import-dashboards` takes, the database URI pointing at `warehouse`."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for path in sorted(BUNDLE.rglob("*.yaml")):
            text = path.read_text(encoding="utf-8")
            if path.parent.name == "databases":
                text = text.replace("duckdb:////warehouse/planwatch.duckdb", f"duckdb:///{warehouse}")
            z.writestr(f"planwatch/{path.relative_to(BUNDLE)}", text)
    return out.getvalue()


@pytest.fixture(scope="module")
def superset(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("superset")
    services = Services(root, "LocalExecutor")  # for spawn/stop; no Airflow here
    home = root / "planwatch"
    env_pw = {"PATH": os.environ["PATH"], "HOME": str(root), "LANG": "C.UTF-8", "PLANWATCH_HOME": str(home)}
    for name in ("raw",):
        shutil.copytree(REPO / name, home / name, ignore=shutil.ignore_patterns("simulated"))
    py = str(REPO / ".venv-deploy" / "bin" / "python")
    for args in (["demo-data"], ["run", "--quarter", "2025Q4", "--run-id", "superset_2025Q4"]):
        done = subprocess.run([py, "-m", "planwatch", *args], env=env_pw, capture_output=True, text=True, cwd=root)
        assert done.returncode == 0, done.stderr[-3000:]
    warehouse = home / "warehouse" / "planwatch.duckdb"
    port = free_port()
    env = {"PATH": f"{SUPERSET}:{os.environ['PATH']}", "HOME": str(root), "LANG": "C.UTF-8",
           "SUPERSET_CONFIG_PATH": str(REPO / "docker" / "superset" / "superset_config.py"),
           "SUPERSET_SECRET_KEY": "deploy-test-superset-secret-key-0123456789",
           "SUPERSET_METADATA_URI": f"sqlite:///{root / 'superset.db'}", "FLASK_APP": "superset"}
    services.env = env
    bundle = root / "bundle.zip"
    bundle.write_bytes(_bundle(warehouse))
    steps = [["superset", "db", "upgrade"],
             ["superset", "fab", "create-admin", "--username", ADMIN, "--password", PASSWORD, "--firstname", "p",
              "--lastname", "w", "--email", "admin@localhost"],
             ["superset", "init"],
             ["superset", "import-dashboards", "-p", str(bundle), "-u", ADMIN]]
    try:
        for step in steps:
            done = subprocess.run(step, env=env, capture_output=True, text=True, cwd=root, timeout=900)
            assert done.returncode == 0, f"{' '.join(step)}: {done.stdout[-2000:]} {done.stderr[-3000:]}"
        proc = services.spawn("superset", ["superset", "run", "-h", "127.0.0.1", "-p", str(port), "--with-threads"])
        wait_until("superset", lambda: http_ok(f"http://127.0.0.1:{port}/health"), 180, proc, services.log_of("superset"))
        yield {"url": f"http://127.0.0.1:{port}", "warehouse": warehouse, "services": services}
    finally:
        services.stop()
        assert services.alive() == []


def _api(base: str, path: str, token: str | None = None, body: dict | None = None) -> Any:
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None,
                                 headers={**({"Content-Type": "application/json"} if body is not None else {}),
                                          **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"{path}: HTTP {exc.code}: {exc.read().decode(errors='replace')[:3000]}") from None


def _rows(records: list[dict[str, Any]], columns: list[str]) -> list[tuple]:
    def norm(v: Any) -> Any:
        return round(float(v), 9) if isinstance(v, float) else v
    return sorted((tuple(norm(r[c]) for c in columns) for r in records), key=repr)


def test_each_chart_equals_the_same_query_run_directly(superset: dict[str, Any]) -> None:
    base = superset["url"]
    token = _api(base, "/api/v1/security/login",
                 body={"username": ADMIN, "password": PASSWORD, "provider": "db", "refresh": True})["access_token"]
    charts = _api(base, "/api/v1/chart/?q=(page_size:100)", token)["result"]
    committed = {yaml.safe_load(p.read_text(encoding="utf-8"))["slice_name"]: p.stem
                 for p in (BUNDLE / "charts").glob("*.yaml")}
    assert {c["slice_name"] for c in charts} == set(committed)
    con = duckdb.connect(str(superset["warehouse"]), read_only=True)
    try:
        for chart in charts:
            name = committed[chart["slice_name"]]
            dataset = yaml.safe_load((BUNDLE / "datasets" / "planwatch" / f"{name}.yaml").read_text(encoding="utf-8"))
            query = json.loads(yaml.safe_load((BUNDLE / "charts" / f"{name}.yaml").read_text(encoding="utf-8"))
                               ["query_context"])["queries"][0]
            data = _api(base, f"/api/v1/chart/{chart['id']}/data/", token)["result"][0]
            columns, metrics = query["columns"], query["metrics"]
            select = ", ".join(columns + [f"{m['sqlExpression']} as \"{m['label']}\"" for m in metrics])
            group = f" group by {', '.join(columns)}" if metrics else ""
            direct = con.execute(f"select {select} from ({dataset['sql']}) as d{group}").fetchall()
            names = columns + [m["label"] for m in metrics]
            got = _rows(data["data"], names)
            want = sorted((tuple(round(float(v), 9) if isinstance(v, float) else v for v in row) for row in direct),
                          key=repr)
            assert got == want, f"{chart['slice_name']}: Superset {got[:5]} ... direct {want[:5]} ..."
            assert len(got) > 0, chart["slice_name"]
            print(f"chart {chart['slice_name']!r}: {len(got)} rows, equal to the direct query")
    finally:
        con.close()


def test_superset_telemetry_is_blocked_by_the_projects_config(superset: dict[str, Any]) -> None:
    with urllib.request.urlopen(superset["url"] + "/login/", timeout=60) as r:
        csp = r.headers.get("Content-Security-Policy", "")
    assert "img-src" in csp and "scarf" not in csp, csp


SCREENSHOT_SCRIPT = """
import shutil, sys, time
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
url, user, password, out = sys.argv[1:5]
options = webdriver.ChromeOptions()
options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1100"):
    options.add_argument(arg)
driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
try:
    driver.get(url + "/login/")  # a React page: wait for its form
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not driver.find_elements(By.CSS_SELECTOR, "input[type=password]"):
        time.sleep(0.5)
    driver.find_element(By.CSS_SELECTOR, "input:not([type=password]):not([type=hidden])").send_keys(user)
    driver.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys(password + "\\n")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "/login" in driver.current_url:
        time.sleep(0.5)
    driver.get(url + "/superset/dashboard/planwatch/?standalone=1")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        charts = driver.find_elements(By.CSS_SELECTOR, ".chart-container")
        if len(charts) >= 3 and not driver.find_elements(By.CSS_SELECTOR, ".loading"):
            break
        time.sleep(1)
    time.sleep(3)
    driver.save_screenshot(out)
    errors = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".alert-danger") if e.text.strip()]
    print(len(driver.find_elements(By.CSS_SELECTOR, ".chart-container")), "charts;", "errors:", errors)
finally:
    driver.quit()
"""


def test_a_screenshot_of_the_dashboard_in_headless_chromium(superset: dict[str, Any]) -> None:
    # selenium is a dependency of Superset, so the browser is driven from Superset's virtualenv.
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([str(SUPERSET / "python"), "-c", SCREENSHOT_SCRIPT, superset["url"], ADMIN, PASSWORD,
                           str(SCREENSHOT)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().startswith("3 charts; errors: []"), done.stdout
    assert SCREENSHOT.stat().st_size > 20_000
    print(f"screenshot: {SCREENSHOT} ({SCREENSHOT.stat().st_size} bytes)")
