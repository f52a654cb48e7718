"""The grabber's pure parts: masks, enabled hours, camera config, shards, backoff, snapshots."""

from __future__ import annotations

import random
import threading
import time
import zlib
from datetime import datetime
from zoneinfo import ZoneInfo

import cv2
import httpx
import numpy as np
import pytest
from pydantic import ValidationError

from data.city import CameraConfig, EnabledHours, source_type_of
from video.grabber import Backoff, _Abandoned, call_interruptibly, encode_frame
from video.masks import MaskPainter, rasterise
from video.shards import Shard, parse_shard, shard_of
from video.snapshot import SnapshotError, SnapshotSource, decode_snapshot, split_credentials

WIB = ZoneInfo("Asia/Jakarta")


# -- privacy masks ----------------------------------------------------------------------------
def test_a_half_picture_mask_covers_exactly_that_half():
    raster = rasterise([[(0, 0), (0.5, 0), (0.5, 1), (0, 1)]], 100, 50)
    assert raster[:, :50].all()  # every pixel of the left half is hidden
    assert not raster[:, 51:].any()  # the right half is seen (the edge column may be hidden)


def test_the_whole_picture_and_fractional_edges():
    assert rasterise([[(0, 0), (1, 0), (1, 1), (0, 1)]], 64, 36).all()
    # [2.9, 7.1) px on a 10 px picture: pixels 2..7 are touched, so all six are hidden.
    raster = rasterise([[(0.29, 0.29), (0.71, 0.29), (0.71, 0.71), (0.29, 0.71)]], 10, 10)
    hidden_columns = np.flatnonzero(raster.any(axis=0))
    assert hidden_columns.tolist() == [2, 3, 4, 5, 6, 7]
    assert raster[2:8, 2:8].all()


def test_a_triangle_hides_its_area_and_no_more_than_its_outline():
    raster = rasterise([[(0.8, 0.0), (1.0, 0.0), (1.0, 0.3)]], 200, 100) > 0
    exact = 0.5 * 40 * 30
    assert exact <= raster.sum() <= exact + 2 * (40 + 30 + 50)  # area plus at most its border
    assert raster[0, 199] and raster[1, 190] and not raster[50, 199] and not raster[0, 150]


def test_no_mask_hides_nothing_and_painting_works_at_any_size():
    assert not rasterise([], 32, 16).any()
    painter = MaskPainter([[(0, 0), (0.25, 0), (0.25, 1), (0, 1)]])
    for width, height in ((640, 360), (192, 108), (640, 360)):
        frame = np.full((height, width, 3), 200, np.uint8)
        painter.paint(frame)
        assert (frame[:, : width // 4] == 0).all()
        assert (frame[:, width // 4 + 1 :] == 200).all()
    assert len(painter._by_size) == 2  # rasterised once per size


def test_masks_are_painted_before_encoding_and_never_on_the_callers_frame():
    frame = np.full((432, 768, 3), 255, np.uint8)
    painter = MaskPainter([[(0, 0), (0.5, 0), (0.5, 0.5), (0, 0.5)]])
    jpeg = encode_frame(frame, 768, 90, painter)  # same width: no resize, so a copy is painted
    assert (frame == 255).all()
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert picture[:200, :370].max() < 16 and picture[230:, 400:].min() > 240


# -- enabled hours ----------------------------------------------------------------------------
def at(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, 25, hh, mm, tzinfo=WIB)


def test_daytime_hours():
    hours = EnabledHours.parse("06:00-18:00")
    assert hours.label == "06.00–18.00"
    assert not hours.is_on(at(5, 59)) and hours.is_on(at(6, 0)) and hours.is_on(at(17, 59))
    assert not hours.is_on(at(18, 0))  # the end is exclusive


def test_overnight_hours_wrap_past_midnight():
    hours = EnabledHours.parse("22:00-06:00")
    assert hours.label == "22.00–06.00"
    assert hours.is_on(at(22, 0)) and hours.is_on(at(23, 59)) and hours.is_on(at(0, 0))
    assert hours.is_on(at(5, 59)) and not hours.is_on(at(6, 0)) and not hours.is_on(at(12))


def test_several_windows_and_the_whole_day():
    hours = EnabledHours.parse("06:00-12:00, 13:00-17:30")
    assert hours.label == "06.00–12.00, 13.00–17.30"
    assert hours.is_on(at(7)) and not hours.is_on(at(12, 30)) and hours.is_on(at(17, 29))
    always = EnabledHours.parse("00:00-24:00")
    assert all(always.is_on(at(h, 59)) for h in range(24))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("6-18", "is not a time window: write HH:MM-HH:MM"),
        ("06:00 - 18:00x", "is not a time window"),
        ("25:00-06:00", "hours run 00:00..24:00"),
        ("06:60-07:00", "hours run 00:00..24:00"),
        ("24:00-06:00", "hours run 00:00..24:00"),
        ("08:00-08:00", "start and end are the same time"),
    ],
)
def test_bad_hours_say_how_to_write_them(text, message):
    with pytest.raises(ValueError, match=message):
        EnabledHours.parse(text)


# -- camera configuration ---------------------------------------------------------------------
CAMERA = {
    "id": "cam-1",
    "name": "Kamera",
    "kind": "street",
    "region": "16.74.05.1002",
    "lat": -3.42,
    "lng": 104.23,
    "source": "env:CAM_1_URL",
}


def camera(**changes: object) -> CameraConfig:
    return CameraConfig.model_validate({**CAMERA, **changes})


def problems(**changes: object) -> str:
    with pytest.raises(ValidationError) as caught:
        camera(**changes)
    return str(caught.value)


def test_per_camera_settings_masks_and_hours_are_validated():
    cam = camera(
        fps=2,
        width=480,
        jpeg_quality=70,
        enabled_hours="06:00-18:00",
        source_type="snapshot",
        privacy_masks=[{"name": "jendela", "points": [[0, 0], [0.2, 0], [0.2, 0.3]]}],
    )
    assert cam.hours is not None and cam.hours.label == "06.00–18.00"
    assert cam.privacy_masks[0].points[2] == (0.2, 0.3)
    assert camera().hours is None and camera().fps is None  # the global defaults apply
    assert "less than or equal to 30" in problems(fps=60)
    assert "greater than or equal to 10" in problems(jpeg_quality=5)
    assert "outside the picture" in problems(privacy_masks=[{"points": [[0, 0], [1.2, 0], [1, 1]]}])
    assert "no area" in problems(privacy_masks=[{"points": [[0, 0], [0.5, 0.5], [1, 1]]}])
    assert "at least 3 items" in problems(privacy_masks=[{"points": [[0, 0], [1, 1]]}])
    assert "is not a time window" in problems(enabled_hours="pagi")
    assert "Extra inputs are not permitted" in problems(privacy_mask=[])
    assert "Input should be 'auto'" in problems(source_type="hls")


def test_source_kinds_from_the_url_and_declared_kinds_must_fit():
    assert source_type_of("rtsp://10.0.0.5:554/Streaming/Channels/101") == "rtsp"
    assert source_type_of("rtsp://nvr/cam/realmonitor?channel=1&subtype=0") == "rtsp"
    assert source_type_of("http://10.0.0.6/video.mjpg") == "mjpeg"
    assert source_type_of("http://10.0.0.6/ISAPI/Streaming/channels/101/picture", "snapshot") == (
        "snapshot"
    )
    assert source_type_of("/srv/demo.mp4") == source_type_of("sample:clip.mp4") == "file"
    assert source_type_of("device:0") == source_type_of("device:/dev/video2") == "device"
    with pytest.raises(ValueError, match="source_type is snapshot but the source is a rtsp"):
        source_type_of("rtsp://cam/x", "snapshot")
    with pytest.raises(ValueError, match="unsupported URL scheme rtmp://"):
        source_type_of("rtmp://cam/live")
    with pytest.raises(ValueError, match="device:<number>"):
        source_type_of("device:front")
    # Committed sources are checked at load; env:/secret: ones once resolved.
    assert "source_type is rtsp but the source is a file" in problems(
        source="sample:car-detection.mp4", source_type="rtsp"
    )
    assert camera(source="env:CAM", source_type="rtsp").source_type == "rtsp"


# -- shards -----------------------------------------------------------------------------------
def test_shard_parsing():
    assert parse_shard("all") is None and parse_shard("") is None and parse_shard(None) is None
    assert parse_shard("2/4") == Shard(2, 4) and str(parse_shard(" 1 / 3 ")) == "1/3"
    for bad, message in (("0/4", "I must be 1..4"), ("5/4", "I must be 1..4"), ("1/0", "N must")):
        with pytest.raises(ValueError, match=message):
            parse_shard(bad)
    with pytest.raises(ValueError, match="expected I/N"):
        parse_shard("half")


def test_shards_are_a_stable_partition_by_crc32():
    ids = [f"cam-{n:03d}" for n in range(200)]
    # CRC-32, not hash(): the same in every process, so workers agree without talking.
    assert shard_of("sdn1-gerbang", 4) == zlib.crc32(b"sdn1-gerbang") % 4 + 1
    for count in (1, 2, 4, 7):
        shards = [Shard(i, count) for i in range(1, count + 1)]
        owners = [[s for s in shards if s.includes(camera_id)] for camera_id in ids]
        assert all(len(found) == 1 for found in owners)  # each camera in exactly one shard
        sizes = [sum(1 for found in owners if found[0] == s) for s in shards]
        assert min(sizes) >= 200 / count * 0.6  # and the shards are roughly even


# -- reconnect backoff ------------------------------------------------------------------------
def test_backoff_doubles_to_its_bound_with_full_jitter():
    backoff = Backoff(0.5, 6.0, random.Random(42))
    caps, delays = [], []
    for _ in range(8):
        caps.append(backoff.cap)
        delays.append(backoff.next())
    assert caps == [0.5, 1.0, 2.0, 4.0, 6.0, 6.0, 6.0, 6.0]
    assert all(0 <= d <= c for d, c in zip(delays, caps, strict=True))
    again = Backoff(0.5, 6.0, random.Random(42))
    assert [again.next() for _ in range(8)] == delays  # seeded: the same schedule
    backoff.reset()
    assert backoff.cap == 0.5 and backoff.next() <= 0.5


def test_backoff_spreads_many_cameras_over_the_whole_window():
    # 200 cameras failing at once: their 5th retries land all over [0, 6 s], not in a burst.
    rng = random.Random(7)
    fifth = []
    for _ in range(200):
        backoff = Backoff(0.5, 6.0, random.Random(rng.random()))
        fifth.append([backoff.next() for _ in range(5)][-1])
    assert 0 <= min(fifth) < 0.5 and 5.5 < max(fifth) <= 6.0
    buckets = np.histogram(fifth, bins=6, range=(0, 6))[0]
    assert buckets.max() < 3 * buckets.min()
    with pytest.raises(ValueError):
        Backoff(0, 1)


# -- snapshot cameras -------------------------------------------------------------------------
def jpeg_bytes() -> bytes:
    ok, buffer = cv2.imencode(".jpg", np.full((48, 64, 3), 120, np.uint8))
    assert ok
    return buffer.tobytes()


def source_answering(handler) -> SnapshotSource:
    return SnapshotSource("http://cam.local/snap.jpg", transport=httpx.MockTransport(handler))


def test_a_snapshot_is_fetched_and_decoded():
    body = jpeg_bytes()
    source = source_answering(
        lambda request: httpx.Response(200, headers={"content-type": "image/jpeg"}, content=body)
    )
    frame = source.fetch()
    assert frame.shape == (48, 64, 3)


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(200, headers={"content-type": "text/html"}, content=b"<html>"),
         "bukan gambar: kamera mengirim text/html (not an image)"),
        (httpx.Response(200, headers={"content-type": "image/jpeg"}, content=b"\xff\xd8garbage"),
         "gambar rusak atau tidak dikenal (not a decodable image, 9 bytes)"),
        (httpx.Response(200, headers={"content-type": "image/jpeg"}, content=b""),
         "jawaban kosong"),
        (httpx.Response(401), "periksa nama pengguna/kata sandi (HTTP 401)"),
        (httpx.Response(404), "alamat tidak ada di kamera (HTTP 404 Not Found)"),
        (httpx.Response(503), "HTTP 503"),
        (httpx.Response(200, headers={"content-type": "multipart/x-mixed-replace;boundary=x"}),
         "gunakan source_type: mjpeg"),
    ],
)  # fmt: skip
def test_snapshot_errors_say_what_came_back(response, message):
    source = source_answering(lambda request: response)
    with pytest.raises(SnapshotError) as caught:
        source.fetch()
    assert message in str(caught.value)
    assert "cam.local" not in str(caught.value)  # never the URL


def test_snapshot_transport_errors_and_endless_answers():
    def refused(request):
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    def slow(request):
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(SnapshotError, match=r"tidak dapat terhubung|koneksi ditolak"):
        source_answering(refused).fetch()
    with pytest.raises(SnapshotError, match=r"tidak menjawab dalam 5 dtk \(ReadTimeout\)"):
        source_answering(slow).fetch()
    endless = SnapshotSource(
        "http://cam.local/snap.jpg",
        transport=httpx.MockTransport(
            lambda request: httpx.Response(
                200, headers={"content-type": "image/jpeg"}, content=iter([b"x" * 4096] * 100)
            )
        ),
        max_bytes=64 * 1024,
    )
    with pytest.raises(SnapshotError, match="terlalu besar"):
        endless.fetch()
    with pytest.raises(SnapshotError, match="kosong"):
        decode_snapshot(b"")


def test_a_camera_client_is_made_without_building_a_tls_context_each_time():
    """A client is made at every reconnect of every snapshot camera (and every MJPEG preflight).
    httpx builds a TLS context per client (~18 ms of CPU, the CA bundle loaded): 50 unreachable
    cameras retrying burned a third of a core and cost the healthy ones frames (issue 7)."""
    SnapshotSource("http://cam.local/0.jpg").close()  # the process's shared context, made once
    began = time.process_time()
    for n in range(50):
        SnapshotSource(f"http://cam.local/{n}.jpg").close()
    assert time.process_time() - began < 0.3  # was 0.9 s: 50 × 18 ms


def test_snapshot_cameras_get_digest_or_basic_authentication_from_the_url():
    body = jpeg_bytes()
    seen: list[str] = []

    def digest_camera(request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        seen.append(auth.split(" ")[0])
        if auth.startswith("Digest ") and 'username="admin"' in auth:
            return httpx.Response(200, headers={"content-type": "image/jpeg"}, content=body)
        return httpx.Response(
            401, headers={"www-authenticate": 'Digest realm="cam", nonce="abc123", qop="auth"'}
        )

    source = SnapshotSource(
        "http://admin:s3cret@cam.local/ISAPI/Streaming/channels/101/picture",
        transport=httpx.MockTransport(digest_camera),
    )
    assert source.url == "http://cam.local/ISAPI/Streaming/channels/101/picture"
    for _ in range(3):
        assert source.fetch().shape == (48, 64, 3)
    # One challenge, then the digest is answered straight away on every later poll.
    assert seen[0] == "" and seen.count("") == 1 and seen[-2:] == ["Digest", "Digest"]

    def basic_camera(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization", "").startswith("Basic "):
            return httpx.Response(200, headers={"content-type": "image/jpeg"}, content=body)
        return httpx.Response(401, headers={"www-authenticate": 'Basic realm="cam"'})

    source = SnapshotSource(
        "http://u:p@cam.local/snap.jpg", transport=httpx.MockTransport(basic_camera)
    )
    assert source.fetch().shape == (48, 64, 3)
    assert split_credentials("http://cam.local/x") == ("http://cam.local/x", None)
    assert split_credentials("http://a%40b:p%3Aw@[fe80::1]:8080/x") == (
        "http://[fe80::1]:8080/x",
        ("a@b", "p:w"),
    )


# -- a blocking open does not hold a stopping loop ---------------------------------------------
def test_a_blocking_call_is_abandoned_on_stop_and_cleaned_up_later():
    stop = threading.Event()
    released: list[str] = []

    def slow_open() -> str:
        time.sleep(0.6)
        return "capture"

    threading.Timer(0.1, stop.set).start()
    began = time.monotonic()
    with pytest.raises(_Abandoned):
        call_interruptibly(slow_open, stop.is_set, cleanup=released.append)
    assert time.monotonic() - began < 0.4
    deadline = time.monotonic() + 3
    while not released and time.monotonic() < deadline:
        time.sleep(0.05)
    assert released == ["capture"]  # the late result was released, not leaked
    assert call_interruptibly(lambda: 7, lambda: False) == 7
    with pytest.raises(ZeroDivisionError):
        call_interruptibly(lambda: 1 / 0, lambda: False)
