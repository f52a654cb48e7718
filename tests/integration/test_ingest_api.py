"""The HTTP push API against real Redis and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app import create_app
from data.api_keys import create_key, revoke_key
from data.history import count_rows, dead_letters, make_engine, readings
from data.live_store import LiveStore
from runner import prepare_database
from settings import load_settings

NOW = time.time()


@pytest.fixture
def api(redis_url, live_store, database_url, tmp_path, city):
    settings = load_settings(redis_url=redis_url, database_url=database_url, data_dir=tmp_path)
    engine = make_engine(database_url)
    prepare_database(engine, city)
    app = create_app(settings, city)
    store = LiveStore(live_store.client, settings.redis_namespace)
    with TestClient(app.server) as client:
        yield client, engine, store
    engine.dispose()


def post(client, key: str | None, body, path: str = "/api/v1/readings", **headers):
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return client.post(
        path, content=json.dumps(body), headers={"Content-Type": "application/json", **headers}
    )


def test_per_record_answers_and_good_records_go_through(api):
    client, engine, store = api
    key = create_key(engine, "stations", "all", [])
    response = post(
        client,
        key,
        {
            "readings": [
                {"sensor_id": "aq-cambai", "ts": NOW - 5, "value": 33.0},
                {"sensor_id": "aq-cambai", "ts": NOW - 5, "value": "high"},
                {"sensor_id": "ghost", "ts": NOW - 5, "value": 1},
                {"sensor_id": "tf-sudirman", "ts": "2026-11-25T08:00:00+07:00", "value": 1500},
            ]
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 2)
    assert body["results"][1] == {
        "index": 1,
        "status": "rejected",
        "field": "value",
        "reason": "must be a number",
    }
    assert body["results"][2]["field"] == "sensor_id"
    assert count_rows(engine, readings) == 2
    assert count_rows(engine, dead_letters) == 2
    assert store.sensors()[1]["aq-cambai"][0] == 33.0
    assert store.counters() == {"http:accepted": 2, "http:rejected": 2}


def test_resending_is_idempotent(api):
    client, engine, _ = api
    key = create_key(engine, "s", "all", [])
    batch = [{"sensor_id": "aq-cambai", "ts": NOW - 60, "value": 20.0}]
    for _ in range(3):
        assert post(client, key, batch).json()["accepted"] == 1
    assert count_rows(engine, readings) == 1


def test_keys_are_required_scoped_and_revocable(api):
    client, engine, _ = api
    reading = [{"sensor_id": "aq-cambai", "ts": NOW - 5, "value": 20.0}]
    assert post(client, None, reading).status_code == 401
    assert post(client, "kmd_deadbeef_notakey", reading).status_code == 401
    dishub = create_key(engine, "dishub", "opd", ["dishub"])
    refused = post(client, dishub, reading)
    assert refused.status_code == 422
    assert refused.json()["results"][0]["reason"] == "this API key may not write this sensor"
    allowed = post(client, dishub, [{"sensor_id": "pk-pasar-1", "ts": NOW - 5, "value": 50.0}])
    assert allowed.json()["accepted"] == 1
    revoke_key(engine, dishub.split("_")[1])
    assert post(client, dishub, reading).status_code == 401


def test_keys_are_stored_only_as_hashes(api):
    _, engine, _ = api
    key = create_key(engine, "s", "all", [])
    with engine.connect() as conn:
        stored = " ".join(
            str(v) for row in conn.exec_driver_sql("SELECT * FROM api_keys") for v in row
        )
    assert key.split("_", 2)[2] not in stored
    assert "sha256$" in stored


def test_bad_bodies_get_clear_errors(api):
    client, engine, _ = api
    key = create_key(engine, "s", "all", [])
    auth = {"Authorization": f"Bearer {key}"}
    not_json = client.post(
        "/api/v1/readings", content=b"{oops", headers={**auth, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["error"]
    assert (
        client.post(
            "/api/v1/readings", content=b"x", headers={**auth, "Content-Type": "text/plain"}
        ).status_code
        == 415
    )
    huge = b"[" + b'{"sensor_id":"aq-cambai","ts":1,"value":1},' * 30_000 + b"{}]"
    too_big = client.post(
        "/api/v1/readings", content=huge, headers={**auth, "Content-Type": "application/json"}
    )
    assert too_big.status_code == 413
    assert post(client, key, {"readings": "nope"}).status_code == 400
    deep = "[" * 100_000 + "]" * 100_000
    assert (
        client.post(
            "/api/v1/readings",
            content=deep.encode()[:1_000_000],
            headers={**auth, "Content-Type": "application/json"},
        ).status_code
        == 400
    )
    assert count_rows(engine, readings) == 0


def test_fiware_ngsi_ld_entities_post_unchanged(api):
    client, engine, store = api
    key = create_key(engine, "broker", "all", [])
    entity = {
        "id": "urn:ngsi-ld:AirQualityObserved:aq-majasari",
        "type": "AirQualityObserved",
        "@context": ["https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"],
        "dateObserved": {
            "type": "Property",
            "value": {"@type": "DateTime", "@value": "2026-11-25T01:00:00Z"},
        },
        "pm25": {"type": "Property", "value": 41.0, "unitCode": "GQ"},
        "pm10": {"type": "Property", "value": 63.0, "unitCode": "GQ"},
    }
    parking = {
        "id": "urn:ngsi-ld:OffStreetParking:pk-pasar-1",
        "type": "OffStreetParking",
        "availableSpotNumber": 45,
        "totalSpotNumber": 180,
        "dateObserved": "2026-11-25T01:00:00Z",
    }
    response = post(
        client,
        key,
        [entity, parking],
        "/ngsi-ld/v1/entityOperations/upsert",
        **{"Content-Type": "application/ld+json"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rejected"] == 0
    points = store.sensors()[1]
    assert points["aq-majasari"][0] == 41.0
    assert points["aq-majasari/pm10"][0] == 63.0
    assert points["pk-pasar-1"][0] == pytest.approx(75.0)  # (180 - 45) / 180
    notification = {
        "type": "Notification",
        "data": [{**parking, "availableSpotNumber": 90, "dateObserved": "2026-11-25T01:05:00Z"}],
    }
    assert post(client, key, notification, "/api/v1/ngsi-ld/notify").json()["accepted"] >= 1
    assert store.sensors()[1]["pk-pasar-1"][0] == pytest.approx(50.0)
    naive = {**parking, "dateObserved": "2026-11-25T01:00:00"}
    refused = post(client, key, [naive], "/ngsi-ld/v1/entities")
    assert refused.status_code == 422
    with engine.connect() as conn:
        letter = conn.execute(select(dead_letters.c.source, dead_letters.c.payload)).all()[-1]
    assert letter.source == "ngsi-ld" and "OffStreetParking" in letter.payload


def test_database_down_means_503_and_nothing_half_stored(api, database_url):
    client, engine, store = api
    key = create_key(engine, "s", "all", [])
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE readings")  # a broken database, as far as writes go
    response = post(client, key, [{"sensor_id": "aq-cambai", "ts": NOW - 5, "value": 20.0}])
    assert response.status_code == 503
    assert response.json()["retry_after_s"] == 30
    assert response.headers["retry-after"] == "30"
    assert store.sensors()[1] == {}
