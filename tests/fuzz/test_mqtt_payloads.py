"""MQTT payloads (data/sources/mqtt.py): what a gateway might publish on each of the city's
topics, handed to the source's own message handler, with the real pipeline, the history
writer on SQLite and real Redis. (The broker's part — QoS 1, sessions, reconnects — is
tests/integration/test_mqtt.py against a real Mosquitto; here the payloads are the point.)

Properties: no exception escapes the handler and the history writer takes every row (a row
it cannot write would block every batch behind it); a message that cannot be read becomes one
dead letter with its reason; in a mixed message every good reading is stored and every bad one
is a dead letter."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given, note
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from data.history import BatchWriter, create_schema, dead_letters, make_engine, readings
from data.live_store import LiveStore, connect
from data.pipeline import IngestPipeline
from data.sources.mqtt import MAX_PAYLOAD_BYTES, MqttSource
from tests.fuzz.strategies import (
    NOW,
    as_json_bytes,
    bad_readings,
    deep_json_text,
    good_readings,
    json_values,
    nested,
    storable,
)

PREFIX = "komando/prabumulih"
TOPICS = [f"{PREFIX}/readings", f"{PREFIX}/ngsi-ld", f"{PREFIX}/sensors/aq-cambai"]


@pytest.fixture(scope="module")
def world(redis_server, tmp_path_factory, city):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('mqtt') / 'k.sqlite3'}")
    create_schema(engine)
    client = connect(redis_server.url)
    store = LiveStore(client, "komando:fuzz-mqtt")
    writer = BatchWriter(engine)
    # Never connected: handle() is what the network loop calls for each message.
    source = MqttSource("mqtt://127.0.0.1:1", PREFIX, IngestPipeline(city, store, writer))
    yield source, writer, engine
    client.close()
    engine.dispose()


def counts(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(readings)).scalar_one(),
            conn.execute(select(func.count()).select_from(dead_letters)).scalar_one(),
        )


def flushed(writer: BatchWriter) -> None:
    writer.flush()
    assert writer.pending == 0 and writer.database_ok, writer.last_error


def clear(engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(readings))
        conn.execute(delete(dead_letters))


def empty_batch(payload: bytes) -> bool:
    """`[]` (or `{"readings": []}`) says nothing, so it leaves nothing."""
    try:
        decoded = json.loads(payload.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return False
    return decoded == [] or (isinstance(decoded, dict) and decoded.get("readings") == [])


raw_payloads = st.one_of(
    st.binary(max_size=200),
    json_values.map(as_json_bytes),
    st.integers(1, 5000).map(lambda n: deep_json_text(n).encode()),
    st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"[NaN]", b'{"value": Infinity}']),
    st.sampled_from([b"\xef\xbb\xbf42", b"\xff\xfe4\x002\x00", b"42\x00"]),
)


@given(
    topic=st.sampled_from([*TOPICS, f"{PREFIX}/sensors/", f"{PREFIX}/other"]), payload=raw_payloads
)
@example(topic=TOPICS[0], payload=b"[" + b"1," * (MAX_PAYLOAD_BYTES // 2) + b"1]")
@example(topic=TOPICS[2], payload=b'{"ts": 1, "value": 1, "\\ud800": 0}')
def test_any_message_is_handled_and_written(world, topic, payload):
    source, writer, engine = world
    clear(engine)
    source.handle(topic, payload, now=NOW)
    flushed(writer)
    if payload and topic != f"{PREFIX}/other" and not empty_batch(payload):
        assert counts(engine) != (0, 0), "the message left neither a reading nor a dead letter"
    with engine.connect() as conn:
        reasons = conn.execute(select(dead_letters.c.reason, dead_letters.c.payload)).all()
    assert all(storable(r.reason) and storable(r.payload) and r.reason for r in reasons)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"{oops", "not valid JSON"),
        (deep_json_text(100_000).encode(), "not valid JSON"),
        (b"[" + b"1," * MAX_PAYLOAD_BYTES + b"1]", "more than"),
    ],
)
def test_an_unreadable_message_is_one_dead_letter_with_its_reason(world, payload, reason):
    source, writer, engine = world
    clear(engine)
    source.handle(TOPICS[0], payload, now=NOW)
    flushed(writer)
    with engine.connect() as conn:
        (letter,) = conn.execute(select(dead_letters.c.source, dead_letters.c.reason)).all()
    assert letter.source == "mqtt" and reason in letter.reason


@given(data=st.data())
def test_a_mixed_message_keeps_every_good_reading(world, city, data):
    source, writer, engine = world
    clear(engine)
    goods = data.draw(
        st.lists(
            good_readings(city), max_size=8, unique_by=lambda g: (g.sensor_id, g.quantity, g.ts)
        )
    )
    bads = data.draw(st.lists(bad_readings(city), max_size=8))
    records = [g.record for g in goods] + [b.record for b in bads]
    records = data.draw(st.permutations(records))
    wrapped = data.draw(st.booleans())
    payload = json.dumps({"readings": records} if wrapped else records).encode()
    note(payload.decode())
    source.handle(TOPICS[0], payload, now=NOW)
    flushed(writer)
    with engine.connect() as conn:
        rows = conn.execute(
            select(readings.c.sensor_id, readings.c.quantity, readings.c.ts_ms, readings.c.value)
        ).all()
    in_sql = {(r.sensor_id, r.quantity, r.ts_ms // 1000): r.value for r in rows}
    assert in_sql == {(g.sensor_id, g.quantity, g.ts): float(g.value) for g in goods}
    assert counts(engine)[1] == len(bads)


@given(
    claimed=st.sampled_from(["aq-cambai", "aq-majasari"]) | json_values,
    value=st.floats(allow_nan=False, allow_infinity=False) | json_values,
)
def test_a_sensor_topic_takes_only_its_own_sensor(world, claimed, value):
    source, writer, engine = world
    clear(engine)
    message = {"sensor_id": claimed, "ts": NOW - 30, "value": value}
    source.handle(TOPICS[2], as_json_bytes(message), now=NOW)
    flushed(writer)
    stored, letters = counts(engine)
    if stored:
        assert claimed == "aq-cambai", "a reading was stored for another sensor's topic"
    assert stored + letters == 1


def test_a_record_too_deep_to_write_back_is_still_a_dead_letter(world):
    """Regression: json.loads had taken a message nested ~950 deep that json.dumps could not
    write back into its dead letter; the RecursionError lost the message (and over HTTP was a
    500)."""
    source, writer, engine = world
    clear(engine)
    result = source.pipeline.submit("mqtt", [nested(100_000)], now=NOW)
    assert result.rejections[0].field == "record"
    flushed(writer)
    with engine.connect() as conn:
        (letter,) = conn.execute(select(dead_letters.c.reason, dead_letters.c.payload)).all()
    assert "JSON object" in letter.reason and "nested too deeply" in letter.payload
