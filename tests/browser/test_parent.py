"""PARENT001-002: a parent on a phone (390x844, touch) signs in through the real form, lands on
/parent and watches their school's camera live (and no other), enlarges it with a tap; on a
weak link the tile keeps refreshing, one request at a time, with smaller pictures, and says
LAMBAT. Console clean; screenshots kept."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml
from playwright.sync_api import Browser, BrowserContext, Page, expect

from data.db.engine import make_engine
from settings import PROJECT_ROOT
from tests.accounts import PASSWORD, make_user
from tests.browser.conftest import ConsoleLog, running_komando

pytestmark = pytest.mark.browser

SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "id-ID",
    "timezone_id": "Asia/Jakarta",
}
TILE = ".pp-tile[data-camera='sdn1-gerbang']"


@pytest.fixture(scope="module")
def komando(tmp_path_factory):
    """The demo city served by app.py (its school camera grabbed from a sample clip), and a
    parent account of SD Negeri 1 with a password."""
    data = tmp_path_factory.mktemp("parent-data")
    with running_komando(data) as url:
        engine = make_engine(f"sqlite:///{data / 'komando.sqlite3'}")
        make_user(engine, "parent", "ibu.sari", schools=["sdn1-demo"])
        engine.dispose()
        yield url


def phone(browser: Browser) -> tuple[BrowserContext, Page, ConsoleLog]:
    context = browser.new_context(**PHONE)
    page = context.new_page()
    console = ConsoleLog()
    page.on("console", console.record)
    page.on("pageerror", lambda error: console.errors.append(f"page error: {error}"))
    return context, page, console


def sign_in(page: Page, url: str) -> None:
    page.goto(url + "parent")
    expect(page).to_have_url(url + "login?next=%2Fparent")
    page.locator("#username").fill("ibu.sari")
    page.locator("#password").fill(PASSWORD)
    page.locator("button[type=submit]").tap()
    expect(page).to_have_url(url + "parent")


# Counts the page's object URLs still alive: each picture's must be revoked once the next shows.
COUNT_OBJECT_URLS = """
(() => {
  const create = URL.createObjectURL, revoke = URL.revokeObjectURL;
  window.__liveUrls = new Set();
  window.__madeUrls = 0;
  URL.createObjectURL = (blob) => {
    const u = create(blob);
    window.__liveUrls.add(u);
    window.__madeUrls += 1;
    return u;
  };
  URL.revokeObjectURL = (u) => { window.__liveUrls.delete(u); revoke(u); };
})();
"""
HIDE = """(state) => {
  Object.defineProperty(document, "visibilityState", {value: state, configurable: true});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_parent001_phone_sign_in_live_tile_zoom(browser, komando, artifacts):
    context, page, console = phone(browser)
    context.add_init_script(COUNT_OBJECT_URLS)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        sign_in(page, komando)
        expect(page.locator(".pp-title")).to_have_text("Kamera sekolah")
        expect(page.locator(".pp-hello")).to_contain_text("Ibu.Sari")
        expect(page.locator(".pp-school h2")).to_have_text("SD Negeri 1 (demo)")
        expect(page.locator(".pp-tile")).to_have_count(1)
        tile = page.locator(TILE)
        expect(tile.locator(".pp-name")).to_have_text("SD Negeri 1 — Gerbang (demo)")
        # A live picture, and a newer one a moment later: the tile refreshes by itself.
        expect(tile.locator(".pp-badge")).to_have_text("LANGSUNG", timeout=30_000)
        page.wait_for_function(
            f'() => document.querySelector("{TILE} .pp-img").naturalWidth >= 320'
        )
        first = int(tile.get_attribute("data-seq"))
        page.wait_for_function(
            f'() => +document.querySelector("{TILE}").dataset.seq > {first}', timeout=10_000
        )
        assert tile.locator(".pp-img").get_attribute("src").startswith("blob:")
        assert "simpang-sudirman" not in page.content()
        assert not any("simpang-sudirman" in u or "_dash-" in u for u in requested)
        width = page.evaluate("() => document.scrollingElement.scrollWidth")
        assert width <= 390, f"the phone page scrolls sideways ({width} px)"
        logout = page.locator(".pp-logout").bounding_box()
        assert logout and logout["height"] >= 44  # a thumb-sized target
        time.sleep(1.5)  # one more picture, so the screenshot shows the badge settled
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for folder in (artifacts, SCREENSHOTS):
            page.screenshot(path=str(folder / "parent-390x844.png"))

        # Tap: the camera fills the screen, full size; the back button closes it.
        tile.locator(".pp-view").tap()
        zoom = page.locator(".pp-zoom")
        expect(zoom).to_be_visible()
        expect(zoom.locator(".pp-zoom-name")).to_have_text("SD Negeri 1 — Gerbang (demo)")
        expect(zoom.locator(".pp-badge")).to_have_text("LANGSUNG", timeout=10_000)
        page.wait_for_function(
            "() => document.querySelector('.pp-zoom-img').src.startsWith('blob:')"
        )
        for folder in (artifacts, SCREENSHOTS):
            page.screenshot(path=str(folder / "parent-zoom-390x844.png"))
        page.go_back()
        expect(zoom).to_be_hidden()
        expect(page).to_have_url(komando + "parent")

        # Phone locked or another app in front: no requests; shown again: pictures again.
        page.evaluate(HIDE, "hidden")
        time.sleep(2.5)  # a request in flight ends
        asked = int(tile.get_attribute("data-requests"))
        time.sleep(3)
        assert int(tile.get_attribute("data-requests")) == asked
        page.evaluate(HIDE, "visible")
        page.wait_for_function(
            f'() => +document.querySelector("{TILE}").dataset.requests > {asked + 2}'
        )
        # Many pictures shown, and only the last one or two still hold memory.
        page.wait_for_function("() => window.__madeUrls >= 12", timeout=20_000)
        assert page.evaluate("() => window.__liveUrls.size") <= 3
        assert console.errors == []
    finally:
        context.close()


def test_parent002_weak_link_keeps_refreshing_one_request_at_a_time(browser, komando, artifacts):
    context, page, console = phone(browser)
    in_flight: Counter[str] = Counter()
    most: Counter[str] = Counter()

    def camera_of(url: str) -> str:
        return url.split("/video/", 1)[1].split("?")[0].split(".")[0].split("/")[0]

    def opened(request) -> None:
        if "/video/" in request.url:
            camera = camera_of(request.url)
            in_flight[camera] += 1
            most[camera] = max(most[camera], in_flight[camera])

    def closed(request) -> None:
        if "/video/" in request.url:
            in_flight[camera_of(request.url)] -= 1

    page.on("request", opened)
    page.on("requestfinished", closed)
    page.on("requestfailed", closed)
    try:
        sign_in(page, komando)
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        # ~16 KB/s with 400 ms of latency: a weak 3G link, slower than full-size pictures need.
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": 400,
                "downloadThroughput": 16_000,
                "uploadThroughput": 16_000,
            },
        )
        tile = page.locator(TILE)
        # The tile notices, switches to the small picture and says so.
        expect(tile).to_have_attribute("data-mode", "small", timeout=40_000)
        expect(tile.locator(".pp-age")).to_contain_text("hemat data")
        expect(tile.locator(".pp-badge")).to_have_text("LAMBAT")
        seqs = set()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            seqs.add(tile.get_attribute("data-seq"))
            time.sleep(0.5)
        assert len(seqs) >= 3, f"the tile stopped refreshing on the weak link: {seqs}"
        assert most["sdn1-gerbang"] == 1, f"requests piled up: {dict(most)}"
        assert int(tile.get_attribute("data-requests")) >= 5
        page.screenshot(path=str(artifacts / "parent-slow-390x844.png"))
        assert console.errors == []
    finally:
        context.close()


def test_parent003_outside_viewing_hours_then_the_tile_starts_by_itself(
    browser, tmp_path, artifacts
):
    """The school's viewing hours begin at the next whole minute: the tile first says when it
    opens (no picture, the video route answers 403), then starts without a reload."""
    now = datetime.now(ZoneInfo("Asia/Jakarta"))
    opens = (now + timedelta(seconds=75 if now.second > 45 else 60)).replace(second=0)
    cities = tmp_path / "cities"
    shutil.copytree(PROJECT_ROOT / "data" / "cities" / "prabumulih", cities / "prabumulih")
    path = cities / "prabumulih" / "city.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    closes = opens + timedelta(hours=2)
    config["schools"][0]["viewing_hours"] = f"{opens:%H:%M}-{closes:%H:%M}"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    with running_komando(data, KOMANDO_CITIES_DIR=str(cities)) as url:
        engine = make_engine(f"sqlite:///{data / 'komando.sqlite3'}")
        make_user(engine, "parent", "ibu.sari", schools=["sdn1-demo"])
        engine.dispose()
        context, page, console = phone(browser)
        try:
            sign_in(page, url)
            tile = page.locator(TILE)
            expect(tile).to_have_attribute("data-open", "0")
            expect(tile.locator(".pp-badge")).to_have_text("TUTUP")
            expect(tile.locator(".pp-closed")).to_contain_text("Di luar jam tayang")
            expect(tile.locator(".pp-closed-msg")).to_have_text(
                f"Dibuka lagi hari ini pukul {opens:%H.%M} WIB."
                if opens.date() == now.date()
                else f"Dibuka lagi besok pukul {opens:%H.%M} WIB."
            )
            expect(page.locator(".pp-hours")).to_have_text(
                f"Jam tayang {opens:%H.%M}–{closes:%H.%M} WIB, setiap hari"
            )
            assert tile.get_attribute("data-requests") == "0"  # nothing asked while closed
            for folder in (artifacts, SCREENSHOTS):
                page.screenshot(path=str(folder / "parent-closed-390x844.png"))
            # The page asks /parent/status.json a second after the opening: the tile starts.
            expect(tile).to_have_attribute("data-open", "1", timeout=90_000)
            expect(tile.locator(".pp-badge")).to_have_text("LANGSUNG", timeout=30_000)
            expect(page.locator(".pp-school-closed")).to_be_hidden()
            assert console.errors == []
        finally:
            context.close()
