"""The progress report: built from a published warehouse, and opened in a real headless Chromium."""

from __future__ import annotations

import re
import shutil
import struct
import sys
from pathlib import Path

import duckdb
import pytest

from planwatch.core.config import Settings
from planwatch.core.errors import ConfigError
from planwatch.core.periods import Quarter
from planwatch.serve.report import MAX_DETAIL_REGIONS, write_report
from planwatch.core.types import RunContext

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fixtures" / "warehouse"))
from bi_fixture import build_fixture_warehouse  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[3]
RUN = RunContext("scheduled__2025-07-15T02:00:00+08:00", Quarter.parse("2025Q2"))
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


def publish_fixture(home: Path, n_regions: int = 5, as_of: str = "2025Q2") -> Settings:
    settings = Settings(home=home)
    build_fixture_warehouse(settings.published_db, as_of=as_of, n_regions=n_regions)
    return settings


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    settings = publish_fixture(tmp_path_factory.mktemp("report"))
    metrics = write_report(settings, RUN)
    return Path(str(metrics["report_path"])), metrics


def test_report_shows_every_region_indicator_status_and_finding(report: tuple[Path, dict]) -> None:
    path, metrics = report
    assert path.name == "progress_2025Q2.html"
    assert metrics["regions"] == metrics["regions_detailed"] == 5
    assert metrics["series"] == metrics["charts"] == 45
    assert metrics["simulated_series"] == 45 and metrics["dq_findings"] == 2
    html = path.read_text(encoding="utf-8")
    assert metrics["bytes"] == len(html.encode("utf-8")) < 2_000_000
    for city in ("昆山市", "Kunshan", "泰州市", "Taizhou", "遵义市", "Zunyi", "晋江市", "金华市"):
        assert city in html
    assert "养老机构护理型床位占比" in html and "Share of nursing-type beds in elderly care institutions" in html
    # Taizhou's land-saving burials go backwards: its row carries the red status in both languages
    taizhou = html[html.index('id="region-321200"'):html.index('id="region-350582"')]
    burial = taizhou[taizhou.index("节地生态安葬比例"):]
    burial = burial[:burial.index("</tr>")]
    assert "逆向变化" in burial and "Deterioration" in burial and "#c62828" in burial
    assert "模拟数据提示 Simulated figures" in html and "45 of the 45 indicator series" in html
    assert "values_within_catalog_bounds" in html and "quarter_not_reported" in html
    assert '"9"' not in html.split("Open findings")[1].split("</table>")[0]  # the older run's finding is not shown
    assert "Previous plan's results as the plans print them" in html and "not_achieved" in html
    # self-contained: no external script, stylesheet, image or font
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "", html, flags=re.S)
    assert markup.count("<") > 1000  # the markup itself is left, only the scripts' bodies went
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", markup)
    assert html.count("<script") == 5  # vega, vega-lite, vega-embed, the specs, the loop
    assert "sourceMappingURL" not in html
    assert html.count('class="chart"') == 45


def test_benchmark_scale_caps_detail_and_says_so(tmp_path: Path) -> None:
    settings = publish_fixture(tmp_path / "home", n_regions=30)
    metrics = write_report(settings, RUN)
    html = Path(str(metrics["report_path"])).read_text(encoding="utf-8")
    assert metrics["regions"] == 30
    assert metrics["regions_detailed"] == MAX_DETAIL_REGIONS
    assert metrics["charts"] == MAX_DETAIL_REGIONS * 9
    assert f"Tables and charts are shown for the first {MAX_DETAIL_REGIONS} of 30 regions" in html
    # the real tracked cities come first, simulated regions fill the rest
    assert 'id="region-320583"' in html and 'id="region-900006"' in html and 'id="region-900011"' not in html
    assert "模拟市0030" in html  # every region is in the summary table
    assert "25 regions are themselves synthetic" in html


def test_a_series_sharing_its_indicator_and_period_with_another_plan_is_counted_and_shown_once(tmp_path: Path) -> None:
    # Kunshan's first series again under another plan, same indicator, breakdown and latest period: a
    # series of its own (series_id), which the page joins to its mart row by the whole key
    settings = publish_fixture(tmp_path / "home")
    con = duckdb.connect(str(settings.published_db))
    try:
        con.execute("insert into marts.fct_indicator_latest select * replace ('15th' as plan, series_id || '|15th' as series_id) "
                    "from marts.fct_indicator_latest where region_code = '320583' order by series_id limit 1")
        assert con.execute("select count(*) from bi.latest_status").fetchone()[0] == 46
    finally:
        con.close()
    metrics = write_report(settings, RUN)
    assert metrics["series"] == metrics["charts"] == 46  # joined without the plan, each of the two rows came twice: 48


def test_report_falls_back_to_the_run_that_built_the_warehouse(tmp_path: Path) -> None:
    settings = publish_fixture(tmp_path / "home")
    metrics = write_report(settings, RunContext("manual__rebuild", Quarter.parse("2025Q2")))
    html = Path(str(metrics["report_path"])).read_text(encoding="utf-8")
    assert "this run recorded no checks" in html
    assert "scheduled__2025-07-15T02:00:00+08:00" in html and metrics["dq_findings"] == 2


def test_report_refuses_a_warehouse_without_marts(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    with pytest.raises(ConfigError, match="nothing has been published"):
        write_report(settings, RUN)
    settings.warehouse_dir.mkdir()
    duckdb.connect(str(settings.published_db)).close()
    with pytest.raises(ConfigError, match=r"lacks marts\.fct_indicator_progress"):
        write_report(settings, RUN)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.browser
def test_report_renders_in_headless_chromium(report: tuple[Path, dict], tmp_path: Path) -> None:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        reason = (f"{CHROMIUM} or {CHROMEDRIVER} missing: install the Debian packages chromium and "
                  "chromium-driver (bash scripts/ensure_chromium.sh)")
        print(f"SKIPPED browser test: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    path, metrics = report
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,1800",
                 # a dead proxy: anything the page tried to fetch from the network would fail loudly
                 "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.set_page_load_timeout(60)
        driver.get(path.as_uri())
        WebDriverWait(driver, 60).until(
            lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-charts-rendered"))
        rendered = driver.execute_script("return document.querySelectorAll('.chart svg.marks').length")
        marks = driver.execute_script(
            "return document.querySelectorAll('.chart svg.marks path, .chart svg.marks line').length")
        fetched = driver.execute_script("return performance.getEntriesByType('resource').length")
        note = driver.find_element(By.ID, "simulated-note")
        note_visible = note.is_displayed() and note.size["height"] > 20
        shot = tmp_path / "report.png"
        driver.save_screenshot(str(shot))
        region = driver.find_element(By.ID, "region-320583")
        driver.execute_script("arguments[0].scrollIntoView()", region)
        driver.save_screenshot(str(tmp_path / "report-region.png"))
        logs = driver.get_log("browser")
    finally:
        driver.quit()
    severe = [entry for entry in logs if entry["level"] == "SEVERE"]
    assert severe == []
    # Vega reports empty layers and bad specs as console warnings
    assert [entry["message"] for entry in logs if entry["level"] == "WARNING"] == []
    assert rendered == metrics["charts"] == 45
    assert marks > 45 * 4  # lines, points and rules drawn, not empty frames
    assert fetched == 0
    assert note_visible
    data = shot.read_bytes()
    assert _png_size(data) == (1400, 1800) or _png_size(data)[0] >= 1000
    assert len(data) > 50_000
    keep = Path("/tmp/planwatch-report-screenshots")
    keep.mkdir(exist_ok=True)
    for png in tmp_path.glob("*.png"):  # for a person to look at after the run
        shutil.copy(png, keep / png.name)
