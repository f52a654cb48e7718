"""Alert rules and their state machine with a fake clock: hold, escalation, clearing,
recurrence, auto-resolve and suppression after a person's resolve; rule configuration."""

from __future__ import annotations

import pytest

from data.alerts import AlertEngine, LiveSnapshot, Timing, evaluate_rules
from data.city import AlertRule, CityConfig, CityConfigError, default_alert_rules, load_city
from data.models import CameraHealth

T0 = 1_795_000_000.0


def rules_of(city, *ids):
    return [r for r in city.config.alert_rules if r.id in ids]


def run(engine, city, rules, snapshot, now, started=T0):
    conditions, normal = evaluate_rules(city, rules, snapshot, now, started)
    return engine.step(conditions, normal, now)


def pm25(value, ts=T0):
    return LiveSnapshot(sensors={"aq-cambai": (value, ts)})


def test_pm25_opens_only_after_holding_then_escalates_without_duplicates(city):
    rules = rules_of(city, "pm25")  # hold 30 s: warning from "Tidak sehat", critical above
    engine = AlertEngine(rules)
    assert run(engine, city, rules, pm25(80), T0) == []
    assert run(engine, city, rules, pm25(30), T0 + 20) == []  # a spike that did not hold
    assert run(engine, city, rules, pm25(80), T0 + 25) == []
    assert run(engine, city, rules, pm25(85), T0 + 50) == []  # 25 s held: not yet
    (opened,) = run(engine, city, rules, pm25(90), T0 + 56)
    assert (opened.action, opened.alert.condition.severity) == ("open", "warning")
    assert opened.alert.condition.subject == "aq-cambai"
    assert opened.alert.condition.message == "PM2.5 90,0 µg/m³ di Udara Cambai: Tidak sehat"
    # Worse, but the worse level must hold too; meanwhile still one alert, no new one.
    assert run(engine, city, rules, pm25(200), T0 + 60) == []
    (escalated,) = run(engine, city, rules, pm25(210), T0 + 91)
    assert escalated.action == "escalate"
    assert escalated.alert.uid == opened.alert.uid
    assert escalated.alert.condition.severity == "critical"
    assert escalated.alert.condition.label == "Sangat tidak sehat"
    # Milder again: severity stays at the worst reached.
    assert run(engine, city, rules, pm25(90), T0 + 200) == []
    assert engine.active[("pm25", "aq-cambai")].condition.severity == "critical"
    assert len(engine.active) == 1


def test_clearing_keeps_the_alert_then_recurs_then_auto_resolves(city):
    rules = rules_of(city, "pm25")  # clear after 120 s normal, auto-resolve 15 min after
    engine = AlertEngine(rules)
    run(engine, city, rules, pm25(100), T0)
    (opened,) = run(engine, city, rules, pm25(100), T0 + 30)
    assert run(engine, city, rules, pm25(20), T0 + 40) == []
    assert run(engine, city, rules, pm25(20), T0 + 150) == []  # 110 s normal: not yet
    (cleared,) = run(engine, city, rules, pm25(20), T0 + 161)
    assert cleared.action == "clear" and cleared.alert.cleared == T0 + 161
    # It comes back before anyone resolved it: the same alert, un-cleared.
    (recur,) = run(engine, city, rules, pm25(100), T0 + 170)
    assert recur.action == "recur" and recur.alert.uid == opened.alert.uid
    assert recur.alert.cleared is None
    run(engine, city, rules, pm25(20), T0 + 180)
    (cleared,) = run(engine, city, rules, pm25(20), T0 + 300)
    assert cleared.action == "clear"
    assert run(engine, city, rules, pm25(20), T0 + 300 + 899) == []
    (resolved,) = run(engine, city, rules, pm25(20), T0 + 300 + 900)
    assert resolved.action == "auto_resolve" and resolved.alert.uid == opened.alert.uid
    assert engine.active == {}


def test_an_acknowledged_alert_is_never_auto_resolved(city):
    rules = rules_of(city, "pm25")
    engine = AlertEngine(rules)
    run(engine, city, rules, pm25(100), T0)
    (opened,) = run(engine, city, rules, pm25(100), T0 + 30)
    engine.sync_statuses({opened.alert.uid: "acknowledged"})
    run(engine, city, rules, pm25(20), T0 + 40)
    run(engine, city, rules, pm25(20), T0 + 200)
    assert run(engine, city, rules, pm25(20), T0 + 5000) == []
    assert engine.active[("pm25", "aq-cambai")].status == "acknowledged"


def test_resolved_by_a_person_while_holding_is_not_reopened_until_worse_or_cleared(city):
    rules = rules_of(city, "pm25")
    engine = AlertEngine(rules)
    run(engine, city, rules, pm25(100), T0)
    (opened,) = run(engine, city, rules, pm25(100), T0 + 30)
    engine.sync_statuses({opened.alert.uid: "resolved"})
    assert run(engine, city, rules, pm25(100), T0 + 100) == []  # same level: stays quiet
    assert run(engine, city, rules, pm25(200), T0 + 200) == []  # worse, but not held yet
    (worse,) = run(engine, city, rules, pm25(200), T0 + 230)
    assert worse.action == "open" and worse.alert.condition.severity == "critical"
    assert worse.alert.uid != opened.alert.uid


def test_missing_data_neither_opens_nor_clears(city):
    rules = rules_of(city, "pm25")
    engine = AlertEngine(rules)
    run(engine, city, rules, pm25(100), T0)
    run(engine, city, rules, pm25(100), T0 + 30)
    assert run(engine, city, rules, LiveSnapshot(), T0 + 1000) == []
    assert engine.active[("pm25", "aq-cambai")].cleared is None


def test_water_levels_map_to_siaga_severities(city):
    rules = rules_of(city, "tinggi-muka-air")  # Siaga 3/2/1 = 250/300/350 cm in Prabumulih
    engine = AlertEngine(rules)

    def level(cm):
        return LiveSnapshot(sensors={"wl-kelekar-sukaraja": (cm, T0)})

    run(engine, city, rules, level(240), T0)
    assert run(engine, city, rules, level(260), T0 + 10) == []
    (opened,) = run(engine, city, rules, level(305), T0 + 40)  # Siaga 3 held 30 s
    assert (opened.alert.condition.severity, opened.alert.condition.label) == (
        "warning",
        "Siaga 3",
    )
    (to_siaga2,) = run(engine, city, rules, level(310), T0 + 70)
    assert (to_siaga2.action, to_siaga2.alert.condition.label) == ("escalate", "Siaga 2")
    run(engine, city, rules, level(360), T0 + 80)
    (to_siaga1,) = run(engine, city, rules, level(360), T0 + 110)
    assert (to_siaga1.alert.condition.severity, to_siaga1.alert.condition.label) == (
        "critical",
        "Siaga 1",
    )


def camera_snapshot(health):
    return LiveSnapshot(cameras={"simpang-sudirman": health, "sdn1-gerbang": None})


def test_camera_offline_for_a_minute(city):
    rules = rules_of(city, "kamera-offline")
    engine = AlertEngine(rules)
    live = CameraHealth(state="live", seq=5, frame_ts=T0 - 1, updated_ts=T0 - 1)
    changes = run(engine, city, rules, camera_snapshot(live), T0, started=T0)
    assert changes == []  # sdn1-gerbang never reported: offline only since we started
    stale = CameraHealth(state="live", seq=5, frame_ts=T0, updated_ts=T0)
    assert run(engine, city, rules, camera_snapshot(stale), T0 + 30) == []  # offline 30 s
    changes = run(engine, city, rules, camera_snapshot(stale), T0 + 61)
    assert {(c.action, c.alert.condition.subject) for c in changes} == {
        ("open", "simpang-sudirman"),
        ("open", "sdn1-gerbang"),
    }
    back = CameraHealth(state="live", seq=9, frame_ts=T0 + 90, updated_ts=T0 + 90)
    run(engine, city, rules, camera_snapshot(back), T0 + 90)
    (cleared,) = [
        c
        for c in run(engine, city, rules, camera_snapshot(back), T0 + 120)
        if c.alert.condition.subject == "simpang-sudirman"
    ]
    assert cleared.action == "clear"


def test_opd_late_by_cadence(city):
    rules = rules_of(city, "opd-terlambat")
    engine = AlertEngine(rules)
    day = 86_400.0
    fresh = {k.owner: T0 for k in city.config.kpis if k.source.type == "operator"}
    assert {"bkpsdm", "disdik", "disdag", "disbudpar"} <= set(fresh)
    assert run(engine, city, rules, LiveSnapshot(opds=fresh), T0 + 3600) == []
    late = {**fresh, "bkpsdm": T0 - 1.5 * day, "disdik": T0 - 2.5 * day}  # daily cadence
    changes = {
        c.alert.condition.subject: c for c in run(engine, city, rules, LiveSnapshot(opds=late), T0)
    }
    assert set(changes) == {"bkpsdm", "disdik"}
    assert changes["bkpsdm"].alert.condition.severity == "info"
    assert changes["disdik"].alert.condition.severity == "warning"
    assert "terlambat" in changes["bkpsdm"].alert.condition.message
    # disdag enters weekly: 3 days is not late. Never entered at all: late (info).
    never = {k: v for k, v in fresh.items() if k != "disbudpar"}
    changes = run(engine, city, rules, LiveSnapshot(opds=never | {"disdag": T0 - 3 * day}), T0)
    assert sorted((c.action, c.alert.condition.subject) for c in changes) == [
        ("clear", "bkpsdm"),  # they entered again: back to normal at once (clear_s 0)
        ("clear", "disdik"),
        ("open", "disbudpar"),
    ]


def test_restart_adopts_open_alerts_instead_of_duplicating(city):
    rules = rules_of(city, "pm25")
    first = AlertEngine(rules)
    run(first, city, rules, pm25(100), T0)
    (opened,) = run(first, city, rules, pm25(100), T0 + 30)
    again = AlertEngine(rules)
    again.load([opened.alert.fields() | {"status": "open"}])
    assert run(again, city, rules, pm25(100), T0 + 40) == []
    assert run(again, city, rules, pm25(100), T0 + 80) == []
    assert again.active[("pm25", "aq-cambai")].uid == opened.alert.uid


def test_every_shipped_city_gets_the_default_rules():
    from settings import PROJECT_ROOT

    for folder in sorted((PROJECT_ROOT / "data" / "cities").iterdir()):
        ids = {r.id for r in load_city(folder).config.alert_rules}
        assert {"pm25", "tinggi-muka-air", "kamera-offline", "opd-terlambat"} <= ids, folder


def minimal_city(alerts):
    return {
        "kode": "16.74",
        "name": "Kota Uji",
        "center": [-3.4, 104.2],
        "boundaries": {"kecamatan": "k.geojson"},
        "opds": [{"id": "dlh", "name": "DLH", "short_name": "DLH"}],
        "alerts": alerts,
    }


def test_a_city_rule_replaces_or_disables_a_default_by_id():
    config = CityConfig.model_validate(
        minimal_city(
            [
                {"id": "kpi-di-luar-batas", "kind": "kpi", "enabled": False},
                {
                    "id": "pm25",
                    "kind": "air_quality",
                    "levels": [{"category": "Sangat tidak sehat", "severity": "critical"}],
                },
            ]
        )
    )
    rules = {r.id: r for r in config.alert_rules}
    assert "kpi-di-luar-batas" not in rules
    assert [lv.category for lv in rules["pm25"].levels] == ["Sangat tidak sehat"]
    assert len(rules) == len(default_alert_rules()) - 1


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {
                "id": "x",
                "kind": "air_quality",
                "levels": [{"category": "Siaga 1", "severity": "info"}],
            },
            "levels[0].category: 'Siaga 1' is not one of",
        ),
        (
            {
                "id": "x",
                "kind": "camera_offline",
                "levels": [{"category": "OFFLINE", "severity": "info"}],
            },
            "gives `after_s` (and only it)",
        ),
        (
            {
                "id": "x",
                "kind": "water_level",
                "levels": [
                    {"category": "Siaga 1", "severity": "critical"},
                    {"category": "Siaga 3", "severity": "warning"},
                ],
            },
            "from the mildest threshold to the worst",
        ),
        (
            {
                "id": "x",
                "kind": "opd_late",
                "subjects": ["dinas-hantu"],
                "levels": [{"after_periods": 1, "severity": "info"}],
            },
            "unknown opd_late subject(s) dinas-hantu",
        ),
        ({"id": "x", "kind": "kpi"}, "an enabled rule needs `levels`"),
    ],
)
def test_bad_rules_are_refused_naming_the_item_and_field(tmp_path, rule, message):
    import yaml

    folder = tmp_path / "kota-uji"
    folder.mkdir()
    (folder / "city.yaml").write_text(yaml.safe_dump(minimal_city([rule])), encoding="utf-8")
    with pytest.raises(CityConfigError) as caught:
        load_city(folder)
    text = str(caught.value)
    assert "city.yaml" in text and message in text
    if "subject" not in message:
        assert "alerts[0] (id x)" in text


def test_rule_model_bounds():
    with pytest.raises(ValueError, match="hold_s"):
        AlertRule.model_validate(
            {
                "id": "x",
                "kind": "kpi",
                "hold_s": -1,
                "levels": [{"category": "Di luar batas", "severity": "info"}],
            }
        )


def test_timing_is_passed_to_camera_status(city):
    rules = rules_of(city, "kamera-offline")
    health = CameraHealth(state="live", seq=5, frame_ts=T0, updated_ts=T0)
    _conditions, normal = evaluate_rules(
        city, rules, camera_snapshot(health), T0 + 100, T0, Timing(3.0, 200.0)
    )
    assert ("kamera-offline", "simpang-sudirman") in normal  # only stalled with a 200 s limit
