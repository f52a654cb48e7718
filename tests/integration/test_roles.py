"""The ingest and grab roles running against real Redis and SQLite: values and frames appear in
Redis within seconds, history rows in SQL."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from data.history import count_rows, kpi_values, make_engine, readings
from runner import start_workers
from settings import load_settings


def wait_until(predicate, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


@pytest.fixture
def running_roles(redis_url, sqlite_url, tmp_path, city):
    settings = load_settings(
        redis_url=redis_url,
        database_url=sqlite_url,
        data_dir=tmp_path,
        roles="ingest,grab",
        ingest_interval_s=0.25,
        history_flush_s=0.5,
        camera_fps=8,
    )
    stop = threading.Event()
    threads = start_workers(settings, city, stop)
    yield settings
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(t.is_alive() for t in threads), "a worker thread did not stop"


def test_sensor_values_and_kpis_reach_redis(running_roles, live_store, city):
    from data.live_store import LiveStore

    store = LiveStore(live_store.client, running_roles.redis_namespace)
    points = wait_until(
        lambda: (
            (store.sensors()[1] or {})
            if len(store.sensors()[1] or {}) == len(city.config.sensors)
            else None
        ),
        5,
    )
    assert set(points) == {s.id for s in city.config.sensors}
    assert all(abs(ts - time.time()) < 10 for _, ts in points.values())
    first_version, _ = store.sensors()
    assert wait_until(lambda: store.sensors()[0] != first_version, 3)
    computed = {k.id for k in city.config.kpis if k.source.type != "operator"}
    kpis = wait_until(
        lambda: store.kpis()[1] if computed <= set(store.kpis()[1] or {}) else None, 5
    )
    assert computed <= set(kpis)  # plus operator KPIs made live by the demo back-fill


def test_frames_from_both_cameras_are_real_jpegs_that_keep_coming(running_roles, live_store, city):
    from data.live_store import LiveStore

    store = LiveStore(live_store.client, running_roles.redis_namespace)
    for camera in city.config.cameras:
        frame, health = wait_until(
            lambda c=camera: store.camera(c.id) if store.camera(c.id)[0] else None, 10
        )
        image = cv2.imdecode(np.frombuffer(frame, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape[1] == running_roles.camera_width
        assert health.state == "live" and health.seq >= 1
        later = wait_until(
            lambda c=camera, s=health.seq: (
                store.camera(c.id) if store.camera(c.id)[1].seq > s + 3 else None
            ),
            5,
        )
        assert later[0] != frame  # the picture moves, not the same bytes re-published


def test_history_rows_land_in_sql(running_roles, city):
    engine = make_engine(running_roles.effective_database_url)
    sensors = len(city.config.sensors)
    assert wait_until(lambda: count_rows(engine, readings) >= 2 * sensors, 8)
    assert wait_until(lambda: count_rows(engine, kpi_values) >= 8, 8)
