"""KPI001: the mayor's review (/kpi) against the real app on a fresh data folder: the demo
back-fill gives it a year, real values appear, drill-down city → kecamatan → desa and back keeps
its state in the URL, the phone layout holds, and the console stays clean."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from settings import PROJECT_ROOT
from tests.browser.conftest import open_page, running_komando
from tests.waiting import wait_for

pytestmark = pytest.mark.browser

SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
NUMBER = re.compile(r"^\d{1,3}(\.\d{3})*(,\d+)?$")  # id-ID: 1.234,5


def kpi_number(page, kpi_id: str) -> str:
    return page.locator(f'[id*=\'"kpi":"{kpi_id}"\'] .kpi-number').inner_text()


def test_kpi001_review_drills_down_and_back_with_real_numbers(browser, tmp_path):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with (
        running_komando(tmp_path) as url,
        open_page(browser, url + "kpi?periode=30d") as (page, console),
    ):
        # The back-fill runs beside the live feed on a first start; the page reads what is there.
        wait_for(
            lambda: "KPI history ready" in (tmp_path / "server.log").read_text(), 20, "back-fill"
        )
        page.reload()
        expect(page.get_by_role("heading", name="Tinjauan Kinerja Kota")).to_be_visible(
            timeout=20_000
        )
        # Six dimension cards and real, id-ID formatted numbers from the back-filled history.
        expect(page.locator(".score-card")).to_have_count(6)
        expect(page.locator(".kpi-card")).to_have_count(15)
        for kpi_id in ("pm25_rata_rata", "kehadiran_asn", "harga_beras_medium"):
            assert NUMBER.match(kpi_number(page, kpi_id)), kpi_id
        assert page.locator(".kpi-graph .main-svg").count() >= 14
        # DLH's waste figure is five days behind: the card says so and names the OPD.
        expect(page.locator("[id*='sampah_terangkut'] .kpi-late")).to_contain_text("TERLAMBAT: DLH")
        expect(page.locator("#review-table tbody tr")).to_have_count(15)
        expect(page.locator("#review-csv")).to_have_attribute("href", "/kpi/export.csv?periode=30d")
        page.wait_for_timeout(500)
        page.screenshot(path=str(SCREENSHOTS / "kpi-1920x1080.png"))
        page.screenshot(path=str(SCREENSHOTS / "kpi-1920-full.png"), full_page=True)

        # City → kecamatan: the breadcrumb and the URL follow, the period is kept.
        page.locator("a.chip", has_text="Prabumulih Utara").click()
        expect(page.locator(".crumb-current")).to_have_text("Prabumulih Utara")
        assert page.url.endswith("/kpi?wilayah=16.74.05&periode=30d")
        expect(page.locator("[id*='realisasi_anggaran'] .badge-city")).to_have_text("tingkat kota")
        assert NUMBER.match(kpi_number(page, "pm25_rata_rata"))
        expect(page.locator("[id*='tma_kelekar_maks'] .kpi-note")).to_have_text(
            "Tidak diukur di wilayah ini"
        )

        # Kecamatan → desa, with a shorter period picked on the way.
        page.locator("a.chip", has_text="7 hari").click()
        expect(page.locator("a.chip-active", has_text="7 hari")).to_be_visible()
        page.locator("a.chip", has_text="Pasar Prabumulih I").first.click()
        expect(page.locator(".crumb-current")).to_have_text("Pasar Prabumulih I")
        assert page.url.endswith("/kpi?wilayah=16.74.05.1001&periode=7d")
        assert NUMBER.match(kpi_number(page, "okupansi_parkir"))
        expect(page.locator("#review-crumbs a")).to_have_count(2)

        # And back up to the city through the breadcrumb.
        page.locator("#review-crumbs a", has_text="Kota Prabumulih").click()
        expect(page.locator(".crumb-current")).to_have_text("Kota Prabumulih")
        assert page.url.endswith("/kpi?periode=7d")

        # The comparison follows the chosen KPI.
        page.locator("#review-compare-kpi").click()
        page.get_by_role("option", name="Kehadiran siswa").click()
        expect(page.locator("#review-compare-graph .bars .point")).to_have_count(6)

        # English, by the page's own link.
        page.locator("#review-lang-link").click()
        expect(page.get_by_role("heading", name="City Performance Review")).to_be_visible()

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(url + "kpi?wilayah=16.74.05&periode=30d&lang=id")
        expect(page.locator(".kpi-card")).to_have_count(15)
        page.wait_for_timeout(500)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the phone layout scrolls sideways ({width} px)"
        page.screenshot(path=str(SCREENSHOTS / "kpi-390x844.png"))
        page.screenshot(path=str(SCREENSHOTS / "kpi-390-full.png"), full_page=True)

        page.goto(url + "kpi/laporan?periode=year")
        expect(page.get_by_role("heading", name="Tinjauan Kinerja Kota")).to_be_visible()
        page.screenshot(path=str(SCREENSHOTS / "kpi-laporan.png"), full_page=True)
        assert console.errors == []
