"""FIWARE Smart Data Models entities -> Komando measurements (data/sources/ngsi.py).

The payloads named OFFICIAL_* are the examples published in the smart-data-models repositories
(examples/example-normalized.jsonld and examples/example.jsonld of each model), copied with their
quirks: devices built from them must post to Komando unchanged, or be told exactly why not.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from datetime import datetime
from typing import Any

import pytest

from data.sources.ngsi import (
    MAX_ENTITIES,
    Measurement,
    Rejection,
    parse_entities,
)


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def by_quantity(measurements: list[Measurement]) -> dict[str, Measurement]:
    found = {m.quantity: m for m in measurements}
    assert len(found) == len(measurements), "one measurement per quantity per entity"
    return found


def values(measurements: list[Measurement]) -> dict[str, float]:
    return {m.quantity: m.value for m in measurements}


def fields(rejections: list[Rejection]) -> list[str]:
    return [r.field for r in rejections]


# --- Official examples --------------------------------------------------------------------------

# dataModel.Environment/AirQualityObserved/examples/example-normalized.jsonld (current release).
OFFICIAL_AQ_NORMALIZED: dict[str, Any] = {
    "id": "urn:ngsi-ld:AirQualityObserved:Madrid-AmbientObserved-28079004-2016-03-15T11:00:00",
    "type": "AirQualityObserved",
    "co": {"type": "Property", "value": 500, "unitCode": "GP"},
    "coLevel": {"type": "Property", "value": "moderate"},
    "no": {"type": "Property", "value": 45, "unitCode": "GQ"},
    "no2": {"type": "Property", "value": 69, "unitCode": "GQ"},
    "nox": {"type": "Property", "value": 139, "unitCode": "GQ"},
    "so2": {"type": "Property", "value": 11, "unitCode": "GQ"},
    "address": {
        "type": "Property",
        "value": {
            "addressCountry": "ES",
            "addressLocality": "Madrid",
            "streetAddress": "Plaza de España",
            "type": "PostalAddress",
        },
    },
    "airQualityIndex": {"type": "Property", "value": 65},
    "airQualityLevel": {"type": "Property", "value": "moderate"},
    "areaServed": {"type": "Property", "value": "Brooklands"},
    "dateObserved": {"type": "Property", "value": "2016-03-15T11:00:00/2016-03-15T12:00:00"},
    "location": {
        "type": "GeoProperty",
        "value": {"type": "Point", "coordinates": [-3.712247222222222, 40.423852777777775]},
    },
    "precipitation": {"type": "Property", "value": 0},
    "refPointOfInterest": {
        "type": "Relationship",
        "object": "urn:ngsi-ld:PointOfInterest:28079004-Pza.deEspanya",
    },
    "relativeHumidity": {"type": "Property", "value": 0.54},
    "reliability": {"type": "Property", "value": 0.7},
    "source": {"type": "Property", "value": "http://datos.madrid.es"},
    "temperature": {"type": "Property", "value": 12.2},
    "typeOfLocation": {"type": "Property", "value": "outdoor"},
    "windDirection": {"type": "Property", "value": 186},
    "windSpeed": {"type": "Property", "value": 0.64},
    "@context": [
        "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/context.jsonld"
    ],
}

# dataModel.Environment/AirQualityObserved/examples/example.jsonld (key-values).
OFFICIAL_AQ_KEYVALUES: dict[str, Any] = {
    "id": "urn:ngsi-ld:AirQualityObserved:Madrid-AmbientObserved-28079004-2016-03-15T11:00:00",
    "type": "AirQualityObserved",
    "co": 500,
    "coLevel": "moderate",
    "no": 45,
    "no2": 69,
    "nox": 139,
    "so2": 11,
    "address": {
        "addressCountry": "ES",
        "addressLocality": "Madrid",
        "streetAddress": "Plaza de España",
        "type": "PostalAddress",
    },
    "airQualityIndex": 65,
    "airQualityLevel": "moderate",
    "areaServed": "Brooklands",
    "dateObserved": "2016-03-15T11:00:00",
    "location": {"coordinates": [-3.712247222222222, 40.423852777777775], "type": "Point"},
    "precipitation": 0,
    "refPointOfInterest": "urn:ngsi-ld:PointOfInterest:28079004-Pza.deEspanya",
    "relativeHumidity": 0.54,
    "reliability": 0.7,
    "source": "http://datos.madrid.es",
    "temperature": 12.2,
    "typeOfLocation": "outdoor",
    "windDirection": 180,
    "windSpeed": 0.64,
    "@context": [
        "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/context.jsonld"
    ],
}

# An earlier release of the same file: pollutants named by chemical formula (CO, NO2, SO2).
OFFICIAL_AQ_LEGACY_NORMALIZED: dict[str, Any] = {
    "id": "urn:ngsi-ld:AirQualityObserved:Madrid-AmbientObserved-28079004-2016-03-15T11:00:00",
    "type": "AirQualityObserved",
    "dateObserved": {"type": "Property", "value": "2016-03-15T11:00:00/2016-03-15T12:00:00"},
    "airQualityLevel": {"type": "Property", "value": "moderate"},
    "CO": {"type": "Property", "value": 500, "unitCode": "GP"},
    "temperature": {"type": "Property", "value": 12.2},
    "NO": {"type": "Property", "value": 45, "unitCode": "GQ"},
    "SO2": {"type": "Property", "value": 11, "unitCode": "GQ"},
    "NOx": {"type": "Property", "value": 139, "unitCode": "GQ"},
    "airQualityIndex": {"type": "Property", "value": 65},
    "NO2": {"type": "Property", "value": 69, "unitCode": "GQ"},
    "CO_Level": {"type": "Property", "value": "moderate"},
    "@context": [
        "https://schema.lab.fiware.org/ld/context",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
    ],
}

# dataModel.Transportation/TrafficFlowObserved/examples/example-normalized.jsonld.
OFFICIAL_TRAFFIC_NORMALIZED: dict[str, Any] = {
    "id": "urn:ngsi-ld:TrafficFlowObserved:TrafficFlowObserved-Valladolid-osm-60821110",
    "type": "TrafficFlowObserved",
    "address": {
        "type": "Property",
        "value": {
            "addressLocality": "Valladolid",
            "addressCountry": "ES",
            "streetAddress": "Avenida de Salamanca",
            "type": "PostalAddress",
        },
    },
    "averageHeadwayTime": {"type": "Property", "value": 0.5},
    "averageVehicleLength": {"type": "Property", "value": 9.87},
    "averageVehicleSpeed": {"type": "Property", "value": 52.6},
    "dateObserved": {
        "type": "Property",
        "value": {"@type": "DateTime", "@value": "2016-12-07T11:10:00/2016-12-07T11:15:00"},
    },
    "dateObservedFrom": {
        "type": "Property",
        "value": {"@type": "DateTime", "@value": "2016-12-07T11:10:00Z"},
    },
    "dateObservedTo": {
        "type": "Property",
        "value": {"@type": "DateTime", "@value": "2016-12-07T11:15:00Z"},
    },
    "intensity": {"type": "Property", "value": 197},
    "laneDirection": {"type": "Property", "value": "forward"},
    "laneId": {"type": "Property", "value": 1},
    "location": {
        "type": "GeoProperty",
        "value": {
            "type": "LineString",
            "coordinates": [
                [-4.73735395519672, 41.6538181849672],
                [-4.73414858659993, 41.6600594193478],
                [-4.73447575302641, 41.659585195093],
            ],
        },
    },
    "occupancy": {"type": "Property", "value": 0.76},
    "reversedLane": {"type": "Property", "value": False},
    "@context": [
        "https://raw.githubusercontent.com/smart-data-models/dataModel.Transportation/master/context.jsonld"
    ],
}

# dataModel.Transportation/TrafficFlowObserved/examples/example.jsonld (key-values).
OFFICIAL_TRAFFIC_KEYVALUES: dict[str, Any] = {
    "@context": [
        "https://schema.lab.fiware.org/ld/context",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
    ],
    "address": {
        "addressCountry": "ES",
        "addressLocality": "Valladolid",
        "streetAddress": "Avenida de Salamanca",
        "type": "PostalAddress",
    },
    "averageHeadwayTime": 0.5,
    "averageVehicleLength": 9.87,
    "averageVehicleSpeed": 52.6,
    "dateObserved": "2016-12-07T11:10:00/2016-12-07T11:15:00",
    "dateObservedFrom": {"@type": "DateTime", "@value": "2016-12-07T11:10:00Z"},
    "dateObservedTo": {"@type": "DateTime", "@value": "2016-12-07T11:15:00Z"},
    "id": "urn:ngsi-ld:TrafficFlowObserved:TrafficFlowObserved-Valladolid-osm-60821110",
    "intensity": 197,
    "laneDirection": "forward",
    "laneId": 1,
    "location": {
        "coordinates": [
            [-4.73735395519672, 41.6538181849672],
            [-4.73414858659993, 41.6600594193478],
            [-4.73447575302641, 41.659585195093],
        ],
        "type": "LineString",
    },
    "occupancy": 0.76,
    "reversedLane": False,
    "type": "TrafficFlowObserved",
}

# dataModel.Parking/OffStreetParking/examples/example-normalized-ld.jsonld.
OFFICIAL_PARKING_NORMALIZED: dict[str, Any] = {
    "id": "urn:ngsi-ld:OffStreetParking:porto-ParkingLot-23889",
    "type": "OffStreetParking",
    "modifiedAt": "2016-06-02T09:25:55.00Z",
    "category": {
        "type": "Property",
        "value": ["underground", "public", "feeCharged", "mediumTerm", "barrierAccess"],
    },
    "extCategory": ["A"],
    "layout": {"type": "Property", "value": ["multiLevel"]},
    "name": {"type": "Property", "value": "Parque de estacionamento Trindade"},
    "requiredPermit": {"type": "Property", "value": []},
    "allowedVehicleType": {"type": "Property", "value": ["car"]},
    "availableSpotNumber": {
        "type": "Property",
        "value": 132,
        "observedAt": "2018-09-21T12:00:00Z",
    },
    "totalSpotNumber": {"type": "Property", "value": 414},
    "location": {
        "type": "GeoProperty",
        "value": {"type": "Point", "coordinates": [-8.60961198807, 41.150691773]},
    },
    "chargeType": {"type": "Property", "value": ["temporaryPrice"]},
    "address": {
        "type": "Property",
        "value": {
            "addressLocality": "Porto",
            "addressCountry": "Portugal",
            "streetAddress": "Rua de Fernandes Tomás",
            "type": "PostalAddress",
        },
    },
    "maximumParkingDuration": {"type": "Property", "value": "PT8H"},
    "description": {
        "type": "Property",
        "value": "Municipal car park located near the Trindade metro station and the Town Hall",
    },
    "@context": [
        "https://schema.lab.fiware.org/ld/context",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
    ],
}

# dataModel.Parking/OffStreetParking/examples/example.jsonld (key-values): no observation time.
OFFICIAL_PARKING_KEYVALUES: dict[str, Any] = {
    "@context": [
        "https://schema.lab.fiware.org/ld/context",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
    ],
    "address": {
        "addressCountry": "Portugal",
        "addressLocality": "Porto",
        "streetAddress": "Rua de Fernandes Tomás",
        "type": "PostalAddress",
    },
    "allowedVehicleType": ["car"],
    "availableSpotNumber": 132,
    "occupiedSpotNumber": 282,
    "occupancyModified": "2018-09-21T12:00:00",
    "occupancy": 0.68,
    "category": ["underground", "public", "feeCharged", "mediumTerm", "barrierAccess"],
    "chargeType": ["temporaryPrice"],
    "description": "Municipal car park located near the Trindade metro station and the Town Hall",
    "extCategory": ["A"],
    "id": "urn:ngsi-ld:OffStreetParking:porto-ParkingLot-23889",
    "layout": ["multiLevel"],
    "location": {"coordinates": [-8.60961198807, 41.150691773], "type": "Point"},
    "maximumParkingDuration": "PT8H",
    "modifiedAt": "2016-06-02T09:25:55.00Z",
    "name": "Parque de estacionamento Trindade",
    "requiredPermit": [],
    "totalSpotNumber": 414,
    "type": "OffStreetParking",
}

# dataModel.Environment/WaterObserved/examples/example.jsonld (key-values).
OFFICIAL_WATER_KEYVALUES: dict[str, Any] = {
    "id": "uri:ngsi:WaterObserved:MNCA-001",
    "type": "WaterObserved",
    "alternateName": "Var River Alert for safety procedure for Airport",
    "areaServed": "Nice Airport",
    "dateObserved": "2020-03-17T08:45:00.209Z",
    "description": "Observation of Evolution of the water levels",
    "flow": 12,
    "height": 3.52,
    "location": {"type": "Point", "coordinates": [43.66481, 7.196545]},
    "measuredArea": 250,
    "name": "STLRT-MNCA-AP-WO-012",
    "objectArea": 35,
    "objectHeightAverage": 1.75,
    "objectHeightMax": 2.25,
    "objectVolume": 17.5,
    "refDevice": "uri:ngsi:Device:T2-NP-018",
    "@context": [
        "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/context.jsonld"
    ],
}

# dataModel.Environment/WaterObserved/examples/example-normalized.jsonld, quirks included:
# dateObserved is a Relationship and the numbers are typed "Number" rather than "Property".
OFFICIAL_WATER_NORMALIZED: dict[str, Any] = {
    "id": "urn:ngsi:WaterObserved:MNCA-001",
    "type": "WaterObserved",
    "alternateName": {
        "type": "Property",
        "value": "Var River Alert for safety procedure for Airport",
    },
    "areaServed": {"type": "Property", "value": "Nice Airport"},
    "dateObserved": {"type": "Relationship", "object": "2020-03-17T08:45:00.209Z"},
    "description": {"type": "Property", "value": "Observation of Evolution of the water levels"},
    "flow": {"type": "Number", "value": 12},
    "height": {"type": "Number", "value": 3.52},
    "location": {
        "type": "Geoproperty",
        "value": {"type": "Point", "coordinates": [43.66481, 7.196545]},
    },
    "measuredArea": {"type": "Number", "value": 250},
    "name": {"type": "Property", "value": "STLRT-MNCA-AP-WO-012"},
    "objectArea": {"type": "Number", "value": 35},
    "objectHeightAverage": {"type": "Number", "value": 1.75},
    "objectHeightMax": {"type": "Number", "value": 2.25},
    "objectVolume": {"type": "Number", "value": 17.5},
    "refDevice": {"type": "Relationship", "object": "uri:ngsi:Device:T2-NP-018"},
    "@context": [],
}

# dataModel.Environment/FloodMonitoring/examples/example-normalized.jsonld.
OFFICIAL_FLOOD_NORMALIZED: dict[str, Any] = {
    "id": "urn:ngsi-ld:FloodMonitoring:Pune-NoiseLevelObserved",
    "type": "FloodMonitoring",
    "alertLevel": {"type": "Property", "value": 11.0, "unitCode": "MTR"},
    "currentLevel": {"type": "Property", "value": 1.98, "unitCode": "MTR"},
    "dangerLevel": {"type": "Property", "value": 26.0, "unitCode": "MTR"},
    "floodLevelStatus": {"type": "string", "value": "Normal"},
    "measuredDistance": {"type": "Property", "value": 4.22, "unitCode": "MTR"},
    "observationDateTime": {
        "type": "string",
        "format": "date-time",
        "value": "2020-09-16T13:30:00+05:30",
    },
    "referenceLevel": {"type": "Property", "value": 4.2, "unitCode": "MTR"},
    "stationID": {"type": "string", "value": "FWR013"},
    "@context": [
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
        "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/context.jsonld",
    ],
}

# dataModel.Environment/FloodMonitoring/examples/example.jsonld (key-values).
OFFICIAL_FLOOD_KEYVALUES: dict[str, Any] = {
    "id": "urn:ngsi-ld:FloodMonitoring:Pune-NoiseLevelObserved",
    "type": "FloodMonitoring",
    "alertLevel": 10.0,
    "currentLevel": 0.98,
    "dangerLevel": 25.0,
    "floodLevelStatus": "Normal",
    "measuredDistance": 3.22,
    "observationDateTime": "2020-09-16T13:30:00+05:30",
    "referenceLevel": 4.2,
    "stationID": "FWR013",
    "@context": [
        "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/context.jsonld"
    ],
}


def with_zone(entity: dict[str, Any], **times: Any) -> dict[str, Any]:
    """The official example with its naive times replaced, as a device in Indonesia would send."""
    fixed = copy.deepcopy(entity)
    fixed.update(times)
    return fixed


# --- Komando's own devices: small, realistic NGSI-LD payloads -----------------------------------


def aq_entity(**attributes: Any) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "id": "urn:ngsi-ld:AirQualityObserved:aq-cambai",
        "type": "AirQualityObserved",
        "dateObserved": {"type": "Property", "value": "2025-03-01T08:00:00+07:00"},
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [104.2403, -3.4390]},
        },
        "@context": ["https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"],
    }
    entity.update(attributes)
    return entity


def prop(value: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value, **extra}


T_AQ = epoch("2025-03-01T01:00:00+00:00")


# === Official examples ===========================================================================


class TestAirQualityObserved:
    def test_official_normalized_example_is_refused_for_its_naive_interval(self):
        measurements, rejections = parse_entities(OFFICIAL_AQ_NORMALIZED)
        assert measurements == []
        assert len(rejections) == 1
        rejection = rejections[0]
        assert (rejection.index, rejection.field) == (0, "dateObserved")
        assert "no timezone" in rejection.reason
        # The owner learns which readings were lost.
        for name in ("co", "no2", "so2", "airQualityIndex"):
            assert name in rejection.reason

    def test_official_normalized_example_with_zoned_interval(self):
        entity = with_zone(
            OFFICIAL_AQ_NORMALIZED,
            dateObserved=prop("2016-03-15T11:00:00Z/2016-03-15T12:00:00Z"),
        )
        measurements, rejections = parse_entities(entity)
        assert rejections == []
        assert values(measurements) == {
            "co": 500_000.0,  # unitCode GP = mg/m³ -> µg/m³
            "no2": 69.0,
            "so2": 11.0,
            "aqi": 65.0,
        }
        # An interval's end is when the reading is complete.
        assert {m.ts for m in measurements} == {epoch("2016-03-15T12:00:00+00:00")}

    def test_official_id_with_colons_in_its_last_part_keeps_only_the_final_segment(self):
        # The rule is "last ':'-separated segment": this official id ends in a time, so the
        # sensor becomes "00". Komando's own ids (aq-cambai) have no colon in their last part.
        entity = with_zone(OFFICIAL_AQ_KEYVALUES, dateObserved="2016-03-15T11:00:00Z")
        measurements, _ = parse_entities(entity)
        assert {m.sensor_id for m in measurements} == {"00"}

    def test_official_keyvalues_example_with_zoned_time(self):
        entity = with_zone(OFFICIAL_AQ_KEYVALUES, dateObserved="2016-03-15T18:00:00+07:00")
        measurements, rejections = parse_entities(entity)
        assert rejections == []
        # Key-values carries no unitCode: values are µg/m³ as given.
        assert values(measurements) == {"co": 500.0, "no2": 69.0, "so2": 11.0, "aqi": 65.0}
        assert {m.ts for m in measurements} == {epoch("2016-03-15T11:00:00+00:00")}

    def test_official_keyvalues_example_naive_time_is_refused(self):
        measurements, rejections = parse_entities(OFFICIAL_AQ_KEYVALUES)
        assert measurements == []
        assert fields(rejections) == ["dateObserved"]
        assert "'2016-03-15T11:00:00' has no timezone" in rejections[0].reason

    def test_legacy_formula_names_are_read(self):
        entity = with_zone(
            OFFICIAL_AQ_LEGACY_NORMALIZED,
            dateObserved=prop("2016-03-15T11:00:00Z/2016-03-15T12:00:00Z"),
        )
        measurements, rejections = parse_entities(entity)
        assert rejections == []
        assert values(measurements) == {"co": 500_000.0, "no2": 69.0, "so2": 11.0, "aqi": 65.0}

    def test_all_pollutants_of_a_komando_station(self):
        entity = aq_entity(
            pm25=prop(38.4, unitCode="GQ"),
            pm10=prop(61.0, unitCode="GQ"),
            no2=prop(21.4, unitCode="GQ"),
            o3=prop(54.3, unitCode="GQ"),
            co=prop(1.2, unitCode="GP"),
            so2=prop(8.0, unitCode="GQ"),
            airQualityIndex=prop(108),
            temperature=prop(31.5, unitCode="CEL"),
            relativeHumidity=prop(0.78),
        )
        measurements, rejections = parse_entities(entity)
        assert rejections == []
        assert values(measurements) == {
            "pm25": 38.4,
            "pm10": 61.0,
            "no2": 21.4,
            "o3": 54.3,
            "co": 1200.0,
            "so2": 8.0,
            "aqi": 108.0,
        }
        assert {m.sensor_id for m in measurements} == {"aq-cambai"}
        assert {m.ts for m in measurements} == {T_AQ}

    def test_canonical_name_wins_over_legacy_spelling(self):
        measurements, rejections = parse_entities(aq_entity(pm25=prop(12.0), PM25=prop(99.0)))
        assert rejections == []
        assert values(measurements) == {"pm25": 12.0}

    @pytest.mark.parametrize("name", ["PM25", "PM2.5", "PM10", "O3"])
    def test_other_legacy_spellings(self, name):
        measurements, _ = parse_entities(aq_entity(**{name: 20}))
        assert len(measurements) == 1
        assert measurements[0].value == 20.0

    @pytest.mark.parametrize(
        ("unit_code", "expected_in_reason"),
        [
            ("59", "ppm"),  # needs molar mass + temperature: never converted silently
            ("61", "ppb"),
            ("KGM", "'KGM' is not accepted for pm25"),
            (7, "7 is not accepted"),
        ],
    )
    def test_unconvertible_units_reject_only_that_attribute(self, unit_code, expected_in_reason):
        entity = aq_entity(pm25=prop(35.0, unitCode=unit_code), pm10=prop(50.0, unitCode="GQ"))
        measurements, rejections = parse_entities(entity)
        assert values(measurements) == {"pm10": 50.0}
        assert fields(rejections) == ["pm25"]
        assert expected_in_reason in rejections[0].reason
        assert "GQ" in rejections[0].reason  # tells the owner what to send instead

    def test_ngsi_v2_metadata_unit_is_honoured(self):
        # The older AirQualityObserved spec puts unitCode in metadata; ignoring it would store
        # mg/m³ as µg/m³.
        entity = aq_entity(CO={"value": 0.5, "metadata": {"unitCode": {"value": "GP"}}})
        measurements, rejections = parse_entities(entity)
        assert rejections == []
        assert values(measurements) == {"co": 500.0}

    def test_negative_concentration_is_refused(self):
        measurements, rejections = parse_entities(aq_entity(pm25=prop(-3.0), pm10=prop(40)))
        assert values(measurements) == {"pm10": 40.0}
        assert fields(rejections) == ["pm25"]
        assert "negative" in rejections[0].reason


TRAFFIC_EXPECTED = {"intensity": 197.0, "occupancy": 76.0, "average_speed": 52.6}


class TestTrafficFlowObserved:
    @pytest.mark.parametrize("entity", [OFFICIAL_TRAFFIC_NORMALIZED, OFFICIAL_TRAFFIC_KEYVALUES])
    def test_official_examples(self, entity):
        # Their dateObserved is a naive interval, but dateObservedTo is zoned: that time is used.
        measurements, rejections = parse_entities(entity)
        assert rejections == []
        assert values(measurements) == pytest.approx(TRAFFIC_EXPECTED)
        assert {m.ts for m in measurements} == {epoch("2016-12-07T11:15:00+00:00")}
        assert {m.sensor_id for m in measurements} == {
            "TrafficFlowObserved-Valladolid-osm-60821110"
        }

    def test_date_observed_from_alone(self):
        entity = copy.deepcopy(OFFICIAL_TRAFFIC_KEYVALUES)
        del entity["dateObserved"], entity["dateObservedTo"]
        measurements, _ = parse_entities(entity)
        assert {m.ts for m in measurements} == {epoch("2016-12-07T11:10:00+00:00")}

    def test_zoned_date_observed_wins_over_from_to(self):
        entity = with_zone(OFFICIAL_TRAFFIC_KEYVALUES, dateObserved="2016-12-07T11:20:00Z")
        measurements, _ = parse_entities(entity)
        assert {m.ts for m in measurements} == {epoch("2016-12-07T11:20:00+00:00")}

    @pytest.mark.parametrize(
        ("attribute", "value"),
        [
            (prop(0.5, unitCode="C62"), 50.0),  # C62 = "one": still a fraction
            (prop(42.0, unitCode="P1"), 42.0),  # P1 = percent: as given
            (prop(0), 0.0),
            (prop(1), 100.0),
        ],
    )
    def test_occupancy_units(self, attribute, value):
        entity = with_zone(OFFICIAL_TRAFFIC_KEYVALUES, occupancy=attribute)
        measurements, rejections = parse_entities(entity)
        assert rejections == []
        assert values(measurements)["occupancy"] == pytest.approx(value)

    @pytest.mark.parametrize("occupancy", [76, -0.1, prop(120, unitCode="P1")])
    def test_occupancy_outside_its_range_is_refused_with_a_hint(self, occupancy):
        entity = with_zone(OFFICIAL_TRAFFIC_KEYVALUES, occupancy=occupancy)
        measurements, rejections = parse_entities(entity)
        assert set(values(measurements)) == {"intensity", "average_speed"}
        assert fields(rejections) == ["occupancy"]
        assert "P1" in rejections[0].reason

    def test_speed_in_metres_per_second_is_converted(self):
        entity = with_zone(OFFICIAL_TRAFFIC_KEYVALUES, averageVehicleSpeed=prop(10, unitCode="MTS"))
        measurements, _ = parse_entities(entity)
        assert values(measurements)["average_speed"] == pytest.approx(36.0)

    def test_speed_in_unknown_unit_is_refused(self):
        entity = with_zone(OFFICIAL_TRAFFIC_KEYVALUES, averageVehicleSpeed=prop(30, unitCode="HM"))
        measurements, rejections = parse_entities(entity)
        assert "average_speed" not in values(measurements)
        assert fields(rejections) == ["averageVehicleSpeed"]
        assert "KMH" in rejections[0].reason


class TestOffStreetParking:
    def test_official_normalized_example_total_takes_the_availability_time(self):
        measurements, rejections = parse_entities(OFFICIAL_PARKING_NORMALIZED)
        assert rejections == []
        found = by_quantity(measurements)
        assert found["available_spots"].value == 132.0
        assert found["total_spots"].value == 414.0
        assert found["parking_occupancy_pct"].value == pytest.approx(100 * (414 - 132) / 414)
        assert {m.ts for m in measurements} == {epoch("2018-09-21T12:00:00+00:00")}
        assert {m.sensor_id for m in measurements} == {"porto-ParkingLot-23889"}

    def test_official_keyvalues_example_has_no_observation_time(self):
        # modifiedAt is when a broker stored it, occupancyModified is naive: neither is used.
        measurements, rejections = parse_entities(OFFICIAL_PARKING_KEYVALUES)
        assert measurements == []
        assert fields(rejections) == ["dateObserved"]
        reason = rejections[0].reason
        assert "no observation time" in reason
        assert "availableSpotNumber" in reason and "totalSpotNumber" in reason

    def test_keyvalues_with_observation_time(self):
        entity = with_zone(OFFICIAL_PARKING_KEYVALUES, dateObserved="2025-03-01T10:00:00+07:00")
        measurements, rejections = parse_entities(entity)
        assert rejections == []
        assert values(measurements) == pytest.approx(
            {"available_spots": 132, "total_spots": 414, "parking_occupancy_pct": 68.115942029}
        )

    def test_observation_date_time_as_datetime_object(self):
        # The later OffStreetParking example carries observationDateTime as a DateTime object.
        entity = with_zone(
            OFFICIAL_PARKING_NORMALIZED,
            observationDateTime=prop({"@type": "DateTime", "@value": "2021-03-11T15:51:02Z"}),
        )
        found = by_quantity(parse_entities(entity)[0])
        assert found["available_spots"].ts == epoch("2018-09-21T12:00:00+00:00")  # its own time
        assert found["total_spots"].ts == epoch("2021-03-11T15:51:02+00:00")  # the entity's
        assert found["parking_occupancy_pct"].ts == found["available_spots"].ts

    def test_broken_entity_time_is_reported_not_papered_over(self):
        entity = with_zone(OFFICIAL_PARKING_NORMALIZED, dateObserved="2018-09-21T12:00:00")
        measurements, rejections = parse_entities(entity)
        assert values(measurements) == {"available_spots": 132.0}
        assert fields(rejections) == ["dateObserved"]
        assert "no timezone" in rejections[0].reason and "totalSpotNumber" in rejections[0].reason

    def test_full_car_park(self):
        entity = with_zone(
            OFFICIAL_PARKING_KEYVALUES, dateObserved="2025-03-01T10:00:00Z", availableSpotNumber=0
        )
        assert values(parse_entities(entity)[0])["parking_occupancy_pct"] == 100.0

    def test_zero_capacity_gives_no_percentage(self):
        entity = with_zone(
            OFFICIAL_PARKING_KEYVALUES,
            dateObserved="2025-03-01T10:00:00Z",
            availableSpotNumber=0,
            totalSpotNumber=0,
        )
        measurements, rejections = parse_entities(entity)
        assert rejections == []
        assert values(measurements) == {"available_spots": 0.0, "total_spots": 0.0}

    def test_more_available_than_total_keeps_the_counts_but_no_percentage(self):
        entity = with_zone(
            OFFICIAL_PARKING_KEYVALUES, dateObserved="2025-03-01T10:00:00Z", availableSpotNumber=500
        )
        measurements, rejections = parse_entities(entity)
        assert values(measurements) == {"available_spots": 500.0, "total_spots": 414.0}
        assert fields(rejections) == ["availableSpotNumber"]
        assert "exceed" in rejections[0].reason

    def test_only_available_is_fine(self):
        entity = with_zone(OFFICIAL_PARKING_KEYVALUES, dateObserved="2025-03-01T10:00:00Z")
        del entity["totalSpotNumber"]
        measurements, rejections = parse_entities(entity)
        assert rejections == []
        assert values(measurements) == {"available_spots": 132.0}

    @pytest.mark.parametrize("count", [12.5, -1])
    def test_counts_must_be_whole_and_not_negative(self, count):
        entity = with_zone(
            OFFICIAL_PARKING_KEYVALUES,
            dateObserved="2025-03-01T10:00:00Z",
            availableSpotNumber=count,
        )
        measurements, rejections = parse_entities(entity)
        assert values(measurements) == {"total_spots": 414.0}
        assert fields(rejections) == ["availableSpotNumber"]

    def test_whole_number_sent_as_float_is_fine(self):
        entity = with_zone(
            OFFICIAL_PARKING_KEYVALUES,
            dateObserved="2025-03-01T10:00:00Z",
            availableSpotNumber=132.0,
        )
        assert values(parse_entities(entity)[0])["available_spots"] == 132.0


class TestWaterObserved:
    def test_official_keyvalues_example_height_in_metres(self):
        measurements, rejections = parse_entities(OFFICIAL_WATER_KEYVALUES)
        assert rejections == []
        assert measurements == [
            Measurement("MNCA-001", epoch("2020-03-17T08:45:00.209+00:00"), "water_level_cm", 352.0)
        ]

    def test_official_normalized_example_relationship_time_is_refused(self):
        measurements, rejections = parse_entities(OFFICIAL_WATER_NORMALIZED)
        assert measurements == []
        assert fields(rejections) == ["dateObserved"]
        assert "Relationship" in rejections[0].reason and "height" in rejections[0].reason

    def test_official_normalized_example_with_property_time(self):
        entity = with_zone(OFFICIAL_WATER_NORMALIZED, dateObserved=prop("2020-03-17T08:45:00Z"))
        measurements, rejections = parse_entities(entity)
        assert rejections == []
        assert values(measurements) == {"water_level_cm": 352.0}

    @pytest.mark.parametrize(
        ("unit_code", "cm"), [("MTR", 352.0), ("CMT", 3.52), ("MMT", 0.352), (None, 352.0)]
    )
    def test_level_units(self, unit_code, cm):
        height = prop(3.52) if unit_code is None else prop(3.52, unitCode=unit_code)
        entity = with_zone(OFFICIAL_WATER_KEYVALUES, height=height)
        assert values(parse_entities(entity)[0]) == {"water_level_cm": pytest.approx(cm)}

    def test_level_in_feet_is_refused(self):
        entity = with_zone(OFFICIAL_WATER_KEYVALUES, height=prop(11.5, unitCode="FOT"))
        measurements, rejections = parse_entities(entity)
        assert measurements == []
        assert fields(rejections) == ["height"]
        assert "CMT" in rejections[0].reason

    def test_negative_height_is_refused(self):
        # WaterObserved.height has minimum 0 in the schema.
        measurements, rejections = parse_entities(with_zone(OFFICIAL_WATER_KEYVALUES, height=-0.2))
        assert measurements == []
        assert fields(rejections) == ["height"]


class TestFloodMonitoring:
    def test_official_normalized_example(self):
        measurements, rejections = parse_entities(OFFICIAL_FLOOD_NORMALIZED)
        assert rejections == []
        found = by_quantity(measurements)
        assert set(found) == {"water_level_cm", "alert_level"}
        assert found["water_level_cm"].value == pytest.approx(198.0)
        assert found["alert_level"].value == pytest.approx(1100.0)  # the threshold, in cm
        assert {m.ts for m in measurements} == {epoch("2020-09-16T08:00:00+00:00")}
        assert {m.sensor_id for m in measurements} == {"Pune-NoiseLevelObserved"}

    def test_official_keyvalues_example(self):
        measurements, rejections = parse_entities(OFFICIAL_FLOOD_KEYVALUES)
        assert rejections == []
        assert values(measurements) == pytest.approx(
            {"water_level_cm": 98.0, "alert_level": 1000.0}
        )

    @pytest.mark.parametrize("alert", ["Siaga 2", prop("Waspada")])
    def test_text_alert_level_is_skipped_not_rejected(self, alert):
        entity = with_zone(OFFICIAL_FLOOD_KEYVALUES, alertLevel=alert)
        measurements, rejections = parse_entities(entity)
        assert rejections == []
        assert values(measurements) == pytest.approx({"water_level_cm": 98.0})

    def test_level_in_centimetres(self):
        entity = with_zone(
            OFFICIAL_FLOOD_NORMALIZED,
            currentLevel=prop(245, unitCode="CMT"),
            alertLevel=prop(300, unitCode="CMT"),
        )
        assert values(parse_entities(entity)[0]) == {"water_level_cm": 245.0, "alert_level": 300.0}

    def test_level_below_the_datum_is_allowed(self):
        # currentLevel = referenceLevel - measuredDistance has no schema minimum.
        entity = with_zone(OFFICIAL_FLOOD_KEYVALUES, currentLevel=-0.05)
        assert values(parse_entities(entity)[0])["water_level_cm"] == pytest.approx(-5.0)


# === Values ======================================================================================


@pytest.mark.parametrize(
    ("bad", "reason_part"),
    [
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (float("-inf"), "Infinity"),
        ("35.2", "is text"),
        ("high", "is text"),
        (True, "true is not a number"),
        (False, "false is not a number"),
        (None, "null is not a number"),
        ({"value": {"value": 35, "unitCode": "GQ"}}, "an object is not a number"),
        ([35.0, 36.0], "several instances"),
        ({"type": "Relationship", "object": "urn:ngsi-ld:Device:x"}, "Relationship"),
        ({"type": "Property"}, "expected a number"),
        (10**400, "too large"),
    ],
)
def test_unusable_values_reject_only_their_attribute(bad, reason_part):
    entity = aq_entity(pm25=bad, pm10=prop(44.0), no2=33)
    measurements, rejections = parse_entities(entity)
    assert values(measurements) == {"pm10": 44.0, "no2": 33.0}
    assert len(rejections) == 1
    assert (rejections[0].index, rejections[0].field) == (0, "pm25")
    assert reason_part in rejections[0].reason


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), True, "12"])
def test_unusable_values_in_normalized_form(bad):
    measurements, rejections = parse_entities(aq_entity(pm25=prop(bad), pm10=prop(44.0)))
    assert values(measurements) == {"pm10": 44.0}
    assert fields(rejections) == ["pm25"]


def test_nan_straight_from_json():
    # Python's json module decodes NaN, Infinity and 1e999 unless told otherwise.
    payload = json.loads(
        '{"id": "urn:ngsi-ld:AirQualityObserved:aq-1", "type": "AirQualityObserved",'
        ' "dateObserved": "2025-03-01T01:00:00Z", "pm25": NaN, "pm10": 1e999, "no2": Infinity,'
        ' "so2": 4}'
    )
    measurements, rejections = parse_entities(payload)
    assert values(measurements) == {"so2": 4.0}
    assert sorted(fields(rejections)) == ["no2", "pm10", "pm25"]


def test_unknown_attributes_are_ignored_silently():
    entity = aq_entity(
        pm25=12,
        noiseLevel=prop("loud"),
        batteryLevel=prop(float("nan")),
        refDevice={"type": "Relationship", "object": "urn:ngsi-ld:Device:x"},
        temperature=prop(True),
    )
    measurements, rejections = parse_entities(entity)
    assert rejections == []
    assert values(measurements) == {"pm25": 12.0}


def test_context_and_location_are_ignored():
    entity = aq_entity(pm25=12)
    entity["@context"] = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
    entity["location"] = {"type": "GeoProperty", "value": "not even geojson"}
    measurements, rejections = parse_entities(entity)
    assert rejections == []
    assert values(measurements) == {"pm25": 12.0}


def test_known_type_without_any_readable_attribute_is_reported():
    measurements, rejections = parse_entities(aq_entity(temperature=prop(30.1)))
    assert measurements == []
    assert fields(rejections) == ["type"]
    assert "pm25" in rejections[0].reason


# === Time ========================================================================================


def test_attribute_observed_at_wins_over_date_observed():
    entity = aq_entity(
        pm25=prop(20.0, observedAt="2025-03-01T00:55:00Z"),
        pm10=prop(30.0),
    )
    found = by_quantity(parse_entities(entity)[0])
    assert found["pm25"].ts == epoch("2025-03-01T00:55:00+00:00")
    assert found["pm10"].ts == T_AQ


def test_observed_at_alone_is_enough():
    entity = aq_entity(pm25=prop(20.0, observedAt="2025-03-01T07:55:00+07:00"))
    del entity["dateObserved"]
    measurements, rejections = parse_entities(entity)
    assert rejections == []
    assert measurements == [
        Measurement("aq-cambai", epoch("2025-03-01T00:55:00+00:00"), "pm25", 20.0)
    ]


def test_naive_observed_at_rejects_that_attribute_only():
    entity = aq_entity(pm25=prop(20.0, observedAt="2025-03-01T08:00:00"), pm10=prop(30.0))
    measurements, rejections = parse_entities(entity)
    assert values(measurements) == {"pm10": 30.0}
    assert fields(rejections) == ["pm25"]
    assert "observedAt" in rejections[0].reason and "no timezone" in rejections[0].reason


def test_broken_observed_at_does_not_fall_back_to_the_entity_time():
    entity = aq_entity(pm25=prop(20.0, observedAt="kemarin"))
    measurements, rejections = parse_entities(entity)
    assert measurements == []
    assert fields(rejections) == ["pm25"]
    assert "not an ISO 8601" in rejections[0].reason


def test_missing_time_rejects_the_affected_measurements_in_one_rejection():
    entity = aq_entity(pm25=prop(20.0), pm10=prop(30.0, observedAt="2025-03-01T01:00:00Z"))
    del entity["dateObserved"]
    measurements, rejections = parse_entities(entity)
    assert values(measurements) == {"pm10": 30.0}
    assert fields(rejections) == ["dateObserved"]
    assert "no observation time" in rejections[0].reason
    assert "pm25" in rejections[0].reason and "pm10" not in rejections[0].reason


@pytest.mark.parametrize(
    ("date_observed", "reason_part"),
    [
        ("2025-03-01T08:00:00", "no timezone"),
        ("2025-03-01", "no timezone"),
        ("yesterday", "not an ISO 8601"),
        ("2025-02-30T08:00:00Z", "not an ISO 8601"),
        ("", "not an ISO 8601"),
        (1740790800, "ISO 8601 date-time string"),  # epoch seconds are not ISO 8601
        (None, "ISO 8601 date-time string"),
        ({"@type": "DateTime"}, "ISO 8601 date-time string"),
        ("1970-01-01T00:00:00Z", "2000..2099"),
        ("2125-03-01T08:00:00Z", "2000..2099"),
        ("2025-03-01T09:00:00Z/2025-03-01T08:00:00Z", "ends before it starts"),
        ("2025-03-01T08:00:00Z/PT1H", "not an ISO 8601"),
        ("2025-03-01T08:00:00Z/2025-03-01T09:00:00", "no timezone"),
        ("2025-03-01T08:00:00Z" * 10, "too long"),
    ],
)
def test_unusable_date_observed(date_observed, reason_part):
    measurements, rejections = parse_entities(aq_entity(dateObserved=date_observed, pm25=12))
    assert measurements == []
    assert fields(rejections) == ["dateObserved"]
    assert reason_part in rejections[0].reason
    assert "pm25" in rejections[0].reason


@pytest.mark.parametrize(
    "date_observed",
    [
        "2025-03-01T01:00:00Z",
        "2025-03-01T08:00:00+07:00",
        "2025-03-01T09:00:00+08:00",  # WITA
        "2025-03-01T01:00:00.000+00:00",
        {"@type": "DateTime", "@value": "2025-03-01T01:00:00Z"},
        prop("2025-03-01T01:00:00Z"),
        prop({"@type": "DateTime", "@value": "2025-03-01T10:00:00+09:00"}),  # WIT
        "2025-03-01T00:00:00Z/2025-03-01T01:00:00Z",
    ],
)
def test_accepted_time_forms(date_observed):
    measurements, rejections = parse_entities(aq_entity(dateObserved=date_observed, pm25=12))
    assert rejections == []
    assert [m.ts for m in measurements] == [T_AQ]


# === Ids, types and the body =====================================================================


@pytest.mark.parametrize(
    ("entity_id", "sensor_id"),
    [
        ("urn:ngsi-ld:AirQualityObserved:aq-cambai", "aq-cambai"),
        ("urn:ngsi-ld:AirQualityObserved:PLG.aq_01", "PLG.aq_01"),
        ("aq-cambai", "aq-cambai"),
        ("urn:ngsi-ld:AirQualityObserved:" + "a" * 64, "a" * 64),
    ],
)
def test_sensor_id_is_the_last_id_segment(entity_id, sensor_id):
    measurements, _ = parse_entities(aq_entity(id=entity_id, pm25=12))
    assert [m.sensor_id for m in measurements] == [sensor_id]


@pytest.mark.parametrize(
    "entity_id",
    [
        "urn:ngsi-ld:AirQualityObserved:",
        "urn:ngsi-ld:AirQualityObserved:aq cambai",
        "urn:ngsi-ld:AirQualityObserved:aq/cambai",
        "urn:ngsi-ld:AirQualityObserved:stasiun-ü",
        "urn:ngsi-ld:AirQualityObserved:" + "a" * 65,
        "",
        42,
        None,
        ["urn:ngsi-ld:AirQualityObserved:aq-1"],
    ],
)
def test_unusable_id_rejects_the_entity(entity_id):
    entity = aq_entity(id=entity_id, pm25=12)
    measurements, rejections = parse_entities(entity)
    assert measurements == []
    assert fields(rejections) == ["id"]


def test_missing_id_rejects_the_entity():
    entity = aq_entity(pm25=12)
    del entity["id"]
    assert fields(parse_entities(entity)[1]) == ["id"]


@pytest.mark.parametrize(
    "entity_type",
    [
        "WeatherObserved",
        "NoiseLevelObserved",
        "airqualityobserved",
        "https://smartdatamodels.org/dataModel.Environment/AirQualityObserved",
        ["AirQualityObserved"],
        None,
    ],
)
def test_unknown_or_malformed_type_rejects_the_entity(entity_type):
    measurements, rejections = parse_entities(aq_entity(type=entity_type, pm25=12))
    assert measurements == []
    assert fields(rejections) == ["type"]


def test_unknown_type_reason_lists_the_accepted_types():
    _, rejections = parse_entities(aq_entity(type="WeatherObserved", pm25=12))
    assert "'WeatherObserved'" in rejections[0].reason
    assert (
        "AirQualityObserved" in rejections[0].reason and "FloodMonitoring" in rejections[0].reason
    )


@pytest.mark.parametrize("payload", ["pm25=12", 12, 1.5, None, True])
def test_payload_that_is_neither_object_nor_array(payload):
    measurements, rejections = parse_entities(payload)
    assert measurements == []
    assert len(rejections) == 1
    assert (rejections[0].index, rejections[0].field) == (0, "body")
    assert "object" in rejections[0].reason and "array" in rejections[0].reason


def test_empty_batch_is_nothing_to_do():
    assert parse_entities([]) == ([], [])


def test_entity_that_is_not_an_object():
    _, rejections = parse_entities([OFFICIAL_FLOOD_KEYVALUES, 7])
    assert rejections == [Rejection(1, "body", "entity 1 is a number, expected a JSON object")]


def test_batch_keeps_indexes_and_good_entities():
    batch = [
        OFFICIAL_WATER_KEYVALUES,
        "not an entity",
        aq_entity(type="WeatherObserved"),
        aq_entity(pm25=12, pm10="n/a"),
        OFFICIAL_FLOOD_KEYVALUES,
        None,
    ]
    measurements, rejections = parse_entities(batch)
    assert [(r.index, r.field) for r in rejections] == [
        (1, "body"),
        (2, "type"),
        (3, "pm10"),
        (5, "body"),
    ]
    assert [(m.sensor_id, m.quantity) for m in measurements] == [
        ("MNCA-001", "water_level_cm"),
        ("aq-cambai", "pm25"),
        ("Pune-NoiseLevelObserved", "water_level_cm"),
        ("Pune-NoiseLevelObserved", "alert_level"),
    ]


def test_mixed_normalized_and_keyvalues_batch():
    batch = [OFFICIAL_TRAFFIC_NORMALIZED, OFFICIAL_TRAFFIC_KEYVALUES]
    measurements, rejections = parse_entities(batch)
    assert rejections == []
    assert len(measurements) == 6


def test_at_most_1000_entities():
    entity = aq_entity(pm25=12)
    measurements, rejections = parse_entities([entity] * MAX_ENTITIES)
    assert rejections == []
    assert len(measurements) == MAX_ENTITIES

    measurements, rejections = parse_entities([entity] * (MAX_ENTITIES + 1))
    assert measurements == []
    assert len(rejections) == 1
    assert (rejections[0].index, rejections[0].field) == (0, "body")
    assert "1001" in rejections[0].reason and "1000" in rejections[0].reason


def test_input_is_not_modified():
    entity = copy.deepcopy(OFFICIAL_PARKING_NORMALIZED)
    parse_entities([entity])
    assert entity == OFFICIAL_PARKING_NORMALIZED


def test_reasons_are_short_and_do_not_echo_huge_values():
    huge = "x" * 100_000
    batch = [
        aq_entity(pm25=huge),
        aq_entity(id="urn:a:" + huge, pm25=12),
        aq_entity(type=huge),
        aq_entity(dateObserved=huge, pm25=12),
        aq_entity(pm25=prop(1, unitCode=huge)),
    ]
    _, rejections = parse_entities(batch)
    assert len(rejections) == len(batch)
    assert all(len(r.reason) < 250 for r in rejections)


def test_results_are_frozen_values():
    measurements, _ = parse_entities(aq_entity(pm25=12))
    with pytest.raises(dataclasses.FrozenInstanceError):
        measurements[0].value = 13.0  # type: ignore[misc]
    assert all(isinstance(m.value, float) and math.isfinite(m.value) for m in measurements)
    assert all(isinstance(m.ts, float) for m in measurements)
