"""Observability (issue 7) on the real app against real Redis and SQLite: /healthz, /readyz
(with Redis stopped for real), /metrics behind its token with readings posted through the API,
published cameras and a callback, request ids in answers and JSON log lines, and the viewers
of a stream on a real uvicorn server."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

import logs
from app import create_app
from data.api_keys import create_key
from data.db.engine import make_engine
from data.live_store import LiveStore, connect
from data.models import CameraHealth
from data.redis_server import EmbeddedRedis
from runner import prepare_database
from settings import PROJECT_ROOT, load_settings
from tests.accounts import session_for
from tests.ports import free_port
from tests.waiting import wait_for

TOKEN = "uji-token-metrik-0123456789abcdef"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def world(redis_url, live_store, tmp_path, city):
    settings = load_settings(redis_url=redis_url, data_dir=tmp_path, metrics_token=TOKEN)
    engine = make_engine(settings.effective_database_url)
    prepare_database(engine, city)
    app = create_app(settings, city)
    store = LiveStore(live_store.client, settings.redis_namespace)
    with TestClient(app.server) as client:  # anonymous: no cookies
        yield client, store, engine, app
    engine.dispose()


def signed_in(app, engine, role: str = "operator") -> TestClient:
    session = session_for(engine, role)
    return TestClient(app.server, cookies=session.cookies, headers=session.csrf_headers)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of a Prometheus text answer."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def scrape(client) -> dict:
    answer = client.get("/metrics", headers=BEARER)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return samples(answer.text)


def test_healthz_is_public_and_plain(world):
    client, *_ = world
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}
    assert answer.headers["cache-control"] == "no-store"


def test_readyz_is_ready_when_redis_sql_and_workers_are(world):
    client, store, *_ = world
    answer = client.get("/readyz")  # no worker has beaten yet
    assert answer.status_code == 503
    assert answer.json()["checks"] == {"redis": "ok", "sql": "ok", "ingest": "down", "grab": "down"}
    store.beat("ingest")
    store.beat("grab")
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "status": "ready",
        "checks": {"redis": "ok", "sql": "ok", "ingest": "ok", "grab": "ok"},
    }
    store.client.delete(store.keys.heartbeat("grab"))  # as when its 30 s expire
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["grab"] == "down"


def test_readyz_names_redis_when_it_stops_and_never_hangs(tmp_path, city):
    with EmbeddedRedis() as server:
        settings = load_settings(redis_url=server.url, data_dir=tmp_path)
        prepare_database(make_engine(settings.effective_database_url), city)
        app = create_app(settings, city)
        store = LiveStore(connect(server.url), settings.redis_namespace)
        store.beat("ingest")
        store.beat("grab")
        with TestClient(app.server) as client:
            assert client.get("/readyz").status_code == 200
            server.stop()
            started = time.monotonic()
            answer = client.get("/readyz")
            assert time.monotonic() - started < 5
        store.client.close()
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"] == "down" and body["checks"]["sql"] == "ok"
    assert body["checks"]["ingest"] == "unknown"  # cannot be judged without Redis
    # A name, not an address: no socket path, URL or error text.
    assert str(server.socket_path) not in answer.text and "unix:" not in answer.text
    assert set(body) == {"status", "checks"}


def test_readyz_names_sql_when_the_database_is_unreachable(redis_url, live_store, tmp_path, city):
    settings = load_settings(
        redis_url=redis_url,
        data_dir=tmp_path,
        database_url="postgresql+psycopg://penjaga:rahasia@127.0.0.1:9/komando",
    )
    app = create_app(settings, city)
    store = LiveStore(live_store.client, settings.redis_namespace)
    store.beat("ingest")
    store.beat("grab")
    with TestClient(app.server) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"] == {"redis": "ok", "sql": "down", "ingest": "ok", "grab": "ok"}
    assert "rahasia" not in answer.text and "127.0.0.1" not in answer.text


def test_metrics_refused_without_the_token_and_disabled_without_one(world, redis_url, tmp_path):
    client, *_ = world
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401
    refused = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
    assert refused.status_code == 401 and "komando_" not in refused.text
    assert client.get("/metrics", headers=BEARER).status_code == 200
    # A signed-in person without the token is refused too: /metrics is for the scraper.
    assert signed_in(world[3], world[2], "admin").get("/metrics").status_code == 401
    # No token set: /metrics does not exist.
    bare = create_app(load_settings(redis_url=redis_url, data_dir=tmp_path / "bare"))
    with TestClient(bare.server) as other:
        assert other.get("/metrics", headers=BEARER).status_code == 404


def test_metrics_show_readings_cameras_workers_and_callbacks(world):
    client, store, engine, app = world
    key = create_key(engine, "stasiun uji", "all", [])
    now = time.time()
    posted = client.post(
        "/api/v1/readings",
        headers={"Authorization": f"Bearer {key}"},
        json=[
            {"sensor_id": "aq-cambai", "ts": now - 3, "value": 20},
            {"sensor_id": "aq-cambai", "ts": now - 2, "value": 21, "quantity": "pm10"},
            {"sensor_id": "aq-cambai", "ts": now, "value": "tinggi"},
        ],
    )
    assert posted.status_code == 200 and posted.json()["accepted"] == 2, posted.text
    store.publish_frame(
        "simpang-sudirman",
        b"\xff\xd8frame",
        CameraHealth(state="live", seq=7, frame_ts=now, updated_ts=now, fps=4.5, reconnects=2),
    )
    old = now - 600
    store.set_camera_health("sdn1-gerbang", CameraHealth(state="live", frame_ts=old, fps=5))
    store.beat("ingest")
    routed = signed_in(app, engine).post(
        "/_dash-update-component",
        json={
            "output": "..page-content.children...lang.data..",
            "outputs": [
                {"id": "page-content", "property": "children"},
                {"id": "lang", "property": "data"},
            ],
            "inputs": [
                {"id": "url", "property": "pathname", "value": "/"},
                {"id": "url", "property": "search", "value": ""},
            ],
            "changedPropIds": ["url.pathname"],
            "state": [{"id": "lang", "property": "data", "value": None}],
        },
    )
    assert routed.status_code == 200, routed.text

    found = scrape(client)
    assert found[("komando_live_state_up", ())] == 1
    http = (("outcome", "accepted"), ("source", "http"))
    assert found[("komando_ingest_readings_total", http)] == 2
    assert (
        found[("komando_ingest_readings_total", (("outcome", "rejected"), ("source", "http")))] == 1
    )
    assert 0 <= found[("komando_ingest_lag_seconds", ())] < 60  # the newest reading, at `now`
    assert found[("komando_camera_fps", (("camera", "simpang-sudirman"),))] == 4.5
    live = (("camera", "simpang-sudirman"), ("state", "live"))
    assert found[("komando_camera_state", live)] == 1
    offline = (("camera", "sdn1-gerbang"), ("state", "offline"))
    assert found[("komando_camera_state", offline)] == 1
    assert found[("komando_camera_fps", (("camera", "sdn1-gerbang"),))] == 0  # not live
    assert found[("komando_camera_frame_age_seconds", (("camera", "sdn1-gerbang"),))] >= 599
    assert found[("komando_camera_reconnects_total", (("camera", "simpang-sudirman"),))] == 2
    assert found[("komando_worker_up", (("role", "ingest"),))] == 1
    assert found[("komando_worker_up", (("role", "grab"),))] == 0
    assert found[("komando_callback_duration_seconds_count", (("callback", "router.route"),))] >= 1
    assert found[("komando_http_requests_total", (("code", "2xx"), ("kind", "api")))] >= 1
    assert ("komando_video_streams_open", ()) in found


def test_metrics_say_when_the_live_state_cannot_be_read(tmp_path, city):
    with EmbeddedRedis() as server:
        settings = load_settings(redis_url=server.url, data_dir=tmp_path, metrics_token=TOKEN)
        app = create_app(settings, city)
        with TestClient(app.server) as client:
            server.stop()
            found = scrape(client)
    assert found[("komando_live_state_up", ())] == 0
    assert not any(name.startswith("komando_camera") for name, _ in found)


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The JSON handler configure_logging installs, on a stream of the test's own."""
    stream = io.StringIO()
    handler = logs.make_handler("json", stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def test_request_ids_are_echoed_and_in_the_json_log_lines(world, json_log):
    client, _store, engine, app = world
    answer = client.get("/healthz", headers={"X-Request-ID": "lb-4f2a-77"})
    assert answer.headers["x-request-id"] == "lb-4f2a-77"
    made = client.get("/healthz").headers["x-request-id"]
    assert len(made) == 16 and made != client.get("/healthz").headers["x-request-id"]
    # Not a sane id (too long, or a character that could forge a header or log line): replaced.
    for bad in ["a" * 300, "satu dua", 'x"}{']:
        echoed = client.get("/healthz", headers={"X-Request-ID": bad}).headers["x-request-id"]
        assert echoed != bad and len(echoed) == 16
    # Answers the gate gives itself carry it too.
    refused = client.get("/cctv", headers={"X-Request-ID": "anon-1"}, follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["x-request-id"] == "anon-1"

    # A callback with a wrong CSRF token: the gate's warning is written for that request.
    session = session_for(engine, "operator")
    TestClient(app.server, cookies=session.cookies).post(
        "/_dash-update-component",
        json={"output": "x.y"},
        headers={"X-CSRFToken": "salah", "X-Request-ID": "uji-csrf-123"},
    )
    lines = [json.loads(line) for line in json_log.getvalue().splitlines() if line]
    mine = [line for line in lines if line.get("request_id") == "uji-csrf-123"]
    assert mine, lines
    assert mine[0]["level"] == "WARNING" and "CSRF" in mine[0]["message"]
    assert mine[0]["logger"] == "server.access_gate" and mine[0]["ts"].endswith("Z")
    assert session.token not in json_log.getvalue()  # the cookie is never logged
    # Outside a request there is no id.
    logging.getLogger("komando").warning("di luar permintaan")
    last = json.loads(json_log.getvalue().splitlines()[-1])
    assert last["message"] == "di luar permintaan" and "request_id" not in last


@pytest.fixture
def served(redis_url, live_store, tmp_path, city):
    settings = load_settings(redis_url=redis_url, data_dir=tmp_path, metrics_token=TOKEN)
    engine = make_engine(settings.effective_database_url)
    prepare_database(engine, city)
    app = create_app(settings, city)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app.server, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: _answers(f"{base}/healthz"), 15, "uvicorn answering")
    yield base, engine, LiveStore(live_store.client, settings.redis_namespace)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_open_streams_and_long_polls_are_counted_as_viewers(served):
    base, engine, store = served
    now = time.time()
    store.publish_frame(
        "simpang-sudirman",
        b"\xff\xd8frame",
        CameraHealth(state="live", seq=1, frame_ts=now, updated_ts=now, fps=5),
    )
    session = session_for(engine, "operator")

    def viewers() -> tuple[float, float]:
        found = samples(httpx.get(f"{base}/metrics", headers=BEARER, timeout=5).text)
        return found[("komando_video_streams_open", ())], found[
            ("komando_video_long_polls_waiting", ())
        ]

    assert viewers() == (0, 0)
    with (
        httpx.Client(cookies=session.cookies, timeout=10) as viewer,
        viewer.stream("GET", f"{base}/video/simpang-sudirman.mjpg") as stream,
    ):
        assert stream.status_code == 200
        frames = stream.iter_bytes()  # kept: a dropped iterator closes the stream
        assert b"komandoframe" in next(frames)
        assert viewers()[0] == 1
        # A tile waiting for a frame that does not come (seq 1 is the newest) for up to 2 s.
        waiting = threading.Thread(
            target=viewer.get, args=(f"{base}/video/simpang-sudirman.jpg?after=1",)
        )
        waiting.start()
        wait_for(lambda: viewers()[1] == 1, 2, "the long-poll counted")
        waiting.join()
    wait_for(lambda: viewers() == (0, 0), 5, "viewers gone")


ROUTE_BODY = {
    "output": "..page-content.children...lang.data..",
    "outputs": [
        {"id": "page-content", "property": "children"},
        {"id": "lang", "property": "data"},
    ],
    "inputs": [
        {"id": "url", "property": "pathname", "value": "/no-such-page"},
        {"id": "url", "property": "search", "value": ""},
    ],
    "changedPropIds": ["url.pathname"],
    "state": [{"id": "lang", "property": "data", "value": None}],
}


def test_several_web_workers_answer_metrics_for_all_of_them(redis_url, tmp_path, city):
    """`uvicorn --workers 2` with PROMETHEUS_MULTIPROC_DIR: callbacks served by both workers
    are all counted, whichever worker answers the scrape."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    database_url = f"sqlite:///{tmp_path / 'komando.sqlite3'}"
    engine = make_engine(database_url)
    prepare_database(engine, city)
    session = session_for(engine, "operator")
    port = free_port()
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "KOMANDO_DATA_DIR": str(tmp_path),
        "KOMANDO_METRICS_TOKEN": TOKEN,
        "KOMANDO_LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(shared),
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "app:asgi", "--workers", "2"]
    web = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{base}/healthz"), 60, "two uvicorn workers answering")
        sent = 0

        def both_workers_served_a_callback() -> bool:
            nonlocal sent
            # A new connection each time, so the kernel may hand it to either worker.
            with httpx.Client(cookies=session.cookies, headers=session.csrf_headers) as one:
                answer = one.post(f"{base}/_dash-update-component", json=ROUTE_BODY, timeout=10)
            assert answer.status_code == 200, answer.text
            sent += 1
            return len(list(shared.glob("histogram_*.db"))) == 2

        wait_for(both_workers_served_a_callback, 60, "a callback served by each worker")
        for _ in range(6):  # each scrape lands on either worker, and each counts them all
            with httpx.Client(headers=BEARER) as scraper:
                found = samples(scraper.get(f"{base}/metrics", timeout=10).text)
            route = (("callback", "router.route"),)
            assert found[("komando_callback_duration_seconds_count", route)] == sent
            assert found[("komando_live_state_up", ())] == 1
    finally:
        web.terminate()
        web.wait(timeout=20)
    errors = web.stderr.read().decode()
    lines = [json.loads(line) for line in errors.splitlines() if line.startswith("{")]
    assert lines and {line["level"] for line in lines} <= {"INFO", "WARNING"}, errors[-2000:]
    assert len({line["pid"] for line in lines}) >= 2  # the workers' own lines, JSON too
    assert "Traceback" not in errors
