"""FIWARE Smart Data Models entities -> Komando measurements, so FIWARE devices post unchanged.

Accepts NGSI-LD *normalized* entities (each attribute is ``{"type": "Property", "value": ...,
"observedAt": ..., "unitCode": ...}``) and *key-values* entities (each attribute is its plain
value), one entity or a list of them, as decoded from JSON. Pure: no I/O, so the HTTP layer, the
MQTT bridge and the tests all share it.

Every reading that cannot be used becomes a ``Rejection`` that the device owner can act on; good
attributes of an entity still go through when another attribute of the same entity is bad.
Attributes Komando does not read are ignored silently, because devices send many (address,
temperature, refDevice, ...).

Schemas followed (github.com/smart-data-models):

- dataModel.Environment/AirQualityObserved (model.yaml x-version 0.0.1 and doc/spec.md):
  pollutant attributes ``pm25 pm10 no2 o3 co so2``, ``airQualityIndex`` (integer >= 0), unit
  given per attribute as UN/CEFACT ``unitCode`` (``GQ`` = µg/m³, ``GP`` = mg/m³). Older releases
  named pollutants by chemical formula (``CO``, ``NO2``, ``SO2`` in their examples), still seen in
  deployed devices, so those spellings are accepted as aliases.
- dataModel.Transportation/TrafficFlowObserved (model.yaml x-version 0.0.1): ``intensity`` =
  vehicles detected during the observation period, ``occupancy`` = fraction 0..1 of the period a
  vehicle occupied the lane, ``averageVehicleSpeed`` in km/h; ``dateObserved`` may be an ISO 8601
  interval, or the period is given as ``dateObservedFrom``/``dateObservedTo``.
- dataModel.Parking/OffStreetParking (model.yaml): ``availableSpotNumber``, ``totalSpotNumber``
  (integers). The model has no ``dateObserved``; its NGSI-LD example puts ``observedAt`` on
  ``availableSpotNumber`` only, and a later example adds ``observationDateTime``.
- dataModel.Environment/WaterObserved (model.yaml, schema.json): ``height`` = water height
  (minimum 0). No unit is stated; the examples are metres (3.52), so metres unless ``unitCode``.
- dataModel.Environment/FloodMonitoring (schema.json $schemaVersion 0.0.1): ``currentLevel`` (=
  referenceLevel - measuredDistance) and ``alertLevel``, both numbers in metres in the example
  (``unitCode`` ``MTR``), time in ``observationDateTime``. ``alertLevel`` is the station's alert
  *threshold*, not an alert state, so Komando stores it in cm like the level it is compared with.
  ``floodLevelStatus`` is text ("Normal") and is not read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

MAX_ENTITIES = 1000  # per payload; the HTTP layer also bounds the body size

# The same window as data.models.Reading, so every Measurement can become a Reading; a time
# outside it is almost always epoch milliseconds or an unset device clock (1970).
TS_MIN = 946_684_800.0  # 2000-01-01T00:00:00Z
TS_MAX = 4_102_444_800.0  # 2100-01-01T00:00:00Z

_SENSOR_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")

# Entity-level observation times, best first. dateObserved is the SDM standard; an interval's end
# and dateObservedTo agree on "the end of the period"; observationDateTime is FloodMonitoring's
# (and the later OffStreetParking example's) name. modifiedAt/dateModified are not used: they are
# when a broker stored the entity, not when the value was measured.
_ENTITY_TIMES = ("dateObserved", "dateObservedTo", "dateObservedFrom", "observationDateTime")

# UN/CEFACT common codes -> factor into Komando's unit for the quantity.
_MASS_CONCENTRATION = {"GQ": 1.0, "GP": 1000.0}  # µg/m³; mg/m³ -> µg/m³ is exact
_SPEED = {"KMH": 1.0, "MTS": 3.6}  # km/h; m/s -> km/h is exact
_LEVEL = {"MTR": 100.0, "CMT": 1.0, "MMT": 0.1}  # cm
_FRACTION = {"C62": 100.0, "P1": 1.0}  # percent; C62 = "one" (a 0..1 fraction), P1 = percent

_UNIT_NAMES = {
    "GQ": "µg/m³",
    "GP": "mg/m³",
    "KMH": "km/h",
    "MTS": "m/s",
    "MTR": "m",
    "CMT": "cm",
    "MMT": "mm",
    "C62": "fraction 0..1",
    "P1": "percent",
    "59": "ppm",
    "61": "ppb",
}


@dataclass(frozen=True)
class Measurement:
    sensor_id: str  # the last ':'-separated segment of the entity id
    ts: float  # epoch seconds UTC
    quantity: str  # Komando quantity name
    value: float  # in Komando's unit for that quantity


@dataclass(frozen=True)
class Rejection:
    index: int  # index of the entity in the submitted batch
    field: str  # the attribute (or "id", "type", "dateObserved", "body") at fault
    reason: str  # short, readable by the device owner


@dataclass(frozen=True)
class _Field:
    """How one FIWARE attribute becomes one Komando quantity."""

    names: tuple[str, ...]  # the schema's name first, then accepted legacy spellings
    quantity: str
    units: Mapping[str, float] | None  # accepted unitCode -> factor; None: unitCode not checked
    default_factor: float = 1.0  # when no unitCode is given: the schema's own unit
    low: float | None = None  # bounds in Komando's unit, after conversion
    high: float | None = None
    whole: bool = False  # counts of spots are integers in the schema
    text_skipped: bool = False  # a text value is a label, not a reading: skip, don't reject
    borrow_time_from: str | None = None  # quantity whose time this one may use (see _parse_entity)
    range_hint: str = ""


def _pollutant(quantity: str, *legacy: str) -> _Field:
    # Concentrations: µg/m³ when no unitCode (the SDM examples give GQ). ppm/ppb are refused: they
    # need the gas's molar mass and the air temperature to become µg/m³, so no silent guess.
    return _Field((quantity, *legacy), quantity, _MASS_CONCENTRATION, low=0.0)


FIELDS: dict[str, tuple[_Field, ...]] = {
    # dataModel.Environment/AirQualityObserved
    "AirQualityObserved": (
        _pollutant("pm25", "PM25", "PM2.5"),
        _pollutant("pm10", "PM10"),
        _pollutant("no2", "NO2"),
        _pollutant("o3", "O3"),
        _pollutant("co", "CO"),
        _pollutant("so2", "SO2"),
        # An index has no unit; which scale (ISPU, US EPA) is the device's referenceSpecification.
        _Field(("airQualityIndex",), "aqi", None, low=0.0),
    ),
    # dataModel.Transportation/TrafficFlowObserved
    "TrafficFlowObserved": (
        _Field(("intensity",), "intensity", None, low=0.0),
        _Field(
            ("occupancy",),
            "occupancy",
            _FRACTION,
            default_factor=100.0,  # the schema's 0..1 fraction -> Komando's percent
            low=0.0,
            high=100.0,
            range_hint="occupancy is a 0..1 fraction; send unitCode P1 if the value is a percent",
        ),
        _Field(("averageVehicleSpeed",), "average_speed", _SPEED, low=0.0),
    ),
    # dataModel.Parking/OffStreetParking
    "OffStreetParking": (
        _Field(("availableSpotNumber",), "available_spots", None, low=0.0, whole=True),
        _Field(
            ("totalSpotNumber",),
            "total_spots",
            None,
            low=0.0,
            whole=True,
            # The capacity is static and the SDM example gives it no time of its own: it counts
            # as observed with the availability it accompanies.
            borrow_time_from="available_spots",
        ),
    ),
    # dataModel.Environment/WaterObserved
    "WaterObserved": (
        _Field(("height",), "water_level_cm", _LEVEL, default_factor=100.0, low=0.0),
    ),
    # dataModel.Environment/FloodMonitoring
    "FloodMonitoring": (
        # No minimum in the schema: referenceLevel - measuredDistance can dip below the datum.
        _Field(("currentLevel",), "water_level_cm", _LEVEL, default_factor=100.0),
        _Field(("alertLevel",), "alert_level", _LEVEL, default_factor=100.0, text_skipped=True),
    ),
}


def parse_entities(payload: object) -> tuple[list[Measurement], list[Rejection]]:
    """Convert decoded JSON (one entity or a list of entities) into measurements and rejections."""
    if isinstance(payload, dict):
        entities: list[object] = [payload]
    elif isinstance(payload, list):
        entities = payload
    else:
        reason = "expected a JSON object (one entity) or an array of entities"
        return [], [Rejection(0, "body", reason)]
    if len(entities) > MAX_ENTITIES:
        # All or nothing: half a batch stored would leave the sender unsure what to resend.
        reason = f"{len(entities)} entities in one request; send at most {MAX_ENTITIES}"
        return [], [Rejection(0, "body", reason)]

    measurements: list[Measurement] = []
    rejections: list[Rejection] = []
    for index, entity in enumerate(entities):
        _parse_entity(index, entity, measurements, rejections)
    return measurements, rejections


def _parse_entity(
    index: int, entity: object, measurements: list[Measurement], rejections: list[Rejection]
) -> None:
    def reject(field: str, reason: str) -> None:
        rejections.append(Rejection(index, field, reason))

    if not isinstance(entity, dict):
        reject("body", f"entity {index} is {_kind(entity)}, expected a JSON object")
        return
    sensor_id = _sensor_id(entity.get("id"))
    if sensor_id.error:
        reject("id", sensor_id.error)
        return
    entity_type = entity.get("type")
    if not isinstance(entity_type, str):
        reject("type", "type must be one entity type name such as AirQualityObserved")
        return
    fields = FIELDS.get(entity_type)
    if fields is None:
        reject("type", f"unknown entity type {_show(entity_type)}; accepted: {', '.join(FIELDS)}")
        return

    rejected_before = len(rejections)
    entity_time = _entity_time(entity)
    taken: dict[str, Measurement] = {}
    untimed: list[tuple[_Field, str, float]] = []  # good values with no usable time
    for spec in fields:
        name = next((n for n in spec.names if n in entity), None)
        if name is None:
            continue
        attribute = _unwrap(entity[name])
        if isinstance(attribute, str):
            reject(name, attribute)
            continue
        if spec.text_skipped and isinstance(attribute.value, str):
            continue
        value = _convert(spec, attribute)
        if isinstance(value, str):
            reject(name, value)
            continue
        if attribute.observed_at is not None:
            # The attribute's own time wins; a broken one is not replaced by the entity's, which
            # may belong to another moment.
            ts = _parse_time(attribute.observed_at)
            if isinstance(ts, str):
                reject(name, f"observedAt {ts}")
                continue
        elif entity_time.ts is not None:
            ts = entity_time.ts
        else:
            untimed.append((spec, name, value))
            continue
        taken[spec.quantity] = Measurement(sensor_id.value, ts, spec.quantity, value)

    not_stored: list[str] = []
    for spec, name, value in untimed:
        # Borrow only when the entity has no time at all: a present-but-broken dateObserved is
        # the device's stated time and must be reported, not papered over.
        donor = taken.get(spec.borrow_time_from or "") if entity_time.missing else None
        if donor is None:
            not_stored.append(name)
        else:
            taken[spec.quantity] = Measurement(sensor_id.value, donor.ts, spec.quantity, value)
    if not_stored:
        reject(entity_time.field, f"{entity_time.error}; not stored: {', '.join(not_stored)}")

    if entity_type == "OffStreetParking":
        occupancy = _parking_occupancy(taken)
        if isinstance(occupancy, str):
            reject("availableSpotNumber", occupancy)
        elif occupancy is not None:
            taken[occupancy.quantity] = occupancy

    measurements.extend(taken.values())
    if not taken and len(rejections) == rejected_before:
        # Nothing read and nothing wrong: tell the owner rather than answer "0 stored" silently.
        names = ", ".join(spec.names[0] for spec in fields)
        reject("type", f"nothing Komando reads in this {entity_type}; expected numeric {names}")


@dataclass(frozen=True)
class _SensorId:
    value: str = ""
    error: str = ""


def _sensor_id(raw: object) -> _SensorId:
    if not isinstance(raw, str):
        return _SensorId(error="id must be a string such as urn:ngsi-ld:WaterObserved:wl-01")
    last = raw.rsplit(":", 1)[-1]
    if not _SENSOR_ID.fullmatch(last):
        return _SensorId(
            error=f"the id's last ':' part {_show(last)} must be 1-64 letters, digits, _ . or -"
        )
    return _SensorId(value=last)


@dataclass(frozen=True)
class _Attribute:
    value: object
    unit_code: object  # None when not given
    observed_at: object  # None when not given


def _unwrap(raw: object) -> _Attribute | str:
    """One attribute in either form -> value, unitCode, observedAt; or why it is unusable."""
    if isinstance(raw, list):
        # NGSI-LD multi-attributes (several instances told apart by datasetId): which one is
        # "the" reading is the device's call, not ours.
        return "several instances of one attribute (datasetId) are not supported; send one"
    if not isinstance(raw, dict):
        return _Attribute(raw, None, None)  # key-values
    if raw.get("type") == "Relationship":
        return "is a Relationship; expected a Property with a numeric value"
    if "value" not in raw:
        return 'expected a number or {"type": "Property", "value": <number>}'
    unit_code = raw.get("unitCode")
    observed_at = raw.get("observedAt")
    metadata = raw.get("metadata")
    if isinstance(metadata, dict):
        # NGSI-v2 normalized (the older AirQualityObserved spec) keeps unit and time in metadata;
        # ignoring a unitCode there would store mg/m³ as µg/m³.
        if unit_code is None:
            unit_code = _metadata_value(metadata, "unitCode")
        if observed_at is None:
            observed_at = _metadata_value(metadata, "timestamp")
    return _Attribute(raw["value"], unit_code, observed_at)


def _metadata_value(metadata: dict[str, object], key: str) -> object:
    item = metadata.get(key)
    return item.get("value") if isinstance(item, dict) else item


def _convert(spec: _Field, attribute: _Attribute) -> float | str:
    number = _number(attribute.value)
    if isinstance(number, str):
        return number
    if spec.whole and not number.is_integer():
        return f"{_show(attribute.value)} is not a whole number"
    factor = spec.default_factor
    if spec.units is not None and attribute.unit_code is not None:
        code = attribute.unit_code
        if not isinstance(code, str) or code not in spec.units:
            return _unit_reason(spec, code)
        factor = spec.units[code]
    # Round away float noise from the conversion (3.52 m -> 352.00000000000006 cm).
    value = number if factor == 1.0 else round(number * factor, 9)
    if (spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high):
        return f"{_show(attribute.value)}: {spec.range_hint or _bounds(spec)}"
    return value


def _number(value: object) -> float | str:
    # bool is an int in Python but true/false is never a reading.
    if isinstance(value, bool):
        return f"{str(value).lower()} is not a number"
    if isinstance(value, int):
        try:
            number = float(value)
        except OverflowError:
            return "the number is too large"
    elif isinstance(value, float):
        number = value
    elif isinstance(value, str):
        return f"{_show(value)} is text; send a JSON number"
    else:
        return f"{_kind(value)} is not a number"
    # Python's json accepts NaN and Infinity (and 1e999 -> inf); none is a measurement.
    if not math.isfinite(number):
        return "NaN or Infinity is not a usable number"
    return number


def _unit_reason(spec: _Field, code: object) -> str:
    accepted = " or ".join(f"{c} ({_UNIT_NAMES[c]})" for c in spec.units or {})
    if code in ("59", "61"):
        return (
            f"unitCode {code} ({_UNIT_NAMES[str(code)]}) cannot be converted to µg/m³ without "
            f"the gas's molar mass and temperature; send {accepted}"
        )
    return f"unitCode {_show(code)} is not accepted for {spec.quantity}; send {accepted}"


def _bounds(spec: _Field) -> str:
    if spec.high is None:
        return "must not be negative" if spec.low == 0.0 else f"must be at least {spec.low:g}"
    return f"must be within {spec.low:g}..{spec.high:g}"


@dataclass(frozen=True)
class _EntityTime:
    ts: float | None = None
    field: str = "dateObserved"
    error: str = ""
    missing: bool = False  # no time attribute at all (as opposed to a broken one)


def _entity_time(entity: dict[str, object]) -> _EntityTime:
    first_problem: _EntityTime | None = None
    for name in _ENTITY_TIMES:
        if name not in entity:
            continue
        ts = _parse_time(entity[name])
        if not isinstance(ts, str):
            # A broken dateObserved next to a good dateObservedTo (the TrafficFlowObserved
            # example: naive interval + zoned From/To) still yields a time.
            return _EntityTime(ts=ts, field=name)
        if first_problem is None:
            first_problem = _EntityTime(field=name, error=f"{name} {ts}")
    if first_problem is not None:
        return first_problem
    return _EntityTime(
        error="no observation time: send dateObserved on the entity or observedAt on the attribute",
        missing=True,
    )


def _parse_time(raw: object) -> float | str:
    """A FIWARE time -> epoch seconds, or why not.

    Accepts a string, a JSON-LD ``{"@type": "DateTime", "@value": ...}`` object, or either as
    the value of a normalized Property. An ISO 8601 interval ``start/end`` (allowed for
    dateObserved by AirQualityObserved and TrafficFlowObserved) gives its end: the reading
    describes the period up to then.
    """
    if isinstance(raw, dict):
        if raw.get("type") == "Relationship":
            return "is a Relationship; expected a Property holding an ISO 8601 date-time"
        if "value" in raw:
            raw = raw["value"]
    if isinstance(raw, dict) and "@value" in raw:
        raw = raw["@value"]
    if not isinstance(raw, str):
        return "must be an ISO 8601 date-time string"
    text = raw.strip()
    if len(text) > 80:
        return "is too long for a date-time"
    if "/" not in text:
        return _parse_instant(text)
    start, _, end = text.partition("/")
    start_ts, end_ts = _parse_instant(start), _parse_instant(end)
    if isinstance(start_ts, str):
        return start_ts
    if isinstance(end_ts, str):
        return end_ts
    if end_ts < start_ts:
        return f"{_show(text)} ends before it starts"
    return end_ts


def _parse_instant(text: str) -> float | str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return f"{_show(text)} is not an ISO 8601 date-time"
    if moment.utcoffset() is None:
        # A naive time is in whatever zone the device was set to; Indonesia alone spans three.
        return f"{_show(text)} has no timezone; add Z or an offset such as +07:00"
    ts = moment.timestamp()
    if not TS_MIN <= ts < TS_MAX:
        return f"{_show(text)} is outside the years 2000..2099"
    return ts


def _parking_occupancy(taken: dict[str, Measurement]) -> Measurement | str | None:
    available, total = taken.get("available_spots"), taken.get("total_spots")
    if available is None or total is None or total.value <= 0:
        return None
    if available.value > total.value:
        return (
            f"{available.value:g} available spots exceed totalSpotNumber {total.value:g}; "
            "occupancy not derived"
        )
    percent = round(100.0 * (total.value - available.value) / total.value, 9)
    # Timed like the availability: that is the part that was observed.
    return Measurement(available.sensor_id, available.ts, "parking_occupancy_pct", percent)


def _show(value: object) -> str:
    # Reasons go back to the device owner: quote what they sent, but never echo a huge blob.
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _kind(value: object) -> str:
    """What a JSON value is, in JSON's words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"
