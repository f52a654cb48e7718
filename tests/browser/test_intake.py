"""ADM001: the admin page "Data Masuk" (/admin/data) in headless Chromium against the real app:
readings pushed over HTTP with a real API key show up as counters per source and as a dead
letter with its reason, shown as plain text; the simulator's sensors are fresh; the page
refreshes by itself and on "Muat ulang"."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect

from settings import PROJECT_ROOT
from tests.browser.conftest import open_page, running_komando

pytestmark = pytest.mark.browser

WIB = ZoneInfo("Asia/Jakarta")  # Prabumulih's time zone
# A refused value that is long (its payload is cut in the list) and looks like markup.
BAD_VALUE = "tinggi <b>tebal</b> " + "x" * 400 + " AKHIR"


def create_api_key(data_dir: Path) -> str:
    """`python -m data keys create --all` against the running app's database."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    done = subprocess.run(
        [sys.executable, "-m", "data", "keys", "create", "--all", "--name", "uji ADM001"],
        cwd=PROJECT_ROOT,
        env={**env, "KOMANDO_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = re.search(r"\bkmd_\S+", done.stdout)
    assert found, done.stdout + done.stderr
    return found.group(0)


def post_readings(url: str, key: str, readings: list[dict]) -> dict:
    answer = httpx.post(
        url + "api/v1/readings",
        json=readings,
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert answer.status_code in (200, 422), answer.text
    return answer.json()


def wib_seconds(start: float, end: float) -> set[str]:
    """Every way the page may write a moment between start and end (to the second)."""
    return {
        datetime.fromtimestamp(second, WIB).strftime("%d-%m-%Y %H.%M.%S")
        for second in range(int(start), int(end) + 1)
    }


def cells(page: Page, row: str) -> list[str]:
    return [c.strip() for c in page.locator(f"{row} td").all_inner_texts()]


def test_adm001_counters_freshness_and_dead_letters(browser, tmp_path, artifacts):
    with running_komando(tmp_path) as url:
        key = create_api_key(tmp_path)
        now = datetime.now(WIB).isoformat(timespec="seconds")
        sent = time.time()
        answer = post_readings(
            url,
            key,
            [
                {"sensor_id": "aq-cambai", "ts": now, "value": 41.5},
                {"sensor_id": "aq-cambai", "ts": now, "value": BAD_VALUE},
            ],
        )
        received = time.time()
        assert (answer["accepted"], answer["rejected"]) == (1, 1)
        assert answer["results"][1]["reason"] == "must be a number"

        with open_page(browser, url + "admin/data") as (page, console):
            page.set_viewport_size({"width": 1366, "height": 900})
            expect(page.get_by_role("heading", name="Data Masuk")).to_be_visible()

            # Counters per source: the HTTP push, and the simulator that keeps the wall moving.
            http = "#in-counters [data-source='http']"
            expect(page.locator(http)).to_contain_text("API HTTP")
            assert cells(page, http)[1:] == ["1", "1", "50,0 %"]
            simulator = cells(page, "#in-counters [data-source='simulator']")
            assert int(simulator[1].replace(".", "")) > 0 and simulator[2] == "0"
            assert cells(page, "#in-counters [data-source='mqtt']")[1:] == ["0", "0", "–"]

            # Freshness: every simulated sensor is fresh; no OPD has entered anything yet.
            sensors = page.locator("#in-sensors")
            expect(sensors).to_contain_text(re.compile(r"\d+ sensor · semua segar"))
            expect(sensors.locator(".in-badge-late")).to_have_count(0)
            expect(page.locator("#in-sensors [data-sensor='aq-cambai']")).to_contain_text("segar")
            expect(page.locator("#in-opds [data-opd='bkpsdm']")).to_contain_text("belum pernah")
            expect(page.locator("#in-opds [data-opd='bkpsdm']")).to_contain_text(
                "Kehadiran ASN (harian)"
            )

            # The dead letter: time in WIB, source, reason, and the payload as plain text.
            letters = page.locator("#in-letters [data-letter]")
            expect(letters).to_have_count(1)
            number, moment, source, reason, payload = cells(page, "#in-letters [data-letter]")
            assert re.fullmatch(r"#\d+", number)
            assert moment in wib_seconds(sent, received), moment
            assert (source, reason) == ("http", "value: must be a number")
            assert '"value": "tinggi <b>tebal</b> xxx' in payload
            assert "AKHIR" not in payload and "Tampilkan semua" in payload
            expect(page.locator("#in-letters b")).to_have_count(0)  # shown, never rendered

            # The whole payload on demand, kept open while the page refreshes itself.
            updated = page.locator("#in-updated")
            expect(updated).to_contain_text("Diperbarui pukul")
            before = updated.inner_text()
            page.get_by_role("button", name="Tampilkan semua").click()
            full = page.locator("#in-letters .in-payload-full")
            expect(full).to_contain_text("AKHIR")
            expect(full).to_contain_text('"value": "tinggi <b>tebal</b>')
            expect(updated).not_to_have_text(before, timeout=15_000)
            expect(full).to_be_visible()
            page.get_by_role("button", name="Sembunyikan").click()
            expect(full).to_have_count(0)

            # "Muat ulang": seconds after a refresh, so only the button can show this one.
            post_readings(url, key, [{"sensor_id": "aq-cambai", "ts": now, "value": "high"}])
            page.get_by_role("button", name="Muat ulang").click()
            expect(letters).to_have_count(2, timeout=4_000)
            expect(letters.first).to_contain_text('"value": "high"')
            expect(page.locator(http)).to_contain_text("66,7 %", timeout=4_000)

            # Filter by source.
            page.locator("#in-source").click()
            page.get_by_role("option", name="MQTT").click()
            expect(page.locator("#in-letters")).to_contain_text(
                "Belum ada data yang ditolak dari sumber MQTT."
            )
            page.locator("#in-source").click()
            page.get_by_role("option", name="API HTTP (JSON Komando)").click()
            expect(letters).to_have_count(2)

            page.get_by_role("button", name="Tampilkan semua").click()
            expect(full).to_contain_text("AKHIR")
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(artifacts / "intake.png"))
            page.screenshot(path=str(artifacts / "intake-full.png"), full_page=True)
            assert console.errors == []
