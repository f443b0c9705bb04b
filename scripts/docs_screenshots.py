"""Regenerate the screenshots of raw/README.md: a submission form and its receipt, in headless Chromium.

    .venv/bin/python scripts/docs_screenshots.py [--out docs/images]

Builds the small fixture home of the reliability tests in a temporary folder, writes the form of
杭州市 for 2024Q2 with planwatch.ingest.forms, fills it in as a person does (one figure not a number, one
cell empty), loads it with the real stages, and photographs the form (its first sheet rendered
from the workbook's cells, fills and column widths) and the receipt (the HTML planwatch writes).
Needs /usr/bin/chromium and /usr/bin/chromedriver (scripts/ensure_chromium.sh installs them).
"""

from __future__ import annotations

import argparse
import html
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "reliability")]

TYPED = {"ELD_NURSING_BED_SHARE": "５７．５", "COM_SERVICE_COVERAGE": "１００", "AST_APPROVAL_DAYS": 16,
         "SOC_ORGS_PER_10K": None, "CHA_DONATIONS": "约1300", "ELD_BEDS_PER_1000": "40"}


def sheet_html(path: Path) -> str:
    """The first sheet of a workbook as an HTML table: merged title rows, header, cells with their fills."""
    import openpyxl

    ws = openpyxl.load_workbook(path).worksheets[0]
    widths = [ws.column_dimensions[chr(65 + i)].width or 10 for i in range(ws.max_column)]
    rows = []
    for r, row in enumerate(ws.iter_rows(), start=1):
        cells = []
        for cell in row:
            if r <= 2 and cell.column > 1:
                continue
            span = f' colspan="{ws.max_column}"' if r <= 2 else ""
            fill = cell.fill.fgColor.rgb if cell.fill and cell.fill.fill_type == "solid" else None
            style = f' style="background:#{str(fill)[-6:]}"' if fill else ""
            text = "" if cell.value is None else html.escape(str(cell.value)).replace("\n", "<br>")
            tag = "th" if r == 3 else "td"
            cells.append(f"<{tag}{span}{style}>{text}</{tag}>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cols = "".join(f'<col style="width:{w * 7:.0f}px">' for w in widths)
    return f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>
      body {{ font-family: "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif; font-size: 13px; margin: 16px; }}
      table {{ border-collapse: collapse; table-layout: fixed; }}
      td, th {{ border: 1px solid #bbb; padding: 3px 6px; vertical-align: middle; }}
      tr:first-child td {{ font-size: 17px; font-weight: bold; border: none; }}
      .tab {{ margin-top: 8px; font-size: 12px; color: #333; }} .tab span {{ border: 1px solid #999;
      border-top: none; padding: 2px 10px; background: #fff; }}
    </style></head><body><p class="small">{html.escape(path.name)}</p><table>{cols}{''.join(rows)}</table>
    <div class="tab"><span>{html.escape(ws.title)}</span> (隐藏表 hidden sheet <code>_form</code>:
    region, period, form version)</div></body></html>"""


def shoot(pages: dict[str, Path], out: Path, profile: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 f"--user-data-dir={profile}", "--window-size=1100,760", "--hide-scrollbars",
                 "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        for name, page in pages.items():
            driver.get(page.as_uri())
            height = driver.execute_script("return document.body.scrollHeight")
            # the whole page in one picture: a viewport as tall as the page
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": 1100, "height": min(int(height) + 40, 1600), "deviceScaleFactor": 1, "mobile": False})
            driver.save_screenshot(str(out / name))
            driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
            print(out / name)
    finally:
        driver.quit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "images"))
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)

    import openpyxl

    from conftest import run_stages  # tests/reliability: the stages as the DAG runs them
    from fixture_home import make_home
    from planwatch.core.config import Settings
    from planwatch.ingest.forms import write_forms
    from planwatch.core.periods import Quarter

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=make_home(Path(tmp) / "home"))
        run_stages(settings, "2024Q2", "docs", ("register_files", "load_plans", "load_statistics"))
        (form,) = write_forms(settings, Quarter(2024, 2), settings.reports_dir / "forms", ["330100"])
        filled = settings.statistics_dir / "330100" / form.name
        filled.parent.mkdir(parents=True)
        wb = openpyxl.load_workbook(form)
        for row in wb.worksheets[0].iter_rows(min_row=4):
            row[4].value = TYPED.get(row[0].value)
        wb.save(filled)
        run_stages(settings, "2024Q2", "docs", ("register_files", "load_statistics"))
        page = Path(tmp) / "form.html"
        page.write_text(sheet_html(filled), encoding="utf-8")
        receipt = next((settings.reports_dir / "receipts").glob("330100_2024Q2_*.html"))
        shoot({"form.png": page, "receipt.png": receipt}, out, Path(tmp) / "profile")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
