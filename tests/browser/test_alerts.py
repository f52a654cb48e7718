"""ALERT001: a real alert, raised by the evaluator from a reading pushed through the HTTP API,
appears on /alerts with the pulse and the chime, is acknowledged by a click, and the console
stays clean."""

from __future__ import annotations

import shutil
import time

import httpx
import pytest
import yaml
from playwright.sync_api import expect
from sqlalchemy import select

from data.alert_store import alerts_table, audit_table
from data.api_keys import create_key
from data.db.engine import make_engine
from settings import PROJECT_ROOT
from tests.browser.conftest import open_page, running_komando

pytestmark = pytest.mark.browser

SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"

# The demo city, with the PM2.5 rule ringing without the default 30 s hold (a city's rule of
# the same id replaces the default one) so that the test need not wait.
FAST_PM25 = """
alerts:
  - id: pm25
    kind: air_quality
    hold_s: 0
    levels:
      - {category: "Tidak sehat", severity: warning}
      - {category: "Sangat tidak sehat", severity: critical}
"""


def test_alert001_alert_appears_chimes_and_is_acknowledged(browser, tmp_path):
    cities = tmp_path / "cities"
    shutil.copytree(PROJECT_ROOT / "data" / "cities" / "prabumulih", cities / "prabumulih")
    city_yaml = cities / "prabumulih" / "city.yaml"
    config = yaml.safe_load(city_yaml.read_text(encoding="utf-8"))
    config["alerts"] = [*(config.get("alerts") or []), *yaml.safe_load(FAST_PM25)["alerts"]]
    city_yaml.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with running_komando(data_dir, KOMANDO_CITIES_DIR=str(cities)) as url:
        engine = make_engine(f"sqlite:///{data_dir / 'komando.sqlite3'}")
        key = create_key(engine, "uji alert", "all", [])
        with open_page(browser, url + "alerts", "operator", username="budi") as (page, console):
            expect(page.locator("#alert-list")).to_be_visible()
            # A user gesture unlocks audio: switch the chime on before the alert comes.
            page.locator("#alert-sound").click()
            expect(page.locator("#alert-sound")).to_have_text("♪ suara aktif")

            # 200 µg/m³, stamped 4 minutes ahead (the API allows 5) so the simulator's
            # readings of the same sensor do not replace it while we watch.
            ahead = time.time() + 240
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ahead))
            answer = httpx.post(
                url + "api/v1/readings",
                headers={"Authorization": f"Bearer {key}"},
                json=[{"sensor_id": "aq-cambai", "ts": stamp, "value": 200}],
                timeout=10,
            )
            assert answer.json()["accepted"] == 1, answer.text

            row = page.locator(".alert-row[data-severity='critical']", has_text="Udara Cambai")
            expect(row).to_have_count(1, timeout=20_000)
            expect(row).to_have_attribute("data-status", "open")
            expect(row).to_have_class(
                "alert-row sev-critical st-open is-new-critical", timeout=5_000
            )
            expect(row.locator(".alert-message")).to_have_text(
                "PM2.5 200,0 µg/m³ di Udara Cambai: Sangat tidak sehat"
            )
            expect(row.locator(".alert-where")).to_have_text("Udara Cambai · Kec. Cambai")
            page.wait_for_function("() => document.body.dataset.alertChimePlayed", timeout=5_000)
            expect(page.locator("#alert-ticker")).to_contain_text("1 KRITIS")

            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "alerts.png"))

            row.get_by_role("button", name="Akui").click()
            expect(page.locator("#alert-feedback")).to_have_text("Diakui · budi")
            acknowledged = page.locator(
                ".alert-row[data-status='acknowledged']", has_text="Udara Cambai"
            )
            expect(acknowledged).to_have_count(1, timeout=10_000)
            expect(acknowledged).not_to_have_class("is-new-critical")
            expect(acknowledged.locator(".alert-people")).to_have_text("diakui budi")
            expect(acknowledged.get_by_role("button", name="Akui")).to_have_count(0)
            page.screenshot(path=str(SCREENSHOTS / "alerts-acknowledged.png"))

            with engine.connect() as conn:
                alert = conn.execute(
                    select(alerts_table).where(alerts_table.c.subject == "aq-cambai")
                ).one()
                audit = conn.execute(
                    select(audit_table.c.actor, audit_table.c.action).where(
                        audit_table.c.subject == f"alert/{alert.uid}"
                    )
                ).all()
            assert (alert.status, alert.acknowledged_by) == ("acknowledged", "budi")
            assert ("budi", "alert.acknowledge") in [tuple(a) for a in audit]
            assert console.errors == []
        # The same alert on the wall: on the map where it happened, and in the ticker.
        with open_page(browser, url) as (wall, wall_console):
            expect(wall.locator(".alert-pin.sev-critical")).to_have_count(1, timeout=20_000)
            expect(wall.locator("#alert-ticker")).to_contain_text("1 KRITIS")
            expect(wall.locator(".alert-row[data-severity='critical']")).to_have_count(1)
            assert wall_console.errors == []
        engine.dispose()


def test_an_incident_reported_on_alerts_shows_in_the_list_and_on_the_wall_map(browser, tmp_path):
    """Laporkan kejadian: a refused report says why in Bahasa; a good one appears in the list
    (its description as text, not markup), in SQL with its audit row, and on the wall's map as
    an incident marker; both consoles stay clean."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    description = "Air setinggi 50 cm di Jl. Cambai <b>tebal</b>"
    with running_komando(data_dir) as url:
        with open_page(browser, url + "alerts", "operator", username="sari") as (page, console):
            expect(page.locator("#incident-submit")).to_be_visible()

            page.locator("#incident-submit").click()  # nothing chosen yet
            expect(page.locator("#incident-feedback")).to_have_text("Pilih jenis kejadian")
            expect(page.locator("#incident-feedback")).to_have_class("incident-feedback is-error")

            page.locator("#incident-category").click()
            page.get_by_role("option", name="Banjir").click()
            page.locator("#incident-severity").click()
            page.get_by_role("option", name="Kritis").click()
            page.locator("#incident-region").click()
            page.keyboard.type("Cambai")
            page.get_by_role("option", name="Kec. Cambai", exact=True).click()
            page.locator("#incident-description").fill("ab")
            page.locator("#incident-submit").click()
            expect(page.locator("#incident-feedback")).to_have_text(
                "Uraian kejadian minimal 3 karakter"
            )

            page.locator("#incident-description").fill(description)
            page.locator("#incident-submit").click()
            expect(page.locator("#incident-feedback")).to_have_text("Kejadian dilaporkan · sari")
            expect(page.locator("#incident-description")).to_have_value("")
            row = page.locator(".alert-row.is-incident[data-kind='incident']")
            expect(row).to_have_count(1, timeout=10_000)
            expect(row).to_have_attribute("data-severity", "critical")
            expect(row.locator(".alert-message")).to_have_text(
                f"Banjir di Kec. Cambai: {description}"
            )
            expect(row.locator(".alert-message b")).to_have_count(0)  # text, never markup
            expect(row.locator(".alert-kind")).to_have_text("KEJADIAN")
            expect(row.locator(".alert-where")).to_have_text("Banjir · Kec. Cambai")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "alerts-incident.png"))

            row.get_by_role("button", name="Akui").click()
            expect(page.locator("#alert-feedback")).to_have_text("Diakui · sari")
            expect(
                page.locator(".alert-row.is-incident[data-status='acknowledged']")
            ).to_have_count(1, timeout=10_000)
            assert console.errors == []

        engine = make_engine(f"sqlite:///{data_dir / 'komando.sqlite3'}")
        with engine.connect() as conn:
            incident = conn.execute(
                select(alerts_table).where(alerts_table.c.kind == "incident")
            ).one()
            audit = conn.execute(
                select(audit_table.c.actor, audit_table.c.action)
                .where(audit_table.c.subject == f"alert/{incident.uid}")
                .order_by(audit_table.c.id)
            ).all()
        engine.dispose()
        assert (incident.subject, incident.region_kode, incident.status) == (
            "banjir",
            "16.74.03",
            "acknowledged",
        )
        assert [tuple(a) for a in audit] == [
            ("sari", "incident.report"),
            ("sari", "alert.acknowledge"),
        ]

        with open_page(browser, url) as (wall, wall_console):
            pin = wall.locator(".incident-pin.sev-critical.cat-banjir")
            expect(pin).to_have_count(1, timeout=20_000)
            expect(pin).to_have_text("B")
            expect(wall.locator("#incident-submit")).to_have_count(0)  # not on the wall
            expect(wall.locator(".alert-row.is-incident")).to_have_count(1)
            wall.screenshot(path=str(SCREENSHOTS / "wall-incident.png"))
            assert wall_console.errors == []
