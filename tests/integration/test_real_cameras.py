"""The grabber against real network cameras on loopback (tests/camera_server.py): an RTSP camera
served by GStreamer's RTSP server with digest authentication, as a Hikvision channel, and an
HTTP camera serving MJPEG, snapshots and its web page. Cameras are killed, paused and restarted
under the grabber; dead, silent and non-video addresses must give a clear error, never a hung
thread. Every wait is bounded."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from data.camera_status import camera_status
from data.live_store import LiveStore
from tests.camera_server import MjpegCamera, RtspCamera
from tests.ports import free_port
from tests.waiting import wait_for
from video.grabber import CameraSpec, GrabberPool, GrabTiming, start_grabbers
from video.sources import SAMPLES_DIR

STREET = SAMPLES_DIR / "car-detection.mp4"
SCHOOL = SAMPLES_DIR / "one-by-one-person-detection.mp4"
# The wall's thresholds are 3 s stalled / 10 s offline; these tests pass a 4 s offline threshold
# to the grabber and to camera_status alike, so "offline within 5 s of the kill" is measurable.
STALLED_S, OFFLINE_S = 3.0, 4.0
TIMING = GrabTiming(stalled_after_s=STALLED_S, offline_after_s=OFFLINE_S)


@pytest.fixture(scope="module")
def rtsp_camera() -> Iterator[RtspCamera]:
    # A Hikvision-style channel path behind digest authentication.
    camera = RtspCamera(STREET, path="Streaming/Channels/101", user="admin", password="Kmd-2026")
    with camera:
        yield camera


@pytest.fixture(scope="module")
def http_camera() -> Iterator[MjpegCamera]:
    with MjpegCamera(SCHOOL) as camera:
        yield camera


@pytest.fixture
def cameras_running(rtsp_camera: RtspCamera, http_camera: MjpegCamera) -> Iterator[None]:
    """Each test finds both cameras serving, and leaves them so, whatever it did to them."""
    for camera in (rtsp_camera, http_camera):
        camera.resume()
        camera.start()
    yield
    for camera in (rtsp_camera, http_camera):
        camera.resume()
        camera.start()


class Grabbers:
    """A worker's pool on the test's cameras, judged as the wall judges them."""

    def __init__(self, store: LiveStore, specs: list[CameraSpec], timing: GrabTiming) -> None:
        self.store = store
        self.stop = threading.Event()
        self.pool: GrabberPool = start_grabbers(
            specs, store, self.stop, timing=timing, worker_id="test-worker", lease_ttl_s=10
        )

    def status(self, camera_id: str) -> str:
        _, health = self.store.camera(camera_id)
        return camera_status(health, time.time(), STALLED_S, OFFLINE_S).state

    def health(self, camera_id: str):
        return self.store.camera(camera_id)[1]

    def grabber(self, camera_id: str):
        return next(g for g in self.pool.grabbers if g.camera_id == camera_id)

    def wait_live(self, camera_id: str, timeout_s: float) -> float:
        began = time.monotonic()
        wait_for(lambda: self.status(camera_id) == "live", timeout_s, f"{camera_id} live")
        return time.monotonic() - began

    def close(self, within_s: float = 10.0) -> float:
        self.stop.set()
        began = time.monotonic()
        for thread in self.pool.threads:
            thread.join(timeout=within_s)
        assert not any(t.is_alive() for t in self.pool.threads), "a grab thread did not stop"
        return time.monotonic() - began


@pytest.fixture
def grabbers(live_store: LiveStore) -> Iterator[Callable[..., Grabbers]]:
    started: list[Grabbers] = []

    def start(specs: list[CameraSpec], timing: GrabTiming = TIMING) -> Grabbers:
        started.append(Grabbers(live_store, specs, timing))
        return started[-1]

    yield start
    for group in started:
        group.close()


def decode(jpeg: bytes) -> np.ndarray:
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None
    return picture


def udp_sockets_of_this_process() -> int:
    inodes = set()
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        inodes.add(line.split()[9])
    for line in Path("/proc/net/udp6").read_text().splitlines()[1:]:
        inodes.add(line.split()[9])
    mine = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            mine += 1
    return mine


def test_rtsp_mjpeg_and_snapshot_cameras_go_live(
    rtsp_camera, http_camera, cameras_running, grabbers, live_store
):
    group = grabbers(
        [
            CameraSpec("nvr-101", rtsp_camera.url, fps=5, width=320),
            CameraSpec("mjpeg", http_camera.url, fps=5, width=320),
            CameraSpec("snap", http_camera.snapshot_url, "snapshot", fps=4, width=320),
        ]
    )
    for camera_id in ("nvr-101", "mjpeg", "snap"):
        group.wait_live(camera_id, 10)
    time.sleep(2.5)  # let the rate settle
    for camera_id, fps in (("nvr-101", 5), ("mjpeg", 5), ("snap", 4)):
        frame, health = live_store.camera(camera_id)
        assert decode(frame).shape == (180, 320, 3)
        assert health.state == "live" and health.error == "" and health.worker == "test-worker"
        assert 0.7 * fps <= health.fps <= 1.3 * fps, (camera_id, health.fps)
        assert live_store.thumbnail(camera_id) is not None
        assert group.grabber(camera_id).opens == 1
    # RTSP is read interleaved over TCP (OPENCV_FFMPEG_CAPTURE_OPTIONS): no UDP socket here.
    assert os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] == "rtsp_transport;tcp"
    assert udp_sockets_of_this_process() == 0


@pytest.mark.parametrize("killed", ["rtsp", "http"])
def test_killed_camera_is_offline_within_5s_and_live_within_10s_of_its_return(
    killed, rtsp_camera, http_camera, cameras_running, grabbers, request
):
    group = grabbers(
        [
            CameraSpec("nvr-101", rtsp_camera.url, fps=5, width=320),
            CameraSpec("mjpeg", http_camera.url, fps=5, width=320),
            CameraSpec("snap", http_camera.snapshot_url, "snapshot", fps=5, width=320),
            CameraSpec("file", str(STREET), fps=5, width=320),
        ]
    )
    for camera_id in ("nvr-101", "mjpeg", "snap", "file"):
        group.wait_live(camera_id, 10)
    server = rtsp_camera if killed == "rtsp" else http_camera
    dead = ["nvr-101"] if killed == "rtsp" else ["mjpeg", "snap"]
    alive = [c for c in ("nvr-101", "mjpeg", "snap", "file") if c not in dead]
    seq_before = {c: group.health(c).seq for c in alive}

    server.kill()
    killed_at = time.monotonic()
    seen_stalled = set()
    while time.monotonic() - killed_at < 5.0:
        states = {c: group.status(c) for c in dead}
        seen_stalled |= {c for c in dead if group.health(c).state == "stalled"}
        # Judged by frame age, and said by the grabber itself (its watchdog ticks every 0.5 s).
        if all(state == "offline" for state in states.values()) and all(
            group.health(c).state == "offline" for c in dead
        ):
            break
        for camera_id in alive:  # the others do not notice
            assert group.status(camera_id) == "live", camera_id
        time.sleep(0.1)
    offline_after_s = time.monotonic() - killed_at
    assert all(group.status(c) == "offline" for c in dead), {c: group.status(c) for c in dead}
    assert offline_after_s < 5.0
    for camera_id in dead:
        health = group.health(camera_id)
        assert camera_id in seen_stalled  # stalled first, then offline
        assert health.state == "offline"
        assert "koneksi ditolak" in health.error or "terputus" in health.error, health.error
    for camera_id in alive:
        assert group.health(camera_id).seq >= seq_before[camera_id] + 15  # ~5 fps throughout

    server.start()
    back = [group.wait_live(c, 10) for c in dead]
    assert max(back) < 10.0
    # Measurements, kept in the test report (`--junitxml ... -o junit_family=xunit1`).
    # Kept in the test report: --junitxml=FILE -o junit_family=xunit1
    request.node.user_properties.append(("offline_after_kill_s", round(offline_after_s, 2)))
    request.node.user_properties.append(("live_after_restart_s", round(max(back), 2)))
    assert all(group.status(c) == "live" for c in alive)


def test_a_frozen_camera_is_stalled_then_offline_while_its_read_blocks(
    rtsp_camera, cameras_running, grabbers
):
    group = grabbers([CameraSpec("nvr-101", rtsp_camera.url, fps=5, width=320)])
    group.wait_live("nvr-101", 10)
    rtsp_camera.pause()  # the connection stays open, nothing more arrives: grab() blocks
    paused_at = time.monotonic()
    try:
        wait_for(lambda: group.health("nvr-101").state == "stalled", 4.0, "reported stalled")
        assert time.monotonic() - paused_at >= STALLED_S - 0.5
        wait_for(lambda: group.status("nvr-101") == "offline", 5.0 - (time.monotonic() - paused_at),
                 "offline within 5 s")  # fmt: skip
        wait_for(lambda: group.health("nvr-101").state == "offline", 1.0, "reported offline")
    finally:
        rtsp_camera.resume()
    resumed_at = time.monotonic()
    group.wait_live("nvr-101", 12)
    assert time.monotonic() - resumed_at < 12


def silent_listener() -> socket.socket:
    """A port that accepts connections (the kernel does) and never says a word."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    return listener


def test_unreachable_silent_and_non_video_addresses_give_clear_errors_and_stop_promptly(
    rtsp_camera, http_camera, cameras_running, grabbers, live_store, request
):
    listener = silent_listener()
    silent_port = listener.getsockname()[1]
    closed_port = free_port()  # nothing listens there
    cases = {
        "closed-rtsp": (f"rtsp://127.0.0.1:{closed_port}/Streaming/Channels/101", "auto",
                        "koneksi ditolak: kamera mati atau port salah (connection refused)"),
        "silent-rtsp": (f"rtsp://127.0.0.1:{silent_port}/cam/realmonitor", "auto",
                        "tidak menjawab dalam 5 dtk (no RTSP answer)"),
        "silent-mjpeg": (f"http://127.0.0.1:{silent_port}/video.mjpg", "auto",
                         "kamera tidak menjawab dalam 5 dtk (no HTTP answer)"),
        "silent-snap": (f"http://127.0.0.1:{silent_port}/snapshot.jpg", "snapshot",
                        "kamera tidak menjawab dalam 5 dtk (ReadTimeout)"),
        "web-page": (http_camera.page_url, "auto",
                     "bukan aliran video: kamera mengirim text/html (not video)"),
        "page-as-snapshot": (http_camera.page_url, "snapshot",
                             "bukan gambar: kamera mengirim text/html (not an image)"),
        "jpeg-as-stream": (http_camera.snapshot_url, "auto",
                           "gunakan source_type: snapshot"),
        "wrong-password": (rtsp_camera.url_for("admin", "tebakan"), "auto",
                           "kamera menolak nama pengguna/kata sandi (RTSP 401 Unauthorized)"),
        "no-password": (rtsp_camera.url_without_credentials, "auto",
                        "kamera meminta nama pengguna/kata sandi (RTSP 401 Unauthorized)"),
        "wrong-channel": (rtsp_camera.url.replace("/101", "/109"), "auto",
                          "saluran tidak ada di kamera: periksa path/channel (RTSP 404 Not Found)"),
        "rtsp-at-http": (http_camera.url.replace("http://", "rtsp://"), "auto",
                         "alamat ini bukan server RTSP (no RTSP answer)"),
    }  # fmt: skip
    try:
        group = grabbers(
            [CameraSpec(name, url, kind, width=320) for name, (url, kind, _) in cases.items()],
            GrabTiming(stalled_after_s=STALLED_S, offline_after_s=OFFLINE_S),  # 5 s timeouts
        )
        for name, (_, _, message) in cases.items():
            health = wait_for(
                lambda n=name: (h := group.health(n)) is not None and h.error and h, 7.0, name
            )
            assert message in health.error, (name, health.error)
            assert health.state == "offline" and health.seq == 0
            status = camera_status(health, time.time(), STALLED_S, OFFLINE_S)
            assert status.state == "offline" and status.error == health.error
            assert "Kmd-2026" not in health.error and "127.0.0.1" not in health.error
        # The silent ones are inside a 5 s open again by now; stopping does not wait for it.
        time.sleep(1.0)
        stopped_in_s = group.close(within_s=2.0)
        assert stopped_in_s < 2.0
        request.node.user_properties.append(("stopped_in_s", round(stopped_in_s, 3)))
        # Each abandoned open still ends by its own timeout: no thread is left hanging.
        wait_for(
            lambda: not [t for t in threading.enumerate() if t.name.startswith("open-")],
            6.0,
            "abandoned opens finishing",
        )
    finally:
        listener.close()
    assert live_store.camera("closed-rtsp")[0] is None
