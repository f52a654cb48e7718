"""ADM001: the admin page (/admin) in headless Chromium against the real app: a parent bound to
a school, a wall display link that works once opened, and both on the audit trail."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from settings import PROJECT_ROOT
from tests.browser.conftest import open_page, running_komando

pytestmark = pytest.mark.browser

SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
ADMIN = "kepala.admin"


def choose(page, dropdown: str, option: str) -> None:
    page.locator(dropdown).click()
    page.get_by_role("option", name=option).click()
    page.keyboard.press("Escape")


def test_adm001_admin_adds_a_parent_and_a_wall_display(browser, tmp_path, artifacts):
    with (
        running_komando(tmp_path) as url,
        open_page(browser, url + "admin", "admin", username=ADMIN) as (page, console),
    ):
        page.set_viewport_size({"width": 1366, "height": 900})
        expect(page.get_by_role("heading", name="Administrasi")).to_be_visible()
        expect(page.locator("#adm-users")).to_contain_text(ADMIN)
        school_field = page.locator("#adm-new-schools-field")
        expect(school_field).to_be_hidden()

        # A parent of SD Negeri 1, with a random password shown once.
        page.get_by_label("Nama pengguna").fill("ibu.sari")
        page.get_by_label("Nama lengkap").first.fill("Ibu Sari")
        choose(page, "#adm-new-role", "Orang tua")
        expect(school_field).to_be_visible()
        choose(page, "#adm-new-schools", "SD Negeri 1 (demo)")
        page.locator("#adm-new-random input").check()
        page.get_by_role("button", name="Buat pengguna").click()
        result = page.locator("#adm-new-result")
        expect(result).to_contain_text("Pengguna ibu.sari (Orang tua) dibuat.")
        expect(result).to_contain_text("hanya ditampilkan sekali")
        assert len(page.locator("#adm-new-result-secret").inner_text()) >= 16
        expect(page.locator("#adm-users")).to_contain_text("ibu.sari")
        expect(page.locator("#adm-schools")).to_contain_text("ibu.sari")
        expect(page.locator("#adm-cameras")).to_contain_text("SD Negeri 1 — Gerbang (demo)")
        expect(page.locator("#adm-cameras")).not_to_contain_text("sample:")

        # A wall display link for the CCTV page: it signs a fresh browser in, on that page.
        page.locator("#adm-display-name").fill("Layar utama")
        page.locator("#adm-display-view").fill("/cctv")
        page.get_by_role("button", name="Buat tautan layar").click()
        link = page.locator("#adm-display-result-secret")
        expect(link).to_contain_text("/d/")
        expect(page.locator("#adm-displays")).to_contain_text("Layar utama")
        screen = browser.new_context()
        try:
            wall = screen.new_page()
            wall.goto(link.inner_text())
            assert re.search(r"/cctv$", wall.url), wall.url
        finally:
            screen.close()

        # Both are on the audit trail, named after the admin who did them.
        audit = page.locator("#adm-audit")
        expect(audit).to_contain_text("user.create")
        expect(audit).to_contain_text("display.create")
        expect(audit).to_contain_text(ADMIN)

        # The section links move within the page; the router keeps the page as it is.
        page.get_by_role("link", name="Jejak audit").click()
        expect(page).to_have_url(re.compile(r"/admin#adm-audit-trail$"))
        expect(audit).to_contain_text("display.create")
        expect(page.locator("#adm-new-result")).to_contain_text("dibuat")

        page.screenshot(path=str(artifacts / "admin.png"), full_page=True)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SCREENSHOTS / "admin-1366x900.png"))
        assert console.errors == []


def test_adm002_a_school_and_camera_added_in_the_page_reach_the_wall(browser, tmp_path, artifacts):
    """The admin adds a school and a street camera in the forms; the grab role starts the
    camera and a wall that was already open reloads itself to show it, and again without it
    once the admin removes it (through the browser's confirm dialog)."""
    with (
        running_komando(tmp_path) as url,
        open_page(browser, url, "admin") as (wall, wall_console),
        open_page(browser, url + "admin", "admin", username=ADMIN) as (page, console),
    ):
        expect(wall.locator(".camera-tile")).to_have_count(2)
        page.set_viewport_size({"width": 1366, "height": 900})
        page.locator("#adm-sch-id").fill("sdn-2-baru")
        page.locator("#adm-sch-name").fill("SD Negeri 2 Baru")
        choose(page, "#adm-sch-region", "Kec. Prabumulih Barat")
        page.locator("#adm-sch-lat").fill("-3.431")
        page.locator("#adm-sch-lng").fill("104.232")
        page.locator("#adm-sch-hours").fill("06:30-14:00")
        page.get_by_role("button", name="Simpan sekolah").click()
        expect(page.locator("#adm-sch-result")).to_contain_text("Sekolah sdn-2-baru disimpan")
        expect(page.locator("#adm-schools")).to_contain_text("SD Negeri 2 Baru")
        expect(page.locator("#adm-schools")).to_contain_text("06.30–14.00")

        page.locator("#adm-cam-id").fill("simpang-baru")
        page.locator("#adm-cam-name").fill("Simpang Baru")
        choose(page, "#adm-cam-region", "Kec. Prabumulih Barat")
        page.locator("#adm-cam-lat").fill("-3.429")
        page.locator("#adm-cam-lng").fill("104.235")
        page.locator("#adm-cam-source").fill("sample:car-detection.mp4")
        page.get_by_role("button", name="Simpan kamera").click()
        expect(page.locator("#adm-cam-result")).to_contain_text("Kamera simpang-baru disimpan")
        expect(page.locator("#adm-cam-source")).to_have_value("")
        # Picked again, the camera's fields come back, its source does not.
        choose(page, "#adm-cam-pick", "Simpang Baru (simpang-baru)")
        expect(page.locator("#adm-cam-name")).to_have_value("Simpang Baru")
        expect(page.locator("#adm-cam-source")).to_have_value("")
        expect(page.locator("#adm-cam-source-state")).to_contain_text("tersimpan")
        # The grab role follows within seconds: the camera list says so once reloaded.
        new_row = page.locator("#adm-cameras tr", has_text="simpang-baru")
        deadline = time.monotonic() + 30
        while "LANGSUNG" not in (new_row.inner_text() if new_row.count() else ""):
            assert time.monotonic() < deadline, new_row.all_inner_texts()
            page.get_by_role("button", name="Muat ulang").click()
            page.wait_for_timeout(1000)

        # The wall opened before the camera existed reloads itself and shows it.
        expect(wall.locator(".camera-tile")).to_have_count(3, timeout=30_000)
        expect(wall.locator("body")).to_contain_text("Simpang Baru")

        remove = page.get_by_role("button", name="Hapus kamera…")
        page.once("dialog", lambda dialog: dialog.accept())
        remove.click()
        expect(page.locator("#adm-cam-result")).to_contain_text("Kamera simpang-baru dihapus")
        expect(remove).to_be_disabled()  # nothing picked any more
        expect(wall.locator(".camera-tile")).to_have_count(2, timeout=30_000)
        expect(wall.locator("body")).not_to_contain_text("Simpang Baru")
        page.locator("#adm-sekolah").screenshot(path=str(artifacts / "admin-city-forms.png"))
        assert console.errors == []
        assert wall_console.errors == []
