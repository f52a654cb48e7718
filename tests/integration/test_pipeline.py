"""The ingest pipeline with real Redis and SQLite: validation at the edge, dead letters,
idempotence, newest-wins live state, and the live state rebuilt from SQL."""

from __future__ import annotations

import json
import logging
import time

import pytest
from sqlalchemy import select

from data.history import (
    BatchWriter,
    count_rows,
    create_schema,
    dead_letters,
    make_engine,
    readings,
)
from data.live_store import LiveStore, connect
from data.pipeline import HistoryUnavailable, IngestPipeline
from data.rebuild import rebuild_live_state
from data.redis_server import EmbeddedRedis

NOW = time.time()


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    create_schema(engine)
    return engine


@pytest.fixture
def pipeline(city, live_store, engine):
    return IngestPipeline(city, live_store, BatchWriter(engine), engine)


GOOD = {"sensor_id": "aq-cambai", "ts": NOW - 10, "value": 21.5}


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        ({**GOOD, "sensor_id": "nope"}, "sensor_id", "unknown sensor"),
        ({**GOOD, "value": "high"}, "value", "must be a number"),
        ({**GOOD, "value": True}, "value", "must be a number"),
        ({**GOOD, "value": float("nan")}, "value", "finite"),
        ({**GOOD, "ts": NOW + 3600}, "ts", "in the future"),
        ({**GOOD, "ts": (NOW - 10) * 1000}, "ts", "milliseconds"),
        ({**GOOD, "ts": "2026-11-25T08:00:00"}, "ts", "no time zone"),
        ({**GOOD, "ts": "yesterday"}, "ts", "not ISO 8601"),
        ({**GOOD, "quantity": "rainfall"}, "quantity", "not measured by a air_quality"),
        ({**GOOD, "colour": "red"}, "colour", "unknown field"),
        ({"ts": NOW, "value": 1}, "sensor_id", "missing"),
        ("just text", "record", "JSON object"),
    ],
)
def test_each_bad_record_is_refused_with_field_and_reason(pipeline, record, field, reason):
    result = pipeline.submit("http", [record], durable=True)
    (only,) = result.results
    assert not only.accepted
    assert only.field == field
    assert reason in only.reason


def test_good_records_in_a_bad_batch_still_go_through(pipeline, engine, live_store):
    batch = [
        GOOD,
        {**GOOD, "sensor_id": "nope"},
        {**GOOD, "sensor_id": "tf-sudirman", "value": 900, "ts": "2026-01-01T00:00:00Z"},
    ]
    result = pipeline.submit("http", batch, durable=True)
    assert [r.accepted for r in result.results] == [True, False, True]
    assert count_rows(engine, readings) == 2
    with engine.connect() as conn:
        letter = conn.execute(select(dead_letters)).one()
    assert letter.source == "http"
    assert "unknown sensor" in letter.reason
    assert json.loads(letter.payload)["sensor_id"] == "nope"
    assert live_store.counters() == {"http:accepted": 2, "http:rejected": 1}
    assert live_store.sensors()[1]["aq-cambai"] == (21.5, pytest.approx(NOW - 10, abs=0.01))


def test_resending_the_same_reading_is_idempotent(pipeline, engine):
    for _ in range(3):
        assert pipeline.submit("http", [GOOD], durable=True).accepted == 1
    assert count_rows(engine, readings) == 1


def test_an_old_reading_never_turns_the_live_state_back(pipeline, live_store):
    pipeline.submit("http", [{**GOOD, "value": 30.0, "ts": NOW - 5}], durable=True)
    pipeline.submit("csv", [{**GOOD, "value": 99.0, "ts": NOW - 86400}], durable=True)
    assert live_store.sensors()[1]["aq-cambai"][0] == 30.0


def test_secondary_quantities_are_kept_apart(pipeline, engine, live_store):
    pipeline.submit(
        "http",
        [{**GOOD, "quantity": "pm10", "value": 44.0}, {**GOOD, "quantity": "pm25", "value": 20.0}],
        durable=True,
    )
    points = live_store.sensors()[1]
    assert points["aq-cambai"][0] == 20.0  # pm25 is the air-quality sensor's own value
    assert points["aq-cambai/pm10"][0] == 44.0
    with engine.connect() as conn:
        quantities = {row.quantity for row in conn.execute(select(readings.c.quantity))}
    assert quantities == {"", "pm10"}


def test_api_key_scope_limits_sensors(pipeline):
    result = pipeline.submit(
        "http", [GOOD], durable=True, allowed_sensors=frozenset({"tf-sudirman"})
    )
    assert result.results[0].reason == "this API key may not write this sensor"


def test_durable_submission_refuses_everything_when_sql_is_down(city, live_store, database_url):
    pipeline = IngestPipeline(city, live_store, None, make_engine(database_url))  # no schema
    with pytest.raises(HistoryUnavailable):
        pipeline.submit("http", [GOOD], durable=True)
    assert live_store.sensors()[1] == {}  # nothing half-accepted


def test_live_state_is_rebuilt_from_sql_after_redis_loses_it(pipeline, engine, live_store, city):
    pipeline.submit(
        "http", [GOOD, {**GOOD, "sensor_id": "pk-pasar-1", "value": 55.0}], durable=True
    )
    live_store.client.flushall()  # what a Redis restart does to a cache
    assert live_store.needs_rebuild()
    assert rebuild_live_state(engine, city, live_store) == 2
    points = live_store.sensors()[1]
    assert points["aq-cambai"][0] == 21.5 and points["pk-pasar-1"][0] == 55.0
    assert not live_store.needs_rebuild()


def test_a_redis_outage_is_logged_once_not_per_batch_and_loses_nothing(city, tmp_path, caplog):
    engine = make_engine(f"sqlite:///{tmp_path / 'h.sqlite3'}")
    create_schema(engine)
    with EmbeddedRedis(directory=tmp_path / "r") as server:
        store = LiveStore(connect(server.url), "komando:test")
        pipeline = IngestPipeline(city, store, None, engine)
        server.stop()
        with caplog.at_level(logging.INFO, logger="data.pipeline"):
            for n in range(20):  # an API under load: a batch a request
                assert pipeline.submit("http", [{**GOOD, "ts": NOW - n}], durable=True).accepted
            server.start()
            pipeline.submit("http", [{**GOOD, "ts": NOW - 100}], durable=True)
        store.client.close()
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in lines] == ["WARNING", "INFO"], lines
    assert "20 batches missed it" in lines[1][1]
    assert count_rows(engine, readings) == 21  # the outage cost the live state, not history
