"""The test cameras (tests/camera_server.py), read by OpenCV as the grabber reads a camera.

Every capture is opened like video/grabber.py opens one: FFmpeg backend, 5 s open and read
timeouts. The measured times are printed (`pytest -s`) with a `[camera]` prefix.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from tests.camera_server import MjpegCamera, RtspCamera, rtsp_describe
from tests.ports import free_port
from video.sources import SAMPLES_DIR

STREET = SAMPLES_DIR / "car-detection.mp4"  # 768×432, 12.5 fps, H.264 baseline
SCHOOL = SAMPLES_DIR / "one-by-one-person-detection.mp4"  # 768×432, 10 fps, H.264 with B-frames
SHAPE = (432, 768, 3)
TIMEOUT_MS = 5000
CAPTURE_PARAMS = [
    cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
    TIMEOUT_MS,
    cv2.CAP_PROP_READ_TIMEOUT_MSEC,
    TIMEOUT_MS,
]


def report(what: str, value: object) -> None:
    print(f"[camera] {what}: {value}")


@contextmanager
def capture_of(url: str) -> Iterator[cv2.VideoCapture]:
    capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG, CAPTURE_PARAMS)
    try:
        yield capture
    finally:
        capture.release()


def timed_open(url: str) -> tuple[cv2.VideoCapture, float]:
    began = time.monotonic()
    capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG, CAPTURE_PARAMS)
    return capture, time.monotonic() - began


def read_frames(capture: cv2.VideoCapture, count: int, within_s: float = 15.0) -> list[np.ndarray]:
    """Up to `count` frames, stopping at the first failed read or after `within_s`."""
    frames: list[np.ndarray] = []
    deadline = time.monotonic() + within_s
    while len(frames) < count and time.monotonic() < deadline:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    return frames


def seconds_until_read_fails(capture: cv2.VideoCapture, within_s: float = 15.0) -> float | None:
    began = time.monotonic()
    while time.monotonic() - began < within_s:
        ok, _ = capture.read()
        if not ok:
            return time.monotonic() - began
    return None


def live_fps(capture: cv2.VideoCapture, frames: int = 25) -> float:
    """Frames per second at the live edge: first drain what was buffered while the stream
    was being probed, then time `frames` reads."""
    assert len(read_frames(capture, 30)) == 30
    began = time.monotonic()
    assert len(read_frames(capture, frames)) == frames
    return frames / (time.monotonic() - began)


def assert_camera_frames(frames: list[np.ndarray], count: int = 20) -> None:
    assert len(frames) >= count, f"read only {len(frames)} frames"
    assert {frame.shape for frame in frames} == {SHAPE}
    # Real pictures, not a grey or green placeholder from a decoder that lost its references.
    assert float(frames[-1].std()) > 5


@pytest.fixture(params=["udp", "tcp"])
def rtsp_transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    # How the grabber forces a transport; OpenCV reads the variable at each open.
    monkeypatch.setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", f"rtsp_transport;{request.param}")
    return request.param


@pytest.fixture(scope="module")
def street_rtsp() -> Iterator[RtspCamera]:
    with RtspCamera(STREET, path="street") as camera:
        report("RTSP camera start (clip already re-encoded)", f"{camera.last_start_s:.2f} s")
        yield camera


@pytest.fixture(scope="module")
def street_mjpeg() -> Iterator[MjpegCamera]:
    with MjpegCamera(STREET) as camera:
        report("MJPEG camera start", f"{camera.last_start_s:.2f} s")
        yield camera


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight frames (0.64 s) of the street clip, to see a camera loop within a test."""
    clip = tmp_path_factory.mktemp("clip") / "short.mp4"
    source = cv2.VideoCapture(str(STREET))
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 12.5, (768, 432))
    for _ in range(8):
        ok, frame = source.read()
        assert ok
        writer.write(frame)
    writer.release()
    source.release()
    return clip


# --- RTSP ------------------------------------------------------------------------------------


def test_rtsp_camera_streams_the_clip_in_real_time(street_rtsp: RtspCamera, rtsp_transport: str):
    assert street_rtsp.url.startswith("rtsp://127.0.0.1:")
    capture, open_s = timed_open(street_rtsp.url)
    try:
        assert capture.isOpened(), street_rtsp.log_tail()
        report(f"RTSP/{rtsp_transport} open", f"{open_s:.2f} s")
        assert_camera_frames(read_frames(capture, 20))
        fps = live_fps(capture)
    finally:
        capture.release()
    report(f"RTSP/{rtsp_transport} frame rate at the live edge", f"{fps:.1f} fps (clip: 12.5)")
    assert 9 <= fps <= 16


def test_rtsp_serves_the_school_clip_too():
    with RtspCamera(SCHOOL, path="school") as camera, capture_of(camera.url) as capture:
        assert camera.fps == 10
        assert capture.isOpened(), camera.log_tail()
        assert_camera_frames(read_frames(capture, 20))


def test_rtsp_camera_loops_the_clip_forever(short_clip: Path):
    with RtspCamera(short_clip) as camera, capture_of(camera.url) as capture:
        assert capture.isOpened(), camera.log_tail()
        frames = read_frames(capture, 40)  # five times round an 8-frame clip
    assert len(frames) == 40


def test_two_rtsp_readers_at_once_over_udp_and_tcp(
    street_rtsp: RtspCamera, monkeypatch: pytest.MonkeyPatch
):
    captures = []
    try:
        for transport in ("udp", "tcp"):
            monkeypatch.setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", f"rtsp_transport;{transport}")
            captures.append(cv2.VideoCapture(street_rtsp.url, cv2.CAP_FFMPEG, CAPTURE_PARAMS))
            assert captures[-1].isOpened(), street_rtsp.log_tail()
        results: list[list[np.ndarray]] = [[], []]

        def read(index: int) -> None:  # each capture is owned by one thread, as in the grabber
            results[index] = read_frames(captures[index], 40)

        threads = [threading.Thread(target=read, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in threads)
    finally:
        for capture in captures:
            capture.release()
    for frames in results:
        assert_camera_frames(frames, 40)


@pytest.mark.parametrize(("transport", "how"), [("udp", "stop"), ("tcp", "stop"), ("tcp", "kill")])
def test_rtsp_camera_goes_offline_and_comes_back(
    transport: str, how: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", f"rtsp_transport;{transport}")
    with RtspCamera(STREET) as camera:
        url, port = camera.url, camera.port
        with capture_of(url) as capture:
            assert capture.isOpened(), camera.log_tail()
            assert len(read_frames(capture, 30)) == 30  # at the live edge: nothing buffered
            camera.stop() if how == "stop" else camera.kill()
            failed_after = seconds_until_read_fails(capture)
        assert failed_after is not None, "reads went on for 15 s after the camera went away"
        report(f"RTSP/{transport} read fails after {how}", f"{failed_after:.3f} s")
        assert failed_after < 6.5

        capture, open_s = timed_open(url)
        capture.release()
        report(f"RTSP/{transport} open of the offline camera fails", f"{open_s:.3f} s")
        assert not capture.isOpened()
        assert open_s < 2

        camera.start()
        assert camera.port == port and camera.url == url
        report("RTSP camera restart", f"{camera.last_start_s:.2f} s")
        began = time.monotonic()
        with capture_of(url) as capture:
            assert capture.isOpened(), camera.log_tail()
            frames = read_frames(capture, 20, within_s=10)
        report(f"RTSP/{transport} frames again after restart", f"{time.monotonic() - began:.2f} s")
        assert_camera_frames(frames)
        assert time.monotonic() - began < 10


def test_hung_rtsp_camera_runs_into_the_open_and_read_timeouts(monkeypatch: pytest.MonkeyPatch):
    """SIGSTOP: the camera keeps its connections but sends nothing, like a pulled cable.

    OpenCV does not fail the first read that times out: each timed-out read drains one frame
    still held by FFmpeg's frame-threaded H.264 decoder and returns it as a good (stale) frame.
    Only when the decoder is empty does a read fail, so a hung camera costs up to
    (CAP_PROP_N_THREADS + 1) read timeouts.
    """
    monkeypatch.setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
    timeout_s = TIMEOUT_MS / 1000
    with RtspCamera(STREET) as camera:
        with capture_of(camera.url) as capture:
            assert capture.isOpened(), camera.log_tail()
            threads = int(capture.get(cv2.CAP_PROP_N_THREADS))
            assert len(read_frames(capture, 30)) == 30
            camera.pause()
            began, stale, ok = time.monotonic(), 0, True
            while ok and stale <= threads + 1:  # each read returns within the read timeout
                ok, _ = capture.read()
                stale += ok
            failed_after = time.monotonic() - began
        report(
            "RTSP/tcp reads after the camera hangs",
            f"{stale} stale frame(s), one per {timeout_s:.0f} s timeout, then a failed read "
            f"after {failed_after:.2f} s (decoder threads: {threads})",
        )
        assert not ok
        assert stale <= threads
        assert failed_after < timeout_s * (stale + 1) + 1.5

        capture, open_s = timed_open(camera.url)
        capture.release()
        report("RTSP/tcp open of a hung camera fails", f"{open_s:.2f} s")
        assert not capture.isOpened()
        assert timeout_s - 1 < open_s < timeout_s + 1.5

        camera.resume()
        with capture_of(camera.url) as capture:
            assert capture.isOpened(), camera.log_tail()
            assert_camera_frames(read_frames(capture, 20, within_s=10))


def test_rtsp_camera_with_digest_credentials():
    with RtspCamera(STREET, user="admin", password="kamera-123") as camera:
        assert camera.url.startswith("rtsp://admin:kamera-123@127.0.0.1:")
        assert rtsp_describe(camera.url_without_credentials)[0] == 401
        for url in (camera.url_without_credentials, camera.url_for("admin", "salah")):
            capture, open_s = timed_open(url)
            capture.release()
            assert not capture.isOpened()
            assert open_s < 2
        with capture_of(camera.url) as capture:
            assert capture.isOpened(), camera.log_tail()
            assert_camera_frames(read_frames(capture, 20))


# --- MJPEG and snapshots ---------------------------------------------------------------------


def test_mjpeg_camera_streams_the_clip_in_real_time(street_mjpeg: MjpegCamera):
    capture, open_s = timed_open(street_mjpeg.url)
    try:
        assert capture.isOpened(), street_mjpeg.log_tail()
        report("MJPEG open", f"{open_s:.2f} s")
        assert_camera_frames(read_frames(capture, 20))
        fps = live_fps(capture)
    finally:
        capture.release()
    report("MJPEG frame rate at the live edge", f"{fps:.1f} fps (clip: 12.5)")
    assert 9 <= fps <= 16


def test_mjpeg_serves_the_school_clip_and_loops(short_clip: Path):
    with MjpegCamera(SCHOOL) as camera, capture_of(camera.url) as capture:
        assert capture.isOpened(), camera.log_tail()
        assert_camera_frames(read_frames(capture, 20))
    with MjpegCamera(short_clip) as camera, capture_of(camera.url) as capture:
        assert len(read_frames(capture, 40)) == 40  # five times round an 8-frame clip


def test_two_mjpeg_readers_at_once(street_mjpeg: MjpegCamera):
    results: list[list[np.ndarray]] = [[], []]

    def read(index: int) -> None:
        with capture_of(street_mjpeg.url) as capture:
            results[index] = read_frames(capture, 30)

    threads = [threading.Thread(target=read, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    for frames in results:
        assert_camera_frames(frames, 30)


def test_snapshot_is_a_jpeg_that_changes(street_mjpeg: MjpegCamera):
    pictures = []
    with httpx.Client(timeout=5) as client:
        for _ in range(2):
            answer = client.get(street_mjpeg.snapshot_url)
            assert answer.status_code == 200
            assert answer.headers["content-type"] == "image/jpeg"
            pictures.append(answer.content)
            time.sleep(0.5)
    decoded = [cv2.imdecode(np.frombuffer(p, np.uint8), cv2.IMREAD_COLOR) for p in pictures]
    assert all(picture.shape == SHAPE for picture in decoded)
    assert pictures[0] != pictures[1]
    assert float(cv2.absdiff(decoded[0], decoded[1]).mean()) > 0.5


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_mjpeg_camera_goes_offline_and_comes_back(how: str):
    with MjpegCamera(STREET) as camera:
        url, port = camera.url, camera.port
        with capture_of(url) as capture:
            assert capture.isOpened(), camera.log_tail()
            assert len(read_frames(capture, 30)) == 30
            camera.stop() if how == "stop" else camera.kill()
            failed_after = seconds_until_read_fails(capture)
        assert failed_after is not None, "reads went on for 15 s after the camera went away"
        report(f"MJPEG read fails after {how}", f"{failed_after:.3f} s")
        assert failed_after < 6.5

        capture, open_s = timed_open(url)
        capture.release()
        report("MJPEG open of the offline camera fails", f"{open_s:.3f} s")
        assert not capture.isOpened()
        assert open_s < 2
        with pytest.raises(httpx.ConnectError):
            httpx.get(camera.snapshot_url, timeout=5)

        camera.start()
        assert camera.port == port
        report("MJPEG camera restart", f"{camera.last_start_s:.2f} s")
        began = time.monotonic()
        with capture_of(url) as capture:
            assert capture.isOpened(), camera.log_tail()
            frames = read_frames(capture, 20, within_s=10)
        assert_camera_frames(frames)
        assert time.monotonic() - began < 10


# --- what is not a camera --------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["rtsp", "http"])
def test_unreachable_address_fails_to_open_within_the_timeout(scheme: str):
    url = f"{scheme}://127.0.0.1:{free_port()}/x"  # nothing listens there
    capture, open_s = timed_open(url)
    opened = capture.isOpened()
    capture.release()
    report(f"{scheme} open of an unreachable address fails", f"{open_s:.3f} s")
    assert not opened
    assert open_s < TIMEOUT_MS / 1000 + 0.5


def test_a_web_page_is_not_video(street_mjpeg: MjpegCamera):
    page = httpx.get(street_mjpeg.page_url, timeout=5)
    assert page.headers["content-type"].startswith("text/html")
    capture, open_s = timed_open(street_mjpeg.page_url)
    try:
        opened = capture.isOpened()
        ok = capture.read()[0] if opened else False
    finally:
        capture.release()
    report("OpenCV on a text/html URL", f"opened={opened} read={ok} after {open_s:.3f} s")
    assert not (opened and ok)


# --- what the servers cost --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rtsp", "mjpeg"])
def test_server_cpu_while_serving_one_reader(
    kind: str, street_rtsp: RtspCamera, street_mjpeg: MjpegCamera
):
    camera = street_rtsp if kind == "rtsp" else street_mjpeg
    with capture_of(camera.url) as capture:
        assert len(read_frames(capture, 30)) == 30
        cpu_before, began = camera.cpu_time_s(), time.monotonic()
        frames = read_frames(capture, 50)  # 4 s at 12.5 fps
        share = (camera.cpu_time_s() - cpu_before) / (time.monotonic() - began)
    assert len(frames) == 50
    report(f"{kind} server CPU while serving one reader", f"{share:.1%} of one core")
    assert share < 0.5
