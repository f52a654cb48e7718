"""Hypothesis strategies for what arrives from outside: JSON of any shape, the numbers JSON
parsers let through (NaN, ±Infinity, integers too large for a float), text with lone
surrogates (a JSON "\\ud800" escape decodes to one), timestamps from year 1 to 9999, and
readings for the demo city, good and bad, each bad one with the field that should be named."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

from data.city import City
from data.quantities import QUANTITIES, stored_quantity

NOW = time.time()
# "In the future" with a day's margin: NOW is taken at import, and the clock runs on while the
# examples do (a long run would otherwise see NOW + 301 s become the present).
FUTURE = NOW + 86_400
OLDEST_TS = 946_684_800  # 2000-01-01T00:00:00Z

# Numbers as Python's json module decodes them: NaN and ±Infinity tokens, 1e999 (inf), and
# integers of any size (a 400-digit integer is valid JSON).
special_floats = st.sampled_from(
    [math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308]
)
# 2**1024 is the first integer a float cannot hold (float() raises OverflowError).
huge_ints = st.integers(min_value=2**1024, max_value=10**400) | st.integers(
    max_value=-(2**1024), min_value=-(10**400)
)
numbers = st.integers() | st.floats() | special_floats | huge_ints
# Strings that look like numbers but are not JSON numbers: a device's firmware sends these.
numeric_text = st.sampled_from(
    ["NaN", "nan", "Infinity", "-Infinity", "inf", "1e999", "12", "12,5", "0x10", "", " ", "∞"]
)
# Any text, lone surrogates included (hypothesis' default alphabet excludes them).
any_text = st.text(st.characters(codec=None, categories=None), max_size=40) | st.text(
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3
)
scalars = st.none() | st.booleans() | numbers | any_text | numeric_text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)


def nested(depth: int, leaf: object = 1) -> object:
    """A list nested `depth` deep around `leaf` (built without recursion)."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def deep_json_text(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


# Timestamps a sender gets wrong: far past and future (years 1..9999, any zone), no zone,
# milliseconds, NaN, wrong types.
zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=7)), timezone(timedelta(hours=-23, minutes=-59)),
     timezone(timedelta(hours=23, minutes=59))]
)  # fmt: skip
far_datetimes = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=zones
).filter(lambda d: not (OLDEST_TS <= d.timestamp() <= FUTURE))
bad_timestamps = st.one_of(
    far_datetimes.map(datetime.isoformat),
    st.datetimes(min_value=datetime(2001, 1, 1)).map(datetime.isoformat),  # no zone
    st.floats(max_value=OLDEST_TS - 1e-3, allow_nan=False),
    st.floats(min_value=FUTURE, allow_nan=False),
    st.integers(min_value=int(NOW * 1000) - 10**9, max_value=int(NOW * 1000)),  # milliseconds
    huge_ints,
    st.sampled_from([math.nan, math.inf, -math.inf, True, False, None, "", "now", "yesterday"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    any_text.filter(lambda s: not _parses_as_time(s)),
)
bad_values = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, True, False, None]),
    huge_ints,
    numeric_text,
    any_text,
    st.lists(st.floats(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.floats(), max_size=2),
)


def _parses_as_time(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def iso(ts: float, zone: timezone) -> str:
    return datetime.fromtimestamp(ts, zone).isoformat()


@dataclass(frozen=True)
class Good:
    """A reading that must be accepted and stored as (sensor_id, quantity, ts, value)."""

    record: dict
    sensor_id: str
    quantity: str  # as stored: '' for the sensor's primary quantity
    ts: float
    value: float


@dataclass(frozen=True)
class Bad:
    """A record that must be refused, naming `field`."""

    record: object
    field: str


def good_readings(city: City, days: int = 30) -> st.SearchStrategy[Good]:
    """Readings the pipeline must accept: a known sensor, a quantity it measures, a time in the
    last `days` days (epoch seconds or ISO 8601 with any zone), a finite number."""
    sensors = [(s.id, s.kind) for s in city.config.sensors]

    @st.composite
    def build(draw: st.DrawFn) -> Good:
        sensor_id, kind = draw(st.sampled_from(sensors))
        name = draw(st.sampled_from(["", *sorted(QUANTITIES[kind])]))
        whole_seconds = draw(st.integers(int(NOW) - days * 86_400, int(NOW) - 1))
        ts_form = draw(st.sampled_from(["epoch", "iso", "Z"]))
        if ts_form == "epoch":
            ts: object = whole_seconds
        elif ts_form == "iso":
            ts = iso(whole_seconds, draw(zones))
        else:
            ts = iso(whole_seconds, UTC).replace("+00:00", "Z")
        value = draw(
            st.integers(-(10**12), 10**12)
            | st.floats(allow_nan=False, allow_infinity=False, width=64)
        )
        record = {"sensor_id": sensor_id, "ts": ts, "value": value}
        if name or draw(st.booleans()):
            record["quantity"] = name
        return Good(record, sensor_id, stored_quantity(kind, name) or "", whole_seconds, value)

    return build()


def bad_readings(city: City) -> st.SearchStrategy[Bad]:
    """Records that must be refused: a good one with exactly one thing wrong (the field the
    pipeline checks first among the wrong ones is the one expected), or not an object at all."""
    known = {s.id for s in city.config.sensors}

    @st.composite
    def build(draw: st.DrawFn) -> Bad:
        good = draw(good_readings(city)).record
        fault = draw(
            st.sampled_from(
                ["not_object", "extra_field", "sensor_missing", "sensor_type", "sensor_unknown",
                 "quantity_type", "quantity_unknown", "ts", "ts_missing", "value",
                 "value_missing"]
            )
        )  # fmt: skip
        record = dict(good)
        if fault == "not_object":
            return Bad(draw(json_values.filter(lambda v: not isinstance(v, dict))), "record")
        if fault == "extra_field":
            name = draw(
                any_text.filter(lambda n: n not in ("sensor_id", "ts", "value", "quantity"))
            )
            record[name] = draw(json_values)
            return Bad(record, name)
        if fault == "sensor_missing":
            del record["sensor_id"]
            return Bad(record, "sensor_id")
        if fault == "sensor_type":
            record["sensor_id"] = draw(json_values.filter(lambda v: not isinstance(v, str)))
            return Bad(record, "sensor_id")
        if fault == "sensor_unknown":
            record["sensor_id"] = draw(any_text.filter(lambda v: v not in known))
            return Bad(record, "sensor_id")
        if fault == "quantity_type":
            record["quantity"] = draw(json_values.filter(lambda v: not isinstance(v, str)))
            return Bad(record, "quantity")
        if fault == "quantity_unknown":
            kind = city.sensor(record["sensor_id"]).kind  # type: ignore[union-attr]
            record["quantity"] = draw(any_text.filter(lambda v: stored_quantity(kind, v) is None))
            return Bad(record, "quantity")
        if fault == "ts":
            record["ts"] = draw(bad_timestamps)
            return Bad(record, "ts")
        if fault == "ts_missing":
            del record["ts"]
            return Bad(record, "ts")
        if fault == "value":
            record["value"] = draw(bad_values)
            return Bad(record, "value")
        del record["value"]
        return Bad(record, "value")

    return build()


def reading_key(sensor_id: str, quantity: str, ts: float) -> tuple[str, str, int]:
    return (sensor_id, quantity, int(ts))


def storable(text: str) -> bool:
    """Text that SQL and a JSON answer can carry: encodable as UTF-8 (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def as_json_bytes(value: object) -> bytes:
    """`value` as a sender would put it on the wire: Python's json writes NaN/Infinity tokens,
    and lone surrogates as \\ud800 escapes."""
    return json.dumps(value).encode()
