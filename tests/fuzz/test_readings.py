"""Readings through the one pipeline every source uses (data/pipeline.py), with real Redis and
SQLite: random batches mixing good records with records wrong in every way the issue lists.

Properties: no exception escapes; every record gets exactly one answer, in order; every bad
record is refused naming the field at fault, with a reason that SQL and a JSON answer can
carry, and is kept as a dead letter; every good record is accepted and is in SQL with its
value (nothing good lost next to bad records)."""

from __future__ import annotations

import math
import time

import pytest
import redis
from hypothesis import example, given, note
from hypothesis import strategies as st
from sqlalchemy import delete, select

from data.history import create_schema, dead_letters, make_engine, readings
from data.live_store import LiveStore, connect
from data.pipeline import IngestPipeline, Rejected, parse_timestamp, parse_value
from tests.fuzz.strategies import (
    NOW,
    Bad,
    bad_readings,
    good_readings,
    huge_ints,
    json_values,
    storable,
)


@pytest.fixture(scope="module")
def world(redis_server, tmp_path_factory, city):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('readings') / 'k.sqlite3'}")
    create_schema(engine)
    client = connect(redis_server.url)
    store = LiveStore(client, "komando:fuzz-readings")
    yield IngestPipeline(city, store, None, engine), engine, store
    client.close()
    engine.dispose()


def fresh(engine, store) -> None:
    with engine.begin() as conn:
        conn.execute(delete(readings))
        conn.execute(delete(dead_letters))
    keys = store.client.keys("komando:fuzz-readings:*")
    if keys:
        store.client.delete(*keys)


def stored(engine) -> dict[tuple[str, str, int], float]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(readings.c.sensor_id, readings.c.quantity, readings.c.ts_ms, readings.c.value)
        ).all()
    return {(r.sensor_id, r.quantity, r.ts_ms // 1000): r.value for r in rows}


def check_refusal(result, bad: Bad) -> None:
    assert not result.accepted, (bad.record, "was accepted")
    # A field name that SQL or a JSON answer cannot carry is named by its repr().
    expected = bad.field if storable(bad.field) else repr(bad.field)
    assert result.field == expected, (bad.record, result)
    assert result.reason and len(result.reason) <= 1000, result
    assert storable(result.field) and storable(result.reason), result


@given(data=st.data())
def test_a_mixed_batch_keeps_every_good_record_and_refuses_every_bad_one(world, city, data):
    pipeline, engine, store = world
    fresh(engine, store)
    goods = data.draw(
        st.lists(
            good_readings(city),
            max_size=12,
            unique_by=lambda g: (g.sensor_id, g.quantity, int(g.ts)),
        ),
        label="good",
    )
    bads = data.draw(st.lists(bad_readings(city), max_size=12), label="bad")
    order = data.draw(st.permutations(range(len(goods) + len(bads))), label="order")
    items = [*goods, *bads]
    batch = [items[i].record for i in order]
    note(f"batch: {batch!r}")

    result = pipeline.submit("http", batch, durable=True)

    assert [r.index for r in result.results] == list(range(len(batch)))
    for position, answer in zip(order, result.results, strict=True):
        item = items[position]
        if isinstance(item, Bad):
            check_refusal(answer, item)
        else:
            assert answer.accepted, (item.record, answer)
    in_sql = stored(engine)
    for good in goods:
        assert in_sql[(good.sensor_id, good.quantity, int(good.ts))] == float(good.value), good
    assert len(in_sql) == len(goods)
    with engine.connect() as conn:
        letters = conn.execute(select(dead_letters.c.reason, dead_letters.c.payload)).all()
    assert len(letters) == len(bads)
    assert all(storable(letter.reason) and storable(letter.payload) for letter in letters)
    assert store.counters() == {
        k: v for k, v in {"http:accepted": len(goods), "http:rejected": len(bads)}.items() if v
    }


@given(good=st.data())
def test_a_duplicate_in_one_batch_is_refused_unless_it_repeats_the_same_value(world, city, good):
    """Same sensor, quantity and time twice in one batch: SQL keeps the first and the live state
    would keep the last, so a second *different* value is refused, naming the first; the same
    value again is a harmless repeat."""
    pipeline, engine, store = world
    fresh(engine, store)
    first = good.draw(good_readings(city))
    other = good.draw(st.floats(allow_nan=False, allow_infinity=False).filter(
        lambda v: v != float(first.value)
    ))  # fmt: skip
    batch = [first.record, dict(first.record), {**first.record, "value": other}]
    result = pipeline.submit("http", batch, durable=True)
    assert [r.accepted for r in result.results] == [True, True, False]
    refusal = result.results[2]
    assert refusal.field == "ts" and "record 0" in refusal.reason, refusal
    assert stored(engine) == {(first.sensor_id, first.quantity, int(first.ts)): float(first.value)}
    live = store.sensors()[1]
    field = first.sensor_id + (f"/{first.quantity}" if first.quantity else "")
    assert live[field][0] == float(first.value)


# Regressions found by the properties above (issue 7), kept as plain examples.
@pytest.mark.parametrize(
    ("raw", "field", "reason"),
    [
        # 2000-01-01T00:00:00Z passed the pipeline's check and failed the Reading model: a 500.
        ({"ts": 946_684_800}, None, None),
        ({"ts": "2000-01-01T00:00:00Z"}, None, None),
        # Integers too large for a float raised OverflowError: a 500.
        ({"ts": 10**400}, "ts", "too large"),
        ({"value": 10**400}, "value", "too large"),
        ({"value": -(10**309)}, "value", "too large"),
        # NaN as a time was called "before the year 2000".
        ({"ts": math.nan}, "ts", "finite"),
        ({"ts": math.inf}, "ts", "finite"),
        # A field name with a lone surrogate (JSON "\ud800") could not be stored or answered.
        ({"\ud800": 1}, "'\\ud800'", "unknown field"),
    ],
)
def test_regressions(world, raw, field, reason):
    pipeline, engine, store = world
    fresh(engine, store)
    record = {"sensor_id": "aq-cambai", "ts": NOW - 60, "value": 1.0, **raw}
    (answer,) = pipeline.submit("http", [record], durable=True).results
    if field is None:
        assert answer.accepted, answer
        assert len(stored(engine)) == 1
    else:
        assert (answer.field, reason in answer.reason) == (field, True), answer
        assert stored(engine) == {}


@given(value=json_values | huge_ints)
@example(value=10**400)
@example(value=float("nan"))
@example(value="NaN")
def test_parse_value_gives_a_finite_float_or_a_refusal(value):
    try:
        number = parse_value(value)
    except Rejected as refusal:
        assert refusal.field == "value" and refusal.reason
        return
    assert isinstance(number, float) and math.isfinite(number)


@given(value=json_values | huge_ints | st.floats(min_value=0, max_value=5e9))
def test_parse_timestamp_gives_a_plausible_time_or_a_refusal(value):
    now = time.time()
    try:
        ts = parse_timestamp(value, now)
    except Rejected as refusal:
        assert refusal.field == "ts" and refusal.reason
        return
    assert 946_684_800 <= ts <= now + 300


def test_a_redis_outage_still_keeps_every_good_record(city, tmp_path):
    """The live state is best effort: with Redis unreachable a mixed batch still records
    every good reading and every refusal in SQL."""
    engine = make_engine(f"sqlite:///{tmp_path / 'k.sqlite3'}")
    create_schema(engine)
    dead = LiveStore(redis.Redis(port=1, socket_connect_timeout=0.2), "komando:x")
    pipeline = IngestPipeline(city, dead, None, engine)
    batch = [
        {"sensor_id": "aq-cambai", "ts": NOW - 60, "value": 3.0},
        {"sensor_id": "aq-cambai", "ts": NOW - 60, "value": "NaN"},
    ]
    result = pipeline.submit("http", batch, durable=True)
    assert [r.accepted for r in result.results] == [True, False]
    assert stored(engine) == {("aq-cambai", "", int(NOW - 60)): 3.0}
