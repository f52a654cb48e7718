"""Soak bench for Komando (issue 7): an hour of ingest, 16 cameras and 20 viewers on the roles as
deployed, reporting the memory of every process at the start and the end (aim: flat) and the
readings lost (aim: 0).

What runs, each in its own process, all on 127.0.0.1, all stopped at the end (also on Ctrl-C or
SIGTERM), nothing else touched:
- a Redis server (`data.redis_server.EmbeddedRedis`, Unix socket) and PostgreSQL
  (`tests.pg_server.TemporaryPostgres`; `--sqlite` for a SQLite file instead);
- the app's migrations (`python -m data migrate`), then the roles as deploy/ runs them
  (tests/processes.py): web (`uvicorn --factory app:asgi`, one worker), ingest (`python -m data`,
  whose simulator ticks every 2 s as by default) and grab (`python -m video`, every camera);
- a copy of the demo city with 16 more cameras (`city_with_cameras`), each an HTTP MJPEG camera
  served by `cameras.py` (one process, a port per camera) at 640x360, 5 fps, which the grabber
  publishes at its default 5 fps and 640 px;
- the device (`pusher.py`): batches of readings to `POST /api/v1/readings` with an API key made by
  `data.api_keys.create_key`, at `--rate` readings a second, recording every reading accepted;
- 20 signed-in MJPEG viewers (`viewers.py`) spread over the 16 cameras, counting frames, gaps and
  reconnects.

Every `--every` seconds it samples the RSS (and USS/PSS) and CPU of every process (a process's
children included: PostgreSQL is the sum of its server processes), Redis's used_memory and key
count, and the rows of every SQL table, and prints a progress line. The first `--warmup` minutes
fill caches and are not judged; the `--minutes` after them are the measured window. At the end,
once the device has stopped and the pipeline has flushed, every reading the API accepted is
looked for in SQL (readings lost = accepted - found), and so is every tick of the simulator.

Memory is judged on the second half of the measured window, as bench/wall_memory does: the
least-squares slope in MB/h (`slope_per_hour`). "flat" means at most FLAT_MB_PER_H (see there
for why that number).

    .venv/bin/python bench/soak/run.py                 # 2 min warm-up + 60 min, PostgreSQL
    .venv/bin/python bench/soak/run.py --minutes 5     # a quick run (1 min warm-up)
    .venv/bin/python bench/soak/run.py --sqlite --out /work/runs/soak-x   # also keep JSON + logs

Exits non-zero only when the bench itself could not run (a server did not start, a client of
its own died), never because a figure missed its aim.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402
import redis  # noqa: E402
from sqlalchemy import func, inspect, select, table  # noqa: E402

from bench.video.run import Procs, busy_s  # noqa: E402
from bench.wall_memory.run import slope_per_hour  # noqa: E402
from data.api_keys import create_key  # noqa: E402
from data.city import load_city  # noqa: E402
from data.history import make_engine, readings  # noqa: E402
from data.redis_server import EmbeddedRedis  # noqa: E402
from tests.accounts import session_for  # noqa: E402
from tests.camera_server import _die_with_parent as die_with_parent  # noqa: E402
from tests.integration.test_faults import simulator_ticks  # noqa: E402
from tests.pg_server import TemporaryPostgres  # noqa: E402
from tests.ports import free_port  # noqa: E402
from tests.processes import (  # noqa: E402
    Viewer,
    answers,
    city_with_cameras,
    grab_command,
    ingest_command,
    migrate,
    web_command,
)

HERE = Path(__file__).resolve().parent
PY = sys.executable
CLIP = ROOT / "video" / "samples" / "car-detection.mp4"
CITY = "prabumulih"
WIDTH, HEIGHT = 640, 360
INGEST_INTERVAL_S = 2.0  # KOMANDO_INGEST_INTERVAL_S's default, as deployed
# "Flat": a second-half slope of at most 2 MB/h. Below that, a one-hour run cannot tell a leak
# from the allocator's noise (CPython's arenas and glibc's malloc move a process's RSS by about
# a megabyte, now and then, and one such step in a 30-minute half is already 2 MB/h). Above it a
# process would gain 48 MB a day, 1.4 GB a month: a leak a week-long run would show plainly.
FLAT_MB_PER_H = 2.0
# A slope fitted over less than this is not judged (a --minutes 5 run's half is 2.5 minutes).
JUDGE_AFTER_S = 10 * 60
GAP_S = 1.0  # a viewer waiting this long for a frame (5 frame periods) counts a gap


# -- processes and samples -----------------------------------------------------------------------
@dataclass
class Proc:
    name: str
    pid: int


@dataclass
class Sample:
    t: float  # seconds since the load started
    at: float  # time.time()
    rss: dict[str, float]  # MB, the process and its children
    uss: dict[str, float]
    pss: dict[str, float]
    cpu: dict[str, float]  # CPU seconds so far
    procs: dict[str, int]  # how many processes (PostgreSQL: postmaster, backends, workers)
    busy: float  # busy_s() of the whole machine
    redis_used_mb: float
    redis_keys: int
    redis_clients: int  # connections: a pool that leaks them grows this
    sql_rows: dict[str, int]
    sent: int
    accepted: int
    pusher_at: float  # when the device wrote its status
    viewer_frames: int
    viewers_at: float  # when the viewers wrote theirs
    camera_accepts: int


def tree(pid: int) -> list[psutil.Process]:
    try:
        top = psutil.Process(pid)
        return [top, *top.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def measure_tree(pid: int, children: bool = True) -> tuple[float, float, float, float, int]:
    """(RSS, USS, PSS in MB, CPU seconds, processes) of a process and (by default) its
    children."""
    rss = uss = pss = cpu = 0.0
    procs = tree(pid) if children else tree(pid)[:1]
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            mem = proc.memory_full_info()
            times = proc.cpu_times()
            rss += mem.rss / 2**20
            uss += mem.uss / 2**20
            pss += getattr(mem, "pss", 0) / 2**20
            cpu += times.user + times.system + times.children_user + times.children_system
    return rss, uss, pss, cpu, len(procs)


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def sql_rows(engine) -> dict[str, int]:
    counts = {}
    with engine.connect() as conn:
        for name in sorted(inspect(conn).get_table_names()):
            if name != "alembic_version":
                counts[name] = conn.execute(select(func.count()).select_from(table(name))).scalar()
    return counts


def redis_key_groups(client: redis.Redis) -> dict[str, int]:
    """Keys by shape: the namespace's key names with ids and numbers replaced by '*'."""
    groups: dict[str, int] = {}
    for key in client.scan_iter(count=1000):
        parts = key.decode(errors="replace").split(":")
        shape = ":".join(parts[:3]) + (":*" if len(parts) > 3 else "")
        groups[shape] = groups.get(shape, 0) + 1
    return groups


# -- the bench ------------------------------------------------------------------------------------
@dataclass
class Soak:
    args: argparse.Namespace
    procs: Procs
    tmp: Path
    redis_server: EmbeddedRedis
    database_url: str
    pg: TemporaryPostgres | None
    env: dict[str, str] = field(default_factory=dict)
    base: str = ""
    roles: dict[str, subprocess.Popen[Any]] = field(default_factory=dict)
    clients: dict[str, subprocess.Popen[Any]] = field(default_factory=dict)
    camera_ids: list[str] = field(default_factory=list)
    camera_accepts: list[int] = field(default_factory=lambda: [0])

    def log(self, name: str) -> Path:
        return self.tmp / f"{name}.log"

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None):
        with self.log(name).open("ab") as out:
            return self.procs.start(
                argv,
                cwd=ROOT,
                env=env or self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )

    def processes(self) -> list[Proc]:
        found = [Proc(n, p.pid) for n, p in self.roles.items()]
        assert self.redis_server.process is not None
        found.append(Proc("redis", self.redis_server.process.pid))
        if self.pg is not None and self.pg.pid is not None:
            found.append(Proc("postgres", self.pg.pid))
        found += [Proc(n, p.pid) for n, p in self.clients.items()]
        found.append(Proc("bench (this)", os.getpid()))
        return found

    def setup(self) -> None:
        args = self.args
        ports = [free_port() for _ in range(args.cameras)]
        self.camera_ids = [f"soak-{i:02d}" for i in range(1, args.cameras + 1)]
        items = "".join(
            f"""\
  - id: {camera_id}
    name: "Kamera soak {i + 1}"
    kind: street
    region: "16.74.05.1002"
    lat: {-3.4280 + 0.0005 * i:.4f}
    lng: 104.2350
    source: "env:SOAK_CAM_{i + 1:02d}"
    source_type: mjpeg
"""
            for i, camera_id in enumerate(self.camera_ids)
        )
        cities = city_with_cameras(self.tmp / "cities", items)
        self.city = load_city(cities / CITY)
        self.env = {
            **os.environ,
            "REDIS_URL": self.redis_server.url,
            "DATABASE_URL": self.database_url,
            "KOMANDO_DATA_DIR": str(self.tmp / "var"),
            "KOMANDO_CITIES_DIR": str(cities),
            "KOMANDO_CITY": CITY,
            "KOMANDO_CAMERA_FPS": f"{args.fps:g}",
            "KOMANDO_CAMERA_WIDTH": str(WIDTH),
            "KOMANDO_INGEST_INTERVAL_S": f"{INGEST_INTERVAL_S:g}",
            "KOMANDO_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            **{
                f"SOAK_CAM_{i + 1:02d}": f"http://127.0.0.1:{p}/video.mjpg"
                for i, p in enumerate(ports)
            },
        }
        for name in ("KOMANDO_CAMERA_SHARD", "KOMANDO_MQTT_URL", "KOMANDO_METRICS_TOKEN"):
            self.env.pop(name, None)
        (self.tmp / "var").mkdir()

        # The cameras first: the grabber finds them up.
        cam = self.procs.start(
            [PY, str(HERE / "cameras.py"), "--ports", ",".join(map(str, ports)),
             "--clip", str(CLIP), "--fps", f"{args.fps:g}", "--width", str(WIDTH),
             "--height", str(HEIGHT)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=self.log("cameras").open("ab"), text=True,
            preexec_fn=die_with_parent,
        )  # fmt: skip
        assert cam.stdout is not None
        line = cam.stdout.readline()
        if not line.startswith("LISTENING"):
            raise RuntimeError(f"camera server did not start: {line!r}\n{self.tail('cameras')}")
        self.clients["cameras"] = cam

        migrate(self.env)  # once per release, before any web worker
        engine = make_engine(self.database_url)
        self.engine = engine
        api_key = create_key(engine, "soak device", "all", [])
        sessions = [session_for(engine, "operator") for _ in range(args.viewers)]
        self.viewer = Viewer(sessions[0].cookies)

        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.roles["web"] = self.start("web", web_command(port))
        self.roles["ingest"] = self.start("ingest", ingest_command())
        self.roles["grab"] = self.start("grab", grab_command())
        self.wait(lambda: answers(self.base + "/healthz"), 90, "web answering /healthz")
        self.wait(lambda: answers(self.base + "/readyz"), 120, "/readyz (Redis, SQL, heartbeats)")
        for camera_id in self.camera_ids:
            self.wait(
                lambda c=camera_id: self.viewer.camera_state(self.base, c)[0] == "live",
                120,
                f"camera {camera_id} live",
            )

        cookie_file = self.tmp / "viewer-cookies.json"
        cookie_file.write_text(
            json.dumps(["; ".join(f"{k}={v}" for k, v in s.cookies.items()) for s in sessions]),
            encoding="utf-8",
        )
        self.pusher_status = self.tmp / "pusher.json"
        self.viewer_status = self.tmp / "viewers.json"
        sensors = [s.id for s in self.city.config.sensors]
        self.clients["pusher"] = self.start(
            "pusher",
            [PY, str(HERE / "pusher.py"), "--base", self.base, "--sensors", ",".join(sensors),
             "--rate", f"{args.rate:g}", "--batch", str(args.batch),
             "--status", str(self.pusher_status)],
            env=self.env | {"SOAK_API_KEY": api_key},
        )  # fmt: skip
        self.clients["viewers"] = self.start(
            "viewers",
            [PY, str(HERE / "viewers.py"), "--port", str(port),
             "--cameras", ",".join(self.camera_ids), "--cookies", str(cookie_file),
             "--status", str(self.viewer_status), "--gap", f"{GAP_S:g}"],
        )  # fmt: skip
        # Only now: preexec_fn (above) is unsafe once this process has threads.
        threading.Thread(target=self._count_accepts, args=(cam,), daemon=True).start()

    def _count_accepts(self, cam: subprocess.Popen[Any]) -> None:
        assert cam.stdout is not None
        for line in cam.stdout:
            if line.startswith("ACCEPT"):
                self.camera_accepts[0] += 1

    def tail(self, name: str, chars: int = 2000) -> str:
        try:
            return f"--- {name}.log ---\n" + self.log(name).read_text(errors="replace")[-chars:]
        except OSError:
            return f"(no {name}.log)"

    def wait(self, check, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for name, proc in self.roles.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited ({proc.returncode})\n{self.tail(name)}")
            with contextlib.suppress(httpx.HTTPError, AssertionError, KeyError, ValueError):
                if check():
                    return
            time.sleep(0.5)
        tails = "\n".join(self.tail(n) for n in self.roles)
        raise RuntimeError(f"{what}: not within {timeout_s:.0f} s\n{tails}")

    def camera_seqs(self) -> dict[str, int]:
        seqs = {}
        for camera_id in self.camera_ids:
            with contextlib.suppress(httpx.HTTPError, AssertionError, KeyError, ValueError):
                seqs[camera_id] = self.viewer.camera_state(self.base, camera_id)[1]
        return seqs


def take_sample(soak: Soak, t0: float, rclient: redis.Redis) -> Sample:
    rss, uss, pss, cpu, procs = {}, {}, {}, {}, {}
    for proc in soak.processes():
        # Every process here is this bench's child: its own figure is its own alone.
        figures = measure_tree(proc.pid, children=proc.pid != os.getpid())
        rss[proc.name], uss[proc.name], pss[proc.name], cpu[proc.name], procs[proc.name] = figures
    try:
        used_mb = rclient.info("memory")["used_memory"] / 2**20
        keys = rclient.dbsize()
        clients = rclient.info("clients")["connected_clients"] - 1  # not the bench's own
    except redis.RedisError:
        used_mb, keys, clients = float("nan"), -1, -1
    pusher = read_json(soak.pusher_status)
    viewers = read_json(soak.viewer_status)
    try:
        rows = sql_rows(soak.engine)
    except Exception as exc:  # a figure, not a reason to stop the bench
        print(f"  (SQL rows not counted: {type(exc).__name__}: {exc})", flush=True)
        rows = {}
    return Sample(
        t=time.monotonic() - t0,
        at=time.time(),
        rss=rss,
        uss=uss,
        pss=pss,
        cpu=cpu,
        procs=procs,
        busy=busy_s(),
        redis_used_mb=used_mb,
        redis_keys=keys,
        redis_clients=clients,
        sql_rows=rows,
        sent=pusher.get("sent", 0),
        accepted=pusher.get("accepted", 0),
        pusher_at=pusher.get("at", 0.0),
        viewer_frames=sum(v["frames"] for v in viewers.get("viewers", [])),
        viewers_at=viewers.get("at", 0.0),
        camera_accepts=soak.camera_accepts[0],
    )


def progress(s: Sample, prev: Sample | None, soak: Soak, phase: str) -> None:
    # Rates between the clients' own status times (they write every 10 s, not at the sample).
    fps = rate = 0.0
    if prev and s.viewers_at > prev.viewers_at:
        fps = (s.viewer_frames - prev.viewer_frames) / (s.viewers_at - prev.viewers_at)
        fps /= soak.args.viewers
    if prev and s.pusher_at > prev.pusher_at:
        rate = (s.sent - prev.sent) / (s.pusher_at - prev.pusher_at)
    mem = " ".join(f"{n.split()[0]}={s.rss[n]:.0f}" for n in s.rss if n != "bench (this)")
    if "postgres" in s.uss:
        mem += f" (postgres USS {s.uss['postgres']:.0f} in {s.procs['postgres']} processes)"
    print(
        f"[{time.strftime('%H:%M:%S')}] {phase} {s.t / 60:5.1f} min | RSS MB {mem} | "
        f"redis {s.redis_used_mb:.1f} MB {s.redis_keys} keys {s.redis_clients} clients | "
        f"readings sent {s.sent} "
        f"({rate:.0f}/s) accepted {s.accepted} | SQL readings {s.sql_rows.get('readings', '?')}"
        f" | viewers {fps:.2f} fps each",
        flush=True,
    )


# -- the end -------------------------------------------------------------------------------------
def stop_client(proc: subprocess.Popen[Any], timeout_s: float = 30) -> int | None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout_s)
    return proc.poll()


def count_found(engine, pusher: dict[str, Any]) -> tuple[int, int, int, list[tuple[str, int]]]:
    """(accepted found in SQL, unanswered found, device rows in SQL, first few missing)."""
    first_ts, sensors = pusher["first_ts"], pusher["sensors"]
    end_ts = first_ts + pusher["sent"]
    with engine.connect() as conn:
        rows = conn.execute(
            select(readings.c.sensor_id, readings.c.ts_ms).where(
                readings.c.sensor_id.in_(sensors),
                readings.c.ts_ms >= first_ts * 1000,
                readings.c.ts_ms < end_ts * 1000,
            )
        ).all()
    stored = {(r.sensor_id, int(r.ts_ms)) for r in rows}

    def key(i: int) -> tuple[str, int]:
        ts = first_ts + i
        return sensors[ts % len(sensors)], ts * 1000

    found, missing = 0, []
    for start, end in pusher["accepted_ranges"]:
        for i in range(start, end):
            if key(i) in stored:
                found += 1
            elif len(missing) < 10:
                missing.append(key(i))
    unanswered_found = sum(
        key(i) in stored for start, end in pusher["unanswered_ranges"] for i in range(start, end)
    )
    return found, unanswered_found, len(stored), missing


def ticks_figures(soak: Soak, start: float, end: float) -> dict[str, Any]:
    """The simulator's ticks in [start, end] in SQL: how many, how many missing a sensor, the
    longest gap. Waits (up to a minute) until a tick after `end` is in SQL: the writer caught up."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(ts >= (end + 3) * 1000 for ts in simulator_ticks(soak.engine, soak.city, end, 2e10)):
            break
        time.sleep(1)
    ticks = simulator_ticks(soak.engine, soak.city, start, end)
    sensors = len(soak.city.config.sensors)
    times = sorted(ticks)
    edges = [int(start * 1000), *times, int(end * 1000)]
    gaps = [(b - a) / 1000 for a, b in itertools.pairwise(edges)]
    return {
        "ticks": len(times),
        "expected": int((end - start) / INGEST_INTERVAL_S),
        "incomplete": sum(1 for n in ticks.values() if n != sensors),
        "longest_gap_s": max(gaps) if gaps else None,
    }


def verdict(slope: float, half_s: float) -> str:
    if half_s < JUDGE_AFTER_S:
        return "too short to judge"
    return "flat" if slope <= FLAT_MB_PER_H else "GROWING"


def report(soak: Soak, samples: list[Sample], mark: Sample, final: dict[str, Any]) -> dict:
    args = soak.args
    window = [s for s in samples if s.t >= mark.t]
    end = window[-1]
    half = [s for s in window if s.t >= mark.t + (end.t - mark.t) / 2]
    seconds = end.t - mark.t
    rows = []
    print()
    print(
        f"Memory, measured window {seconds / 60:.1f} min after {mark.t / 60:.1f} min warm-up "
        f"(second half: {len(half)} samples; flat = slope <= {FLAT_MB_PER_H:g} MB/h)"
    )
    head = (
        f"{'process':<14} {'RSS start':>10} {'RSS end':>9} {'2nd half':>15} {'slope MB/h':>11} "
        f"{'USS start':>10} {'USS end':>9} {'USS MB/h':>9} {'CPU %core':>10}  verdict"
    )
    print(head)
    print("-" * len(head))
    for name in mark.rss:
        rss_half = [(s.t, s.rss[name]) for s in half]
        uss_half = [(s.t, s.uss[name]) for s in half]
        slope = slope_per_hour(rss_half)
        uss_slope = slope_per_hour(uss_half)
        cpu = 100 * (end.cpu[name] - mark.cpu[name]) / seconds if seconds else 0.0
        # PostgreSQL's RSS counts the shared buffers each server process has touched, which
        # fill up to shared_buffers as the tables grow: judged by its private memory (USS).
        judged = uss_slope if name == "postgres" else slope
        low, high = min(v for _, v in rss_half), max(v for _, v in rss_half)
        row = {
            "process": name,
            "rss_start": mark.rss[name],
            "rss_end": end.rss[name],
            "rss_half_range": [low, high],
            "rss_slope": slope,
            "uss_start": mark.uss[name],
            "uss_end": end.uss[name],
            "uss_slope": uss_slope,
            "cpu_pct": cpu,
            "processes": [mark.procs[name], end.procs[name]],
            "verdict": verdict(judged, half[-1].t - half[0].t)
            + (" (by USS)" if name == "postgres" else ""),
        }
        rows.append(row)
        print(
            f"{name:<14} {row['rss_start']:>10.1f} {row['rss_end']:>9.1f} "
            f"{f'{low:.1f}-{high:.1f}':>15} {slope:>+11.2f} {row['uss_start']:>10.1f} "
            f"{row['uss_end']:>9.1f} {uss_slope:>+9.2f} {cpu:>10.1f}  {row['verdict']}"
        )
    if "postgres" in mark.procs:
        print(
            f"(postgres: {mark.procs['postgres']} -> {end.procs['postgres']} server processes; "
            "its RSS counts the shared buffers each has touched, so it is judged by USS)"
        )
    ours = sum(end.cpu[n] - mark.cpu[n] for n in mark.cpu)
    others = (end.busy - mark.busy) - ours
    redis_half = [(s.t, s.redis_used_mb) for s in half]
    keys_half = [(s.t, float(s.redis_keys)) for s in half]
    print(
        f"{'redis used':<14} {mark.redis_used_mb:>10.1f} {end.redis_used_mb:>9.1f} "
        f"{'':>15} {slope_per_hour(redis_half):>+11.2f}  (INFO used_memory, MB)"
    )
    print(
        f"{'redis keys':<14} {mark.redis_keys:>10} {end.redis_keys:>9} {'':>15} "
        f"{slope_per_hour(keys_half):>+11.1f}  (keys/h)"
    )
    clients_half = [(s.t, float(s.redis_clients)) for s in half]
    print(
        f"{'redis clients':<14} {mark.redis_clients:>10} {end.redis_clients:>9} "
        f"{f'{min(v for _, v in clients_half):.0f}-{max(v for _, v in clients_half):.0f}':>15} "
        f"{slope_per_hour(clients_half):>+11.1f}  (connections/h)"
    )
    print(
        f"Other processes on the machine used {100 * others / seconds:.0f}% of a core "
        f"(of 200%) during the window; this bench's processes {100 * ours / seconds:.0f}%."
    )

    print("\nSQL rows written during the window (table: start -> end)")
    for name in sorted(end.sql_rows):
        before, after = mark.sql_rows.get(name, 0), end.sql_rows[name]
        if before != after:
            print(f"  {name}: {before} -> {after} (+{after - before})")

    pusher = final["pusher"]
    print("\nReadings (the device, all of its run)")
    print(
        f"  sent {pusher['sent']}, accepted {pusher['accepted']}, found in SQL "
        f"{final['found']}, LOST {pusher['accepted'] - final['found']}"
    )
    print(
        f"  requests by answer: {pusher['statuses']}; refused/unanswered readings by reason: "
        f"{pusher['refusals'] or 'none'}"
    )
    if final["found_after_stop"] != final["found"]:
        print(f"  found after the roles stopped: {final['found_after_stop']}")
    if pusher["unanswered"]:
        print(
            f"  unanswered readings {pusher['unanswered']}, of which in SQL "
            f"{final['unanswered_found']}"
        )
    if final["missing"]:
        print(f"  first missing (sensor, ts_ms): {final['missing']}")
    rate = pusher["sent"] / (pusher["at"] - pusher["started"])
    print(
        f"  rate {rate:.1f} readings/s; API answer p50 {pusher.get('p50_ms') or 0:.0f} ms "
        f"(last 10 s), slowest {pusher['slowest_ms']:.0f} ms"
    )
    ticks = final["ticks"]
    print(
        f"  simulator: {ticks['ticks']} ticks in SQL of ~{ticks['expected']} expected in the "
        f"window, {ticks['incomplete']} missing a sensor, longest gap "
        f"{ticks['longest_gap_s']} s"
    )

    viewers = final["viewers"]["viewers"]
    secs = final["viewers"]["seconds_since_mark"] or 1.0
    fps = [v["frames_since_mark"] / secs for v in viewers]
    published = {
        c: (final["seqs_end"][c] - final["seqs_mark"][c]) / final["seqs_seconds"]
        for c in final["seqs_end"]
        if c in final["seqs_mark"]
    }
    print(
        f"\nViewers ({len(viewers)} MJPEG, signed in, over {len(soak.camera_ids)} cameras at "
        f"{args.fps:g} fps; measured window {secs / 60:.1f} min)"
    )
    print(
        f"  delivered fps per viewer: min {min(fps):.2f}, median {statistics.median(fps):.2f},"
        f" max {max(fps):.2f} (camera {args.fps:g} fps; grabber published per camera: min "
        f"{min(published.values(), default=0):.2f}, max "
        f"{max(published.values(), default=0):.2f})"
    )
    gaps = sum(v["gaps"] for v in viewers)
    longest = max(v["longest_gap_s"] for v in viewers)
    reconnects = sum(v["reconnects_since_mark"] for v in viewers)
    reasons: dict[str, int] = {}
    for v in viewers:
        for r, n in v["reasons"].items():
            reasons[r] = reasons.get(r, 0) + n
    print(
        f"  gaps > {GAP_S:g} s: {gaps} (longest {longest:.2f} s); reconnects {reconnects}"
        f" {reasons or ''}; grabber connections to the cameras "
        f"during the window {final['camera_accepts'] - mark.camera_accepts} (0: none reconnected)"
    )
    print(
        f"\nRole exit codes: {final['exit_codes']}; log lines with Traceback/ERROR: "
        f"{final['log_problems'] or 'none'}"
    )
    return {
        "memory": rows,
        "redis": {
            "used_mb": [mark.redis_used_mb, end.redis_used_mb],
            "used_slope_mb_h": slope_per_hour(redis_half),
            "keys": [mark.redis_keys, end.redis_keys],
            "clients": [mark.redis_clients, end.redis_clients],
        },
        "others_cpu_pct": 100 * others / seconds,
        "ours_cpu_pct": 100 * ours / seconds,
        "viewer_fps": fps,
        "published_fps": published,
        "gaps": gaps,
        "longest_gap_s": longest,
        "reconnects": reconnects,
    }


def scan_logs(soak: Soak) -> dict[str, int]:
    problems = {}
    for name in [*soak.roles, *soak.clients]:
        with contextlib.suppress(OSError):
            lines = soak.log(name).read_text(errors="replace").splitlines()
            bad = [ln for ln in lines if "Traceback" in ln or " ERROR " in ln or "ERROR:" in ln]
            if bad:
                problems[name] = len(bad)
    return problems


def soak_run(soak: Soak) -> int:
    args = soak.args
    soak.setup()
    rclient = redis.Redis.from_url(soak.redis_server.url)
    t0 = time.monotonic()
    print(
        f"[{time.strftime('%H:%M:%S')}] load on: {args.cameras} cameras at {args.fps:g} fps, "
        f"{args.viewers} viewers, device {args.rate:g} readings/s; warm-up {args.warmup:g} "
        f"min, then {args.minutes:g} min; logs in {soak.tmp}",
        flush=True,
    )
    samples: list[Sample] = []
    mark: Sample | None = None
    seqs_mark: dict[str, int] = {}
    mark_mono = 0.0
    warmup_s, total_s = args.warmup * 60, (args.warmup + args.minutes) * 60
    next_at = 0.0
    dead: set[str] = set()  # roles that exited during the run (a finding, said once)
    while True:
        now = time.monotonic() - t0
        if now >= next_at:
            for name, proc in soak.clients.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited ({proc.returncode})\n{soak.tail(name)}")
            for name, proc in soak.roles.items():
                if proc.poll() is not None and name not in dead:
                    dead.add(name)
                    print(f"!! {name} exited ({proc.returncode}): a finding\n{soak.tail(name)}")
            sample = take_sample(soak, t0, rclient)
            if mark is None and sample.t >= warmup_s - 1:
                mark = sample
                seqs_mark, mark_mono = soak.camera_seqs(), time.monotonic()
                soak.clients["viewers"].send_signal(signal.SIGUSR1)
                phase = "start"
            else:
                phase = "warm " if mark is None else "     "
            progress(sample, samples[-1] if samples else None, soak, phase)
            samples.append(sample)
            if sample.t >= total_s - 1:
                break
            next_at += args.every
        time.sleep(max(0.0, min(1.0, next_at - (time.monotonic() - t0))))
    assert mark is not None
    seqs_end, seqs_seconds = soak.camera_seqs(), time.monotonic() - mark_mono
    window_end = time.time()

    # The device and the viewers stop; the pipeline flushes; then everything is counted.
    stop_client(soak.clients["pusher"])
    stop_client(soak.clients["viewers"])
    pusher, viewers = read_json(soak.pusher_status), read_json(soak.viewer_status)
    if not pusher.get("final") or not viewers.get("final"):
        raise RuntimeError(
            "the device or the viewers did not write their final status\n"
            + soak.tail("pusher")
            + soak.tail("viewers")
        )
    ticks = ticks_figures(soak, mark.at, window_end - 5)
    found, unanswered_found, _rows, missing = count_found(soak.engine, pusher)
    exit_codes = {}
    for name in ("web", "ingest", "grab"):
        proc = soak.roles[name]
        if proc.poll() is None:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(30)
        exit_codes[name] = proc.poll()
    # The roles have stopped: count again, in case the ingest role wrote on at its shutdown.
    found_after_stop = count_found(soak.engine, pusher)[0]
    final = {
        "pusher": pusher,
        "viewers": viewers,
        "found": found,
        "found_after_stop": found_after_stop,
        "unanswered_found": unanswered_found,
        "missing": missing,
        "ticks": ticks,
        "seqs_mark": seqs_mark,
        "seqs_end": seqs_end,
        "seqs_seconds": seqs_seconds,
        "camera_accepts": soak.camera_accepts[0],
        "exit_codes": exit_codes,
        "log_problems": scan_logs(soak),
    }
    summary = report(soak, samples, mark, final)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "soak.json").write_text(
            json.dumps(
                {
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "summary": summary,
                    "final": {k: v for k, v in final.items() if k not in ("pusher",)}
                    | {"pusher": {k: v for k, v in pusher.items() if not k.endswith("_ranges")}},
                    "samples": [s.__dict__ for s in samples],
                },
                indent=1,
            ),
            encoding="utf-8",
        )
        for name in [*soak.roles, *soak.clients]:
            with contextlib.suppress(OSError):
                shutil.copy(soak.log(name), args.out / f"{name}.log")
        print(f"\nSamples, figures and logs: {args.out}")
    rclient.close()
    return 0


def _raise_exit(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="measured window")
    parser.add_argument("--warmup", type=float, help="minutes before it (2; 1 if --minutes < 10)")
    parser.add_argument("--every", type=float, default=60.0, help="seconds between samples")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--rate", type=float, default=100.0, help="device readings a second")
    parser.add_argument("--batch", type=int, default=20, help="readings per request")
    parser.add_argument("--cameras", type=int, default=16)
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--fps", type=float, default=5.0, help="cameras' and grabber's rate")
    parser.add_argument("--out", type=Path, help="folder for the samples (JSON) and the logs")
    args = parser.parse_args(argv)
    if args.warmup is None:
        args.warmup = 2.0 if args.minutes >= 10 else 1.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_exit)
    procs = Procs()
    tmp = Path(tempfile.mkdtemp(prefix="komando-soak-"))
    try:
        with contextlib.ExitStack() as stack:
            redis_server = stack.enter_context(EmbeddedRedis())
            pg = None
            if args.sqlite:
                url = f"sqlite:///{tmp / 'var' / 'komando.sqlite3'}"
            else:
                pg = stack.enter_context(TemporaryPostgres())
                url = pg.url
            soak = Soak(args, procs, tmp, redis_server, url, pg)
            stack.callback(procs.stop_all)  # before Redis and PostgreSQL stop
            try:
                return soak_run(soak)
            finally:
                with contextlib.suppress(AttributeError):
                    soak.engine.dispose()
    except Exception as exc:  # the bench failed: say why, exit 1
        print(f"\nSOAK BENCH FAILED: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
