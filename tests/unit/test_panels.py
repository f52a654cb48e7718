"""The pure functions behind the wall's callbacks and routes."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from callbacks.camera_tiles import badge
from callbacks.kpi_tiles import kpi_items, scorecard_items, trend_badge
from callbacks.sensor_map import freshness, sensor_items
from data.camera_status import camera_status
from data.models import CameraHealth
from server.placeholder import placeholder_svg

WIB = ZoneInfo("Asia/Jakarta")
NOW = 1_795_000_000.0


def test_sensor_items_carry_only_what_changes(city):
    items = sensor_items(city, {"aq-cambai": (80.0, NOW - 5)}, NOW)
    assert set(items) == {s.id for s in city.config.sensors}
    assert items["aq-cambai"] == ["#f2c500", 2, "Tidak sehat", "80,0 µg/m³", "5 dtk lalu"]
    assert items["pk-pasar-1"][2] == "Tidak ada data"
    english = sensor_items(city, {"aq-cambai": (80.0, NOW - 5)}, NOW, "en")
    assert english["aq-cambai"][2:] == ["Unhealthy", "80,0 µg/m³", "5 s ago"]


def test_freshness_flags_late_data():
    text, css = freshness(NOW - 3, NOW, WIB, "WIB", late_after_s=15)
    assert text.startswith("Data per ") and text.endswith(" WIB")
    assert css == "freshness"
    text, css = freshness(NOW - 300, NOW, WIB, "WIB", late_after_s=15)
    assert "TERLAMBAT 5 mnt lalu" in text
    assert "stale" in css
    assert "stale" in freshness(None, NOW, WIB, "WIB", 15)[1]
    text, _ = freshness(NOW - 300, NOW, WIB, "WIB", 15, "en")
    assert text.startswith("Data as of ") and "LATE 5 min ago" in text


def test_kpi_tiles_say_status_against_target_or_that_the_owner_is_late(city):
    ids = ["harga_beras_medium", "realisasi_anggaran", "pm25_rata_rata"]
    points = {"harga_beras_medium": (13500.0, NOW - 60), "realisasi_anggaran": (85.26, NOW - 60)}
    items = kpi_items(city, ids, points, NOW)
    assert [items[k][0] for k in ids] == ["13.500", "85,3", "–"]
    assert items["harga_beras_medium"][1] == "kpi-tile status-warn"
    assert items["harga_beras_medium"][2] == "Perlu perhatian · target ≤ 13.100"
    assert items["realisasi_anggaran"][1] == "kpi-tile status-good"
    # No value at all: no data, and its owner (DLH) is named as late.
    assert items["pm25_rata_rata"][1] == "kpi-tile status-nodata late"
    assert items["pm25_rata_rata"][2] == "TERLAMBAT · DLH"
    # A real-time KPI whose last value is an hour old is late too; in English on request.
    stale = kpi_items(city, ["pm25_rata_rata"], {"pm25_rata_rata": (20.0, NOW - 3600)}, NOW, "en")
    assert stale["pm25_rata_rata"][1].endswith(" late")
    assert stale["pm25_rata_rata"][2] == "LATE · DLH" and "DLH" in stale["pm25_rata_rata"][3]


def test_the_scorecard_counts_every_kpi_of_each_dimension(city):
    points = {"harga_beras_medium": (13500.0, NOW), "realisasi_anggaran": (85.26, NOW)}
    rows = {row[0]: row for row in scorecard_items(city, points)}
    assert set(rows) == {"governance", "branding", "economy", "living", "society", "environment"}
    governance = [k for k in city.config.kpis if k.dimension == "governance"]
    _, label, score, good, warn, bad, nodata = rows["governance"]
    assert label == "Tata kelola" and good == 1 and warn == bad == 0
    assert nodata == len(governance) - 1 and score == "100%"
    economy = rows["economy"]
    assert economy[4] == 1 and economy[2] == "50%"  # one KPI needing attention counts half


def health(frame_age: float | None, state: str = "live", updated_age: float = 0.5) -> CameraHealth:
    return CameraHealth(
        state=state,
        seq=10,
        frame_ts=0.0 if frame_age is None else NOW - frame_age,
        updated_ts=NOW - updated_age,
        error="" if state == "live" else "read failed",
    )


def test_camera_status_is_judged_by_frame_age():
    assert camera_status(health(0.4), NOW, 3, 10).state == "live"
    assert camera_status(health(5), NOW, 3, 10).state == "stalled"
    assert camera_status(health(60), NOW, 3, 10).state == "offline"
    # The grabber claims "live" but its last frame is old: the age wins.
    assert camera_status(health(30, "live"), NOW, 3, 10).state == "offline"
    # The grabber saw the connection drop: offline at once, not when the frame has aged.
    assert camera_status(health(1, "offline"), NOW, 3, 10).state == "offline"
    assert camera_status(health(None, "connecting"), NOW, 3, 10).state == "connecting"
    assert camera_status(health(None, "connecting", updated_age=60), NOW, 3, 10).state == "offline"
    assert camera_status(None, NOW, 3, 10).state == "offline"


def test_badges_say_since_when_a_camera_is_offline():
    offline = camera_status(health(600, "offline"), NOW, 3, 10)
    text, css, info = badge(offline, WIB)
    assert text.startswith("OFFLINE sejak ")
    assert css == "camera-badge state-offline"
    assert info == "read failed"
    assert badge(camera_status(health(5), NOW, 3, 10), WIB)[0] == "TERSENDAT"


def test_placeholder_escapes_names():
    svg = placeholder_svg("Kamera offline", "sejak 08.00", "<script>alert(1)</script>").decode()
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert svg.startswith("<svg")


def test_a_camera_outside_its_hours_is_disabled_not_offline():
    report = CameraHealth(
        state="disabled",
        seq=5,
        frame_ts=NOW - 3600,
        updated_ts=NOW - 2,
        error="di luar jam aktif (06.00–18.00 WIB)",
    )
    status = camera_status(report, NOW, 3, 10)
    assert status.state == "disabled"
    assert badge(status, WIB) == (
        "DI LUAR JAM",
        "camera-badge state-disabled",
        "di luar jam aktif (06.00–18.00 WIB)",
    )
    gone = report.model_copy(update={"updated_ts": NOW - 120})  # the grabber stopped reporting
    assert camera_status(gone, NOW, 3, 10).state == "offline"


def test_badges_change_only_with_the_state_not_every_second():
    # The frame age is kept by the stream in the browser: a badge that carried it would change
    # at every refresh, and the wall's feed could never answer "nothing changed".
    assert badge(camera_status(health(1.6), NOW, 3, 10), WIB) == badge(
        camera_status(health(0.2), NOW, 3, 10), WIB
    )
    text, css, info = badge(camera_status(health(1.6), NOW, 3, 10), WIB)
    assert (text, css, info) == ("LANGSUNG", "camera-badge state-live", "")
    text, css, info = badge(camera_status(health(5, "stalled"), NOW, 3, 10), WIB)
    assert (text, css, info) == ("TERSENDAT", "camera-badge state-stalled", "read failed")


def test_a_trend_is_judged_by_the_kpis_direction(city):
    kpis = {k.id: k for k in city.config.kpis}
    # Lower PM2.5 is better; higher budget realisation is better.
    assert trend_badge(kpis["pm25_rata_rata"], 20.0, 31.0) == (
        "▼ 11,0 vs kemarin",
        "kpi-trend better",
    )
    assert trend_badge(kpis["realisasi_anggaran"], 70.0, 75.5, "en") == (
        "▼ 5,5 vs last month",
        "kpi-trend worse",
    )
    assert trend_badge(kpis["pm25_rata_rata"], 20.0, None) == ("", "kpi-trend")
    assert trend_badge(kpis["pm25_rata_rata"], 20.0, 20.01)[1] == "kpi-trend flat"


def test_a_change_too_small_to_show_is_flat(city):
    kpis = {k.id: k for k in city.config.kpis}
    # Parking has no decimals: 10.2 against 10.0 would read "▲ 0".
    assert trend_badge(kpis["okupansi_parkir"], 10.2, 10.0) == ("▬ 0 vs kemarin", "kpi-trend flat")
