"""Wall refresh bench for Komando (issue 5): server time and bytes per wall refresh.

A wall display POSTs one Dash callback a second, the live feed (`callbacks/live_feed.py`): the
versions it has go up, the sections that changed come back, or 204 with no body when none did.
This bench measures that request with 500 sensors, 50 KPI tiles and 16 cameras, for 1 and for 50
displays against one server, in three scenarios:
- `nothing`: the sensors and KPIs are written once before the window and then left alone, while
  16 cameras keep publishing frames (new seq and frame_ts) at 10 fps as grabbers do. Displays
  keep the versions each answer brings, as the browser does. Every refresh should be a 204;
- `everything`: a writer rewrites all 500 sensors and 50 KPIs with new values once a second and
  flips the cameras between live and offline, and the displays send *stale* versions (those of
  a page just loaded), so that every single refresh makes the server read, build and send all
  four sections. Rewriting everything before each of 50 refreshes a second instead would load
  Redis and the writer with 27,500 writes a second without changing the server's work per
  refresh: with a version it does not have, the feed reads whole hashes and builds every item;
- `baseline`: the same callback with `want: []`. It goes through uvicorn, Dash's dispatch and the
  callback, reads nothing and answers 204: the cheapest Dash callback this server has, so what
  the feed costs beyond it is the feed's own work.

What runs (all on loopback, all stopped at the end, even on error):
- a Redis server (`data.redis_server.EmbeddedRedis`, Unix socket) and, in this process, the
  writer thread (`data.live_store.LiveStore`, as the workers write);
- the web role as deployed: `uvicorn --factory app:asgi`, one worker, a temporary city made
  from Prabumulih, and `KOMANDO_INGEST_INTERVAL_S=10`. The data is "late" after
  max(15 s, 5 x that interval); with the default 2 s a `nothing` window longer than 15 s would
  be late data, whose header line rightly changes every second;
- the displays (`loadgen.py`) in a process of their own, so their CPU is not the server's.

Server CPU is psutil's user+sys of the uvicorn process over the window. The CPU that other
processes on the machine took in the window is measured too; a window where they took more than
a quarter of a core is measured again and the quieter of the two kept.

    .venv/bin/python bench/wall/run.py [--quick] [--py-spy PATH]   # ~4.5 min (--quick ~1.5 min)
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
import psutil
import yaml

from bench.signed_in import sign_in
from data.city import load_city
from data.live_store import LiveStore, connect
from data.models import CameraHealth, KpiValue, Reading
from data.redis_server import EmbeddedRedis
from layouts import ids
from tests.ports import free_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PY = sys.executable
CITY = "wallbench"
NAMESPACE = f"komando:{CITY}"
SENSORS, KPIS, CAMERAS = 500, 50, 16
CAMERA_FPS = 10.0
WANT = ["alerts", "cameras", "freshness", "kpis", "regions", "sensors"]  # what the wall asks for
STOP_TIMEOUT_S = 5.0
BUSY_ELSEWHERE = 0.25  # of a core: a window shared with that much other work is redone once

AIM_P95_MS = 50.0
AIM_BYTES_NOTHING = 2048
# A tiny JPEG-looking frame: the web role never decodes frames, and none is watched here.
FRAME = b"\xff\xd8" + bytes(2000) + b"\xff\xd9"


# -- processes -------------------------------------------------------------------------------
class Procs:
    """Every process this bench starts, so that cleanup stops exactly those and nothing else."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[Any]] = []

    def start(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
        proc = subprocess.Popen(argv, start_new_session=True, **kwargs)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[Any]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT_S)
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs)):
            self.stop(proc)


class LineProc:
    """The load client: talks in lines on stdin/stdout."""

    def __init__(self, procs: Procs, argv: list[str], log: Path) -> None:
        self.procs = procs
        self._log = log.open("wb")
        self.log_path = log
        self.proc = procs.start(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, cwd=ROOT
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.put(raw.decode(errors="replace").rstrip("\n"))
        self.lines.put(None)

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def expect(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"load client: no {prefix!r} within {timeout:.0f} s") from None
            if line is None:
                tail = self.log_path.read_text(errors="replace")[-1500:]
                raise RuntimeError(f"load client exited before {prefix!r}:\n{tail}")
            if line.startswith(prefix):
                return line

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.send("STOP")
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(3.0)
        self.procs.stop(self.proc)
        self._log.close()


def cpu_s(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return times.user + times.system


def busy_s() -> float:
    """CPU seconds every process on the machine has run, all cores together."""
    t = psutil.cpu_times()
    return t.user + t.nice + t.system


# -- the city --------------------------------------------------------------------------------
def write_city(cities_dir: Path) -> tuple[list[dict], list[str], list[str]]:
    """Prabumulih with its sensors copied up to 500 (every kind, the same regions, positions
    jittered), its sensor and simulated KPIs copied up to 50 on the wall, and its street camera
    copied up to 16 cameras. Returns (sensors, wall KPI ids, camera ids)."""
    folder = cities_dir / CITY
    shutil.copytree(ROOT / "data" / "cities" / "prabumulih", folder)
    config = yaml.safe_load((folder / "city.yaml").read_text(encoding="utf-8"))
    rng = random.Random(5)
    sensors = list(config["sensors"])
    originals = list(sensors)
    for i in range(SENSORS - len(sensors)):
        base = originals[i % len(originals)]
        sensors.append(
            base
            | {
                "id": f"{base['id']}-w{i:03d}",
                "name": f"{base['name']} #{i}",
                "lat": round(base["lat"] + rng.uniform(-0.01, 0.01), 5),
                "lng": round(base["lng"] + rng.uniform(-0.01, 0.01), 5),
            }
        )
    config["sensors"] = sensors
    kpis = list(config["kpis"])
    copyable = [k for k in kpis if k["source"]["type"] in ("sensors", "simulated")]
    on_wall = sum(1 for k in kpis if k.get("on_wall", True))
    for i in range(KPIS - on_wall):
        base = copyable[i % len(copyable)]
        name = {lang: f"{text} #{i}" for lang, text in base["name"].items()}
        kpis.append(base | {"id": f"{base['id']}_w{i:02d}", "name": name, "on_wall": True})
    config["kpis"] = kpis
    street = next(c for c in config["cameras"] if c["kind"] == "street")
    cameras = list(config["cameras"])
    for i in range(CAMERAS - len(cameras)):
        cameras.append(
            street
            | {
                "id": f"wall-{i:02d}",
                "name": f"Kamera dinding {i + 1}",
                "lat": round(street["lat"] + 0.001 * i, 5),
            }
        )
    config["cameras"] = cameras
    (folder / "city.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    city = load_city(folder)  # the web role would refuse a city that does not validate
    wall_kpis = [k.id for k in city.config.kpis if k.on_wall]
    assert len(city.config.sensors) == SENSORS and len(wall_kpis) == KPIS
    assert len(city.config.cameras) == CAMERAS
    return (
        [{"id": s.id, "kind": s.kind, "capacity": s.capacity} for s in city.config.sensors],
        wall_kpis,
        [c.id for c in city.config.cameras],
    )


# -- the writer ------------------------------------------------------------------------------
RANGES = {"air_quality": (5.0, 250.0), "water_level": (80.0, 420.0)}


class Writer:
    """The workers' side of the live state, written with `LiveStore` as they write it.

    Cameras always publish at 10 fps (a new seq and frame_ts each frame). With `churn` on, all
    sensors and KPIs are rewritten with new values once a second, and the cameras spend every
    other second offline (the grabber's "connection lost" report), so that their badges change."""

    def __init__(self, store: LiveStore, sensors: list[dict], kpis: list[str], cameras: list[str]):
        self.store = store
        self.sensors = sensors
        self.kpis = kpis
        self.cameras = cameras
        self.rng = random.Random(7)
        self.seq = 0
        self.churn = False
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="writer", daemon=True)
        self.rewrites = 0
        self.error: BaseException | None = None

    def value(self, sensor: dict) -> float:
        low, high = RANGES.get(sensor["kind"], (0.0, float(sensor["capacity"] or 100)))
        return round(self.rng.uniform(low, high), 1)

    def write_all(self) -> None:
        now = time.time()
        self.store.write_readings(
            Reading(sensor_id=s["id"], ts=now, value=self.value(s)) for s in self.sensors
        )
        self.store.write_kpis(
            KpiValue(kpi_id=k, ts=now, value=round(self.rng.uniform(0, 15000), 2))
            for k in self.kpis
        )
        self.rewrites += 1

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # a window measured without its writer would be wrong
            if not self.stop.is_set():
                self.error = exc

    def _loop(self) -> None:
        period = 1.0 / CAMERA_FPS
        next_at = time.monotonic()
        last_rewrite = 0.0
        while not self.stop.wait(max(0.0, next_at - time.monotonic())):
            next_at += period
            now = time.time()
            self.seq += 1
            offline = self.churn and int(now) % 2 == 1
            if self.churn and now - last_rewrite >= 1.0:
                self.write_all()
                last_rewrite = now
            for camera in self.cameras:
                if offline:
                    health = CameraHealth(
                        state="offline", seq=self.seq, frame_ts=now - 1.0, updated_ts=now
                    )
                    self.store.set_camera_health(camera, health)
                else:
                    health = CameraHealth(
                        state="live", seq=self.seq, frame_ts=now, updated_ts=now, fps=CAMERA_FPS
                    )
                    self.store.publish_frame(camera, FRAME, health)


# -- the system under test -------------------------------------------------------------------
@dataclass
class Bench:
    procs: Procs
    tmp: Path
    redis_url: str
    redis_pid: int
    writer: Writer | None = None
    web_port: int = 0
    web: subprocess.Popen[Any] | None = None
    cookies: dict[str, str] = field(default_factory=dict)

    def start_web(self, camera: str) -> None:
        env = os.environ | {
            "REDIS_URL": self.redis_url,
            "KOMANDO_DATA_DIR": str(self.tmp / "var"),
            "KOMANDO_CITIES_DIR": str(self.tmp / "cities"),
            "KOMANDO_CITY": CITY,
            "KOMANDO_INGEST_INTERVAL_S": "10",
            "KOMANDO_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        self.web_port = free_port()
        (self.tmp / "var").mkdir(exist_ok=True)
        self.cookies = sign_in(
            f"sqlite:///{self.tmp / 'var' / 'komando.sqlite3'}", self.tmp / "cities" / CITY
        )
        log = (self.tmp / "web.log").open("wb")
        self.web = self.procs.start(
            [
                PY, "-m", "uvicorn", "--factory", "app:asgi", "--app-dir", str(ROOT),
                "--host", "127.0.0.1", "--port", str(self.web_port), "--no-access-log",
                "--log-level", "warning", "--timeout-graceful-shutdown", "2",
            ],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                break
            with contextlib.suppress(httpx.HTTPError):
                url = f"http://127.0.0.1:{self.web_port}/video/{camera}.jpg"
                if httpx.get(url, timeout=2, cookies=self.cookies).status_code == 200:
                    return
            time.sleep(0.2)
        tail = (self.tmp / "web.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"web server did not start:\n{tail}")


# -- one window ------------------------------------------------------------------------------
@dataclass
class Window:
    scenario: str
    displays: int
    seconds: float
    latencies_ms: list[float]
    statuses: dict[str, int]
    up: int
    down: int
    body_down: int
    late: int
    errors: dict[str, int]
    server_cpu: float
    redis_cpu: float
    client_cpu: float
    other_cpu: float
    sizes: dict[str, int]
    max_bytes: int  # the largest refresh, up + down

    @property
    def refreshes(self) -> int:
        return len(self.latencies_ms)

    def pct(self, q: float) -> float:
        values = sorted(self.latencies_ms)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, round(q * (len(values) - 1)))]

    def share_204(self) -> float:
        return self.statuses.get("204", 0) / max(1, self.refreshes)

    def cpu_ms_per_refresh(self, idle_core: float = 0.0) -> float:
        """Server CPU per refresh; with `idle_core`, less what the idle server spends."""
        spent = self.server_cpu - idle_core * self.seconds
        return 1000 * max(0.0, spent) / max(1, self.refreshes)

    def bytes_per_refresh(self) -> tuple[float, float]:
        n = max(1, self.refreshes)
        return self.up / n, self.down / n


SCENARIOS = {
    # scenario: (loadgen mode, sections wanted, writer churning)
    "baseline": ("follow", [], False),
    "nothing": ("follow", WANT, False),
    "everything": ("stale", WANT, True),
}


def measure_once(bench: Bench, scenario: str, displays: int, seconds: float) -> Window:
    assert bench.web is not None and bench.writer is not None
    mode, want, churn = SCENARIOS[scenario]
    bench.writer.churn = False
    bench.writer.write_all()  # fresh data; from here on, `nothing` changes nothing
    bench.writer.churn = churn
    argv = [PY, str(HERE / "loadgen.py"), "--port", str(bench.web_port), "--displays",
            str(displays), "--mode", mode, "--want", ",".join(want),
            "--seconds", str(seconds)]  # fmt: skip
    load = LineProc(bench.procs, argv, bench.tmp / f"loadgen-{scenario}-{displays}.log")
    try:
        load.expect("READY", 60)
        time.sleep(0.5)
        pids = [bench.web.pid, bench.redis_pid, load.proc.pid, os.getpid()]
        cpu0 = [cpu_s(p) for p in pids]
        busy0 = busy_s()
        t0 = time.monotonic()
        load.send("GO")
        load.expect("WINDOW_END", seconds + 30)
        elapsed = time.monotonic() - t0
        cpu1 = [cpu_s(p) for p in pids]
        busy1 = busy_s()
        result = json.loads(load.expect("{", 30))
    finally:
        load.stop()
        bench.writer.churn = False
    if bench.writer.error is not None:
        raise RuntimeError(f"the writer stopped: {bench.writer.error!r}")
    used = [b - a for a, b in zip(cpu0, cpu1, strict=True)]
    return Window(
        scenario=scenario,
        displays=displays,
        seconds=elapsed,
        latencies_ms=result["latencies_ms"],
        statuses=result["statuses"],
        up=result["up"],
        down=result["down"],
        body_down=result["body_down"],
        late=result["late"],
        errors=result["errors"],
        server_cpu=used[0],
        redis_cpu=used[1],
        client_cpu=used[2],
        other_cpu=max(0.0, busy1 - busy0 - sum(used)),
        sizes=result["sizes"],
        max_bytes=result["max_bytes"],
    )


def measure(bench: Bench, scenario: str, displays: int, seconds: float) -> Window:
    """`measure_once`, again when other processes took more than a quarter of a core; the
    quieter of the two counts."""
    window = measure_once(bench, scenario, displays, seconds)
    if window.other_cpu / window.seconds > BUSY_ELSEWHERE:
        print(
            f"  (other processes used {window.other_cpu / window.seconds:.0%} of a core: "
            "measuring again)",
            flush=True,
        )
        again = measure_once(bench, scenario, displays, seconds)
        window = min(window, again, key=lambda w: w.other_cpu / w.seconds)
    return window


def describe(w: Window) -> str:
    up, down = w.bytes_per_refresh()
    return (
        f"{w.scenario:<10} N={w.displays:<3} {w.refreshes:5d} refreshes  p50 {w.pct(0.5):6.1f} "
        f"p95 {w.pct(0.95):6.1f} max {max(w.latencies_ms, default=0):6.1f} ms  up {up:6.0f} B "
        f"down {down:7.0f} B  204 {w.share_204():4.0%}  server {w.cpu_ms_per_refresh():5.2f} "
        f"ms/refresh ({w.server_cpu / w.seconds:4.0%} of a core)  redis "
        f"{w.redis_cpu / w.seconds:3.0%}  client {w.client_cpu / w.seconds:3.0%}  other "
        f"{w.other_cpu / w.seconds:3.0%}  late {w.late}"
        + (f"  errors {w.errors}" if w.errors else "")
    )


def idle(bench: Bench, seconds: float) -> float:
    """The server's CPU (share of a core) with cameras publishing and no display."""
    assert bench.web is not None
    c0, t0 = cpu_s(bench.web.pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_s(bench.web.pid) - c0) / (time.monotonic() - t0)


def gzip_check(bench: Bench) -> dict[str, Any]:
    """One `everything` response: its size as sent, gzipped (level 6, what GZipMiddleware uses)
    and the CPU that compressing it costs."""
    sys.path.insert(0, str(HERE))
    from loadgen import feed_body

    assert bench.writer is not None
    bench.writer.write_all()
    response = httpx.post(
        f"http://127.0.0.1:{bench.web_port}/_dash-update-component",
        content=feed_body(1, {"want": WANT, "lang": "id"}),
        headers={
            "Content-Type": "application/json",
            "Accept-Encoding": "gzip, deflate, br",
            "X-CSRFToken": os.environ["KOMANDO_BENCH_CSRF"],
        },
        cookies=bench.cookies,
        timeout=10,
    )
    raw = response.content
    t0 = time.process_time()
    for _ in range(20):
        packed = gzip.compress(raw, 6)
    gzip_ms = 1000 * (time.process_time() - t0) / 20
    sections = response.json()["response"][ids.FEED]["data"]
    return {
        "encoding": response.headers.get("content-encoding", "none"),
        "raw": len(raw),
        "gzip": len(packed),
        "gzip_ms": gzip_ms,
        "sections": {k: len(json.dumps(v, separators=(",", ":"))) for k, v in sections.items()},
    }


def profile(
    bench: Bench, py_spy: str, seconds: float
) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
    """py-spy on the server through an `everything` x 50 window (not a measured one: sampling
    costs CPU): the share of samples under each function (inclusive) and in it (own time)."""
    assert bench.web is not None
    out = bench.tmp / "profile.txt"
    proc = subprocess.Popen(
        [py_spy, "record", "-p", str(bench.web.pid), "-d", str(int(seconds)), "-r", "200",
         "-f", "raw", "--nonblocking", "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        measure_once(bench, "everything", 50, seconds)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        names = []
        for frame in stack.split(";"):
            name, _, where = frame.partition(" (")
            where = where.split(":")[0].rstrip(")")
            short = where.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
            names.append(f"{name} ({short})")
        for name in set(names):
            inclusive[name] = inclusive.get(name, 0) + int(count)
        if names:
            own[names[-1]] = own.get(names[-1], 0) + int(count)
    # The ASGI layers every request passes through, and the loop, say nothing: skip them.
    generic = ("click/", "<frozen", "uvicorn/", "starlette/", "fastapi/", "asyncio/")

    def top(counts: dict[str, int], k: int, skip: bool) -> list[tuple[float, str]]:
        items = sorted(counts.items(), key=lambda item: -item[1])
        return [
            (100 * n / max(1, total), name)
            for name, n in items
            if not (skip and name.split(" (", 1)[-1].startswith(generic))
        ][:k]

    return top(inclusive, 30, True), top(own, 20, False)


# -- the table -------------------------------------------------------------------------------
def print_table(windows: dict[tuple[str, int], Window], idle_core: float) -> list[bool]:
    header = (
        f"{'scenario':<11}{'N':>3}{'refr.':>7}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}"
        f"{'up B':>7}{'down B':>8}{'204':>6}{'late':>6}{'err':>5}{'srv ms/refr':>12}"
        f"{'net':>6}{'srv core':>10}{'other':>7}"
    )
    print(header)
    print("-" * len(header))
    for (_, n), w in windows.items():
        up, down = w.bytes_per_refresh()
        print(
            f"{w.scenario:<11}{n:>3}{w.refreshes:>7}{w.pct(0.5):>8.1f}{w.pct(0.95):>8.1f}"
            f"{max(w.latencies_ms, default=0):>8.1f}{up:>7.0f}{down:>8.0f}{w.share_204():>6.0%}"
            f"{w.late:>6}{sum(w.errors.values()):>5}{w.cpu_ms_per_refresh():>12.2f}"
            f"{w.cpu_ms_per_refresh(idle_core):>6.2f}"
            f"{w.server_cpu / w.seconds:>10.0%}{w.other_cpu / w.seconds:>7.0%}"
        )
    print(f"(server idle with 16 cameras publishing and no display: {idle_core:.1%} of a core)")
    print()
    oks: list[bool] = []
    rows = []
    for scenario in ("nothing", "everything"):
        w = windows.get((scenario, 50))
        if w is not None:
            ok = w.pct(0.95) < AIM_P95_MS and not w.errors
            rows.append((f"p95 latency, {scenario} changed, 50 displays", f"{w.pct(0.95):.1f} ms",
                         f"< {AIM_P95_MS:.0f} ms", ok))  # fmt: skip
    for n in (1, 50):
        w = windows.get(("nothing", n))
        if w is not None:
            up, down = w.bytes_per_refresh()
            ok = w.max_bytes < AIM_BYTES_NOTHING and not w.errors
            measured = (
                f"mean {up + down:.0f} B (up {up:.0f}, down {down:.0f}), "
                f"largest {w.max_bytes} B; 204 {w.share_204():.0%}"
            )
            rows.append((f"bytes on the wire per refresh, nothing changed, {n} display(s)",
                         measured, f"< {AIM_BYTES_NOTHING} B each", ok))  # fmt: skip
    for label, measured, aim, ok in rows:
        print(f"{label:<62} {measured:<58} {aim:<12} {'PASS' if ok else 'MISS'}")
        oks.append(ok)
    return oks


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="6 s windows (about 1.5 min)")
    parser.add_argument("--seconds", type=float, help="window length (default 25, quick 6)")
    parser.add_argument("--py-spy", metavar="PATH", help="py-spy binary: profile the server")
    parser.add_argument("--only", nargs="+", choices=tuple(SCENARIOS), help="these scenarios")
    args = parser.parse_args(argv)
    if args.seconds is None:
        args.seconds = 6.0 if args.quick else 25.0
    return args


def _raise_exit(*_: object) -> None:
    raise SystemExit(143)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_exit)
    started = time.monotonic()
    procs = Procs()
    windows: dict[tuple[str, int], Window] = {}
    top: tuple[list[tuple[float, str]], list[tuple[float, str]]] = ([], [])
    writer: Writer | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="kwb-") as folder, EmbeddedRedis() as server:
            tmp = Path(folder)
            assert server.process is not None
            bench = Bench(procs, tmp, server.url, server.process.pid)
            sensors, kpis, cameras = write_city(tmp / "cities")
            writer = Writer(LiveStore(connect(server.url), NAMESPACE), sensors, kpis, cameras)
            bench.writer = writer
            writer.write_all()
            writer.thread.start()
            bench.start_web(cameras[-1])
            print(
                f"web :{bench.web_port} (uvicorn --factory app:asgi, 1 worker), {len(sensors)} "
                f"sensors, {len(kpis)} wall KPIs, {len(cameras)} cameras at {CAMERA_FPS:.0f} fps, "
                f"{os.cpu_count()} CPUs, {args.seconds:.0f} s per window",
                flush=True,
            )
            try:
                time.sleep(1.0)
                idle_core = idle(bench, 3.0 if args.quick else 8.0)
                for scenario in args.only or ("baseline", "nothing", "everything"):
                    # `nothing` runs longer: the feed re-reads the KPIs every 30 s (a KPI goes
                    # late by itself), and that refresh belongs in the window.
                    seconds = args.seconds + (
                        10.0 if scenario == "nothing" and not args.quick else 0
                    )
                    for n in (1, 50):
                        w = measure(bench, scenario, n, seconds)
                        windows[(scenario, n)] = w
                        print("  " + describe(w), flush=True)
                sizes = gzip_check(bench)
                if args.py_spy:
                    print("[profile] py-spy on the server, everything x 50", flush=True)
                    top = profile(bench, args.py_spy, max(8.0, args.seconds))
            finally:
                writer.stop.set()
                writer.thread.join(5)
                procs.stop_all()
    finally:
        procs.stop_all()
    print()
    oks = print_table(windows, idle_core)
    print(
        f"\none `everything` response: {sizes['raw']:,} B as sent (Content-Encoding: "
        f"{sizes['encoding']}), {sizes['gzip']:,} B gzipped ({sizes['gzip'] / sizes['raw']:.0%}), "
        f"{sizes['gzip_ms']:.2f} ms CPU to compress; JSON per section: "
        + ", ".join(f"{k} {v:,} B" for k, v in sizes["sections"].items())
    )
    if top[0]:
        print("\nserver profile, everything x 50, share of samples under each function:")
        for share, name in top[0]:
            print(f"  {share:5.1f}%  {name}")
        print("own time (the innermost frame):")
        for share, name in top[1]:
            print(f"  {share:5.1f}%  {name}")
    print(f"\ntotal bench time {time.monotonic() - started:.0f} s")
    return 0 if all(oks) else 1


if __name__ == "__main__":
    sys.exit(main())
