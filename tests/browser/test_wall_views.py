"""WALL003–005: drill-down on the map, a screen's playlist in kiosk mode, and the wall on a 4K
screen — in headless Chromium against the real app."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import open_page, sign_in_context

pytestmark = pytest.mark.browser
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")  # fmt: skip


def test_wall003_click_a_kecamatan_to_see_its_villages_and_come_back(wall_page, artifacts):
    page, console = wall_page
    expect(page.locator(".district-label")).to_have_count(6, timeout=15_000)
    # The first shading redraws the layer; Leaflet fades the old labels out for 200 ms, when
    # the name stands twice. Click once the values are in and the old labels gone.
    expect(page.locator(".district-value").first).to_be_visible(timeout=15_000)
    label = page.locator(".district-label", has_text="Prabumulih Utara")
    expect(label).to_have_count(1)
    label.click(force=True)
    expect(page.locator("#map-crumb")).to_have_text("› Prabumulih Utara", timeout=10_000)
    villages = page.locator(".village-label")
    expect(villages).to_have_count(5, timeout=10_000)
    assert "Pasar Prabumulih I" in villages.all_inner_texts()
    # The kecamatan's own KPIs (from its own sensors), kept current by the live feed.
    box = page.locator(".map-focus-box.shown")
    expect(box).to_contain_text("Prabumulih Utara", timeout=10_000)
    expect(box).to_contain_text("PM2.5 rata-rata kota")
    expect(box).to_contain_text("Okupansi parkir")
    page.screenshot(path=str(artifacts / "wall-drilldown-1920x1080.png"))
    page.locator("#map-home").click()
    expect(page.locator("#map-crumb")).to_have_text("", timeout=10_000)
    expect(villages).to_have_count(0, timeout=10_000)
    expect(page.locator(".map-focus-box.shown")).to_have_count(0, timeout=10_000)
    assert console.errors == []


def test_wall004_a_playlist_rotates_views_in_kiosk_mode(browser: Browser, komando_url):
    with open_page(browser, f"{komando_url}/?putar=/,/cctv&detik=10") as (page, console):
        expect(page.locator("#shell")).to_have_class("shell kiosk", timeout=10_000)
        expect(page.locator(".city-map")).to_be_visible(timeout=15_000)
        assert not page.locator(".leaflet-control-zoom").is_visible()  # no controls on a wall
        # After 10 s the next view, in place (no reload: the same document).
        page.evaluate("window.__sameDocument = true")
        expect(page.locator(".cctv-main")).to_be_visible(timeout=30_000)
        assert page.evaluate("window.location.pathname") == "/cctv"
        assert page.evaluate("window.__sameDocument") is True
        assert "putar=" in page.evaluate("window.location.search")  # the playlist goes on
        assert not page.locator(".cctv-controls").is_visible()
        # ...and back to the first view.
        expect(page.locator(".city-map")).to_be_visible(timeout=30_000)
        assert console.errors == []


def test_wall005_a_4k_screen_shows_the_whole_wall_without_scrollbars(
    browser: Browser, komando_url, artifacts
):
    context = browser.new_context(
        viewport={"width": 3840, "height": 2160}, locale="id-ID", timezone_id="Asia/Jakarta"
    )
    sign_in_context(context, komando_url, "display", view="/?kiosk=1")
    try:
        page = context.new_page()
        page.goto(f"{komando_url}/?kiosk=1")
        expect(page.locator(".sensor-pin").first).to_be_visible(timeout=15_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.kpi-value')].every(e => e.textContent !== '–')",
            timeout=15_000,
        )
        overflow = page.evaluate(
            "() => [document.documentElement.scrollWidth - innerWidth, "
            "document.documentElement.scrollHeight - innerHeight]"
        )
        assert overflow == [0, 0]
        # Readable from across the room: KPI numerals scale with the screen.
        numeral_px = page.locator(".kpi-value").first.evaluate(
            "el => parseFloat(getComputedStyle(el).fontSize)"
        )
        assert numeral_px >= 60
        page.screenshot(path=str(artifacts / "wall-3840x2160.png"))
    finally:
        context.close()


def test_wall006_the_wall_in_english_when_asked(browser: Browser, komando_url):
    with open_page(browser, f"{komando_url}/?lang=en") as (page, console):
        expect(page.locator(".map-panel h2")).to_have_text("City map", timeout=15_000)
        expect(page.locator(".kpi-panel h2")).to_have_text("City indicators")
        expect(page.locator(".kpi-name", has_text="Budget realisation")).to_have_count(1)
        expect(page.locator("#data-freshness")).to_contain_text("Data as of", timeout=10_000)
        expect(page.locator(".camera-badge").first).to_have_text("LIVE", timeout=15_000)
        # Today's date in the city's zone, in English (either side of a minute's turn).
        now = datetime.now(ZoneInfo("Asia/Jakarta"))
        dates = {
            f"{d.day} {MONTHS_EN[d.month - 1]} {d.year}" for d in (now, now + timedelta(minutes=1))
        }
        expect(page.locator(".clock-date")).to_contain_text(re.compile("|".join(dates)))
        assert page.locator(".wall").get_attribute("lang") == "en"
        assert console.errors == []
        # The choice is remembered: the same browser without ?lang= stays in English.
        page.goto(komando_url)
        expect(page.locator(".map-panel h2")).to_have_text("City map", timeout=15_000)
        page.goto(f"{komando_url}/?lang=id")
        expect(page.locator(".map-panel h2")).to_have_text("Peta kota", timeout=15_000)


def test_wall007_dashs_undo_history_is_kept_short(wall_page):
    # Dash records every change of a callback input that no callback made (a dcc.Interval's
    # tick among them) in an undo history it never trims; a wall would grow by megabytes an
    # hour. The wall's refresh is no Dash interval, so it adds nothing there every second...
    page, console = wall_page
    page.wait_for_function(
        "() => [...document.querySelectorAll('.kpi-value')].every(e => e.textContent !== '–')",
        timeout=15_000,
    )
    before = page.evaluate("window.store.getState().history.past.length")
    page.wait_for_timeout(5_000)
    # A 1-second interval would add 5; what may come is one of the rare sections the feed
    # passes to Dash (the alert list's version, the kecamatan shading).
    assert page.evaluate("window.store.getState().history.past.length") - before < 5
    # ...and assets/komando_history.js still cuts it back once a minute, for whatever does.
    page.evaluate(
        "() => { const past = window.store.getState().history.past;"
        " for (let i = 0; i < 30; i++) past.push({}); }"
    )
    assert page.evaluate("window.komandoTrimHistory()") == 20
    assert page.evaluate("window.store.getState().history.past.length") == 20
    assert console.errors == []
