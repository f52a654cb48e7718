"""Komando's grabber in a process of its own, instrumented, for the video bench.

Runs one `video.grabber.CameraGrabber` thread per `--camera id=source` against Redis, exactly as
the grab role does, and counts per camera:
- frames published (`LiveStore.publish_frame` calls),
- full-size JPEG encodes (`cv2.imencode` on an image `--width` wide) and other encodes
  (thumbnails), and `encode_frame` calls.
Only the grabber's stable public API is used (`CameraGrabber(...)`, `.run(stop)`,
`encode_frame`), so the count holds whatever the loop does inside.

`--bare` instead runs the baseline: a plain `cv2.VideoCapture` read + resize + `cv2.imencode`
loop on the same file, paced to real time, decoding the same frames and encoding the same
number, with no Redis.

Talks over stdin/stdout: prints READY, answers each `STATS` line with one JSON line, and stops
on `STOP` or end of input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import cv2

_lock = threading.Lock()
_counts: dict[str, dict[str, int]] = {}


def _bump(name: str, amount: int = 1) -> dict[str, int]:
    camera = threading.current_thread().name
    with _lock:
        row = _counts.setdefault(
            camera, {"published": 0, "full_encodes": 0, "full_encodes_at_publish": 0,
                     "other_encodes": 0, "encode_frame_calls": 0}
        )  # fmt: skip
        row[name] += amount
        return row


def instrument(width: int) -> None:
    """Count every JPEG encode in this process by the encoded image's width."""
    import video.grabber as grabber

    real_imencode = cv2.imencode
    real_encode_frame = grabber.encode_frame

    def counting_imencode(ext, img, *args, **kwargs):
        if ext.lower() in (".jpg", ".jpeg"):
            _bump("full_encodes" if img.shape[1] == width else "other_encodes")
        return real_imencode(ext, img, *args, **kwargs)

    def counting_encode_frame(*args, **kwargs):
        _bump("encode_frame_calls")
        return real_encode_frame(*args, **kwargs)

    cv2.imencode = counting_imencode
    grabber.encode_frame = counting_encode_frame


def counting_store(client, namespace: str):
    from data.live_store import LiveStore

    class CountingStore(LiveStore):
        def publish_frame(self, *args, **kwargs):
            result = super().publish_frame(*args, **kwargs)
            row = _bump("published")
            # Encodes as of this publish: a snapshot taken between an encode and its publish
            # then cannot make the ratio look like 1.01.
            with _lock:
                row["full_encodes_at_publish"] = row["full_encodes"]
            return result

    return CountingStore(client, namespace)


def run_grabbers(args: argparse.Namespace, stop: threading.Event) -> list[threading.Thread]:
    from data.live_store import connect
    from video.grabber import CameraGrabber

    instrument(args.width)
    store = counting_store(connect(args.redis_url), args.namespace)
    threads = []
    for spec in args.camera:
        camera_id, _, source = spec.partition("=")
        grabber = CameraGrabber(
            camera_id, source, store, fps=args.fps, width=args.width, quality=args.quality
        )
        thread = threading.Thread(target=grabber.run, args=(stop,), name=camera_id, daemon=True)
        thread.start()
        threads.append(thread)
    return threads


def bare_loop(source: str, fps: float, width: int, quality: int, stop: threading.Event) -> None:
    """The least a grabber must do: decode the clip in real time, resize and encode at `fps`.

    Frames not due are `grab()`bed (decoded, not converted), the due one is `read()`; this is
    the cheapest correct way to sample a compressed clip, so the ratio shows the grabber's
    whole overhead."""
    period = 1.0 / fps
    capture = cv2.VideoCapture(source, cv2.CAP_FFMPEG)
    native_fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    started = time.monotonic()
    position = 0
    next_due = started
    while not stop.wait(max(0.0, next_due - time.monotonic())):
        next_due += period
        if next_due < time.monotonic():
            next_due = time.monotonic() + period
        wanted = int((time.monotonic() - started) * native_fps)
        while position < wanted and capture.grab():
            position += 1
        ok, frame = capture.read()
        position += 1
        if not ok:
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            started, position = time.monotonic(), 0
            continue
        height = max(2, round(frame.shape[0] * width / frame.shape[1]))
        small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
        ok, buffer = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, quality])
        buffer.tobytes()
        row = _bump("full_encodes")
        with _lock:
            row["published"] += 1
            row["full_encodes_at_publish"] = row["full_encodes"]
    capture.release()


def stats() -> dict:
    times = os.times()
    with _lock:
        cameras = {k: dict(v) for k, v in _counts.items()}
    return {"t": time.monotonic(), "cpu": times.user + times.system, "cameras": cameras}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--namespace", default="komando:benchcity")
    parser.add_argument("--camera", action="append", default=[], help="id=source, repeatable")
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--quality", type=int, default=80)
    parser.add_argument("--bare", action="store_true", help="the baseline loop, no Redis")
    args = parser.parse_args()
    stop = threading.Event()
    if args.bare:
        camera_id, _, source = args.camera[0].partition("=")
        thread = threading.Thread(
            target=bare_loop,
            args=(source, args.fps, args.width, args.quality, stop),
            name=camera_id,
            daemon=True,
        )
        thread.start()
        threads = [thread]
    else:
        threads = run_grabbers(args, stop)
    print("READY", flush=True)
    for line in sys.stdin:  # end of input (the bench died) stops us too
        command = line.strip()
        if command == "STATS":
            print(json.dumps(stats()), flush=True)
        elif command == "STOP":
            break
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
