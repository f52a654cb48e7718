"""WALL002: a camera that cannot be read shows as offline on the wall — never a frozen frame —
while the other camera and the rest of the page carry on."""

from __future__ import annotations

import shutil

import pytest
import yaml
from playwright.sync_api import expect

from settings import PROJECT_ROOT
from tests.browser.conftest import open_page, running_komando

pytestmark = pytest.mark.browser


def test_wall002_dead_camera_is_offline_with_placeholder(browser, tmp_path, artifacts):
    cities = tmp_path / "cities"
    shutil.copytree(PROJECT_ROOT / "data" / "cities" / "prabumulih", cities / "prabumulih")
    config_path = cities / "prabumulih" / "city.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["cameras"][0]["source"] = "rtsp://127.0.0.1:9/no-camera-here"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
    data_dir = tmp_path / "data"
    data_dir.mkdir()

    with (
        running_komando(data_dir, KOMANDO_CITIES_DIR=str(cities)) as url,
        open_page(browser, url) as (page, console),
    ):
        dead = page.locator("img[data-camera='sdn1-gerbang']")
        expect(dead).to_have_attribute("data-state", "offline", timeout=20_000)
        badge = page.locator(".camera-badge").first
        expect(badge).to_contain_text("OFFLINE", timeout=10_000)
        # The reason, in Bahasa first: nothing listens on that port.
        expect(page.locator(".camera-info").first).to_contain_text("koneksi ditolak")
        assert dead.evaluate("el => el.naturalWidth") == 640  # the placeholder picture
        live = page.locator("img[data-camera='simpang-sudirman']")
        expect(live).to_have_attribute("data-state", "live", timeout=15_000)
        expect(page.locator(".kpi-value").first).not_to_have_text("–", timeout=15_000)
        page.screenshot(path=str(artifacts / "wall-dead-camera.png"))
        assert console.errors == []
