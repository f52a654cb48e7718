"""The MQTT source against a real Mosquitto broker, real Redis and real SQL (SQLite and
PostgreSQL): every kind of message becomes readings or dead letters with a reason, the source
survives a broker restart and its own restart without losing a message, and credentials work and
are never logged."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from data.history import BatchWriter, count_rows, create_schema, dead_letters, make_engine, readings
from data.pipeline import IngestPipeline
from data.sources.mqtt import (
    MAX_PAYLOAD_BYTES,
    MqttSource,
    default_client_id,
    parse_mqtt_url,
    start_mqtt,
)
from tests.mosquitto_server import TemporaryMosquitto

WIB = timezone(timedelta(hours=7))
WAIT_S = 10.0  # every wait below is bounded by this


# -- fixtures and helpers --------------------------------------------------------------------
@pytest.fixture(scope="module")
def broker() -> Iterator[TemporaryMosquitto]:
    with TemporaryMosquitto() as server:
        yield server


@pytest.fixture
def ensure_broker_running(broker: TemporaryMosquitto) -> TemporaryMosquitto:
    broker.start()  # a no-op unless an earlier test failed while it was stopped
    return broker


@pytest.fixture
def writer(database_url: str) -> BatchWriter:
    engine = make_engine(database_url)
    create_schema(engine)
    return BatchWriter(engine)


@pytest.fixture
def pipeline(city, live_store, writer: BatchWriter) -> IngestPipeline:
    return IngestPipeline(city, live_store, writer)


@pytest.fixture
def prefix() -> str:
    # Each test has its own topics and client id: the broker outlives tests and keeps sessions.
    return f"komando-test/{uuid.uuid4().hex[:8]}"


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> float:
    """Seconds until `condition()` held; fails the test after `timeout_s`."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout_s:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - began


@contextmanager
def running(source: MqttSource) -> Iterator[threading.Thread]:
    """Run `source` on a thread until the block ends, then stop it and check it stopped."""
    stop = threading.Event()
    thread = threading.Thread(target=source.run, args=(stop,), name="mqtt-test", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(timeout=WAIT_S)
        assert not thread.is_alive(), "the MQTT source did not stop on its stop event"


@contextmanager
def publisher(
    broker: TemporaryMosquitto, user: str | None = None, password: str | None = None
) -> Iterator[Callable[..., None]]:
    """A device: `publish(topic, payload, retain=False)` returns once the broker has it (QoS 1)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"device-{uuid.uuid4().hex[:8]}")
    if user is not None:
        client.username_pw_set(user, password)
    if broker.ca_file is not None:
        client.tls_set(ca_certs=str(broker.ca_file))
    client.connect(broker.host, broker.port)
    client.loop_start()

    def publish(topic: str, payload: object, retain: bool = False) -> None:
        if not isinstance(payload, (bytes, str)):
            payload = json.dumps(payload)
        info = client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(timeout=WAIT_S)
        assert info.is_published(), f"the broker did not acknowledge {topic}"

    try:
        yield publish
    finally:
        client.disconnect()
        client.loop_stop()


def dead_letter_reasons(writer: BatchWriter) -> list[str]:
    with writer.engine.connect() as conn:
        rows = conn.execute(select(dead_letters.c.source, dead_letters.c.reason)).all()
    assert {row.source for row in rows} <= {"mqtt"}
    return sorted(row.reason for row in rows)


# -- addresses (pure) ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "host", "port", "tls", "user", "password"),
    [
        ("mqtt://broker.local", "broker.local", 1883, False, None, None),
        ("mqtts://broker.local", "broker.local", 8883, True, None, None),
        ("mqtt://10.0.0.5:1884/", "10.0.0.5", 1884, False, None, None),
        ("mqtts://ingest:s%40cret@broker:8884", "broker", 8884, True, "ingest", "s@cret"),
        ("mqtt://[::1]:1883", "::1", 1883, False, None, None),
    ],
)
def test_broker_urls_are_parsed(url, host, port, tls, user, password):
    address = parse_mqtt_url(url)
    assert (address.host, address.port, address.tls) == (host, port, tls)
    assert (address.username, address.password) == (user, password)
    assert "cret" not in repr(address) and "cret" not in address.display


@pytest.mark.parametrize(
    "url",
    [
        "http://ingest:hunter2@broker",
        "mqtt://ingest:hunter2@broker:99999",
        "mqtt://ingest:hunter2@",
        "mqtt://ingest:hunter2@broker/komando/prabumulih",
    ],
)
def test_bad_broker_urls_are_refused_without_echoing_the_password(url):
    with pytest.raises(ValueError) as refused:
        parse_mqtt_url(url)
    assert "hunter2" not in str(refused.value)


def test_default_client_id_is_stable_per_city():
    assert default_client_id("komando/prabumulih") == "komando-ingest-komando-prabumulih"


# -- messages -> readings and dead letters ---------------------------------------------------
def test_every_kind_of_message_becomes_readings_or_dead_letters(
    ensure_broker_running, pipeline, writer, live_store, prefix
):
    broker = ensure_broker_running
    now = time.time()
    observed = datetime.now(WIB) - timedelta(minutes=2)
    entity_ok = {
        "id": "urn:ngsi-ld:AirQualityObserved:aq-gunung-ibul",
        "type": "AirQualityObserved",
        "dateObserved": {"type": "Property", "value": observed.isoformat(timespec="seconds")},
        "pm25": {"type": "Property", "value": 35.5, "unitCode": "GQ"},
        "pm10": {"type": "Property", "value": 0.052, "unitCode": "GP"},  # mg/m³ -> 52 µg/m³
    }
    entity_naive_time = {
        **entity_ok,
        "id": "urn:ngsi-ld:AirQualityObserved:aq-majasari",
        "dateObserved": {"type": "Property", "value": "2026-01-05T08:00:00"},
    }
    messages: list[tuple[str, object]] = [
        # a Komando record, a list of records
        ("readings", {"sensor_id": "aq-cambai", "ts": now - 60, "value": 21.5}),
        (
            "readings",
            [
                {"sensor_id": "tf-sudirman", "ts": now - 30, "value": 880},
                {"sensor_id": "wl-kelekar-sukaraja", "ts": now - 30, "value": 231.0},
            ],
        ),
        # a bare number on a sensor topic: that value, now
        ("sensors/pk-pasar-1", b"63.5"),
        # an object on a sensor topic: the sensor is the topic's
        ("sensors/aq-majasari", {"ts": now - 20, "value": 44.0, "quantity": "pm10"}),
        # NGSI-LD: one good entity (two readings), one with a naive time (refused)
        ("ngsi-ld", [entity_ok, entity_naive_time]),
        # refused: garbage bytes, an unknown sensor, a payload naming another sensor, too large
        ("readings", b"\xff\xfe\x00garbage\x9c"),
        ("readings", {"sensor_id": "aq-atlantis", "ts": now - 10, "value": 1.0}),
        ("sensors/aq-cambai", {"sensor_id": "aq-majasari", "ts": now - 10, "value": 9.0}),
        ("readings", b"[" + b" " * MAX_PAYLOAD_BYTES + b"]"),
    ]
    source = MqttSource(broker.url, prefix, pipeline, client_id=f"test-{uuid.uuid4().hex}")
    with running(source):
        wait_until(source.connected.is_set, "the source to subscribe")
        sent_at = time.time()
        with publisher(broker) as publish:
            for topic, payload in messages:
                publish(f"{prefix}/{topic}", payload)
        received_by = time.time()
        wait_until(lambda: source.messages >= len(messages), "all messages to be handled")
        writer.flush()

        assert count_rows(writer.engine, readings) == 7
        assert count_rows(writer.engine, dead_letters) == 5
        reasons = dead_letter_reasons(writer)
        for expected in [
            "dateObserved",  # NGSI-LD: "... has no timezone"
            "payload: not UTF-8 text",
            f"more than {MAX_PAYLOAD_BYTES}",
            "sensor_id: 'aq-majasari' disagrees with the topic's sensor 'aq-cambai'",
            "sensor_id: unknown sensor 'aq-atlantis'",
        ]:
            assert any(expected in reason for reason in reasons), (expected, reasons)

        _, live = live_store.sensors()
        assert live is not None
        assert live["aq-cambai"] == (21.5, pytest.approx(now - 60, abs=0.01))
        assert live["tf-sudirman"][0] == 880
        assert live["wl-kelekar-sukaraja"][0] == 231.0
        assert live["aq-majasari/pm10"][0] == 44.0
        assert live["aq-gunung-ibul"] == (35.5, pytest.approx(observed.timestamp(), abs=1))
        assert live["aq-gunung-ibul/pm10"][0] == pytest.approx(52.0)
        bare_value, bare_ts = live["pk-pasar-1"]
        assert bare_value == 63.5
        assert sent_at - 1 <= bare_ts <= received_by + WAIT_S  # stamped on arrival
        assert "aq-atlantis" not in live
        assert "aq-cambai" in live and live["aq-cambai"][0] != 9.0  # the disputed one was refused
        assert live_store.counters() == {"mqtt:accepted": 7, "mqtt:rejected": 5}
        assert source.handler_errors == 0


def test_a_retained_bare_value_is_refused_rather_than_shown_as_fresh(
    ensure_broker_running, pipeline, writer, prefix
):
    broker = ensure_broker_running
    with publisher(broker) as publish:
        publish(f"{prefix}/sensors/aq-cambai", b"12.0", retain=True)  # before anyone subscribes
    source = MqttSource(broker.url, prefix, pipeline, client_id=f"test-{uuid.uuid4().hex}")
    with running(source):
        wait_until(lambda: source.messages >= 1, "the retained message")
        writer.flush()
    assert count_rows(writer.engine, readings) == 0
    (reason,) = dead_letter_reasons(writer)
    assert "retained bare value" in reason
    with publisher(broker) as publish:
        publish(f"{prefix}/sensors/aq-cambai", b"", retain=True)  # clear it for other tests


# -- staying up --------------------------------------------------------------------------------
def test_source_reconnects_after_a_broker_restart_and_loses_nothing(
    ensure_broker_running, pipeline, writer, live_store, prefix, caplog
):
    caplog.set_level(logging.DEBUG, logger="data.sources.mqtt")
    broker = ensure_broker_running
    before = time.time() - 30
    source = MqttSource(broker.url, prefix, pipeline, client_id=f"test-{uuid.uuid4().hex}")
    with running(source) as thread:
        wait_until(source.connected.is_set, "the source to subscribe")
        with publisher(broker) as publish:
            publish(f"{prefix}/readings", {"sensor_id": "aq-cambai", "ts": before, "value": 20.0})
        wait_until(lambda: source.messages >= 1, "the reading published before the stop")

        broker.stop()
        wait_until(lambda: not source.connected.is_set(), "the source to notice the broker left")
        # Several failed attempts while the broker is away, each one not logged again.
        wait_until(lambda: source.connect_failures >= 2, "the source to retry")
        restarted = time.monotonic()
        broker.start()
        reconnect_s = wait_until(lambda: source.sessions >= 2, "the source to resubscribe")
        after = time.time()
        with publisher(broker) as publish:
            publish(f"{prefix}/readings", {"sensor_id": "aq-cambai", "ts": after, "value": 33.0})
        wait_until(lambda: source.messages >= 2, "the reading published after the restart")
        arrived_s = time.monotonic() - restarted
        assert thread.is_alive()
    writer.flush()

    assert reconnect_s < WAIT_S and arrived_s < WAIT_S
    with writer.engine.connect() as conn:
        values = sorted(conn.execute(select(readings.c.value)).scalars())
    assert values == [20.0, 33.0]  # the one from before the stop is still there
    _, live = live_store.sensors()
    assert live is not None and live["aq-cambai"] == (33.0, pytest.approx(after, abs=0.01))
    assert live_store.counters() == {"mqtt:accepted": 2}

    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "lost" in warnings[0], warnings
    assert sum("connected again" in r.getMessage() for r in caplog.records) == 1


def test_messages_sent_while_ingest_is_down_arrive_when_it_is_back(
    ensure_broker_running, city, live_store, sqlite_url, prefix
):
    """The session is persistent: the broker queues QoS 1 messages for our client id."""
    broker = ensure_broker_running
    engine = make_engine(sqlite_url)
    create_schema(engine)
    writer = BatchWriter(engine)
    pipeline = IngestPipeline(city, live_store, writer)
    client_id = f"test-{uuid.uuid4().hex}"
    first = MqttSource(broker.url, prefix, pipeline, client_id=client_id)
    with running(first):
        wait_until(first.connected.is_set, "the first run to subscribe")
    now = time.time()
    with publisher(broker) as publish:  # the ingest process is down now
        for offset in (3, 2, 1):
            record = {"sensor_id": "tf-tugu-kecil", "ts": now - offset, "value": 100 + offset}
            publish(f"{prefix}/readings", record)
    second = MqttSource(broker.url, prefix, pipeline, client_id=client_id)
    with running(second):
        wait_until(lambda: second.messages >= 3, "the queued messages")
    assert count_rows(engine, readings) == 3  # the source flushed the writer when it stopped


def test_a_message_that_breaks_the_handler_does_not_stop_the_source(
    ensure_broker_running, pipeline, writer, prefix, monkeypatch
):
    broker = ensure_broker_running
    real_submit = pipeline.submit
    calls = {"n": 0}

    def submit_failing_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("a bug on one message")
        return real_submit(*args, **kwargs)

    monkeypatch.setattr(pipeline, "submit", submit_failing_once)
    source = MqttSource(broker.url, prefix, pipeline, client_id=f"test-{uuid.uuid4().hex}")
    with running(source) as thread:
        wait_until(source.connected.is_set, "the source to subscribe")
        with publisher(broker) as publish:
            publish(f"{prefix}/sensors/aq-cambai", b"10")
            publish(f"{prefix}/sensors/aq-cambai", {"ts": time.time() + 1, "value": 11})
        wait_until(lambda: source.messages >= 2, "both messages")
        assert thread.is_alive() and source.connected.is_set()
    assert source.handler_errors == 1
    assert count_rows(writer.engine, readings) == 1


def test_start_mqtt_runs_on_a_thread_that_stops_with_the_event(
    ensure_broker_running, pipeline, writer, prefix
):
    broker = ensure_broker_running
    stop = threading.Event()
    thread = start_mqtt(broker.url, prefix, pipeline, stop, client_id=f"t-{uuid.uuid4().hex}")
    try:
        assert thread.name == "mqtt" and thread.daemon

        def arrived() -> bool:
            writer.flush()
            return count_rows(writer.engine, readings) == 1

        # The thread's source is private, so publish until the subscription is in place.
        deadline = time.monotonic() + WAIT_S
        with publisher(broker) as publish:
            while not arrived():
                assert time.monotonic() < deadline, "start_mqtt's source never received"
                publish(f"{prefix}/sensors/aq-cambai", {"ts": 1_780_000_000, "value": 5})
                time.sleep(0.2)
    finally:
        stop.set()
        thread.join(timeout=WAIT_S)
    assert not thread.is_alive()


# -- credentials and TLS -----------------------------------------------------------------------
def test_password_and_tls_work_and_the_password_is_never_logged(
    city, live_store, sqlite_url, prefix, caplog
):
    caplog.set_level(logging.DEBUG)
    engine = make_engine(sqlite_url)
    create_schema(engine)
    writer = BatchWriter(engine)
    pipeline = IngestPipeline(city, live_store, writer)
    secret = "rahasia-Prabumulih-74"
    with TemporaryMosquitto(users={"komando": secret}, tls=True) as broker:
        assert broker.url.startswith("mqtts://")
        good = MqttSource(
            broker.url_for("komando", secret), prefix, pipeline, ca_file=broker.ca_file
        )
        with running(good):
            wait_until(good.connected.is_set, "the source to log in over TLS")
            with publisher(broker, "komando", secret) as publish:
                publish(f"{prefix}/sensors/aq-cambai", b"17.25")
            wait_until(lambda: good.messages >= 1, "the reading over TLS")
        assert count_rows(engine, readings) == 1

        wrong = MqttSource(
            broker.url_for("komando", "not-" + secret),
            prefix,
            pipeline,
            client_id=f"test-{uuid.uuid4().hex}",
            ca_file=broker.ca_file,
        )
        with running(wrong):
            wait_until(lambda: wrong.connect_failures >= 2, "the broker to refuse twice")
            assert not wrong.connected.is_set()
        assert "refused" in wrong.last_error
    refusals = [
        r for r in caplog.records if "refused" in r.getMessage() and r.levelno >= logging.INFO
    ]
    assert len(refusals) == 1  # logged once however often it is retried
    assert secret not in caplog.text
