"""The OpenCV grabber on real encoded video, on a dead source, and across a Redis restart;
privacy masks, thumbnails, enabled hours, and leases between workers, against a real Redis.
(Network cameras: test_real_cameras.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import cv2
import numpy as np

from data.camera_status import camera_status
from data.city import EnabledHours
from data.live_store import LiveStore, connect
from data.redis_server import EmbeddedRedis
from settings import PROJECT_ROOT
from tests.waiting import wait_for
from video.grabber import CameraGrabber, CameraSpec, GrabTiming, encode_frame, start_grabbers
from video.role import start_grab_role
from video.shards import parse_shard
from video.sources import SAMPLES_DIR, resolve_source

STREET = str(SAMPLES_DIR / "car-detection.mp4")
SCHOOL = str(SAMPLES_DIR / "one-by-one-person-detection.mp4")
WIB = ZoneInfo("Asia/Jakarta")


def decode(jpeg: bytes) -> np.ndarray:
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert picture is not None
    return picture


def run_grabber(grabber: CameraGrabber, seconds: float) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=grabber.run, args=(stop,), daemon=True)
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_encode_resizes_once_keeping_aspect():
    frame = np.zeros((432, 768, 3), np.uint8)
    jpeg = encode_frame(frame, 640, 80)
    decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (360, 640, 3)


def test_clip_is_replayed_in_real_time_at_the_target_rate(live_store):
    source = resolve_source("street", "sample:car-detection.mp4")
    grabber = CameraGrabber("street", source, live_store, fps=10, width=320)
    run_grabber(grabber, 2.0)
    frame, health = live_store.camera("street")
    assert frame is not None
    assert (
        12 <= health.seq <= 22
    )  # ~10 fps for 2 s: frames are neither queued nor skipped wholesale
    assert health.width == 320 and health.height == 180


def test_short_clip_loops_like_a_camera_that_never_ends(tmp_path, live_store):
    clip = tmp_path / "short.mp4"
    source = cv2.VideoCapture(str(SAMPLES_DIR / "car-detection.mp4"))
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 12.5, (768, 432))
    for _ in range(6):  # half a second of video
        ok, frame = source.read()
        assert ok
        writer.write(frame)
    writer.release()
    source.release()
    grabber = CameraGrabber("loop", str(clip), live_store, fps=10, width=320)
    run_grabber(grabber, 2.0)
    assert grabber.seq >= 12  # kept publishing well past the clip's end


def test_dead_source_reports_offline_with_a_reason_and_no_frame(live_store):
    grabber = CameraGrabber("gone", "/nonexistent/camera.mp4", live_store, fps=5)
    run_grabber(grabber, 1.5)
    frame, health = live_store.camera("gone")
    assert frame is None
    assert health.state == "offline"
    assert "open" in health.error
    assert grabber.reconnects >= 1
    assert camera_status(health, time.time(), 3, 10).state == "offline"


def test_not_a_video_reports_a_clear_error(tmp_path, live_store):
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("this is not video")
    grabber = CameraGrabber("bogus", str(bogus), live_store, fps=5)
    run_grabber(grabber, 1.5)
    frame, health = live_store.camera("bogus")
    assert frame is None
    assert health.state == "offline"
    assert health.error


def test_grabber_keeps_running_through_a_redis_restart(tmp_path):
    with EmbeddedRedis(directory=tmp_path / "r") as server:
        store = LiveStore(connect(server.url), "komando:test")
        source = resolve_source("street", "sample:car-detection.mp4")
        grabber = CameraGrabber("street", source, store, fps=10, width=320)
        stop = threading.Event()
        thread = threading.Thread(target=grabber.run, args=(stop,), daemon=True)
        thread.start()
        try:
            time.sleep(1.0)
            server.restart()  # the live state is gone with the old server
            deadline = time.monotonic() + 5
            frame = None
            while time.monotonic() < deadline and frame is None:
                time.sleep(0.2)
                frame, _ = store.camera("street")
            assert frame is not None, "frames did not come back after Redis restarted"
            assert thread.is_alive()
        finally:
            stop.set()
            thread.join(timeout=10)


def test_embedded_redis_is_restarted_and_the_live_state_rebuilt(tmp_path, city):
    from data.history import BatchWriter, make_engine
    from data.ingest import IngestWorker

    with EmbeddedRedis(directory=tmp_path / "r") as server:
        stop = threading.Event()
        watchdog = server.supervise(stop, check_every_s=0.2)
        store = LiveStore(connect(server.url), "komando:test")
        writer = BatchWriter(make_engine(f"sqlite:///{tmp_path / 'h.sqlite3'}"))
        worker = IngestWorker(city, store, writer, interval_s=0.2)
        ingest = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        ingest.start()
        try:
            time.sleep(0.5)
            assert len(store.sensors()[1]) == len(city.config.sensors)
            old_pid = server.process.pid
            server.process.kill()  # as the kernel's OOM killer would
            deadline = time.monotonic() + 8
            points = None
            while time.monotonic() < deadline:
                time.sleep(0.2)
                try:
                    points = store.sensors()[1]
                except Exception:
                    continue
                if points and len(points) == len(city.config.sensors):
                    break
            assert points and len(points) == len(city.config.sensors)
            assert server.process.pid != old_pid  # a new server, rebuilt by the ingest ticks
            assert writer.pending + writer.written >= worker.ticks * len(city.config.sensors)
        finally:
            stop.set()
            ingest.join(timeout=10)
            watchdog.join(timeout=10)


# -- privacy masks and thumbnails --------------------------------------------------------------
def test_masked_area_is_black_in_the_published_frame_and_thumbnail(live_store):
    # The school clip is a white wall over a wooden floor: bright everywhere unmasked.
    mask = [(0.0, 0.0), (0.5, 0.0), (0.5, 0.6), (0.0, 0.6)]
    grabber = CameraGrabber("kelas", SCHOOL, live_store, fps=10, width=640, masks=[mask])
    run_grabber(grabber, 1.5)
    frame, health = live_store.camera("kelas")
    picture = decode(frame)
    assert picture.shape == (360, 640) and (health.width, health.height) == (640, 360)
    # Inside the mask (kept 8 px clear of its edge, where JPEG blocks blur): black.
    assert picture[: 216 - 8, : 320 - 8].max() <= 12
    # Outside it: the picture is there.
    assert picture[:, 320 + 8 :].mean() > 60 and picture[216 + 8 :, :].mean() > 60
    thumb = decode(live_store.thumbnail("kelas"))
    assert thumb.shape == (108, 192)
    assert thumb[: 64 - 4, : 96 - 4].max() <= 12 and thumb[:, 100:].mean() > 60


def test_thumbnail_about_once_a_second_with_the_frames_ttl(live_store):
    grabber = CameraGrabber("jalan", STREET, live_store, fps=10, width=320)
    published: list[bytes] = []
    original = live_store.publish_thumbnail

    def spy(camera_id: str, jpeg: bytes) -> None:
        published.append(jpeg)
        original(camera_id, jpeg)

    live_store.publish_thumbnail = spy
    run_grabber(grabber, 2.6)
    assert 2 <= len(published) <= 4  # ~1 per second, not one per frame (~26 frames)
    assert decode(published[-1]).shape[1] == 192
    ttl = live_store.client.ttl(live_store.keys.camera_thumb("jalan"))
    assert 0 < ttl <= 60


# -- enabled hours ------------------------------------------------------------------------------
def test_outside_enabled_hours_the_camera_is_not_opened_and_reports_disabled(live_store):
    clock = {"now": datetime(2026, 11, 25, 20, 0, tzinfo=WIB)}
    grabber = CameraGrabber(
        "gerbang",
        SCHOOL,
        live_store,
        fps=10,
        width=320,
        hours=EnabledHours.parse("06:00-18:00"),
        zone_label="WIB",
        timing=GrabTiming(hours_check_s=0.1),
        now_local=lambda: clock["now"],
    )
    stop = threading.Event()
    thread = threading.Thread(target=grabber.run, args=(stop,), daemon=True)
    thread.start()
    try:
        health = wait_for(
            lambda: live_store.camera("gerbang")[1], 3, "the disabled camera's health"
        )
        assert health.state == "disabled"
        assert health.error == "di luar jam aktif (06.00–18.00 WIB)"
        assert camera_status(health, time.time(), 3, 10).state == "disabled"  # DI LUAR JAM
        time.sleep(0.5)
        assert grabber.opens == 0 and live_store.camera("gerbang")[0] is None
        clock["now"] = datetime(2026, 11, 26, 6, 0, tzinfo=WIB)  # the school day starts
        wait_for(lambda: live_store.camera("gerbang")[1].state == "live", 5, "live at 06.00")
        assert grabber.opens == 1
        clock["now"] = datetime(2026, 11, 26, 18, 0, tzinfo=WIB)  # and ends: the camera closes
        wait_for(lambda: live_store.camera("gerbang")[1].state == "disabled", 3, "disabled")
        seq = grabber.seq
        time.sleep(0.5)
        assert grabber.seq == seq  # nothing read after hours
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


# -- leases: two workers, one camera, one grabber -----------------------------------------------
def specs(count: int) -> list[CameraSpec]:
    return [CameraSpec(f"cam-{n}", STREET if n % 2 else SCHOOL, width=160) for n in range(count)]


def test_two_workers_with_the_same_shard_grab_each_camera_once(live_store):
    stop = threading.Event()
    cameras = specs(4)
    pools = [
        start_grabbers(cameras, live_store, stop, worker_id=name, lease_ttl_s=2.0)
        for name in ("worker-a", "worker-b")
    ]
    try:
        for camera in cameras:
            wait_for(
                lambda c=camera: (
                    (live_store.camera(c.camera_id)[1] or None)
                    and live_store.camera(c.camera_id)[1].state == "live"
                ),
                10,
                f"{camera.camera_id} live",
            )
        time.sleep(2.5)  # past a lease TTL: renewals hold, nobody takes over
        for index, camera in enumerate(cameras):
            opened = [pool.worker_id for pool in pools if pool.grabbers[index].opens > 0]
            assert len(opened) == 1, f"{camera.camera_id} was opened by {opened}"
            owner = live_store.camera_lease_owner(camera.camera_id)
            assert owner == opened[0] == live_store.camera(camera.camera_id)[1].worker
    finally:
        stop.set()
        for pool in pools:
            for thread in pool.threads:
                thread.join(timeout=10)
    # A clean stop gives the cameras up at once.
    assert all(live_store.camera_lease_owner(c.camera_id) is None for c in cameras)


def test_a_dead_workers_cameras_are_taken_over_when_its_leases_expire(live_store):
    cameras = specs(2)
    stop_a, stop_b = threading.Event(), threading.Event()
    pool_a = start_grabbers(cameras, live_store, stop_a, worker_id="worker-a", lease_ttl_s=1.0)
    pool_b = None
    try:
        for camera in cameras:
            wait_for(
                lambda c=camera: live_store.camera_lease_owner(c.camera_id) == "worker-a",
                5,
                "worker-a holds the leases",
            )
        pool_b = start_grabbers(cameras, live_store, stop_b, worker_id="worker-b", lease_ttl_s=1.0)
        wait_for(lambda: live_store.camera("cam-0")[1].seq >= 5, 5, "frames from worker-a")
        time.sleep(1.5)
        assert all(g.opens == 0 for g in pool_b.grabbers)  # a standby while worker-a lives
        # worker-a dies: no goodbye, its leases are left to expire.
        for grabber in pool_a.grabbers:
            grabber.release_on_stop = False
        stop_a.set()
        for thread in pool_a.threads:
            thread.join(timeout=10)
        last_seq = {c.camera_id: live_store.camera(c.camera_id)[1].seq for c in cameras}
        died = time.monotonic()
        for camera in cameras:
            wait_for(
                lambda c=camera: (
                    live_store.camera(c.camera_id)[1].worker == "worker-b"
                    and live_store.camera(c.camera_id)[1].state == "live"
                ),
                5,
                f"worker-b took {camera.camera_id} over",
            )
        took_over_s = time.monotonic() - died
        assert took_over_s < 3.0  # TTL 1 s + a retry at most half a TTL later + the open
        for camera in cameras:
            # The sequence goes on from where worker-a left it: viewers waiting for a newer
            # frame are never handed an older number.
            assert live_store.camera(camera.camera_id)[1].seq > last_seq[camera.camera_id]
    finally:
        stop_a.set()
        stop_b.set()
        for thread in [*pool_a.threads, *(pool_b.threads if pool_b else [])]:
            thread.join(timeout=10)


def test_a_worker_that_lost_its_lease_stops_grabbing(live_store):
    stop = threading.Event()
    pool = start_grabbers(specs(1), live_store, stop, worker_id="worker-a", lease_ttl_s=0.9)
    try:
        wait_for(lambda: pool.grabbers[0].seq >= 3, 5, "frames")
        # Another worker holds it now (as after a partition): worker-a must let go.
        live_store.client.set(live_store.keys.camera_lease("cam-0"), "worker-z", px=60_000)
        wait_for(lambda: not pool.grabbers[0].lease.held, 3, "worker-a noticing")
        seq = pool.grabbers[0].seq
        time.sleep(0.8)
        assert pool.grabbers[0].seq == seq
        assert live_store.camera_lease_owner("cam-0") == "worker-z"
    finally:
        stop.set()
        for thread in pool.threads:
            thread.join(timeout=10)
    assert live_store.camera_lease_owner("cam-0") == "worker-z"  # not released by worker-a


# -- the role: shards and per-camera settings from the city -------------------------------------
def test_grab_role_takes_its_shard_with_the_cameras_own_settings(live_store, city):
    stop = threading.Event()
    in_shard = [c.id for c in city.config.cameras if parse_shard("1/2").includes(c.id)]
    pools = []
    try:
        for shard in ("1/2", "2/2"):
            pools.append(
                start_grab_role(
                    city,
                    live_store,
                    stop,
                    environ=os.environ,
                    secrets_dir=None,
                    fps=4,
                    width=320,
                    shard=parse_shard(shard),
                )
            )
        ids = [sorted(g.camera_id for g in pool.grabbers) for pool in pools]
        assert ids[0] == sorted(in_shard)
        assert sorted(ids[0] + ids[1]) == sorted(c.id for c in city.config.cameras)
        school = next(g for pool in pools for g in pool.grabbers if g.camera_id == "sdn1-gerbang")
        assert school.masks and school.width == 320 and school.period == 0.25
        assert school.zone_label == "WIB"
        frame = wait_for(lambda: live_store.camera("sdn1-gerbang")[0], 5, "a school frame")
        assert decode(frame)[:60, :40].max() <= 12  # the demo window mask, blacked out
    finally:
        stop.set()
        for pool in pools:
            for thread in pool.threads:
                thread.join(timeout=10)


def test_a_camera_whose_source_does_not_fit_its_type_stays_offline_with_the_reason(
    live_store, city
):
    camera = city.config.cameras[1].model_copy(
        update={"source": "env:KOMANDO_TEST_CAM", "source_type": "snapshot"}
    )
    patched = city.config.model_copy(update={"cameras": [camera]})
    from data.city import City

    stop = threading.Event()
    pool = start_grab_role(
        City(city.folder, patched),
        live_store,
        stop,
        environ={"KOMANDO_TEST_CAM": "rtsp://user:secret@127.0.0.1:9/ch1"},
        secrets_dir=None,
    )
    stop.set()
    for thread in pool.threads:
        thread.join(timeout=10)
    health = live_store.camera(camera.id)[1]
    assert pool.grabbers == [] and health.state == "offline"
    assert "source_type is snapshot but the source is a rtsp source" in health.error
    assert "secret" not in health.error and "127.0.0.1" not in health.error


# -- `python -m video` as worker processes ---------------------------------------------------
def video_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "video", *args],
        cwd=PROJECT_ROOT,
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_video_cli_explains_shards_and_leases_and_refuses_a_bad_shard():
    helped = video_cli("--help")
    assert helped.returncode == 0
    for words in ("--shard I/N", "crc32", "lease", "expire", "--shard all"):
        assert words in helped.stdout
    listed = [video_cli("--shard", f"{i}/3", "--list").stdout.split() for i in (1, 2, 3)]
    assert sorted(c for ids in listed for c in ids) == ["sdn1-gerbang", "simpang-sudirman"]
    bad = video_cli("--shard", "5/4")
    assert bad.returncode == 2 and "--shard: shard '5/4': I must be 1..4" in bad.stderr


def test_two_worker_processes_on_the_same_shard_grab_each_camera_once(redis_url, tmp_path):
    env = {**os.environ, "REDIS_URL": redis_url, "KOMANDO_DATA_DIR": str(tmp_path)}
    store = LiveStore(connect(redis_url), "komando:prabumulih")
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "video", "--shard", "1/1"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    cameras = ("sdn1-gerbang", "simpang-sudirman")
    try:
        for camera_id in cameras:
            wait_for(
                lambda c=camera_id: (h := store.camera(c)[1]) is not None and h.state == "live",
                20,
                f"{camera_id} live",
            )
        time.sleep(1.0)
        pids = {str(w.pid) for w in workers}
        owners = {c: store.camera_lease_owner(c) for c in cameras}
        for camera_id, owner in owners.items():
            assert owner is not None and owner.split(":")[1] in pids
            assert store.camera(camera_id)[1].worker == owner
    finally:
        for worker in workers:
            worker.terminate()
        codes = [worker.wait(timeout=20) for worker in workers]
    logs = [worker.stderr.read() for worker in workers]
    assert codes == [0, 0], logs
    for camera_id in cameras:
        # Each camera was taken (and so opened) by exactly one of the two workers.
        taken = sum(log.count(f"camera {camera_id}: lease taken by") for log in logs)
        assert taken == 1, logs
    assert all(store.camera_lease_owner(c) is None for c in cameras)  # released on SIGTERM


def test_leases_and_frames_survive_a_redis_restart(tmp_path):
    with EmbeddedRedis(directory=tmp_path / "r") as server:
        store = LiveStore(connect(server.url), "komando:test")
        stop = threading.Event()
        pool = start_grabbers(specs(1), store, stop, worker_id="worker-a", lease_ttl_s=1.0)
        try:
            wait_for(lambda: store.camera("cam-0")[0], 5, "a first frame")
            server.restart()  # every key is gone, leases too
            wait_for(
                lambda: (
                    store.camera_lease_owner("cam-0") == "worker-a" and store.camera("cam-0")[0]
                ),
                5,
                "lease and frames back",
            )
            assert pool.grabbers[0].opens == 1  # the stream went on; only Redis came back
        finally:
            stop.set()
            for thread in pool.threads:
                thread.join(timeout=10)
