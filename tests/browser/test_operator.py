"""OPR001: the OPD operator page (/operator) in headless Chromium against the real app: a form
entry saved and audited, a range error that saves nothing, a CSV file saved all or nothing."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import open_page, running_komando

pytestmark = pytest.mark.browser

WIB = ZoneInfo("Asia/Jakarta")  # Prabumulih's time zone: periods are its days
ACTOR = "siti.aminah"  # the OPD operator's account: the audit trail names it


def audit_rows(data_dir: Path) -> list[sqlite3.Row]:
    """The operator entries' audit rows (the trail also holds the alert engine's actions)."""
    with sqlite3.connect(f"file:{data_dir / 'komando.sqlite3'}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        return db.execute(
            "SELECT actor, action, subject, detail FROM audit_log "
            "WHERE action LIKE 'kpi.%' ORDER BY id"
        ).fetchall()


def kpi_values(data_dir: Path, kpi_id: str) -> dict[str, tuple[float, str]]:
    with sqlite3.connect(f"file:{data_dir / 'komando.sqlite3'}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT period, value, entered_by FROM kpi_values WHERE kpi_id = ? AND source = ?",
            (kpi_id, "operator"),
        ).fetchall()
    return {period: (value, actor) for period, value, actor in rows}


def upload(page: Page, name: str, text: str) -> None:
    page.locator("#op-upload input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}]
    )


def test_opr001_form_and_csv_entries_are_validated_saved_and_audited(browser, tmp_path, artifacts):
    today = datetime.now(WIB).date()
    yesterday, before = today - timedelta(days=1), today - timedelta(days=2)
    with (
        running_komando(tmp_path) as url,
        open_page(browser, url + "operator", "opd", username=ACTOR, opds=["bkpsdm", "dlh"]) as (
            page,
            console,
        ),
    ):
        page.set_viewport_size({"width": 1366, "height": 900})
        expect(page.get_by_role("heading", name="Input Data OPD")).to_be_visible()

        # Pick the OPD: its KPI row appears with today's period already filled in.
        page.locator("#op-opd").click()
        # An OPD operator is offered their own OPDs only (and the server checks it again).
        expect(page.get_by_role("option")).to_have_count(2)
        page.get_by_role("option", name=re.compile(r"^BKPSDM — ")).click()
        row = page.locator("[data-kpi='kehadiran_asn']")
        expect(row).to_contain_text("Kehadiran ASN")
        expect(row).to_contain_text("harian")
        period = page.get_by_label("Periode Kehadiran ASN")
        expect(period).to_have_value(today.isoformat())
        value = page.get_by_label("Nilai Kehadiran ASN (%)")

        # A good value, typed the Indonesian way, is saved, listed and audited.
        value.fill("96,5")
        page.get_by_role("button", name="Simpan").click()
        result = page.locator("#op-result")
        expect(result).to_contain_text("Tersimpan")
        expect(result).to_contain_text("96,5 %")
        history = page.locator("#op-history")
        expect(history.locator("tbody tr")).to_have_count(1)
        # (The demo city's back-filled history already holds a figure for today: replaced.)
        expect(history).to_contain_text(f"Kehadiran ASN{today.isoformat()}96,5 %")
        expect(history).to_contain_text(ACTOR)
        assert kpi_values(tmp_path, "kehadiran_asn") == {today.isoformat(): (96.5, ACTOR)}
        audit = audit_rows(tmp_path)
        assert [(a["actor"], a["action"], a["subject"]) for a in audit] == [
            (ACTOR, "kpi.entry", f"kehadiran_asn/{today.isoformat()}")
        ]
        detail = json.loads(audit[0]["detail"])
        assert detail["opd"] == "bkpsdm" and detail["value"] == 96.5
        assert detail["channel"] == "form"

        # Out of range: the Bahasa message is shown and nothing is written.
        value.fill("150")
        page.get_by_role("button", name="Simpan").click()
        expect(result).to_contain_text("Nilai: 150 di luar rentang wajar (0–100 %)")
        expect(result).to_contain_text("Tidak ada yang disimpan")
        assert kpi_values(tmp_path, "kehadiran_asn") == {today.isoformat(): (96.5, ACTOR)}
        assert len(audit_rows(tmp_path)) == 1

        # A CSV file with one bad row among good ones: every error listed, nothing saved.
        bad_file = (
            "indikator;periode;nilai\n"
            f"kehadiran_asn;{yesterday.isoformat()};97,5\n"
            f"kehadiran_asn;{before.isoformat()};150\n"
            "kehadiran_asn;kemarin;90\n"
        )
        upload(page, "kehadiran.csv", bad_file)
        upload_result = page.locator("#op-upload-result")
        expect(upload_result).to_contain_text("Tidak ada yang disimpan: 2 baris salah")
        expect(upload_result).to_contain_text("Baris 3")
        expect(upload_result).to_contain_text("Nilai: 150 di luar rentang wajar (0–100 %)")
        expect(upload_result).to_contain_text("Baris 4")
        expect(upload_result).to_contain_text("Periode: format periode harus YYYY-MM-DD")
        expect(upload_result).to_contain_text("1 baris lain sudah benar")
        assert len(audit_rows(tmp_path)) == 1
        page.screenshot(path=str(artifacts / "operator.png"))

        # The corrected file is saved whole, through the CSV channel, and joins the history.
        good_file = (
            "indikator;periode;nilai\n"
            f"kehadiran_asn;{yesterday.isoformat()};97,5\n"
            f"kehadiran_asn;{before.isoformat()};93\n"
        )
        upload(page, "kehadiran-perbaikan.csv", good_file)
        expect(upload_result).to_contain_text("2 nilai tersimpan")
        expect(history.locator("tbody tr")).to_have_count(3)
        assert kpi_values(tmp_path, "kehadiran_asn") == {
            today.isoformat(): (96.5, ACTOR),
            yesterday.isoformat(): (97.5, ACTOR),
            before.isoformat(): (93.0, ACTOR),
        }
        channels = [json.loads(a["detail"])["channel"] for a in audit_rows(tmp_path)]
        assert channels == ["form", "csv", "csv"]

        page.screenshot(path=str(artifacts / "operator-full.png"), full_page=True)
        assert console.errors == []


def test_cctv_operator_and_intake_pages_in_english_on_request(browser, tmp_path):
    """`?lang=en` switches the CCTV wall, the operator page and Data Masuk; numbers stay id-ID,
    and the choice is remembered for the next page opened without `?lang`."""
    with (
        running_komando(tmp_path) as url,
        open_page(browser, url + "cctv?lang=en") as (page, console),
    ):
        expect(page.locator(".cctv-wall")).to_have_attribute("lang", "en")
        expect(page.get_by_text("16 screens")).to_be_visible()
        expect(page.locator(".cctv-group")).to_contain_text("All cameras")
        expect(page.locator(".cctv-grid .camera-kind").first).to_have_text(
            re.compile(r"^(Street|School)$"), timeout=10_000
        )
        expect(page.locator(".cctv-grid .camera-badge").first).to_contain_text(
            "LIVE", timeout=20_000
        )
        expect(page.get_by_text("4 layar")).to_have_count(0)

        page.goto(url + "operator?lang=en")
        expect(page.get_by_role("heading", name="OPD Data Entry")).to_be_visible()
        expect(page.locator("#op-form")).to_contain_text("Choose an OPD first.")
        page.locator("#op-opd").click()
        page.get_by_role("option", name=re.compile(r"^BKPSDM — ")).click()
        row = page.locator("[data-kpi='kehadiran_asn']")
        expect(row).to_contain_text("Civil servant attendance")
        expect(row).to_contain_text("daily")
        page.get_by_label("Value Civil servant attendance (%)").fill("150")
        page.get_by_role("button", name="Save").click()
        result = page.locator("#op-result")
        expect(result).to_contain_text("150 di luar rentang wajar")  # checks stay in Bahasa
        expect(result).to_contain_text("Nothing saved")
        assert audit_rows(tmp_path) == []

        page.goto(url + "admin/data")  # no ?lang: the saved choice
        expect(page.get_by_role("heading", name="Incoming Data")).to_be_visible()
        expect(page.locator("#in-updated")).to_contain_text("Updated at", timeout=15_000)
        expect(page.locator("#in-counters")).to_contain_text("Share refused")
        assert console.errors == []
