"""MQTT source for the ingest role: devices and gateways publish to the city's broker, Komando
subscribes, and every message goes through the same pipeline as the HTTP push API.

Topics under the city's prefix (``komando/<city>`` by default), all subscribed with QoS 1:

- ``<prefix>/readings``: Komando JSON, one record ``{"sensor_id", "ts", "value", "quantity"?}``,
  a list of them, or ``{"readings": [...]}`` (as the HTTP API takes);
- ``<prefix>/sensors/<sensor_id>``: ``{"ts", "value", "quantity"?}``, a list of those, or a bare
  JSON number meaning "this value, now" (stamped on arrival). The sensor comes from the topic, so
  a broker ACL per topic is an ACL per sensor; a ``sensor_id`` in the payload that names another
  sensor is refused rather than trusted;
- ``<prefix>/ngsi-ld``: FIWARE NGSI-LD entities, one or a list (``data.sources.ngsi``).

Nothing is dropped silently: a payload that is not UTF-8 JSON, is larger than
``MAX_PAYLOAD_BYTES`` or has the wrong shape becomes a dead letter with the reason, like every
record the pipeline refuses.

Delivery: the session is persistent (``clean_session=False`` with a fixed client id) and messages
are acknowledged only once handed to the pipeline, so the broker keeps QoS 1 messages that arrive
while the ingest process restarts and redelivers any it never saw acknowledged. Redelivered
readings are harmless: history keys dedupe them and the live state keeps the newest. The flip side:
two processes must not share a client id (the broker would make them take turns), so the default
id is derived from the topic prefix, i.e. one per city.

Connection: this module runs its own network loop on the calling thread, so a stop event ends it
promptly and the thread can be joined. A broker that goes away is retried with exponential backoff
and full jitter (many gateways restarting together do not stampede it), and the subscriptions are
made again in ``on_connect``, because a broker without persistence forgets them. Each change of
state is logged once, not every retry. The password is never logged.
"""

from __future__ import annotations

import json
import logging
import random
import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from data.history import dead_letter_row
from data.pipeline import IngestPipeline
from data.sources.ngsi import parse_entities

log = logging.getLogger(__name__)

SOURCE = "mqtt"  # the pipeline's source name: counters mqtt:accepted / mqtt:rejected
MAX_PAYLOAD_BYTES = 256 * 1024  # larger is a misconfigured gateway, not a batch of readings
MAX_RECORDS = 10_000  # per message, as the HTTP API
QOS = 1
KEEPALIVE_S = 30
CONNECT_TIMEOUT_S = 5.0
LOOP_TIMEOUT_S = 0.5  # how long one network wait may delay noticing the stop event
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
ERROR_LOG_EVERY_S = 60.0  # a message that breaks the handler is logged, but not once per message
_PREVIEW_CHARS = 4000  # of a refused payload, kept in its dead letter for inspection

_DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


# -- configuration ---------------------------------------------------------------------------
@dataclass(frozen=True)
class MqttAddress:
    """A broker address from ``mqtt[s]://[user[:password]@]host[:port]``."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # repr() must not leak it into logs

    @property
    def display(self) -> str:
        """The address as logged: with the user name, never the password."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{user}{host}:{self.port}"


def parse_mqtt_url(url: str) -> MqttAddress:
    """Parse and check a broker URL; `ValueError` messages never repeat the URL (it may hold a
    password), so settings validation can show them as they are."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError("must start with mqtt:// or mqtts:// (TLS)")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        raise ValueError("the port must be a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError("names no broker host, e.g. mqtt://broker.local:1883")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        # A path would look like a topic; the prefix is a setting of its own.
        raise ValueError("must not have a path or query; set the topic prefix separately")
    return MqttAddress(
        host=parts.hostname,
        port=port,
        tls=scheme == "mqtts",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def check_topic_prefix(prefix: str) -> str:
    """The prefix without surrounding slashes; refused if it holds MQTT wildcards."""
    cleaned = prefix.strip().strip("/")
    if not cleaned:
        raise ValueError("the MQTT topic prefix must not be empty, e.g. komando/prabumulih")
    if "+" in cleaned or "#" in cleaned or "\0" in cleaned:
        raise ValueError("the MQTT topic prefix must not contain + or # (MQTT wildcards)")
    return cleaned


def default_client_id(prefix: str) -> str:
    """One stable id per topic prefix (so per city): the broker keeps our session under it."""
    return "komando-ingest-" + (re.sub(r"[^A-Za-z0-9]+", "-", prefix).strip("-") or "default")


# -- payloads -> records (pure) --------------------------------------------------------------
class PayloadError(ValueError):
    """The message as a whole cannot be read; becomes one dead letter."""


def decode_payload(payload: bytes) -> object:
    """Bytes -> decoded JSON, or `PayloadError` saying why not."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadError(
            f"payload: {len(payload)} bytes, more than {MAX_PAYLOAD_BYTES}; send smaller batches"
        )
    try:
        text = payload.decode("utf-8-sig")  # a BOM is an editor's habit, not an error
    except UnicodeDecodeError as exc:
        raise PayloadError(f"payload: not UTF-8 text (invalid byte at {exc.start})") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"payload: not valid JSON: {str(exc)[:120]}") from None


def payload_preview(topic: str, payload: bytes) -> dict[str, object]:
    """What a dead letter keeps of a message it could not read: the topic and the start of it."""
    try:
        shown = payload[:_PREVIEW_CHARS].decode("utf-8")
    except UnicodeDecodeError:
        shown = "hex:" + payload[: _PREVIEW_CHARS // 2].hex()
    return {"topic": topic, "bytes": len(payload), "payload": shown}


@dataclass
class Batch:
    """One message's records for the pipeline, and what was refused before getting there."""

    records: list[object] = field(default_factory=list)
    dead_letters: list[dict] = field(default_factory=list)


def readings_batch(payload: object, now: float) -> Batch:
    """``<prefix>/readings``: a record, a list of records, or ``{"readings": [...]}``."""
    if isinstance(payload, dict) and "readings" in payload:
        records = payload["readings"]
    elif isinstance(payload, dict):
        records = [payload]
    else:
        records = payload
    if not isinstance(records, list):
        reason = 'payload: expected a reading object, a list of readings or {"readings": [...]}'
        return Batch(dead_letters=[dead_letter_row(SOURCE, reason, payload, now)])
    if len(records) > MAX_RECORDS:
        # All or nothing, as the HTTP API: half a batch stored leaves the sender unsure.
        reason = f"payload: {len(records)} readings in one message; send at most {MAX_RECORDS}"
        return Batch(dead_letters=[dead_letter_row(SOURCE, reason, records[:10], now)])
    return Batch(records=list(records))


def sensor_batch(sensor_id: str, payload: object, now: float, retained: bool = False) -> Batch:
    """``<prefix>/sensors/<sensor_id>``: the sensor is the topic's, the rest is the payload's."""
    items = payload if isinstance(payload, list) else [payload]
    if len(items) > MAX_RECORDS:
        reason = f"payload: {len(items)} readings in one message; send at most {MAX_RECORDS}"
        return Batch(dead_letters=[dead_letter_row(SOURCE, reason, items[:10], now)])
    batch = Batch()
    for item in items:
        if isinstance(item, dict):
            claimed = item.get("sensor_id", sensor_id)
            if claimed != sensor_id:
                # The topic is what the broker's ACL allowed this device to write.
                reason = (
                    f"sensor_id: {str(claimed)[:64]!r} disagrees with the topic's sensor "
                    f"{sensor_id[:64]!r}"
                )
                batch.dead_letters.append(dead_letter_row(SOURCE, reason, item, now))
                continue
            batch.records.append({**item, "sensor_id": sensor_id})
        elif isinstance(payload, list):
            batch.records.append(item)  # the pipeline refuses it: "record: must be a JSON object"
        elif retained:
            # A retained bare value reaches us at every (re)subscription, possibly days after it
            # was measured: stamping it "now" would show a stale value as fresh.
            reason = (
                "payload: a retained bare value has no time of its own; publish it without "
                'retain, or send {"ts": ..., "value": ...}'
            )
            batch.dead_letters.append(dead_letter_row(SOURCE, reason, item, now))
        else:
            # A bare value means "measured now". Non-numbers reach the pipeline, which refuses
            # them with its own reason ("value: must be a number").
            batch.records.append({"sensor_id": sensor_id, "ts": now, "value": item})
    return batch


def ngsi_batch(payload: object, now: float) -> Batch:
    """``<prefix>/ngsi-ld``: NGSI-LD entities; the parser's refusals are dead letters with their
    entity, as in the HTTP API."""
    measurements, rejections = parse_entities(payload)
    return Batch(
        records=[
            {"sensor_id": m.sensor_id, "ts": m.ts, "value": m.value, "quantity": m.quantity}
            for m in measurements
        ],
        dead_letters=[
            dead_letter_row(SOURCE, f"{r.field}: {r.reason}", _entity_at(payload, r.index), now)
            for r in rejections
        ],
    )


def _entity_at(payload: object, index: int) -> object:
    if isinstance(payload, list) and 0 <= index < len(payload):
        return payload[index]
    return payload


# -- the source ------------------------------------------------------------------------------
class MqttSource:
    """Subscribes to a city's topics and feeds every message to `pipeline` (source "mqtt").

    `run(stop)` blocks until `stop` is set; everything (network, callbacks, pipeline calls)
    happens on that one thread. Attributes for health and tests: `connected` (an Event, set while
    subscribed), `sessions` (successful subscriptions so far), `messages` (handled),
    `connect_failures`, `handler_errors`, `last_error`.
    """

    def __init__(
        self,
        url: str,
        topic_prefix: str,
        pipeline: IngestPipeline,
        client_id: str | None = None,
        ca_file: str | Path | None = None,
    ) -> None:
        self.address = parse_mqtt_url(url)
        self.prefix = check_topic_prefix(topic_prefix)
        self.pipeline = pipeline
        self.client_id = client_id or default_client_id(self.prefix)
        self.topics = {
            "readings": f"{self.prefix}/readings",
            "sensors": f"{self.prefix}/sensors/+",
            "ngsi-ld": f"{self.prefix}/ngsi-ld",
        }
        self._sensor_topic_start = f"{self.prefix}/sensors/"

        self.connected = threading.Event()
        self.sessions = 0
        self.messages = 0
        self.connect_failures = 0
        self.handler_errors = 0
        self.last_error = ""
        self._refusal = ""
        self._state = "starting"  # starting -> up <-> down; logged on change only
        self._down_since = 0.0
        self._stopping = False
        self._last_error_log = -ERROR_LOG_EVERY_S

        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,  # the widest broker support; nothing here needs MQTT 5
            reconnect_on_failure=False,  # we own the retry loop, with backoff
            manual_ack=True,  # acknowledge only what the pipeline has taken
        )
        self._client.connect_timeout = CONNECT_TIMEOUT_S
        if self.address.username is not None:
            self._client.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            # The system's CAs unless the city runs its own; host names are checked either way.
            context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
            self._client.tls_set_context(context)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    # -- loop ------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Connect, subscribe and handle messages until `stop`; reconnect whenever needed."""
        self._stopping = False
        log.info(
            "mqtt: connecting to %s as %s, topics %s",
            self.address.display,
            self.client_id,
            ", ".join(self.topics.values()),
        )
        backoff = BACKOFF_FIRST_S
        while not stop.is_set():
            sessions_before = self.sessions
            self._connect_and_serve(stop)
            if stop.is_set():
                break
            if self.sessions > sessions_before:
                backoff = BACKOFF_FIRST_S  # it worked for a while: start the backoff afresh
            delay = random.uniform(0.5 * backoff, backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)
            stop.wait(delay)
        self._shutdown()

    def _connect_and_serve(self, stop: threading.Event) -> None:
        try:
            self._client.connect(self.address.host, self.address.port, KEEPALIVE_S)
        except Exception as exc:  # OSError, ssl.SSLError, socket timeouts: all mean "not now"
            self.connect_failures += 1
            self._went_down(f"cannot connect: {exc}")
            return
        while not stop.is_set():
            try:
                rc = self._client.loop(timeout=LOOP_TIMEOUT_S)
            except Exception:  # a bug in paho or ours must not end the source
                log.exception("mqtt: network loop failed")
                rc = MQTTErrorCode.MQTT_ERR_UNKNOWN
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                # A refused CONNACK explains the closed connection better than paho's code.
                self.last_error = self._refusal or mqtt.error_string(rc)
                self._went_down(self.last_error)
                return

    def _shutdown(self) -> None:
        # Messages that arrive from here on are left unacknowledged: the broker keeps them in
        # our session and redelivers them at the next start.
        self._stopping = True
        self.connected.clear()
        try:
            self._client.disconnect()  # keeps our session on the broker (clean_session=False)
            self._client.loop(timeout=0.1)  # let the DISCONNECT go out
        except Exception as exc:
            log.debug("mqtt: disconnect at shutdown failed: %s", exc)
        # The history writer flushes when the same stop event fires; rows we added after its
        # final flush would be lost from memory, so hand them over (or spool them) ourselves.
        writer = self.pipeline.writer
        if writer is not None:
            try:
                writer.flush()
                writer.spool_pending()
            except Exception:
                log.exception("mqtt: flushing history at shutdown failed")
        log.info("mqtt: stopped (%d messages handled)", self.messages)

    # -- state changes, logged once ----------------------------------------------------------
    def _went_down(self, reason: str) -> None:
        self.connected.clear()
        if self._state == "down":
            log.debug("mqtt: still down: %s", reason)
            return
        if self._state == "up":
            log.warning(
                "mqtt: connection to %s lost (%s); reconnecting with backoff",
                self.address.display,
                reason,
            )
        else:
            log.warning(
                "mqtt: cannot use broker %s (%s); retrying with backoff",
                self.address.display,
                reason,
            )
        self._state = "down"
        self._down_since = time.monotonic()

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        if reason_code.is_failure:
            # Wrong credentials or a banned client id: the broker closes the connection next,
            # the loop sees that and backs off. Only the reason is logged, never the password.
            self.connect_failures += 1
            self._refusal = f"broker refused the connection: {reason_code}"
            return
        self._refusal = ""
        # Always subscribe: a broker without persistence (or one restarted) has forgotten our
        # subscriptions even when it still reports a session.
        client.subscribe([(topic, QOS) for topic in self.topics.values()])

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Any,
    ) -> None:
        refused = [
            f"{topic} ({code})"
            for topic, code in zip(self.topics.values(), reason_codes, strict=False)
            if code.is_failure
        ]
        if refused:
            # Usually the broker's ACL; the connection stays up for the topics that were granted.
            log.error("mqtt: broker refused subscriptions: %s", ", ".join(refused))
        self.sessions += 1
        was = self._state
        self._state = "up"
        self.connected.set()
        if was == "down":
            log.info(
                "mqtt: connected again to %s after %.0f s",
                self.address.display,
                time.monotonic() - self._down_since,
            )
        else:
            log.info("mqtt: connected to %s", self.address.display)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        self.connected.clear()

    # -- messages ----------------------------------------------------------------------------
    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if self._stopping:
            return  # not acknowledged: redelivered to the next run
        topic = "?"
        try:
            topic = message.topic
            self.handle(topic, message.payload, retained=bool(message.retain))
        except Exception:
            # Acknowledged anyway: a message that breaks the handler would break it again on
            # every redelivery and block the session behind it.
            self.handler_errors += 1
            now = time.monotonic()
            if now - self._last_error_log >= ERROR_LOG_EVERY_S:
                self._last_error_log = now
                log.exception(
                    "mqtt: a message on %r could not be handled (%d so far)",
                    topic,
                    self.handler_errors,
                )
        finally:
            self.messages += 1
        client.ack(message.mid, message.qos)

    def handle(
        self, topic: str, payload: bytes, retained: bool = False, now: float | None = None
    ) -> None:
        """One message into the pipeline: its readings, or dead letters saying why not."""
        now = time.time() if now is None else now
        if not payload:
            # An empty message is how MQTT clears a retained one: not a reading, not an error.
            log.debug("mqtt: empty message on %s ignored", topic)
            return
        try:
            decoded = decode_payload(payload)
        except PayloadError as exc:
            letter = dead_letter_row(SOURCE, str(exc), payload_preview(topic, payload), now)
            self._submit(Batch(dead_letters=[letter]), now)
            return
        if topic == self.topics["readings"]:
            batch = readings_batch(decoded, now)
        elif topic == self.topics["ngsi-ld"]:
            batch = ngsi_batch(decoded, now)
        elif topic.startswith(self._sensor_topic_start):
            sensor_id = topic[len(self._sensor_topic_start) :]
            batch = sensor_batch(sensor_id, decoded, now, retained)
        else:  # not one of ours (a broker delivering more than we subscribed to)
            log.debug("mqtt: message on unexpected topic %r ignored", topic)
            return
        self._submit(batch, now)

    def _submit(self, batch: Batch, now: float) -> None:
        if batch.dead_letters:
            self.pipeline.accept(SOURCE, [], batch.dead_letters)
        if batch.records:
            result = self.pipeline.submit(SOURCE, batch.records, now=now)
            if result.rejected:
                log.debug("mqtt: %d of %d records refused", result.rejected, len(batch.records))


def start_mqtt(
    url: str,
    topic_prefix: str,
    pipeline: IngestPipeline,
    stop: threading.Event,
    client_id: str | None = None,
    ca_file: str | Path | None = None,
) -> threading.Thread:
    """Start an `MqttSource` on its own thread; a bad URL or prefix raises before it starts."""
    source = MqttSource(url, topic_prefix, pipeline, client_id=client_id, ca_file=ca_file)
    thread = threading.Thread(target=source.run, args=(stop,), name="mqtt", daemon=True)
    thread.start()
    return thread
