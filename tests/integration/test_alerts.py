"""Alerts against real Redis and real SQL (SQLite and PostgreSQL): a reading through the real
pipeline opens an alert in SQL and the live list; actions change both and are audited; a stale
camera goes offline; Redis and the database going away lose nothing."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from data.alert_store import (
    AlertActionError,
    AlertDesk,
    AlertFeed,
    AlertLive,
    alerts_table,
    audit_table,
)
from data.alerts import AlertWorker
from data.db.engine import make_engine
from data.live_reader import LiveReader
from data.live_store import LiveStore, connect
from data.models import CameraHealth, Reading
from data.pipeline import IngestPipeline
from data.redis_server import EmbeddedRedis
from runner import prepare_database

T0 = 1_795_000_000.0


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def feed(redis_url, known=""):
    async def read():
        reader = LiveReader(redis_url, "komando:test")
        try:
            return await AlertFeed(reader).active(known)
        finally:
            await reader.close()

    # A fresh thread has no event loop of its own (Playwright's may be running in this one).
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, read()).result()


def publish_pm25(city, store, engine, value, ts):
    IngestPipeline(city, store, None, engine).accept(
        "http", [Reading(sensor_id="aq-cambai", ts=ts, value=value)], durable=True
    )


def sql_alerts(engine):
    with engine.connect() as conn:
        return conn.execute(select(alerts_table)).all()


def audit_actions(engine):
    with engine.connect() as conn:
        return [
            (r.actor, r.action)
            for r in conn.execute(select(audit_table).order_by(audit_table.c.id)).all()
            if r.action.startswith("alert.")
        ]


def test_pm25_200_opens_a_critical_alert_that_can_be_acknowledged(
    city, live_store, engine, redis_url
):
    clock = FakeClock(T0)
    worker = AlertWorker(city, live_store, engine, clock=clock)
    worker.tick()
    version, alerts = feed(redis_url)
    assert alerts is not None and not [a for a in alerts if a["subject"] == "aq-cambai"]

    publish_pm25(city, live_store, engine, 200.0, T0)
    worker.tick()
    clock.now += 31  # the default PM2.5 rule waits 30 s before it rings
    changes = worker.tick()
    assert [
        (c.action, c.alert.condition.severity)
        for c in changes
        if c.alert.condition.subject == "aq-cambai"
    ] == [("open", "critical")]
    (row,) = [r for r in sql_alerts(engine) if r.subject == "aq-cambai"]
    assert (row.city, row.rule, row.status, row.severity) == (
        "prabumulih",
        "pm25",
        "open",
        "critical",
    )
    assert row.level_label == "Sangat tidak sehat" and row.region_kode == "16.74.03.1001"
    assert row.message == "PM2.5 200,0 µg/m³ di Udara Cambai: Sangat tidak sehat"

    new_version, alerts = feed(redis_url, version)
    assert new_version != version
    (live,) = [a for a in alerts if a["subject"] == "aq-cambai"]
    assert (live["id"], live["status"], live["severity"]) == (row.uid, "open", "critical")
    assert live["lat"] == pytest.approx(-3.3787)
    assert feed(redis_url, new_version) == (new_version, None)  # unchanged: nothing but the version

    # Ticks while nothing changes publish nothing: the wall keeps answering 204.
    clock.now += 2
    worker.tick()
    assert feed(redis_url, new_version) == (new_version, None)

    desk = AlertDesk(engine, AlertLive(connect(redis_url), "komando:test"), "prabumulih")
    desk.acknowledge(row.uid, "Budi (operator CC)", now=T0 + 40)
    with pytest.raises(AlertActionError, match="sudah berstatus diakui"):
        desk.acknowledge(row.uid, "Ani", now=T0 + 41)
    (row,) = [r for r in sql_alerts(engine) if r.subject == "aq-cambai"]
    assert (row.status, row.acknowledged_by) == ("acknowledged", "Budi (operator CC)")
    _, alerts = feed(redis_url)
    (live,) = [a for a in alerts if a["id"] == row.uid]
    assert (live["status"], live["acknowledged_by"], live["severity"]) == (
        "acknowledged",
        "Budi (operator CC)",
        "critical",
    )
    # The evaluator's next round keeps the acknowledgement (it merges only its own fields).
    clock.now += 5
    worker.tick()
    _, alerts = feed(redis_url)
    assert [a["status"] for a in alerts if a["id"] == row.uid] == ["acknowledged"]

    desk.assign(row.uid, "dlh", "Budi (operator CC)", now=T0 + 50)
    desk.resolve(row.uid, "Budi (operator CC)", "sumber asap dipadamkan", now=T0 + 60)
    with pytest.raises(AlertActionError):
        desk.assign(row.uid, "dlh", "Budi (operator CC)")
    (row,) = [r for r in sql_alerts(engine) if r.subject == "aq-cambai"]
    assert (row.status, row.assignee, row.resolved_by, row.note) == (
        "resolved",
        "dlh",
        "Budi (operator CC)",
        "sumber asap dipadamkan",
    )
    actions = audit_actions(engine)
    assert ("sistem", "alert.open") in actions
    assert [a for a in actions if a[0] == "Budi (operator CC)"] == [
        ("Budi (operator CC)", "alert.acknowledge"),
        ("Budi (operator CC)", "alert.assign"),
        ("Budi (operator CC)", "alert.resolve"),
    ]
    # Still 200 after a person resolved it: no new alert for the same condition.
    clock.now += 60
    worker.tick()
    assert len([r for r in sql_alerts(engine) if r.subject == "aq-cambai"]) == 1


def test_a_camera_with_stale_health_raises_an_offline_alert(city, live_store, engine, redis_url):
    clock = FakeClock(T0)
    worker = AlertWorker(city, live_store, engine, clock=clock)
    for camera in city.config.cameras:
        live_store.set_camera_health(
            camera.id, CameraHealth(state="live", seq=10, frame_ts=T0, updated_ts=T0)
        )
    worker.tick()
    assert not [r for r in sql_alerts(engine) if r.rule == "kamera-offline"]
    clock.now += 70  # no frame for 70 s: offline after 10 s, alert after a minute of it
    worker.tick()
    rows = {r.subject: r for r in sql_alerts(engine) if r.rule == "kamera-offline"}
    assert set(rows) == {c.id for c in city.config.cameras}
    assert rows["simpang-sudirman"].severity == "warning"
    assert "offline" in rows["simpang-sudirman"].message
    _, alerts = feed(redis_url)
    assert {a["subject"] for a in alerts if a["rule"] == "kamera-offline"} == set(rows)


def test_database_outage_queues_changes_and_loses_nothing(
    city, live_store, redis_url, postgres_server, postgres_url
):
    engine = make_engine(postgres_url)
    prepare_database(engine, city)
    clock = FakeClock(T0)
    worker = AlertWorker(city, live_store, engine, clock=clock)
    worker.tick()
    live_store.write_readings([Reading(sensor_id="aq-cambai", ts=T0, value=200.0)])
    postgres_server.stop()
    try:
        worker.tick()
        clock.now += 31
        changes = worker.tick()
        assert [c.action for c in changes if c.alert.condition.subject == "aq-cambai"] == ["open"]
        assert worker.pending  # waiting in memory, in order
        # The wall sees the alert meanwhile.
        _, alerts = feed(redis_url)
        assert [a["severity"] for a in alerts if a["subject"] == "aq-cambai"] == ["critical"]
        live_store.write_readings([Reading(sensor_id="aq-cambai", ts=T0 + 40, value=20.0)])
        clock.now += 10
        worker.tick()
        clock.now += 121
        worker.tick()  # cleared (120 s back to normal) while the database is away
    finally:
        postgres_server.start()
    clock.now += 1
    worker.tick()
    assert worker.pending == []
    (row,) = [r for r in sql_alerts(engine) if r.subject == "aq-cambai"]
    assert row.status == "open" and row.cleared_ms is not None
    actions = [a for _, a in audit_actions(engine)]
    assert actions.count("alert.open") >= 1 and "alert.clear" in actions
    engine.dispose()


def test_redis_restart_midway_loses_nothing(city, engine, tmp_path):
    with EmbeddedRedis(directory=tmp_path / "r") as server:
        client = connect(server.url)
        store = LiveStore(client, "komando:test")
        clock = FakeClock(T0)
        worker = AlertWorker(city, store, engine, clock=clock)
        store.write_readings([Reading(sensor_id="aq-cambai", ts=T0, value=200.0)])
        worker.tick()
        clock.now += 31
        worker.tick()
        (row,) = [r for r in sql_alerts(engine) if r.subject == "aq-cambai"]

        server.stop()  # Redis gone: rounds pause, nothing breaks
        clock.now += 5
        assert worker.tick() == []
        server.start()  # an empty Redis: the live state and the alert list are gone
        store.write_readings([Reading(sensor_id="aq-cambai", ts=T0 + 50, value=210.0)])
        clock.now += 5
        worker.tick()
        alerts = AlertLive(client, "komando:test").all()
        assert [(a["id"], a["status"]) for a in alerts if a["subject"] == "aq-cambai"] == [
            (row.uid, "open")
        ]  # rebuilt from SQL: the same alert, not a second one
        assert len([r for r in sql_alerts(engine) if r.subject == "aq-cambai"]) == 1
        client.close()


def test_a_restarted_evaluator_adopts_open_alerts(city, live_store, engine):
    clock = FakeClock(T0)
    first = AlertWorker(city, live_store, engine, clock=clock)
    live_store.write_readings([Reading(sensor_id="aq-cambai", ts=T0, value=200.0)])
    first.tick()
    clock.now += 31
    first.tick()
    second = AlertWorker(city, live_store, engine, clock=clock)
    clock.now += 60
    second.tick()
    assert len([r for r in sql_alerts(engine) if r.subject == "aq-cambai"]) == 1


def test_an_incident_is_reported_acknowledged_and_resolved_and_the_evaluator_leaves_it(
    city, live_store, engine, redis_url
):
    """A person reports a flood: it is in SQL with its audit row and on the live list; the
    evaluator's rounds (hours of them, through a rebuild of the list) neither clear nor resolve
    it; the desk acknowledges and resolves it like any alert."""
    clock = FakeClock(T0)
    worker = AlertWorker(city, live_store, engine, clock=clock)
    worker.tick()
    desk = AlertDesk(engine, AlertLive(connect(redis_url), "komando:test"), city)
    uid = desk.report_incident(
        "banjir", "critical", "16.74.03", "Air setinggi 50 cm di Jl. Cambai", "Budi", now=T0 + 1
    )

    (row,) = [r for r in sql_alerts(engine) if r.uid == uid]
    assert (row.kind, row.rule, row.subject, row.status, row.severity) == (
        "incident",
        "incident",
        "banjir",
        "open",
        "critical",
    )
    assert row.message == "Banjir di Kec. Cambai: Air setinggi 50 cm di Jl. Cambai"
    _, alerts = feed(redis_url)
    (live,) = [a for a in alerts if a["id"] == uid]
    assert (live["kind"], live["status"], live["message_en"]) == (
        "incident",
        "open",
        "Flood in Kec. Cambai: Air setinggi 50 cm di Jl. Cambai",
    )
    assert alerts[0]["id"] == uid  # the worst and newest comes first

    # A restarted evaluator and hours of rounds, with the list rebuilt from SQL: still open.
    worker = AlertWorker(city, live_store, engine, clock=clock)
    for _ in range(4):
        clock.now += 3600
        changes = worker.tick()
        assert [c for c in changes if c.alert.uid == uid] == []
    worker._rebuild_live(clock.now)
    _, alerts = feed(redis_url)
    (live,) = [a for a in alerts if a["id"] == uid]
    assert (live["status"], live["cleared_ms"]) == ("open", None)
    assert [r.status for r in sql_alerts(engine) if r.uid == uid] == ["open"]

    desk.acknowledge(uid, "Ani", now=clock.now)
    desk.assign(uid, city.config.opds[0].id, "Ani", now=clock.now + 1)
    clock.now += 5
    worker.tick()
    _, alerts = feed(redis_url)
    assert [(a["status"], a["acknowledged_by"]) for a in alerts if a["id"] == uid] == [
        ("acknowledged", "Ani")
    ]
    desk.resolve(uid, "Ani", "air surut", now=clock.now + 10)
    (row,) = [r for r in sql_alerts(engine) if r.uid == uid]
    assert (row.status, row.resolved_by, row.note) == ("resolved", "Ani", "air surut")
    _, alerts = feed(redis_url)
    assert [a["status"] for a in alerts if a["id"] == uid] == ["resolved"]
    with engine.connect() as conn:
        trail = conn.execute(
            select(audit_table.c.actor, audit_table.c.action)
            .where(audit_table.c.subject == f"alert/{uid}")
            .order_by(audit_table.c.id)
        ).all()
    assert [tuple(t) for t in trail] == [
        ("Budi", "incident.report"),
        ("Ani", "alert.acknowledge"),
        ("Ani", "alert.assign"),
        ("Ani", "alert.resolve"),
    ]
