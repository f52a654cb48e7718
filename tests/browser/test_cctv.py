"""CCTV001-002: a 16-camera wall in headless Chromium — one connection for all the video, every
tile at ≥ 5 fps, the page's callbacks still quick; and tiles that slow down by themselves on a
slow link, and say so."""

from __future__ import annotations

import shutil
import time

import pytest
import yaml
from playwright.sync_api import expect

from settings import PROJECT_ROOT
from tests.browser.conftest import open_page, running_komando, sign_in_context

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def sixteen_cameras(tmp_path_factory):
    """Prabumulih with 16 cameras (the two demo clips, eight times each), served by app.py."""
    root = tmp_path_factory.mktemp("c16")
    cities = root / "cities"
    shutil.copytree(PROJECT_ROOT / "data" / "cities" / "prabumulih", cities / "prabumulih")
    path = cities / "prabumulih" / "city.yaml"
    config = yaml.safe_load(path.read_text())
    base = config["cameras"]
    config["cameras"] = [
        {**base[i % 2], "id": f"{base[i % 2]['id']}-{i:02d}", "name": f"Kamera {i + 1} (demo)"}
        for i in range(16)
    ]
    config.pop("camera_groups", None)  # they name the demo's cameras, replaced here
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    data = root / "data"
    data.mkdir()
    with running_komando(
        data, KOMANDO_CITIES_DIR=str(cities), KOMANDO_CAMERA_FPS="6", KOMANDO_CAMERA_WIDTH="320"
    ) as url:
        yield url


def test_cctv001_sixteen_tiles_one_connection_callbacks_stay_quick(
    browser, sixteen_cameras, artifacts
):
    with open_page(browser, sixteen_cameras + "cctv?layout=16") as (page, console):
        streams: dict[str, int] = {"open": 0, "most": 0}

        def opened(request) -> None:
            if "/video/wall.stream" in request.url:
                streams["open"] += 1
                streams["most"] = max(streams["most"], streams["open"])

        def closed(request) -> None:
            if "/video/wall.stream" in request.url:
                streams["open"] -= 1

        page.on("request", opened)
        page.on("requestfinished", closed)
        page.on("requestfailed", closed)
        tiles = page.locator(".cctv-grid img[data-camera]")
        expect(tiles).to_have_count(16, timeout=20_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.cctv-grid img[data-camera]')]"
            ".every(i => i.dataset.state === 'live')",
            timeout=20_000,
        )
        time.sleep(6)  # the tile script measures each tile's rate over the last 5 s
        rates = [
            float(v)
            for v in page.evaluate(
                "() => [...document.querySelectorAll('.cctv-grid img[data-camera]')]"
                ".map(i => i.dataset.fps)"
            )
        ]
        assert min(rates) >= 5.0, rates
        assert streams["most"] == 1  # one long-lived connection carries all sixteen tiles

        # A server callback still answers quickly: switch to four tiles and time it.
        started = time.monotonic()
        page.get_by_text("4 layar").click()
        expect(tiles).to_have_count(4, timeout=5_000)
        assert time.monotonic() - started < 1.0
        badges = page.locator(".cctv-grid .camera-badge")
        expect(badges.first).to_contain_text("LANGSUNG", timeout=5_000)

        # Click to enlarge, Escape to put back.
        page.locator(".cctv-grid .camera-tile").first.click()
        expect(page.locator(".camera-tile.enlarged")).to_have_count(1)
        page.keyboard.press("Escape")
        expect(page.locator(".camera-tile.enlarged")).to_have_count(0)
        page.get_by_text("16 layar").click()
        expect(tiles).to_have_count(16, timeout=5_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(artifacts / "cctv-16.png"))
        assert console.errors == []


def test_cctv002_slow_link_lowers_the_rate_and_says_so(browser, sixteen_cameras):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    sign_in_context(context, sixteen_cameras)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        # ~60 KB/s: a weak mobile link, far less than 16 tiles at 6 fps need.
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": 80,
                "downloadThroughput": 60_000,
                "uploadThroughput": 60_000,
            },
        )
        page.goto(sixteen_cameras + "cctv?layout=16")
        expect(page.locator(".cctv-grid img[data-camera]")).to_have_count(16, timeout=30_000)
        page.wait_for_function(
            "() => document.querySelector('.cctv-grid').dataset.rate === 'reduced'", timeout=40_000
        )
        assert page.locator(".cctv-grid img[data-degraded='1']").count() > 0  # "LAMBAT"
        # …and it asked the server for fewer frames rather than queueing old ones.
        assert page.evaluate("() => document.querySelector('.cctv-grid')._komandoGrid.fps") < 6
        assert errors == []
    finally:
        context.close()
