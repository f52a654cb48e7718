"""The live-state API against a real Redis server: the sync store (workers) and the async reader
(web) see the same keys."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from data.live_reader import LiveReader
from data.models import CameraHealth, KpiValue, Reading


def test_readings_round_trip_and_version_guards_unchanged_reads(live_store):
    version, points = live_store.sensors()
    assert points == {}
    live_store.write_readings(
        [
            Reading(sensor_id="aq-1", ts=1_790_000_000.5, value=21.5),
            Reading(sensor_id="tf-1", ts=1_790_000_000.5, value=900.0),
        ]
    )
    version, points = live_store.sensors()
    assert points == {"aq-1": (21.5, 1_790_000_000.5), "tf-1": (900.0, 1_790_000_000.5)}
    same_version, unchanged = live_store.sensors(version)
    assert (same_version, unchanged) == (version, None)
    live_store.write_readings([Reading(sensor_id="aq-1", ts=1_790_000_002.0, value=23.0)])
    newer, points = live_store.sensors(version)
    assert newer != version
    assert points["aq-1"] == (23.0, 1_790_000_002.0)
    assert points["tf-1"] == (900.0, 1_790_000_000.5)  # other sensors keep their latest value


def test_one_write_is_one_round_trip(live_store):
    calls = []
    original = live_store.client.execute_command

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    live_store.client.execute_command = counting
    readings = [Reading(sensor_id=f"s{i}", ts=1_790_000_000.0, value=i) for i in range(500)]
    live_store.write_readings(readings)
    assert calls == []  # a pipeline sends everything in one go, not command by command
    assert len(live_store.sensors()[1]) == 500


def test_kpis_and_camera_frames(live_store):
    live_store.write_kpis([KpiValue(kpi_id="budget", ts=1_790_000_000.0, value=81.5)])
    assert live_store.kpis()[1] == {"budget": (81.5, 1_790_000_000.0)}
    health = CameraHealth(
        state="live",
        seq=3,
        frame_ts=1_790_000_000.0,
        updated_ts=1_790_000_000.0,
        fps=5.0,
        width=640,
        height=360,
    )
    live_store.publish_frame("cam-1", b"\xff\xd8jpeg", health)
    frame, read_health = live_store.camera("cam-1")
    assert frame == b"\xff\xd8jpeg"
    assert read_health == health
    assert live_store.client.ttl(live_store.keys.camera_frame("cam-1")) > 0


def test_async_reader_sees_what_workers_wrote(live_store, redis_url):
    live_store.write_readings([Reading(sensor_id="aq-1", ts=1_790_000_000.0, value=30.0)])
    live_store.write_kpis([KpiValue(kpi_id="budget", ts=1_790_000_000.0, value=70.0)])
    live_store.publish_frame("cam-1", b"jpeg-bytes", CameraHealth(state="live", seq=9))

    async def read():
        reader = LiveReader(redis_url, "komando:test")
        try:
            version, sensors = await reader.sensors()
            _, unchanged = await reader.sensors(version)
            _, kpis = await reader.kpis()
            healths = await reader.camera_healths(["cam-1", "cam-unknown"])
            frame, _ = await reader.camera("cam-1")
            return sensors, unchanged, kpis, healths, frame
        finally:
            await reader.close()

    # A fresh thread has no event loop of its own (Playwright's may be running in this one).
    with ThreadPoolExecutor(max_workers=1) as pool:
        sensors, unchanged, kpis, healths, frame = pool.submit(asyncio.run, read()).result()
    assert sensors == {"aq-1": (30.0, 1_790_000_000.0)}
    assert unchanged is None
    assert kpis == {"budget": (70.0, 1_790_000_000.0)}
    assert healths["cam-1"].seq == 9
    assert healths["cam-unknown"] is None
    assert frame == b"jpeg-bytes"


def test_cities_sharing_a_server_do_not_mix(live_store, redis_url):
    from data.live_store import LiveStore

    other = LiveStore(live_store.client, "komando:othercity")
    live_store.write_readings([Reading(sensor_id="a", ts=1_790_000_000.0, value=1.0)])
    other.write_readings([Reading(sensor_id="b", ts=1_790_000_000.0, value=2.0)])
    assert set(live_store.sensors()[1]) == {"a"}
    assert set(other.sensors()[1]) == {"b"}
