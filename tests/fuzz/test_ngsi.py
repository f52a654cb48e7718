"""NGSI-LD entities (data/sources/ngsi.py): any decoded JSON, and valid entities with one
attribute broken in each way the issue lists.

Properties: no exception escapes; every measurement is usable (a sensor id, a finite value, a
time within 2000..2099, a known quantity); nothing is dropped silently (each entity gives a
measurement or a refusal); an entity's result does not depend on the entities around it; a bad
attribute is refused by its name and the entity's good attributes still come through."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from hypothesis import example, given, note
from hypothesis import strategies as st

from data.quantities import QUANTITIES
from data.sources.ngsi import FIELDS, MAX_ENTITIES, TS_MAX, TS_MIN, parse_entities
from tests.fuzz.strategies import (
    NOW,
    bad_timestamps,
    huge_ints,
    json_values,
    nested,
    numeric_text,
    storable,
)

KNOWN_QUANTITIES = set().union(*QUANTITIES.values())
SENSOR_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
TYPES = sorted(FIELDS)
ATTRIBUTE_NAMES = sorted({name for specs in FIELDS.values() for s in specs for name in s.names})


def check_usable(measurements, rejections, entities: int) -> None:
    for m in measurements:
        assert SENSOR_ID.fullmatch(m.sensor_id), m
        assert math.isfinite(m.value), m
        assert TS_MIN <= m.ts < TS_MAX, m
        assert m.quantity in KNOWN_QUANTITIES, m
    for r in rejections:
        assert 0 <= r.index < max(entities, 1), r
        assert r.field and r.reason, r
        assert storable(r.field) and storable(r.reason) and len(r.reason) < 1000, r


# Entities that look like FIWARE's: a known type, an id, attributes by their real names with
# values of any shape, in either form (normalized or key-values).
attribute_values = json_values | st.fixed_dictionaries(
    {"type": st.sampled_from(["Property", "Relationship", "GeoProperty"]), "value": json_values},
    optional={
        "unitCode": st.sampled_from(["GQ", "GP", "MTR", "CMT", "59", "C62", "P1"]) | json_values,
        "observedAt": bad_timestamps | st.just("2026-01-01T00:00:00Z"),
    },
)
fiware_like = st.fixed_dictionaries(
    {"id": st.sampled_from(["urn:ngsi-ld:X:aq-cambai", "urn:ngsi-ld:X:", "aq", ":"]) | json_values,
     "type": st.sampled_from(TYPES) | json_values},
    optional={
        **{name: attribute_values for name in ATTRIBUTE_NAMES},
        "dateObserved": bad_timestamps | st.just("2026-01-01T00:00:00+07:00"),
        "observationDateTime": bad_timestamps,
        "@context": json_values,
    },
)  # fmt: skip
payloads = (
    json_values
    | fiware_like
    | st.lists(fiware_like | json_values, max_size=6)
    | st.integers(0, 3000).map(nested)
)


@given(payload=payloads)
@example(payload=[{}] * (MAX_ENTITIES + 1))
@example(payload={"id": "urn:x:a", "type": "OffStreetParking", "availableSpotNumber": 2**1024})
def test_any_payload_gives_usable_measurements_or_refusals(payload):
    measurements, rejections = parse_entities(payload)
    entities = len(payload) if isinstance(payload, list) else 1
    check_usable(measurements, rejections, entities)
    if not (isinstance(payload, list) and len(payload) == 0):
        assert measurements or rejections, "nothing read and nothing said"


@given(entities=st.lists(fiware_like | json_values, min_size=1, max_size=6))
def test_each_entity_is_judged_on_its_own(entities):
    """A batch gives exactly what its entities give one by one: a bad neighbour costs a good
    entity nothing, and every entity is answered (measured or refused)."""
    together = parse_entities(entities)
    measurements, rejections = [], []
    for index, entity in enumerate(entities):
        alone_m, alone_r = parse_entities([entity])
        assert alone_m or alone_r, ("silently dropped", entity)
        measurements += alone_m
        rejections += [(index, r.field) for r in alone_r]
    assert together[0] == measurements
    assert [(r.index, r.field) for r in together[1]] == rejections


# -- good entities, with one attribute broken ---------------------------------------------------
def when(draw) -> tuple[str, float]:
    seconds = draw(st.integers(int(NOW) - 30 * 86_400, int(NOW) - 1))
    moment = datetime.fromtimestamp(seconds, UTC) + timedelta()
    return moment.isoformat().replace("+00:00", "Z"), float(seconds)


POLLUTANTS = ["pm25", "pm10", "no2", "o3", "co", "so2"]
bad_attribute_values = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, True, None, -1.0, -(10**6)]),
    huge_ints,
    numeric_text,
    st.lists(st.floats(), max_size=2),
)


@given(data=st.data())
def test_a_bad_attribute_is_named_and_the_good_ones_still_count(data):
    stamp, ts = when(data.draw)
    good = data.draw(
        st.dictionaries(
            st.sampled_from(POLLUTANTS),
            st.floats(min_value=0, max_value=1e6, allow_nan=False),
            min_size=1,
            max_size=len(POLLUTANTS) - 1,
        ),
        label="good",
    )
    bad_name = data.draw(st.sampled_from([p for p in POLLUTANTS if p not in good]), label="bad")
    bad_value = data.draw(bad_attribute_values, label="bad value")
    normalized = data.draw(st.booleans(), label="normalized")

    def attribute(value):
        return {"type": "Property", "value": value, "unitCode": "GQ"} if normalized else value

    entity = {
        "id": "urn:ngsi-ld:AirQualityObserved:aq-cambai",
        "type": "AirQualityObserved",
        "dateObserved": stamp,
        **{name: attribute(value) for name, value in good.items()},
        bad_name: attribute(bad_value),
    }
    note(repr(entity))
    measurements, rejections = parse_entities(entity)
    assert {m.quantity: m.value for m in measurements} == good
    assert all(m.ts == ts and m.sensor_id == "aq-cambai" for m in measurements)
    assert [r.field for r in rejections] == [bad_name], rejections


@given(stamp=bad_timestamps, height=st.floats(min_value=0, max_value=100))
def test_a_bad_observation_time_is_refused_not_replaced(stamp, height):
    entity = {
        "id": "urn:ngsi-ld:WaterObserved:wl-prabumulih",
        "type": "WaterObserved",
        "dateObserved": stamp,
        "height": height,
    }
    measurements, rejections = parse_entities(entity)
    if measurements:  # only a time that is really within 2000..2099 may pass here
        (m,) = measurements
        assert TS_MIN <= m.ts < TS_MAX and m.value == round(height * 100, 9)
    else:
        assert [r.field for r in rejections] == ["dateObserved"], rejections


def test_duplicate_entities_in_one_batch_are_both_read():
    """The parser reads both; the pipeline then refuses a second, different value for the same
    sensor and time (tests/fuzz/test_readings.py)."""
    entity = {
        "id": "urn:ngsi-ld:WaterObserved:wl-prabumulih",
        "type": "WaterObserved",
        "dateObserved": "2026-01-01T00:00:00Z",
        "height": 1.0,
    }
    measurements, rejections = parse_entities([entity, {**entity, "height": 2.0}])
    assert [m.value for m in measurements] == [100.0, 200.0] and rejections == []
