"""What a person does in a browser, in headless Chromium (Debian's, driven by Playwright): log in to Airflow,
trigger a source DAG with params from its trigger form and watch the run succeed, follow a gold model's
lineage in the dbt docs to the dashboard exposure, open the local report and see a chart drawn with data.

Called by tests/integration/test_stack_e2e.py against the stack it started (one stack for both).
"""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from support import chromium

DAG = "weather_open_meteo"


def walk_through(tracker_bin: str, screenshots: Path) -> dict:
    """Returns what was seen (for the assertions' messages); raises AssertionError on the first step that
    does not behave."""
    import psycopg
    from playwright.sync_api import sync_playwright
    from tracker import settings

    password = settings.Secrets.load_or_create().airflow_admin_password
    airflow, docs = settings.airflow_url(), settings.docs_url()
    start = date.today() - timedelta(days=3)
    end = start + timedelta(days=1)
    seen: dict = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        try:
            # --- Airflow: log in through the form, open the DAG, trigger it with a window from the form
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(60_000)
            page.goto(f"{airflow}/dags/{DAG}")
            page.wait_for_url("**/auth/login**")  # an anonymous visitor lands on the login form
            page.get_by_label("Username").fill(settings.AIRFLOW_USER)
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "/auth/login" not in url)
            page.goto(f"{airflow}/dags/{DAG}")
            page.get_by_role("button", name="Trigger").first.click()
            form = page.locator("[role=dialog][data-state=open]")
            form.get_by_text("Run Parameters").wait_for()
            form.locator("#element_start").fill(start.isoformat())
            form.locator("#element_end").fill(end.isoformat())
            unpause = form.locator("input[type=checkbox]")  # only offered while the DAG is paused
            if unpause.count() and not unpause.first.is_checked():
                form.get_by_text(f"Unpause {DAG} on trigger").click()
            form.get_by_role("button", name="Trigger").last.click()
            page.wait_for_url(f"**/dags/{DAG}/runs/**")
            run_id = page.url.rsplit("/runs/", 1)[1]
            seen["run_id"] = run_id
            # THEN the run page shows it succeed (the page is reloaded as a person would)
            state = _wait_for_state(page, run_id)
            page.screenshot(path=str(screenshots / "airflow_run.png"))
            assert state == "Success", f"{DAG} run {run_id} shows {state!r} (screenshot airflow_run.png)"
            # AND the rows of the window chosen in the form are in the warehouse
            with psycopg.connect(settings.loader_dsn()) as conn:
                days = conn.execute(
                    "select min(observed_at), max(observed_at), count(*) from raw.open_meteo__hourly "
                    "where observed_at >= %s and observed_at < %s",
                    (datetime.combine(start, datetime.min.time(), UTC),
                     datetime.combine(end, datetime.min.time(), UTC))).fetchone()
            seen["window_rows"] = days[2]
            assert days[2] >= 24, f"the form's window [{start}, {end}) loaded {days[2]} hourly rows"

            # --- dbt docs: a gold model's lineage ends at the dashboard that reads it
            docs_page = browser.new_context(http_credentials={"username": settings.AIRFLOW_USER,
                                                              "password": password},
                                            viewport={"width": 1400, "height": 1000}).new_page()
            docs_page.set_default_timeout(60_000)
            docs_page.goto(f"{docs}/#!/model/model.tracker.fct_resting_heart_rate_daily")
            docs_page.get_by_text("Referenced By", exact=True).filter(visible=True).first.click()
            # the panel's Exposures tab (the sidebar has an "Exposures" heading too)
            docs_page.locator("xpath=//*[normalize-space()='Referenced By']/following::*"
                              "[normalize-space()='Exposures']").filter(visible=True).first.click()
            exposure = docs_page.get_by_text("daily_overview").filter(visible=True).first
            exposure.wait_for()
            exposure.click()
            docs_page.wait_for_url("**/exposure/**")
            body = docs_page.locator("body").inner_text()
            assert "dashboards/daily_overview.yml" in body, "the exposure page should name its definition"
            docs_page.get_by_text("Depends On", exact=True).filter(visible=True).first.click()
            docs_page.get_by_text("fct_resting_heart_rate_daily").filter(visible=True).first.wait_for()
            docs_page.screenshot(path=str(screenshots / "dbt_docs_exposure.png"))

            # --- the local report (served by the docs server behind the same login), rewritten now
            report = subprocess.run([tracker_bin, "report"], capture_output=True, text=True, timeout=300)
            seen["report_output"] = report.stdout[-500:]
            docs_page.goto(f"{docs}/report/pipeline_health.html")
            chart = docs_page.locator("#chart-run_durations")
            docs_page.wait_for_selector("#chart-run_durations[data-rendered=true]")
            assert chart.get_attribute("data-error") is None, chart.inner_html()[:500]
            marks = chart.locator("[role=graphics-symbol]").count()
            seen["run_duration_marks"] = marks
            assert marks >= 1, f"the run-durations chart drew {marks} marks (the DAG run above is one)"
            docs_page.screenshot(path=str(screenshots / "report_pipeline_health.png"), full_page=True)
        finally:
            browser.close()
    return seen


def _wait_for_state(page, run_id: str, timeout: float = 300) -> str:
    """The state badge beside the run's heading once it is final (Success / Failed), reloading every 5 s."""
    import time

    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        heading = page.get_by_role("heading", name=run_id, exact=True)
        heading.wait_for()
        state = heading.locator("xpath=..").get_by_test_id("state-badge").inner_text().strip()
        if state in ("Success", "Failed"):
            return state
        page.wait_for_timeout(5000)
        page.reload()
    return state
