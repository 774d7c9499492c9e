"""The Dagster UI tells the truth, seen in headless Chromium against a real `dagster dev` on an
instance where a sync ran: each asset page lists its schedule and sensor, the indicators page
shows the preview in place, the automation page lists them all, and a sync killed mid-step
shows in the run list as failed by the heal. Screenshots land in `artifacts/`."""

from __future__ import annotations

import re
import signal
import urllib.request
from datetime import timedelta

import pytest
from dagster import DagsterRunStatus, RunsFilter

from marketdata_pipeline.simulator import Faults

from ..conftest import (
    ARTIFACTS,
    BROWSER_ARGS,
    CHROMIUM,
    free_port,
    market,
    marketdata,
    slot_holders,
    today,
    wait_for,
)
from .test_dagster_dev import dagster_dev, stop_group

SCHEDULE_TAG = "dagster/schedule_name"


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed; apt-get install chromium")
def test_the_ui_lists_automations_shows_the_preview_and_a_healed_run(
    make_project, simulator, tmp_path
):
    from playwright.sync_api import sync_playwright

    start = today() - timedelta(days=1)
    project = make_project(
        [market("BTC/USDT", start=start), market("ETH/USDT", start=start)],
        page_concurrency=1,
        pages_per_write=1,
    )
    instance = project.instance
    synced = marketdata("sync", "--symbol", "BTC/USDT", "--start", str(start), cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr

    # A sync killed mid-step: its run stays STARTED with a pool slot until the heal fails it.
    simulator.set_faults(Faults(latency_ms=1500))
    killed = marketdata(
        "sync", "--symbol", "ETH/USDT", "--start", str(start), cwd=tmp_path, wait=False
    )
    holder = wait_for(lambda: slot_holders(instance), 120, "the ETH sync holding a slot")[0]
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    simulator.set_faults(Faults())
    assert instance.get_run_by_id(holder).status == DagsterRunStatus.STARTED
    assert f"healed: run {holder[:8]}" in marketdata("status", cwd=tmp_path).stderr
    assert instance.get_run_by_id(holder).status == DagsterRunStatus.FAILURE

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = dagster_dev(tmp_path, port)
    try:
        wait_for(lambda: answers(f"{url}/server_info"), 180, "the webserver answering")
        # A schedule launches its runs through the job of its own assets.
        scheduled = RunsFilter(
            tags={SCHEDULE_TAG: "candles_1m_schedule"}, statuses=[DagsterRunStatus.SUCCESS]
        )
        wait_for(lambda: instance.get_run_records(scheduled), 240, "a scheduled run succeeded")
        ARTIFACTS.mkdir(exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1100})
            page.set_default_timeout(60_000)
            try:
                look(page, url, holder)
            except Exception:  # what the browser saw, to read beside the error
                page.screenshot(path=ARTIFACTS / "ui_failure.png", full_page=True)
                (ARTIFACTS / "ui_failure.html").write_text(page.content())
                raise
            finally:
                browser.close()
    finally:
        stop_group(server)


def links(page, *automations: str) -> None:
    """Wait for a visible link to each schedule or sensor, e.g. `schedules/candles_1m_schedule`
    (the asset page names a schedule by its cron: "Every minute")."""
    for automation in automations:
        page.locator(f"a[href$='/{automation}']").first.wait_for()


def look(page, url: str, healed_run: str) -> None:
    page.goto(f"{url}/assets/binance/btc_usdt/candles_1m")
    skip = page.get_by_role("button", name="Skip")  # the first visit's newsletter dialog
    skip.wait_for()
    skip.click()
    page.get_by_text("Automation details").wait_for()
    links(page, "schedules/candles_1m_schedule", "sensors/candle_freshness")
    assert page.get_by_text("No automations found for this asset").count() == 0
    page.screenshot(path=ARTIFACTS / "ui_candles_asset.png", full_page=True)

    page.goto(f"{url}/assets/binance/btc_usdt/indicators_1m")
    preview = page.locator("img[src^='data:image/svg+xml']").first
    preview.wait_for(state="visible")
    assert preview.evaluate("img => img.complete && img.naturalWidth") > 0
    links(page, "schedules/candles_1m_schedule")
    page.get_by_text("2 sensors").wait_for()  # candle_freshness and follow_candles
    page.get_by_text("follow upstream").wait_for()  # the automation condition
    page.screenshot(path=ARTIFACTS / "ui_indicators_asset.png", full_page=True)

    page.goto(f"{url}/automation")
    links(page, "schedules/candles_1m_schedule", "sensors/candle_freshness")
    links(page, "sensors/follow_candles")
    page.screenshot(path=ARTIFACTS / "ui_automation.png", full_page=True)
    page.locator("a[href$='/schedules/candles_1m_schedule']").first.click()
    # Its target is its assets (a selection of their keys), not "None".
    target = page.locator("tr").filter(has=page.get_by_text("Target", exact=True))
    target.get_by_text(re.compile("binance/btc_usdt/candles_1m")).wait_for()
    assert "None" not in target.inner_text()
    page.screenshot(path=ARTIFACTS / "ui_schedule.png", full_page=True)

    page.goto(f"{url}/runs")
    page.locator(f"a[href$='/runs/{healed_run}']").first.wait_for()
    page.get_by_text("Failure", exact=True).first.wait_for()
    page.screenshot(path=ARTIFACTS / "ui_runs.png", full_page=True)
    page.goto(f"{url}/runs/{healed_run}")
    page.get_by_text("found by marketdata").first.wait_for()  # the heal's reason
    page.screenshot(path=ARTIFACTS / "ui_healed_run.png", full_page=True)
