"""The OpenAPI 3 description of the HTTP push API (server/ingest_api.py), served at
`/api/v1/openapi.json` (issue 7).

Written by hand rather than generated: the endpoints read their bodies themselves (a batch is
judged record by record, never refused whole for one bad record), so no pydantic model says
what they accept. The limits come from the code that enforces them, and
tests/fuzz/test_api_schemathesis.py runs schemathesis against this document and the real app
(every answer must match it). The city's sensor ids are not listed: the document is public,
like the API's paths.
"""

from __future__ import annotations

from typing import Any

from data.pipeline import MAX_FUTURE_S, OLDEST_TS
from data.quantities import QUANTITIES
from data.sources.ngsi import FIELDS, MAX_ENTITIES

OPENAPI_PATH = "/api/v1/openapi.json"
JSON = "application/json"
LD_JSON = "application/ld+json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ref("Error")}}}


def _batch(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ref(schema)}}}


def _answers(batch_schema: str) -> dict[str, Any]:
    """What every push endpoint may answer, in the order the endpoint decides."""
    return {
        "200": _batch(
            "At least one record accepted (or none sent). Each record has its own result, in "
            "the order sent; accepted records are in SQL before this answer.",
            batch_schema,
        ),
        "400": _error("The body is not valid JSON, or not of the expected shape."),
        "401": _error("No API key, or one that is unknown or revoked."),
        "413": _error("The body is over 1 MiB, or holds more than 10,000 records."),
        "415": _error("Not JSON: send Content-Type application/json or application/ld+json."),
        "422": _batch("Every record refused; each result says which field and why.", batch_schema),
        "503": {
            "description": "The database is unreachable: nothing of the request was kept. "
            "Send it again after the time given.",
            "headers": {
                "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
            },
            "content": {JSON: {"schema": _ref("Unavailable")}},
        },
    }


def _body(schema: dict[str, Any], media_types: tuple[str, ...]) -> dict[str, Any]:
    return {"required": True, "content": {m: {"schema": schema} for m in media_types}}


def openapi_document(max_body_bytes: int, max_records: int) -> dict[str, Any]:
    quantities = sorted(set().union(*QUANTITIES.values()))
    readings = {"type": "array", "items": _ref("Reading"), "maxItems": max_records}
    entities = {"type": "array", "items": _ref("Entity"), "maxItems": MAX_ENTITIES}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Komando push API",
            "version": "1",
            "description": (
                "Devices and city systems post readings, in Komando's JSON or as FIWARE NGSI-LD "
                "entities. A batch is judged record by record: good records are kept even when "
                "others in the same batch are refused, and every refusal is answered with the "
                "field at fault and the reason (and kept as a dead letter). Re-sending a reading "
                "(same sensor, quantity and time) changes nothing. A key allowed some sensors "
                "only is refused per record (field sensor_id), not with 403. "
                f"Bodies of at most {max_body_bytes} bytes."
            ),
        },
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": {
            "/api/v1/readings": {
                "post": {
                    "operationId": "postReadings",
                    "summary": "Post readings in Komando's JSON",
                    "requestBody": _body(
                        {
                            "oneOf": [
                                readings,
                                {
                                    "type": "object",
                                    "required": ["readings"],
                                    "properties": {"readings": readings},
                                },
                            ]
                        },
                        (JSON,),
                    ),
                    "responses": _answers("ReadingsAnswer"),
                }
            },
            "/ngsi-ld/v1/entityOperations/upsert": {
                "post": {
                    "operationId": "upsertEntities",
                    "summary": "NGSI-LD batch upsert: entities, as a device or broker sends them",
                    "requestBody": _body({"oneOf": [entities, _ref("Entity")]}, (LD_JSON, JSON)),
                    "responses": _answers("EntitiesAnswer"),
                }
            },
            "/ngsi-ld/v1/entities": {
                "post": {
                    "operationId": "createEntity",
                    "summary": "NGSI-LD create entity (a list is taken too)",
                    "requestBody": _body({"oneOf": [_ref("Entity"), entities]}, (LD_JSON, JSON)),
                    "responses": _answers("EntitiesAnswer"),
                }
            },
            "/api/v1/ngsi-ld/notify": {
                "post": {
                    "operationId": "notify",
                    "summary": "A context broker's notification (its `data` is a list of entities)",
                    "requestBody": _body(_ref("Notification"), (JSON, LD_JSON)),
                    "responses": _answers("EntitiesAnswer"),
                }
            },
            OPENAPI_PATH: {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3 document",
                            "content": {JSON: {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key, kmd_<prefix>_<secret> (python -m data keys "
                    "create). Cookies are ignored.",
                },
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
            "schemas": {
                "Reading": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["sensor_id", "ts", "value"],
                    "properties": {
                        "sensor_id": {
                            "type": "string",
                            "pattern": "^[A-Za-z0-9_.:-]{1,64}$",
                            "description": "A sensor of the city (the key may be limited to some)",
                        },
                        "ts": {
                            "description": "When it was measured: epoch seconds, or ISO 8601 with "
                            f"a zone; from 2000 to at most {MAX_FUTURE_S} s ahead of the server",
                            "oneOf": [
                                {
                                    "type": "number",
                                    "minimum": OLDEST_TS,
                                    "maximum": 4_102_444_800,
                                },
                                {"type": "string", "format": "date-time"},
                            ],
                        },
                        "value": {"type": "number", "description": "A finite number"},
                        "quantity": {
                            "type": "string",
                            "enum": ["", *quantities],
                            "description": "Empty or absent: the sensor's own quantity; else one "
                            "its kind measures",
                        },
                    },
                },
                "Entity": {
                    "type": "object",
                    "required": ["id", "type"],
                    "description": "A FIWARE Smart Data Models entity, normalized or key-values; "
                    "the id's last ':' part is the sensor id. Attributes Komando does not read "
                    "are ignored. data/sources/ngsi.py documents each attribute and unit.",
                    "properties": {
                        "id": {"type": "string", "example": "urn:ngsi-ld:WaterObserved:wl-01"},
                        "type": {"type": "string", "enum": sorted(FIELDS)},
                    },
                    "additionalProperties": True,
                },
                "Notification": {
                    "type": "object",
                    "required": ["data"],
                    "properties": {"type": {"type": "string"}, "data": entities},
                    "additionalProperties": True,
                },
                "Accepted": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["index", "status"],
                    "properties": {
                        "index": {"type": "integer", "minimum": 0},
                        "status": {"type": "string", "enum": ["accepted"]},
                    },
                },
                "Refused": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["index", "status", "field", "reason"],
                    "properties": {
                        "index": {"type": "integer", "minimum": 0},
                        "status": {"type": "string", "enum": ["rejected"]},
                        "field": {"type": "string", "description": "The field at fault"},
                        "reason": {"type": "string", "minLength": 1},
                    },
                },
                "ReadingsAnswer": _answer_schema({"oneOf": [_ref("Accepted"), _ref("Refused")]}),
                "MeasurementResult": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["sensor_id", "quantity", "status"],
                    "description": "One value read from an entity, and what became of it",
                    "properties": {
                        "sensor_id": {"type": "string"},
                        "quantity": {"type": "string", "enum": quantities},
                        "status": {"type": "string", "enum": ["accepted", "rejected"]},
                        "field": {"type": "string"},
                        "reason": {"type": "string", "minLength": 1},
                    },
                },
                "EntityRefused": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["entity", "status", "field", "reason"],
                    "description": "An entity (or one of its attributes) that could not be read",
                    "properties": {
                        "entity": {"type": "integer", "minimum": 0},
                        "status": {"type": "string", "enum": ["rejected"]},
                        "field": {"type": "string"},
                        "reason": {"type": "string", "minLength": 1},
                    },
                },
                "EntitiesAnswer": _answer_schema(
                    {"oneOf": [_ref("MeasurementResult"), _ref("EntityRefused")]}
                ),
                "Error": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["error"],
                    "properties": {"error": {"type": "string", "minLength": 1}},
                },
                "Unavailable": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["error", "retry_after_s"],
                    "properties": {
                        "error": {"type": "string", "minLength": 1},
                        "retry_after_s": {"type": "integer", "minimum": 1},
                    },
                },
            },
        },
    }


def _answer_schema(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["accepted", "rejected", "results"],
        "properties": {
            "accepted": {"type": "integer", "minimum": 0},
            "rejected": {"type": "integer", "minimum": 0},
            "results": {"type": "array", "items": result},
        },
    }
