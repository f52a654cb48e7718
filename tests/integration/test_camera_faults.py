"""Camera faults survived (issue 7): while one camera server is killed and restarted, one camera
starts answering garbage and 50 cameras become unreachable at once, the healthy cameras keep
their frame rate, the broken ones are shown offline on the wall, and the restarted one comes
back by itself.

Real parts only: the grab role (`python -m video`) and a web process (uvicorn) as separate
processes on a real Redis; an RTSP camera (GStreamer) and an MJPEG camera (tests/camera_server.py)
and the demo clips through OpenCV; 50 snapshot cameras on two servers (one SIGKILLed: connection
refused, one frozen with SIGSTOP: connections accepted, never answered, as an address that
swallows packets); a camera whose firmware turns to garbage. Frames are counted as the web
processes hear of them, on the grabbers' Redis announcement channel.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import psutil
import pytest
import redis

from data.history import make_engine
from data.live_store import LiveStore, connect
from layouts import ids
from tests.accounts import session_for
from tests.camera_server import MjpegCamera, RtspCamera, StillCamera
from tests.ports import free_port
from tests.processes import (
    Role,
    Viewer,
    answers,
    city_with_cameras,
    grab_command,
    kill_leftovers,
    migrate,
    stop_all,
    web_command,
)
from tests.waiting import wait_for
from video.sources import SAMPLES_DIR

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

NAMESPACE = "komando:prabumulih"
FPS = 5.0
STALLED_S, OFFLINE_S = 3.0, 6.0  # the wall's 3 / 10 s, shortened for the test's sake
UNREACHABLE = 50
BASELINE_S = 10.0
FAULTS_S = 20.0
RESTART_AFTER_S = 5.0
# Healthy cameras must keep this share of the frame rate they had just before the faults. The
# grabber paces each camera at FPS and never catches up on a late frame, so on an idle machine
# the ratio is 1.0 within a frame or two; 0.85 leaves room for the scheduler of a shared 2-core
# machine over a 20 s window (a frame in seven), while a fault that stalls the healthy loops
# (a lock they share held by a dead camera's open, a busy loop on garbage, 50 reconnects at
# once hogging the process) costs seconds of frames and fails it.
KEEP_RATE = 0.85
LONGEST_GAP_S = 1.5  # and no healthy camera stops for this long (7 frame periods)
# While they worked, the 50 snapshot cameras cost the grab process their fetch, decode and
# encode; dead, they must cost less, only paced reconnects. (Building a TLS context per
# reconnect once made them cost 1.8 times as much as when they worked.)
DEAD_COST = 1.1

HEALTHY = ("nvr-rtsp", "simpang-sudirman", "sdn1-gerbang")


def camera(camera_id: str, source: str, **extra: object) -> str:
    """One camera of city.yaml (a street camera in Prabumulih's kelurahan Prabu Jaya)."""
    lines = [
        f"  - id: {camera_id}",
        f'    name: "Uji {camera_id}"',
        "    kind: street",
        '    region: "16.74.05.1002"',
        "    lat: -3.4270",
        "    lng: 104.2380",
        f'    source: "{source}"',
        *(f"    {key}: {value}" for key, value in extra.items()),
    ]
    return "\n".join(lines) + "\n"


class FrameCounter:
    """Every frame announcement of every camera, with the time it was heard."""

    def __init__(self, redis_url: str, channel: str) -> None:
        self.client = redis.Redis.from_url(redis_url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel)
        self.heard: dict[str, list[tuple[float, int]]] = defaultdict(list)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="frame-counter", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            message = self.pubsub.get_message(timeout=0.2)
            if message is None:
                continue
            camera_id, _, seq = message["data"].decode().partition(" ")
            self.heard[camera_id].append((time.monotonic(), int(seq)))

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.pubsub.close()
        self.client.close()

    def frames(self, camera_id: str, start: float, end: float) -> list[float]:
        return [t for t, _ in self.heard[camera_id] if start <= t < end]

    def rate(self, camera_id: str, start: float, end: float) -> float:
        return len(self.frames(camera_id, start, end)) / (end - start)

    def longest_gap(self, camera_id: str, start: float, end: float) -> float:
        edges = [start, *self.frames(camera_id, start, end), end]
        return max(b - a for a, b in pairwise(edges))


class WallBadges:
    """The camera badges of a signed-in wall, from its live feed, sampled through the test."""

    def __init__(self, viewer: Viewer, base: str) -> None:
        self.viewer = viewer
        self.base = base
        self.samples: list[tuple[float, dict[str, str]]] = []  # (monotonic, {camera: state})
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="wall-badges", daemon=True)

    def states(self) -> dict[str, str]:
        answer = self.viewer.feed(self.base, {"want": ["cameras"]})
        assert answer.status_code == 200, answer.text[:300]
        cameras = answer.json()["response"][ids.FEED]["data"]["cameras"]
        # The badge's class names the state: "camera-badge state-offline".
        return {c: badge[1].rsplit("state-", 1)[1] for c, badge in cameras.items()}

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            self.samples.append((time.monotonic(), self.states()))

    def __enter__(self) -> WallBadges:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=20)

    def seen(self, camera_id: str, start: float, end: float) -> list[str]:
        return [s[camera_id] for t, s in self.samples if start <= t < end]


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def test_healthy_cameras_keep_their_rate_while_others_die_spew_garbage_or_vanish(
    redis_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    rtsp = RtspCamera(SAMPLES_DIR / "car-detection.mp4")
    restarted = MjpegCamera(SAMPLES_DIR / "one-by-one-person-detection.mp4")
    garbage = StillCamera(fps=FPS)
    refusing = StillCamera()  # SIGKILLed: its 25 cameras' connections are refused
    silent = StillCamera()  # SIGSTOPped: its 25 cameras' connections hang, never answered
    servers = [rtsp, restarted, garbage, refusing, silent]
    cut_off = [f"putus-{n:02}" for n in range(UNREACHABLE // 2)]
    hung = [f"senyap-{n:02}" for n in range(UNREACHABLE // 2)]
    roles: dict[str, Role] = {}
    try:
        for server in servers:
            server.start()
        cameras = camera("nvr-rtsp", rtsp.url) + camera("mjpeg-mati", restarted.url)
        cameras += camera("sampah", garbage.url)
        for n, camera_id in enumerate(cut_off):
            cameras += camera(camera_id, refusing.snapshot_url(n), source_type="snapshot", fps=1)
        for n, camera_id in enumerate(hung):
            cameras += camera(camera_id, silent.snapshot_url(n), source_type="snapshot", fps=1)
        cities = city_with_cameras(tmp_path / "cities", cameras)
        database_url = f"sqlite:///{tmp_path / 'komando.sqlite3'}"
        env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "DATABASE_URL": database_url,
            "KOMANDO_DATA_DIR": str(tmp_path),
            "KOMANDO_CITIES_DIR": str(cities),
            "KOMANDO_CITY": "prabumulih",
            "KOMANDO_CAMERA_FPS": str(FPS),
            "KOMANDO_CAMERA_STALLED_AFTER_S": str(STALLED_S),
            "KOMANDO_CAMERA_OFFLINE_AFTER_S": str(OFFLINE_S),
        }
        env.pop("KOMANDO_CAMERA_SHARD", None)
        migrate(env)
        engine = make_engine(database_url)
        viewer = Viewer(session_for(engine, "operator").cookies)
        engine.dispose()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        roles = {
            "grab": Role("grab", grab_command(), tmp_path / "grab.log", env),
            "web": Role("web", web_command(port), tmp_path / "web.log", env),
        }
        store = LiveStore(connect(redis_url), NAMESPACE)
        counter = FrameCounter(redis_url, store.keys.frames_channel)
        for role in roles.values():
            role.start()
        try:
            run_the_faults(
                request, roles, base, viewer, store, counter, (cut_off, hung),
                (restarted, garbage, refusing, silent),
            )  # fmt: skip
        finally:
            counter.close()
            store.client.close()
        codes = stop_all(roles)
        logs = {name: role.text() for name, role in roles.items()}
        assert codes == {"grab": 0, "web": -signal.SIGTERM}, {n: logs[n][-3000:] for n in codes}
        for name, log in logs.items():
            assert "Traceback" not in log, (name, log[-4000:])
    finally:
        kill_leftovers(roles)
        silent.resume()
        for server in servers:
            server.close()


def run_the_faults(
    request: pytest.FixtureRequest,
    roles: dict[str, Role],
    base: str,
    viewer: Viewer,
    store: LiveStore,
    counter: FrameCounter,
    unreachable: tuple[list[str], list[str]],
    servers: tuple[MjpegCamera, StillCamera, StillCamera, StillCamera],
) -> None:
    cut_off, hung = unreachable
    restarted, garbage, refusing, silent = servers
    wait_for(lambda: answers(base + "/healthz"), 60, "web answering")
    badges = WallBadges(viewer, base)
    everything = [*HEALTHY, "mjpeg-mati", "sampah", *cut_off, *hung]
    wait_for(
        lambda: (
            set((states := badges.states()).values()) == {"live"}
            and states.keys() >= set(everything)
        ),
        90,
        "every camera live on the wall",
    )
    with badges:
        grab_pid = roles["grab"].pid
        baseline_start = time.monotonic()
        cpu_before = cpu_seconds(grab_pid)
        time.sleep(BASELINE_S)
        faults_start = time.monotonic()
        cpu_baseline = cpu_seconds(grab_pid) - cpu_before
        seq_garbage = max(s for _, s in counter.heard["sampah"])

        restarted.kill()  # a camera server dies (SIGKILL)
        refusing.kill()  # 25 cameras: connection refused from now on
        silent.pause()  # 25 cameras: connected, never answered
        garbage.spoil()  # one camera's firmware turns to garbage
        time.sleep(RESTART_AFTER_S)
        restarted.start()  # back on the same port, as after a power cycle
        back_at = time.monotonic()
        time.sleep(max(0.0, faults_start + FAULTS_S - time.monotonic()))
        faults_end = time.monotonic()
        cpu_faults = cpu_seconds(grab_pid) - cpu_before - cpu_baseline
        wait_for(
            lambda: badges.samples and badges.samples[-1][1]["mjpeg-mati"] == "live",
            20,
            "the restarted camera live again on the wall",
        )
        live_again_s = next(
            t for t, s in badges.samples if t >= back_at and s["mjpeg-mati"] == "live"
        )
    assert roles["grab"].alive, roles["grab"].text()[-3000:]

    rates = {
        c: (
            counter.rate(c, baseline_start, faults_start),
            counter.rate(c, faults_start, faults_end),
        )
        for c in HEALTHY
    }
    gaps = {c: counter.longest_gap(c, faults_start, faults_end) for c in HEALTHY}
    # The broken cameras, as the wall showed them at the end of the faults.
    dead = ["sampah", *cut_off, *hung]
    settled = faults_start + OFFLINE_S + 6  # stalled, then offline (a hung fetch waits 5 s)
    shown = {c: badges.seen(c, settled, faults_end) for c in dead}
    after_spoil = [s for t, s in counter.heard["sampah"] if t > faults_start + 1]
    errors = {c: (store.camera(c)[1] or None) for c in dead}
    errors = {c: h.error if h else "(no health)" for c, h in errors.items()}
    gap_seen = set(badges.seen("mjpeg-mati", faults_start, back_at))
    figures = {
        "fps_before_during": {c: (round(a, 2), round(b, 2)) for c, (a, b) in rates.items()},
        "longest_gap_s": {c: round(g, 2) for c, g in gaps.items()},
        "grab_cpu_s_baseline_per_s": round(cpu_baseline / BASELINE_S, 3),
        "grab_cpu_s_faults_per_s": round(cpu_faults / FAULTS_S, 3),
        "restarted_live_after_s": round(live_again_s - back_at, 2),
        "restarted_states_while_dead": sorted(gap_seen),
        "garbage_frames_after_spoil": len(after_spoil),
        "dead_not_offline": sum(1 for c in dead if set(shown[c]) != {"offline"}),
        "errors": {c: errors[c] for c in ("sampah", cut_off[0], hung[0])},
    }
    for name, value in figures.items():
        request.node.user_properties.append((name, value))
    print(f"\n{request.node.name}: {figures}")

    assert cpu_faults / FAULTS_S <= DEAD_COST * cpu_baseline / BASELINE_S, figures
    for camera_id, (before, during) in rates.items():
        assert before >= 0.6 * FPS, (camera_id, before)  # the baseline is a real stream
        assert during >= KEEP_RATE * before, (camera_id, before, during)
        assert gaps[camera_id] < LONGEST_GAP_S, (camera_id, gaps[camera_id])
    # Garbage is never published as a picture; it, the refused and the hung are offline.
    assert not after_spoil, after_spoil[:5]
    assert seq_garbage > 0
    for camera_id in dead:
        assert shown[camera_id] and set(shown[camera_id]) == {"offline"}, (
            camera_id,
            shown[camera_id],
        )
    # Each with its reason, in words an operator can act on.
    assert all("koneksi ditolak" in errors[c] for c in cut_off), errors
    assert all("tidak menjawab" in errors[c] for c in hung), errors
    assert errors["sampah"], errors
    # The killed camera showed the gap, then came back by itself.
    assert gap_seen & {"stalled", "offline"}, gap_seen
    assert live_again_s - back_at < 20
