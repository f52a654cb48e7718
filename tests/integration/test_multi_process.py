"""Komando as deploy/ runs it (issue 7): every role its own process, started here as separate
processes against one real Redis and one real PostgreSQL server — two web processes (uvicorn,
one port each, so one can be killed alone), one ingest worker and two grabber shards.

The test plays the supervisor's part (systemd `Restart=always`, compose `restart:`): when it
kills a grabber shard it starts the same command again after RestartSec, and checks that the
wall shows the gap as it is — the shard's cameras stalled, then live again once the new process
holds their leases — and that no camera is ever grabbed by two workers."""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import Engine, select

from data.api_keys import create_key
from data.city import City, load_city
from data.history import make_engine, readings
from data.live_keys import decode_health
from data.live_store import LiveStore, connect
from runner import prepare_database
from tests.accounts import make_user, session_for, sign_in_with_form
from tests.ports import free_port
from tests.processes import (
    Role,
    Viewer,
    answers,
    city_with_cameras,
    migrate,
    push_ahead,
    stop_all,
    web_command,
)
from tests.waiting import wait_for
from video.shards import parse_shard

pytestmark = pytest.mark.timeout(240)

NAMESPACE = "komando:prabumulih"
RESTART_SEC = 2.0  # deploy/systemd: RestartSec=2
STALLED_AFTER_S = 3.0  # the default KOMANDO_CAMERA_STALLED_AFTER_S
LEASE_TTL_S = 10.0  # video/: a dead worker's lease runs out within this
ONE_WORKER = re.compile(r"^[^:]+:(\d+):[0-9a-f]+$")  # host:pid:tag, video/grabber.make_worker_id


class LeaseWatch:
    """Samples every camera's lease holder and the worker its health names, all through the
    test, to show that no camera is ever grabbed by two workers."""

    def __init__(self, store: LiveStore, camera_ids: list[str]) -> None:
        self.store = store
        self.camera_ids = camera_ids
        self.samples: dict[str, list[tuple[str | None, str]]] = {c: [] for c in camera_ids}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lease-watch", daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.1):
            for camera_id in self.camera_ids:
                owner = self.store.camera_lease_owner(camera_id)
                raw = self.store.client.hgetall(self.store.keys.camera_health(camera_id))
                health = decode_health(raw) if raw else None
                self.samples[camera_id].append((owner, health.worker if health else ""))

    def __enter__(self) -> LeaseWatch:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)

    def catch_up(self, timeout_s: float) -> None:
        """Wait until the last sample of each camera names its lease holder of now."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            now = {c: self.store.camera_lease_owner(c) for c in self.camera_ids}
            if all(self.samples[c] and self.samples[c][-1][0] == now[c] for c in now):
                return
            time.sleep(0.1)

    def owners(self, camera_id: str) -> list[str | None]:
        """The camera's lease holders in the order they held it (runs collapsed)."""
        runs: list[str | None] = []
        for owner, _worker in self.samples[camera_id]:
            if not runs or runs[-1] != owner:
                runs.append(owner)
        return runs

    def publishers(self, camera_id: str) -> list[str]:
        """The workers that published the camera's health, in order (runs collapsed)."""
        runs: list[str] = []
        for _owner, worker in self.samples[camera_id]:
            if worker and (not runs or runs[-1] != worker):
                runs.append(worker)
        return runs


# The demo city's two cameras both hash to shard 1 of 2; a third (the same clip, another id)
# gives shard 2 a camera of its own.
THIRD_CAMERA = """\
  - id: simpang-cambai
    name: "Simpang Cambai (uji)"
    kind: street
    region: "16.74.05.1002"
    lat: -3.4280
    lng: 104.2350
    source: "sample:car-detection.mp4"
"""


def pid_of(owner: str | None) -> int | None:
    match = ONE_WORKER.match(owner or "")
    return int(match.group(1)) if match else None


def test_two_web_one_ingest_two_grabber_shards_on_redis_and_postgres(
    redis_url: str, postgres_url: str, tmp_path: Path
) -> None:
    cities = city_with_cameras(tmp_path / "cities", THIRD_CAMERA)
    city = load_city(cities / "prabumulih")
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": postgres_url,
        "KOMANDO_DATA_DIR": str(tmp_path),
        "KOMANDO_CITIES_DIR": str(cities),
        "KOMANDO_CITY": "prabumulih",
        "KOMANDO_INGEST_INTERVAL_S": "0.5",
        "KOMANDO_HISTORY_FLUSH_S": "0.5",
        "KOMANDO_CAMERA_STALLED_AFTER_S": str(STALLED_AFTER_S),
        "KOMANDO_LOG_LEVEL": "INFO",
    }
    env.pop("KOMANDO_CAMERA_SHARD", None)
    migrate(env)  # once per release, before any web worker
    engine = make_engine(postgres_url)
    api_key = create_key(engine, "uji multi-proses", "all", [])
    username = make_user(engine, "operator")

    ports = {"web-a": free_port(), "web-b": free_port()}
    base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    commands = {
        "ingest": [sys.executable, "-m", "data"],
        "grab-1": [sys.executable, "-m", "video", "--shard", "1/2"],
        "grab-2": [sys.executable, "-m", "video", "--shard", "2/2"],
        **{name: web_command(port) for name, port in ports.items()},
    }
    roles = {
        name: Role(name, command, tmp_path / f"{name}.log", env)
        for name, command in commands.items()
    }
    camera_ids = [c.id for c in city.config.cameras]
    shard_of = {
        c: next(n for n in ("grab-1", "grab-2") if parse_shard(n[-1] + "/2").includes(c))
        for c in camera_ids
    }
    assert set(shard_of.values()) == {"grab-1", "grab-2"}, "each shard should own a camera"
    store = LiveStore(connect(redis_url), NAMESPACE)
    for role in roles.values():
        role.start()
    try:
        with LeaseWatch(store, camera_ids) as watch:
            run_the_scenario(
                roles, base, api_key, username, city, camera_ids, shard_of, store, engine
            )
            # Under load the sampler may lag the scenario: let it see today's lease holders.
            watch.catch_up(timeout_s=10)
            # Scenario over: the surviving processes stop as a supervisor stops them.
        codes = stop_all(roles)
    finally:
        for role in roles.values():
            if role.process is not None and role.process.poll() is None:
                role.process.kill()
                role.process.wait(timeout=10)
        store.client.close()
        engine.dispose()

    logs = {name: role.log.read_text(errors="replace") for name, role in roles.items()}
    # uvicorn re-raises the SIGTERM it handled gracefully, so its exit status is -SIGTERM.
    assert codes == {
        "ingest": 0,
        "grab-1": 0,
        "grab-2": 0,
        "web-b": -signal.SIGTERM,
    }, {name: logs[name][-2000:] for name in codes}
    for name, log in logs.items():  # SIGKILL leaves no traceback either
        assert "Traceback" not in log, (name, log[-4000:])

    # No camera was ever grabbed by two workers: each camera's health was published by one
    # worker at a time (never back and forth between two), the ones that held its lease.
    for camera_id in camera_ids:
        publishers = watch.publishers(camera_id)
        assert len(publishers) == len(set(publishers)), (camera_id, publishers)
        owners = [o for o in watch.owners(camera_id) if o is not None]
        assert len(owners) == len(set(owners)), (camera_id, watch.owners(camera_id))
        assert publishers == owners, (camera_id, publishers, owners)
        if shard_of[camera_id] == "grab-2":
            assert [pid_of(o) for o in owners] == [roles["grab-2"].pid], owners
        else:  # the killed shard's cameras: its first run, then its restarted run
            assert [pid_of(o) for o in owners] == [
                roles["grab-1"].past[0].pid,
                roles["grab-1"].pid,
            ], owners


def run_the_scenario(
    roles: dict[str, Role],
    base: dict[str, str],
    api_key: str,
    username: str,
    city: City,
    camera_ids: list[str],
    shard_of: dict[str, str],
    store: LiveStore,
    engine: Engine,
) -> None:
    # Both web processes answer; the operator signs in once, through web A's real form.
    for name in ("web-a", "web-b"):
        wait_for(lambda n=name: answers(base[n] + "/healthz"), 60, f"{name} answering")
    with httpx.Client() as browser:
        answer = sign_in_with_form(browser, base["web-a"], username)
        assert answer.status_code in (302, 303), answer.text[:300]
        viewer = Viewer(httpx.Cookies(browser.cookies))

    # The one session works on either web process.
    for name in ("web-a", "web-b"):
        assert viewer.get(base[name], "/").status_code == 200, name

    # Every camera is live on both web processes, each grabbed by the shard it hashes to.
    for name in ("web-a", "web-b"):
        for camera_id in camera_ids:
            wait_for(
                lambda n=name, c=camera_id: viewer.camera_state(base[n], c)[0] == "live",
                60,
                f"camera {camera_id} live on {name}",
            )
    for camera_id in camera_ids:
        owner = store.camera_lease_owner(camera_id)
        assert pid_of(owner) == roles[shard_of[camera_id]].pid, (camera_id, owner)

    # Every sensor of the city has a live value, read through either web process.
    sensor_ids = {s.id for s in city.config.sensors}
    for name in ("web-a", "web-b"):

        def all_sensors(n: str = name) -> bool:
            items = viewer.sensors(base[n])
            missing = {s for s in sensor_ids if items.get(s, [None] * 4)[3] in (None, "–")}
            return not missing

        wait_for(all_sensors, 30, f"every sensor with a value on {name}")

    # A reading pushed through web A is in PostgreSQL and on the wall served by web B. Its
    # time is a minute ahead, so the simulator's readings (newest wins) do not hide it.
    sensor_id, expected = push_ahead(base["web-a"], api_key, city)
    wait_for(
        lambda: viewer.sensors(base["web-b"])[sensor_id][3] == expected,
        10,
        f"{sensor_id} = {expected} on web B",
    )
    with engine.connect() as conn:
        stored = conn.execute(
            select(readings.c.value).where(
                readings.c.sensor_id == sensor_id, readings.c.value == 42.0
            )
        ).all()
    assert stored, "the pushed reading is not in PostgreSQL"

    # Web A killed: web B goes on serving the same signed-in session.
    roles["web-a"].kill()
    assert viewer.get(base["web-b"], "/").status_code == 200
    assert viewer.sensors(base["web-b"])
    assert viewer.camera_state(base["web-b"], camera_ids[0])[0] == "live"
    with pytest.raises(httpx.ConnectError):
        httpx.get(base["web-a"] + "/login", timeout=2)

    # Grabber shard 1 killed: its cameras go stalled (their last frame stops advancing), then
    # live again once the restarted shard holds their leases; shard 2's stay live throughout.
    lost = [c for c in camera_ids if shard_of[c] == "grab-1"]
    kept = [c for c in camera_ids if shard_of[c] == "grab-2"]
    killed_at = time.monotonic()
    roles["grab-1"].kill()
    restarted = False
    seen: dict[str, list[tuple[float, str, int]]] = {c: [] for c in lost}
    while time.monotonic() - killed_at < LEASE_TTL_S + 25:
        now = time.monotonic() - killed_at
        if not restarted and now >= RESTART_SEC:
            roles["grab-1"].start()  # Restart=always, RestartSec=2
            restarted = True
        for camera_id in kept:
            assert viewer.camera_state(base["web-b"], camera_id)[0] == "live", camera_id
        for camera_id in lost:
            state, seq = viewer.camera_state(base["web-b"], camera_id)
            seen[camera_id].append((now, state, seq))
        if all(
            any(s in ("stalled", "offline") for _, s, _ in seen[c]) and seen[c][-1][1] == "live"
            for c in lost
        ):
            break
        time.sleep(0.2)
    for camera_id, states in seen.items():
        gap = [(t, s, q) for t, s, q in states if s != "live"]
        assert gap, f"{camera_id} never showed the gap: {states}"
        assert states[-1][1] == "live", f"{camera_id} not live again: {states[-10:]}"
        first_gap = gap[0][0]
        assert first_gap <= STALLED_AFTER_S + 2, f"{camera_id} stalled late: {states[:20]}"
        # While it was not live no newer frame was served as if it were.
        frozen = {q for _, s, q in gap if s == "stalled"}
        assert len(frozen) <= 1, (camera_id, gap)
        owner = store.camera_lease_owner(camera_id)
        assert pid_of(owner) == roles["grab-1"].pid, (camera_id, owner)


def uvicorn_workers(master: int) -> set[int]:
    """The worker processes of a `uvicorn --workers N` master (spawned by multiprocessing)."""
    found = set()
    for child in psutil.Process(master).children():
        try:
            if any("spawn_main" in part for part in child.cmdline()):
                found.add(child.pid)
        except psutil.NoSuchProcess:
            continue
    return found


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_killed_uvicorn_worker_loses_no_session_and_is_replaced(
    redis_url: str, city: City, tmp_path: Path
) -> None:
    """The web role as deploy/ runs it, `--workers 2`: one worker killed, the other goes on
    serving the same signed-in session at once, and uvicorn starts a new worker."""
    database_url = f"sqlite:///{tmp_path / 'komando.sqlite3'}"
    engine = make_engine(database_url)
    prepare_database(engine, city)
    session = session_for(engine, "operator")
    engine.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "KOMANDO_DATA_DIR": str(tmp_path),
        # As deploy/ runs several workers: their metrics shared in a folder empty at start.
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
    }
    web = Role("web", web_command(port, workers=2), tmp_path / "web.log", env)
    web.start()
    try:
        wait_for(lambda: answers(base + "/healthz"), 60, "web answering")
        wait_for(lambda: len(uvicorn_workers(web.pid)) == 2, 30, "two workers")
        workers = uvicorn_workers(web.pid)
        with httpx.Client(cookies=session.cookies, timeout=10) as browser:
            # New connections each time, so both workers take some.
            assert all(
                httpx.get(base + "/", cookies=session.cookies).status_code == 200 for _ in range(10)
            )
            victim = sorted(workers)[0]
            os.kill(victim, signal.SIGKILL)
            # Requests in flight on the killed worker are lost with it; the ones after are not.
            wait_for(lambda: not alive(victim), 10, f"worker {victim} dead")
            statuses = [
                httpx.get(base + "/", cookies=session.cookies, timeout=10).status_code
                for _ in range(20)
            ]
            assert statuses == [200] * 20, statuses
            replaced = wait_for(
                lambda: (now := uvicorn_workers(web.pid)) and victim not in now and len(now) == 2,
                30,
                "a new worker in place of the killed one",
            )
            assert replaced
            assert browser.get(base + "/").status_code == 200
        web.process.terminate()
        code = web.process.wait(timeout=30)
    finally:
        if web.process.poll() is None:
            web.process.kill()
            web.process.wait(timeout=10)
    log = web.log.read_text(errors="replace")
    assert code == 0, log[-3000:]  # the master of several workers exits 0 on SIGTERM
    assert f"Child process [{victim}] died" in log, log[-3000:]
    assert "Traceback" not in log, log[-4000:]
