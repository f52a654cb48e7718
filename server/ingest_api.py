"""The HTTP push API: devices and city systems post readings, in Komando's JSON or as FIWARE
NGSI-LD entities, and hear back per record what was accepted and why anything was not.

- `POST /api/v1/readings`: `[{"sensor_id", "ts", "value", "quantity"?}, …]` or
  `{"readings": [...]}`;
- `POST /ngsi-ld/v1/entityOperations/upsert` (a list of entities), `POST /ngsi-ld/v1/entities`
  (one entity) and `POST /api/v1/ngsi-ld/notify` (a context broker's notification), so FIWARE
  devices and brokers can post unchanged.
Authenticated by API key (`Authorization: Bearer kmd_…` or `X-API-Key`). Accepted readings are in
SQL before the answer is sent; if SQL is down the answer is 503 with Retry-After, and nothing of
the request was kept, so the sender can simply retry.

The OpenAPI description (server/openapi.py) is at `GET /api/v1/openapi.json`, without a key.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from data.api_keys import KeyScope, verify_key
from data.city import City
from data.history import dead_letter_row
from data.pipeline import HistoryUnavailable, IngestPipeline, RecordResult
from data.sources.ngsi import parse_entities
from server.openapi import OPENAPI_PATH, openapi_document

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20
MAX_RECORDS = 10_000
RETRY_AFTER_S = 30
JSON_TYPES = ("application/json", "application/ld+json", "application/geo+json")
POST_ROUTES = (
    "/api/v1/readings",
    "/ngsi-ld/v1/entityOperations/upsert",
    "/ngsi-ld/v1/entities",
    "/api/v1/ngsi-ld/notify",
)
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _unavailable(message: str) -> JSONResponse:
    """503 with the wait in the body and in Retry-After, the header HTTP clients and device
    firmware honour (RFC 9110 §10.2.3)."""
    answer = _error(503, message, retry_after_s=RETRY_AFTER_S)
    answer.headers["Retry-After"] = str(RETRY_AFTER_S)
    return answer


def _database_down() -> JSONResponse:
    return _unavailable("database unavailable, nothing was stored; retry later")


def _presented_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key", "").strip()


async def _read_json(request: Request) -> tuple[Any, JSONResponse | None]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in JSON_TYPES:
        return None, _error(
            415, "send JSON (Content-Type: application/json or application/ld+json)"
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None, _error(413, f"body larger than {MAX_BODY_BYTES} bytes; send smaller batches")
    body = bytearray()
    async for chunk in request.stream():  # a missing or lying Content-Length must not help
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None, _error(
                413, f"body larger than {MAX_BODY_BYTES} bytes; send smaller batches"
            )
    try:
        return json.loads(body), None
    except (ValueError, RecursionError) as exc:
        return None, _error(400, f"body is not valid JSON: {str(exc)[:120]}")


def _answer(results: list[dict[str, Any]], accepted: int) -> JSONResponse:
    rejected = len(results) - accepted
    status = 200 if accepted or not results else 422
    return JSONResponse(
        {"accepted": accepted, "rejected": rejected, "results": results}, status_code=status
    )


def add_ingest_routes(
    server: FastAPI, pipeline: IngestPipeline, engine: Engine, city: City
) -> None:
    async def authenticate(request: Request) -> KeyScope | JSONResponse:
        presented = _presented_key(request)
        if not presented:
            return _error(401, "missing API key (Authorization: Bearer kmd_…)")
        try:
            scope = await run_in_threadpool(verify_key, engine, presented)
        except SQLAlchemyError:
            return _unavailable("database unavailable, retry later")
        if scope is None:
            return _error(401, "invalid or revoked API key")
        return scope

    async def submit(source: str, scope: KeyScope, records: list[object]) -> list[RecordResult]:
        return (
            await run_in_threadpool(
                pipeline.submit, source, records, True, scope.allowed_sensors(city)
            )
        ).results

    async def authorised_json(request: Request) -> tuple[KeyScope, Any] | JSONResponse:
        """The caller's key scope and the decoded body, or the error response to send."""
        scope = await authenticate(request)
        if isinstance(scope, JSONResponse):
            return scope
        payload, problem = await _read_json(request)
        return problem if problem is not None else (scope, payload)

    async def post_readings(request: Request) -> JSONResponse:
        checked = await authorised_json(request)
        if isinstance(checked, JSONResponse):
            return checked
        scope, payload = checked
        records = payload.get("readings") if isinstance(payload, dict) else payload
        if not isinstance(records, list):
            return _error(400, 'expected a JSON list of readings or {"readings": [...]}')
        if len(records) > MAX_RECORDS:
            return _error(413, f"more than {MAX_RECORDS} readings in one request")
        try:
            results = await submit("http", scope, records)
        except HistoryUnavailable:
            return _database_down()
        return _answer([r.as_dict() for r in results], sum(r.accepted for r in results))

    async def post_entities(request: Request, source: str, unwrap: str | None) -> JSONResponse:
        checked = await authorised_json(request)
        if isinstance(checked, JSONResponse):
            return checked
        scope, payload = checked
        if unwrap is not None:
            payload = payload.get(unwrap) if isinstance(payload, dict) else None
        measurements, rejections = parse_entities(payload)
        records = [
            {"sensor_id": m.sensor_id, "ts": m.ts, "value": m.value, "quantity": m.quantity}
            for m in measurements
        ]
        try:
            if rejections:  # the parser's refusals are dead letters too, with their entity
                letters = [
                    dead_letter_row(source, f"{r.field}: {r.reason}", _entity_at(payload, r.index))
                    for r in rejections
                ]
                await run_in_threadpool(pipeline.accept, source, [], letters, True)
            results = await submit(source, scope, records)
        except HistoryUnavailable:
            return _database_down()
        answers = [
            {
                "sensor_id": m.sensor_id,
                "quantity": m.quantity,
                **{k: v for k, v in r.as_dict().items() if k != "index"},
            }
            for m, r in zip(measurements, results, strict=True)
        ] + [
            {"entity": r.index, "status": "rejected", "field": r.field, "reason": r.reason}
            for r in rejections
        ]
        return _answer(answers, sum(r.accepted for r in results))

    async def upsert(request: Request) -> JSONResponse:
        return await post_entities(request, "ngsi-ld", None)

    async def notify(request: Request) -> JSONResponse:
        return await post_entities(request, "ngsi-ld", "data")

    description = openapi_document(MAX_BODY_BYTES, MAX_RECORDS)

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(description)

    async def elsewhere(request: Request) -> JSONResponse:
        # Without this, Dash's catch-all page route answered any GET under the API's public
        # prefixes with the page shell, 200 text/html (issue 7).
        if request.url.path in POST_ROUTES:
            answer = _error(405, "use POST")
            answer.headers["Allow"] = "POST"
            return answer
        return _error(404, f"no such API path; see {OPENAPI_PATH}")

    routes = dict(zip(POST_ROUTES, (post_readings, upsert, upsert, notify), strict=True))
    for path, endpoint in routes.items():
        server.add_api_route(path, endpoint, methods=["POST"], include_in_schema=False)
    server.add_api_route(OPENAPI_PATH, openapi, methods=["GET"], include_in_schema=False)
    for prefix in ("/api/v1/", "/ngsi-ld/v1/"):
        server.add_api_route(
            prefix + "{rest:path}", elsewhere, methods=ALL_METHODS, include_in_schema=False
        )


def _entity_at(payload: object, index: int) -> object:
    if isinstance(payload, list) and 0 <= index < len(payload):
        return payload[index]
    return payload
