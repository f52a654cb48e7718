"""schemathesis against the push API's OpenAPI description (GET /api/v1/openapi.json) and the
real app in-process (ASGI, real Redis, SQLite), with a real API key.

For every generated request (valid and invalid bodies, every operation) the answer must be one
the description lists, with a body that matches its schema (schemathesis' checks), never a 5xx
(the documented 503 needs a database that is down: the last test breaks one for real), and it
must agree with SQL: what was answered "accepted" is in the readings table, nothing else was
added, and every refusal is one dead letter.

Two of schemathesis' checks do not fit a batch API and are left out: `positive_data_acceptance`
(a well-formed batch whose every record names an unknown sensor is answered 422 by design) and
`negative_data_rejection` (a batch with one malformed record keeps its good records and answers
200). The consistency check below judges both cases record by record instead.

The served description is general (it names no sensor of the city: it is public). For the run,
sensor ids and times are narrowed to this city's sensors and the last 30 days, so that some
readings are accepted and the consistency check has something to check."""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import event, given, note
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance
from sqlalchemy import Engine, func, select

from app import create_app
from data.api_keys import create_key
from data.city import City
from data.db.engine import make_engine
from data.history import dead_letters, readings
from data.quantities import stored_quantity
from runner import prepare_database
from server.openapi import OPENAPI_PATH
from settings import load_settings
from tests.fuzz.strategies import (
    Bad,
    as_json_bytes,
    bad_readings,
    deep_json_text,
    good_readings,
    json_values,
    storable,
)

NOT_FOR_BATCHES = [negative_data_rejection, positive_data_acceptance]


@dataclass
class Api:
    server: object
    engine: Engine
    city: City
    auth: dict[str, str]

    def reading_keys(self) -> set[tuple[str, str, int]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(readings.c.sensor_id, readings.c.quantity, readings.c.ts_ms)
            ).all()
        return {tuple(r) for r in rows}

    def letters(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(dead_letters)).scalar_one()


@pytest.fixture(scope="module")
def api(redis_server, tmp_path_factory, city) -> Api:
    settings = load_settings(redis_url=redis_server.url, data_dir=tmp_path_factory.mktemp("api"))
    engine = make_engine(settings.effective_database_url)
    prepare_database(engine, city)
    app = create_app(settings, city)
    key = create_key(engine, "schemathesis", "all", [])
    yield Api(app.server, engine, city, {"Authorization": f"Bearer {key}"})
    # schemathesis keeps an app's lifespan running until the process exits; end it with the
    # module, while the session's Redis still runs.
    shutdown_lifespans()
    engine.dispose()


def narrowed(document: dict, city: City) -> dict:
    """The served description, with sensor ids and times narrowed to this city and the last
    30 days (see the module docstring)."""
    document = copy.deepcopy(document)
    schemas = document["components"]["schemas"]
    sensors = sorted(s.id for s in city.config.sensors)
    now = int(time.time())
    reading = schemas["Reading"]["properties"]
    reading["sensor_id"] = {"type": "string", "enum": sensors}
    reading["ts"]["oneOf"][0].update(minimum=now - 30 * 86_400, maximum=now - 1)
    entity = schemas["Entity"]["properties"]
    types = schemas["Entity"]["properties"]["type"]["enum"]
    entity["id"] = {
        "type": "string",
        "enum": [f"urn:ngsi-ld:{t}:{s}" for t in types for s in sensors],
    }
    recent = datetime.fromtimestamp(now - 3600, UTC)
    entity["dateObserved"] = {
        "type": "string",
        "enum": [(recent - timedelta(minutes=m)).isoformat() for m in range(0, 600, 7)],
    }
    for name in ("pm25", "pm10", "height", "intensity", "availableSpotNumber", "totalSpotNumber"):
        entity[name] = {"type": "number", "minimum": 0, "maximum": 10_000}
    return document


@pytest.fixture(scope="module")
def api_schema(api: Api):
    served = schemathesis.openapi.from_asgi(OPENAPI_PATH, api.server)
    schema = schemathesis.openapi.from_dict(narrowed(served.raw_schema, api.city))
    schema.app = api.server
    return schema


# schemathesis' strategies under hypothesis' own @given: its pytest loader for schemas built in
# a fixture (schemathesis.pytest.from_fixture) fails on pytest 9 ("'Function' object has no
# attribute '_nodeid'"), and the app needs fixtures (Redis, SQL).
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/readings",
        "/ngsi-ld/v1/entityOperations/upsert",
        "/ngsi-ld/v1/entities",
        "/api/v1/ngsi-ld/notify",
    ],
)
@given(data=st.data())
def test_the_api_answers_as_its_description_says_and_sql_agrees(api, api_schema, path, mode, data):
    case = data.draw(api_schema[path]["POST"].as_strategy(mode, headers=api.auth))
    before_keys, before_letters = api.reading_keys(), api.letters()
    response = case.call(headers=api.auth)
    note(f"{response.status_code} {response.text[:500]}")
    event(f"{response.status_code}")
    case.validate_response(response, headers=api.auth, excluded_checks=NOT_FOR_BATCHES)
    check_sql_agrees(case, response, api, before_keys, before_letters)


def check_sql_agrees(case, response, api: Api, before_keys, before_letters) -> None:
    added = api.reading_keys() - before_keys
    letters = api.letters() - before_letters
    if response.status_code not in (200, 422):
        assert not added and not letters, (response.status_code, "stored a refused request")
        return
    answer = response.json()
    results = answer["results"]
    assert answer["accepted"] + answer["rejected"] == len(results)
    assert answer["accepted"] == sum(r["status"] == "accepted" for r in results)
    assert (response.status_code == 422) == (answer["accepted"] == 0 and len(results) > 0)
    assert letters == answer["rejected"], "every refusal is one dead letter"
    stored = api.reading_keys()
    if case.path == "/api/v1/readings":
        body = case.body
        records = body.get("readings") if isinstance(body, dict) else body
        assert [r["index"] for r in results] == list(range(len(records)))
        accepted = {
            key_of(records[r["index"]], api.city) for r in results if r["status"] == "accepted"
        }
        assert accepted <= stored, "answered accepted but not in SQL"
        assert added <= accepted, "a refused record reached SQL"
    else:
        accepted = {
            (r["sensor_id"], r["quantity"])
            for r in results
            if "quantity" in r and r["status"] == "accepted"
        }
        found = {(sensor, quantity) for sensor, quantity, _ in stored}
        assert {(s, q if q != primary(s, api.city) else "") for s, q in accepted} <= found
        assert len(added) <= answer["accepted"]


def primary(sensor_id: str, city: City) -> str:
    sensor = city.sensor(sensor_id)
    from data.quantities import PRIMARY_QUANTITY

    return PRIMARY_QUANTITY[sensor.kind] if sensor else ""


def key_of(record: dict, city: City) -> tuple[str, str, int]:
    """The readings table's key of an accepted record, computed from what was sent."""
    ts = record["ts"]
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    kind = city.sensor(record["sensor_id"]).kind  # type: ignore[union-attr]
    return (record["sensor_id"], stored_quantity(kind, record.get("quantity", "")), int(ts * 1000))


def test_a_database_that_is_down_gets_the_documented_503(api: Api, tmp_path):
    """The one 5xx the description lists: with the readings table gone (a database that takes
    no writes), a valid batch is answered 503 with Retry-After, as described, and nothing of
    it is kept."""
    served = schemathesis.openapi.from_asgi(OPENAPI_PATH, api.server)
    operation = served["/api/v1/readings"]["POST"]
    body = [{"sensor_id": "aq-cambai", "ts": time.time() - 60, "value": 12.5}]
    with api.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE readings RENAME TO readings_away")
    try:
        case = operation.Case(body=body, media_type="application/json")
        response = case.call(headers=api.auth)
        # Every check but "no 5xx": this 503 is the documented one.
        case.validate_response(
            response, headers=api.auth, excluded_checks=[*NOT_FOR_BATCHES, not_a_server_error]
        )
    finally:
        with api.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE readings_away RENAME TO readings")
    assert response.status_code == 503
    assert response.headers["retry-after"] == ["30"] and response.json()["retry_after_s"] == 30
    assert not any(
        k[0] == "aq-cambai" and k[2] == int(body[0]["ts"] * 1000) for k in api.reading_keys()
    )


def test_the_description_is_served_without_a_key_and_is_json(api: Api):
    served = schemathesis.openapi.from_asgi(OPENAPI_PATH, api.server)
    document = served.raw_schema
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/api/v1/readings",
        "/ngsi-ld/v1/entityOperations/upsert",
        "/ngsi-ld/v1/entities",
        "/api/v1/ngsi-ld/notify",
        OPENAPI_PATH,
    }
    assert json.dumps(document)  # plain JSON, nothing the city would not publish
    assert "aq-cambai" not in json.dumps(document)


# -- what no description generates: raw bodies -------------------------------------------------
PATHS = ["/api/v1/readings", "/ngsi-ld/v1/entityOperations/upsert", "/api/v1/ngsi-ld/notify"]


def post_raw(api: Api, path: str, body, content_type: str | None = "application/json"):
    client = plain_client(api)
    headers = dict(api.auth)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return client.post(path, content=body, headers=headers)


def plain_client(api: Api) -> TestClient:
    """A plain TestClient on the same app, for bodies no description generates. Not entered as
    a context manager: the push routes need no lifespan, and schemathesis runs the app's."""
    return TestClient(api.server)


@given(
    path=st.sampled_from(PATHS),
    body=st.one_of(
        st.binary(max_size=300),
        json_values.map(as_json_bytes),  # NaN and ±Infinity tokens, \ud800 escapes, huge ints
        st.integers(1, 3000).map(lambda n: deep_json_text(n).encode()),
        st.sampled_from([b"NaN", b"[NaN]", b'{"readings": Infinity}', b"\xef\xbb\xbf[]", b""]),
    ),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/ld+json; charset=utf-8",
            "text/plain",
            None,
            "application/x-www-form-urlencoded",
            "APPLICATION/JSON",
        ]
    ),
)
def test_any_body_gets_a_described_answer_and_nothing_half_kept(api, path, body, content_type):
    before_keys, before_letters = api.reading_keys(), api.letters()
    answer = post_raw(api, path, body, content_type)
    note(f"{answer.status_code} {answer.text[:300]}")
    assert answer.status_code in (200, 400, 413, 415, 422), answer.status_code
    payload = answer.json()
    if answer.status_code in (200, 422):
        assert set(payload) == {"accepted", "rejected", "results"}
        assert api.letters() - before_letters == payload["rejected"]
    else:
        assert set(payload) == {"error"} and payload["error"]
        assert api.reading_keys() == before_keys and api.letters() == before_letters


@given(data=st.data())
def test_a_mixed_batch_over_http_keeps_every_good_reading(api, data):
    goods = data.draw(
        st.lists(
            good_readings(api.city),
            max_size=10,
            unique_by=lambda g: (g.sensor_id, g.quantity, g.ts),
        )
    )
    bads = data.draw(st.lists(bad_readings(api.city), max_size=10))
    items = data.draw(st.permutations([*goods, *bads]))
    answer = post_raw(api, "/api/v1/readings", as_json_bytes([i.record for i in items]))
    assert answer.status_code == (200 if goods or not items else 422), answer.text[:300]
    results = answer.json()["results"]
    stored = api.reading_keys()
    for item, result in zip(items, results, strict=True):
        if isinstance(item, Bad):
            assert result["status"] == "rejected" and result["reason"], (item, result)
            # As the server decodes it: JSON joins an escaped surrogate pair into one character.
            sent = json.loads(json.dumps(item.field))
            assert result["field"] == (sent if storable(sent) else repr(sent))
        else:
            assert result["status"] == "accepted", (item, result)
            assert (item.sensor_id, item.quantity, int(item.ts) * 1000) in stored


@pytest.mark.parametrize("depth", [500, 900, 950, 970, 980, 990, 995, 1000, 1100, 100_000])
def test_deep_json_is_answered_not_a_500(api, depth):
    """Just under json's nesting limit and beyond it: a refused record (kept as a dead letter
    even when too deep to write back, see test_mqtt_payloads.py) or a 400, never a 500."""
    answer = post_raw(api, "/api/v1/readings", ("[" + deep_json_text(depth) + "]").encode())
    assert answer.status_code in (400, 422), answer.status_code
    if answer.status_code == 422:
        assert answer.json()["results"][0]["field"] == "record"


@pytest.mark.parametrize("streamed", [False, True])
def test_an_oversized_body_is_413_with_or_without_its_length(api, streamed):
    body = b"[" + b'{"sensor_id":"aq-cambai","ts":1,"value":1},' * 30_000 + b"{}]"
    content = (
        iter([body[i : i + 65_536] for i in range(0, len(body), 65_536)]) if streamed else body
    )
    answer = post_raw(api, "/api/v1/readings", content)
    assert answer.status_code == 413 and "smaller batches" in answer.json()["error"]


def test_unknown_api_paths_and_methods_answer_json_not_the_page(api):
    """Regression (issue 7): Dash's catch-all page route answered GET /api/v1/<anything> (and
    GET on the push routes) with the page shell, 200 text/html, to anyone."""
    client = plain_client(api)
    assert client.get("/api/v1/readings").status_code == 405
    assert client.get("/api/v1/readings").headers["allow"] == "POST"
    assert client.get("/ngsi-ld/v1/entities").status_code == 405
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and OPENAPI_PATH in missing.json()["error"]
