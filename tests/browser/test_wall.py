"""WALL001: the command-centre wall, live, in headless Chromium against the real app."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

DISTRICTS = {
    "Prabumulih Barat",
    "Prabumulih Timur",
    "Cambai",
    "Rambang Kapak Tengah",
    "Prabumulih Utara",
    "Prabumulih Selatan",
}


def kpi_values(page: Page) -> list[str]:
    return page.locator(".kpi-value").all_inner_texts()


def test_wall001_live_wall_with_map_kpis_and_cameras(wall_page, artifacts):
    page, console = wall_page

    # The map: six real kecamatan polygons, labelled, with no basemap needed.
    polygons = page.locator(".leaflet-overlay-pane path")
    expect(polygons).to_have_count(6, timeout=15_000)
    labels = page.locator(".district-label").all_inner_texts()
    assert {label.split("\n")[0] for label in labels} == DISTRICTS
    # Shaded by the first wall KPI a kecamatan has (PM2.5), its value under each name.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.district-value')].length >= 1", timeout=15_000
    )
    assert all(v.endswith(" µg/m³") for v in page.locator(".district-value").all_inner_texts())
    fills = page.locator(".leaflet-overlay-pane path").evaluate_all(
        "paths => paths.map(p => p.getAttribute('fill'))"
    )
    assert set(fills) - {"#1b3a52"}, fills  # coloured by status, not the plain fill
    assert page.locator(".leaflet-tile-pane img").count() == 0  # nothing fetched from outside

    # Sensor markers coloured from their latest readings.
    pins = page.locator(".sensor-pin")
    expect(pins).to_have_count(13, timeout=15_000)
    # The pins are on the map from the start, grey until the live feed colours them.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.sensor-pin')].every("
        "e => e.style.background !== 'rgb(107, 119, 133)')",
        timeout=15_000,
    )
    colours = {pins.nth(i).evaluate("el => el.style.background") for i in range(pins.count())}
    assert colours and "rgb(107, 119, 133)" not in colours  # none left at "no data" grey

    # KPI tiles: one per dimension at least, with values that change while we watch.
    expect(page.locator(".kpi-tile")).to_have_count(8)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.kpi-value')].every(e => e.textContent !== '–')",
        timeout=15_000,
    )
    first = kpi_values(page)
    page.wait_for_function(
        "before => [...document.querySelectorAll('.kpi-value')].some((e, i) => "
        "e.textContent !== before[i])",
        arg=first,
        timeout=15_000,
    )
    assert kpi_values(page) != first
    # Tiles coloured by status, and the scorecard's chips filled in place by the feed.
    assert page.locator(".kpi-tile.status-nodata").count() < 8
    page.wait_for_function(
        "() => [...document.querySelectorAll('.score-chip')].every("
        "c => c.querySelector('.score-count'))"
        " && [...document.querySelectorAll('.score-value')].some(e => e.textContent !== '–')",
        timeout=15_000,
    )
    assert page.locator(".score-chip.worst-nodata").count() < page.locator(".score-chip").count()
    expect(page.locator("#data-freshness")).to_contain_text("Data per", timeout=10_000)
    expect(page.locator("#clock-time")).not_to_have_text("--.--.--")

    # Camera tiles: school and street, live, pictures that keep changing.
    for camera in ("sdn1-gerbang", "simpang-sudirman"):
        image = page.locator(f"img[data-camera='{camera}']")
        page.wait_for_function(
            f"() => document.querySelector(\"img[data-camera='{camera}']\").dataset.seq",
            timeout=15_000,
        )
        expect(image).to_have_attribute("data-state", "live")
        seq = int(image.get_attribute("data-seq"))
        shot = image.screenshot()
        page.wait_for_function(
            f"s => +document.querySelector(\"img[data-camera='{camera}']\").dataset.seq > s + 2",
            arg=seq,
            timeout=10_000,
        )
        assert image.evaluate("el => el.naturalWidth") == 640
        assert image.screenshot() != shot, f"camera {camera}: the picture did not change"
    badges = page.locator(".camera-badge").all_inner_texts()
    assert badges == ["LANGSUNG", "LANGSUNG"], badges
    # Each tile says how old its picture is (kept by the stream in the browser).
    ages = page.locator(".camera-age").all_inner_texts()
    assert len(ages) == 2 and all(re.fullmatch(r"\d+ dtk", a) for a in ages), ages

    page.screenshot(path=str(artifacts / "wall-1920x1080.png"))
    assert console.errors == []
