"""Every source's records go through here: validated at the edge, accepted records to the live
state (Redis) and the history (SQL), refused ones to the dead-letter store with their reason.

Two ways to the history:
- `durable=True` (HTTP push): written to SQL before the sender hears "accepted"; if SQL is
  down the whole request is refused with "try again" and nothing is half-accepted;
- otherwise (simulator, MQTT, CSV): queued in the `BatchWriter`, which waits out database
  outages in memory and on disk.
The live state is best effort: if Redis is down, history still has everything, and ingestion
rebuilds the live state from SQL when Redis is back.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from data.city import City
from data.history import BatchWriter, dead_letter_row, reading_row, write_rows
from data.live_store import LiveStore
from data.models import Reading
from data.quantities import QUANTITIES, stored_quantity

log = logging.getLogger(__name__)

RECORD_FIELDS = frozenset({"sensor_id", "ts", "value", "quantity"})
MAX_FUTURE_S = 300  # devices' clocks drift; a reading from further ahead is a wrong clock
OLDEST_TS = 946_684_800  # 2000-01-01


class HistoryUnavailable(RuntimeError):
    """SQL could not take a durable write; the sender should retry later."""


@dataclass(frozen=True)
class RecordResult:
    index: int
    accepted: bool
    field: str = ""
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        if self.accepted:
            return {"index": self.index, "status": "accepted"}
        return {
            "index": self.index,
            "status": "rejected",
            "field": self.field,
            "reason": self.reason,
        }


@dataclass
class SubmitResult:
    """Outcome of a batch. Only refusals are stored: a result object per accepted record would
    cost more than validating it on the ingest hot path."""

    total: int = 0
    rejections: dict[int, RecordResult] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return self.total - len(self.rejections)

    @property
    def rejected(self) -> int:
        return len(self.rejections)

    @property
    def results(self) -> list[RecordResult]:
        return [self.rejections.get(i) or RecordResult(i, True) for i in range(self.total)]


class Rejected(ValueError):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


def parse_timestamp(value: object, now: float) -> float:
    """Epoch seconds, or ISO 8601 with a time zone; plausible (2000..now + 5 min)."""
    if isinstance(value, bool) or value is None:
        raise Rejected("ts", "missing or not a time")
    if isinstance(value, (int, float)):
        try:
            ts = float(value)
        except OverflowError:  # JSON integers have no size limit; floats do (issue 7)
            raise Rejected("ts", "number too large for a time; send epoch seconds") from None
        if not math.isfinite(ts):
            raise Rejected("ts", "must be a finite number of epoch seconds (not NaN or infinity)")
        if ts > 1e11:  # milliseconds are a common device default; say so rather than guess
            raise Rejected("ts", "looks like milliseconds; send epoch seconds or ISO 8601")
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise Rejected("ts", "not ISO 8601 (e.g. 2026-11-25T08:30:00+07:00)") from exc
        if parsed.tzinfo is None:
            raise Rejected("ts", "has no time zone; add Z or +07:00")
        ts = parsed.timestamp()
    else:
        raise Rejected("ts", "must be epoch seconds or an ISO 8601 string")
    if not math.isfinite(ts) or ts < OLDEST_TS:
        raise Rejected("ts", "before the year 2000")
    if ts > now + MAX_FUTURE_S:
        raise Rejected("ts", f"{ts - now:.0f} s in the future; check the device clock")
    return ts


def _field_name(name: str) -> str:
    """A sender's field name as an answer can carry it: JSON's "\ud800" escape decodes to a
    lone surrogate, which neither SQL nor a UTF-8 answer takes (issue 7)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return repr(name[:64])
    return name if len(name) <= 64 else repr(name[:64]) + "…"


def parse_value(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Rejected("value", "must be a number")
    try:
        number = float(value)
    except OverflowError:  # an integer of 309 digits or more is valid JSON (issue 7)
        raise Rejected("value", "number too large (more than 1.8e308)") from None
    if not math.isfinite(number):
        raise Rejected("value", "must be a finite number (not NaN or infinity)")
    return number


class IngestPipeline:
    def __init__(
        self,
        city: City,
        store: LiveStore | None,
        writer: BatchWriter | None = None,
        engine: Engine | None = None,
    ) -> None:
        self.city = city
        self.store = store
        self.writer = writer
        self.engine = engine
        self._kinds = {s.id: s.kind for s in city.config.sensors}
        self.live_failures = 0
        self._live_ok = True
        self._live_missed = 0

    # -- validation ----------------------------------------------------------------------
    def parse(self, raw: object, now: float, allowed_sensors: frozenset[str] | None) -> Reading:
        """A raw record (dict) -> Reading, or Rejected naming the field and the reason."""
        if not isinstance(raw, dict):
            raise Rejected("record", "must be a JSON object")
        if not raw.keys() <= RECORD_FIELDS:
            raise Rejected(_field_name(sorted(raw.keys() - RECORD_FIELDS)[0]), "unknown field")
        sensor_id = raw.get("sensor_id")
        if not isinstance(sensor_id, str) or not sensor_id:
            raise Rejected("sensor_id", "missing or not a string")
        kind = self._kinds.get(sensor_id)
        if kind is None:
            raise Rejected("sensor_id", f"unknown sensor {sensor_id[:64]!r} in this city")
        if allowed_sensors is not None and sensor_id not in allowed_sensors:
            raise Rejected("sensor_id", "this API key may not write this sensor")
        quantity_name = raw.get("quantity", "")
        if not isinstance(quantity_name, str):
            raise Rejected("quantity", "must be a string")
        quantity = stored_quantity(kind, quantity_name)
        if quantity is None:
            known = ", ".join(sorted(QUANTITIES[kind]))
            raise Rejected(
                "quantity",
                f"{quantity_name[:32]!r} is not measured by a {kind} sensor (known: {known})",
            )
        return Reading(
            sensor_id=sensor_id,
            ts=parse_timestamp(raw.get("ts"), now),
            value=parse_value(raw.get("value")),
            quantity=quantity,
        )

    # -- submission ----------------------------------------------------------------------
    def submit(
        self,
        source: str,
        records: list[object],
        durable: bool = False,
        allowed_sensors: frozenset[str] | None = None,
        now: float | None = None,
    ) -> SubmitResult:
        now = time.time() if now is None else now
        result = SubmitResult()
        good: list[Reading] = []
        refused: list[dict] = []
        result.total = len(records)
        # Within one batch, SQL keeps the first reading of a sensor, quantity and millisecond
        # and the live state the last: a second, different value would be answered "accepted"
        # and show on the wall without being recorded. It is refused instead (issue 7).
        first_of: dict[tuple[str, str, int], tuple[int, float]] = {}
        for index, raw in enumerate(records):
            try:
                reading = self.parse(raw, now, allowed_sensors)
                key = (reading.sensor_id, reading.quantity, int(reading.ts * 1000))
                seen = first_of.setdefault(key, (index, reading.value))
                if seen[1] != reading.value:
                    raise Rejected(
                        "ts",
                        f"record {seen[0]} has the same sensor, quantity and time with another "
                        "value; send one value per time",
                    )
                good.append(reading)
            except Rejected as rejection:
                result.rejections[index] = RecordResult(
                    index, False, rejection.field, rejection.reason
                )
                refused.append(
                    dead_letter_row(source, f"{rejection.field}: {rejection.reason}", raw, now)
                )
        self.accept(source, good, refused, durable=durable)
        return result

    def accept(
        self,
        source: str,
        readings: list[Reading],
        dead_letters: list[dict] | None = None,
        durable: bool = False,
    ) -> None:
        """Record `readings` (already valid) and `dead_letters`, then update the live state."""
        dead_letters = dead_letters or []
        if durable:
            if self.engine is None:
                raise RuntimeError("durable submission needs an engine")
            try:
                write_rows(
                    self.engine,
                    {"readings": [reading_row(r) for r in readings], "dead_letters": dead_letters},
                )
            except SQLAlchemyError as exc:
                raise HistoryUnavailable(str(exc.__cause__ or exc).splitlines()[0]) from exc
        else:
            if self.writer is None:
                raise RuntimeError("queued submission needs a BatchWriter")
            self.writer.add_readings(readings)
            if dead_letters:
                self.writer.add_rows("dead_letters", dead_letters)
        counters = {f"{source}:accepted": len(readings), f"{source}:rejected": len(dead_letters)}
        if self.store is None:
            return
        try:
            self.store.write_readings(readings, counters)
        except redis.RedisError as exc:
            self.live_failures += 1
            self._live_missed += 1
            # Once per outage: the HTTP API under load would log a line per request (issue 7).
            level = logging.WARNING if self._live_ok else logging.DEBUG
            self._live_ok = False
            message = "live state not updated (%d readings kept in history): %s"
            log.log(level, message, len(readings), exc)
            return
        if not self._live_ok:
            log.info(
                "live state updated again; %d batches missed it meanwhile (history has them)",
                self._live_missed,
            )
            self._live_ok, self._live_missed = True, 0
