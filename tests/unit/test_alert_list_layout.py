"""The alert panel's pure functions: rows, ticker, the critical set the chime listens to."""

from __future__ import annotations

from layouts.alert_list import action_id, age_text, alert_rows, critical_open, ticker_content

NOW = 1_795_000_000.0


def alert(uid, severity="warning", status="open", cleared=False, **extra):
    return {
        "id": uid,
        "rule": "pm25",
        "subject": "aq-cambai",
        "subject_name": "Udara Cambai",
        "region_kode": "16.74.03.1001",
        "severity": severity,
        "status": status,
        "message": f"pesan {uid}",
        "message_en": f"message {uid}",
        "opened_ms": int((NOW - 180) * 1000),
        "cleared_ms": int(NOW * 1000) if cleared else None,
        **extra,
    }


def test_rows_show_actions_by_status_and_pulse_only_new_critical(city):
    rows = alert_rows(
        [
            alert("a", "critical"),
            alert("b", "critical", "acknowledged", acknowledged_by="Budi"),
            alert("c", "critical", cleared=True),
            alert("d", "info", "resolved"),
        ],
        city,
        "id",
        NOW,
    )
    classes = [r.className for r in rows]
    assert "is-new-critical" in classes[0]
    assert all("is-new-critical" not in c for c in classes[1:])
    assert "is-cleared" in classes[2]
    text = str(rows[0])
    assert "KRITIS" in text and "BARU" in text and "3 mnt lalu" in text and "Kec. Cambai" in text
    assert str(action_id("ack", "a")).replace("'", "") in str(rows[0]).replace("'", "")
    assert "Akui" in str(rows[0]) and "Akui" not in str(rows[1])  # acknowledged: no Akui
    assert "KEMBALI NORMAL" in str(rows[2])
    assert "Selesai" not in str(rows[3].children[2])  # resolved: no buttons at all
    assert "diakui Budi" in str(rows[1])


def test_english_rows_and_empty_list(city):
    (row,) = alert_rows([alert("a", "critical")], city, "en", NOW)
    assert "message a" in str(row) and "CRITICAL" in str(row) and "3 min ago" in str(row)
    (empty,) = alert_rows([], city, "id", NOW)
    assert empty.children == "Tidak ada peringatan aktif"


def test_ticker_counts_active_alerts_and_names_the_worst():
    alerts = [
        alert("a", "critical"),
        alert("b"),
        alert("c", cleared=True),
        alert("d", status="resolved"),
    ]
    parts = ticker_content(alerts, "id")
    assert [p.children for p in parts] == ["1 KRITIS", "1 WASPADA", "pesan a"]
    assert [p.children for p in ticker_content([], "en")] == ["No active alerts"]


def test_chime_listens_to_open_critical_alerts_only():
    alerts = [
        alert("a", "critical"),
        alert("b", "critical", "acknowledged"),
        alert("c", "critical", cleared=True),
        alert("d", "warning"),
    ]
    assert critical_open(alerts) == ["a"]


def test_age_text():
    assert age_text(5, "id") == "5 dtk lalu"
    assert age_text(7200, "en") == "2 h ago"
