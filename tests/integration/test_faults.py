"""Faults survived, each counting what was lost (issue 7): Redis killed mid-ingest, PostgreSQL
stopped for 30 s under load. The roles run as deploy/ runs them, separate processes against a
real Redis and a real PostgreSQL; nothing is mocked.

All along, a city system posts readings to `POST /api/v1/readings` (every reading its own
sensor and time, so each one can be looked for in SQL) and a wall screen, signed in, asks for
its live feed twice a second. A reading the API answered 2xx for must be in SQL afterwards; a
reading answered 503 must not be half-stored, and is sent again once the database is back, as
the Retry-After header asks. The simulated sensors of the ingest role are counted too: every
tick of the test must be in SQL with every sensor.

(A web worker killed: tests/integration/test_multi_process.py. Cameras: test_camera_faults.py.)
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select

from callbacks.live_feed import UNREACHABLE
from data.accounts import CACHE_S as SESSION_CACHE_S
from data.api_keys import create_key
from data.city import City
from data.history import make_engine, readings
from data.live_store import LiveStore, connect
from data.redis_server import EmbeddedRedis
from layouts import ids
from tests.accounts import session_for
from tests.pg_server import TemporaryPostgres
from tests.ports import free_port
from tests.processes import (
    Role,
    Viewer,
    answers,
    grab_command,
    ingest_command,
    kill_leftovers,
    migrate,
    push_ahead,
    stop_all,
    web_command,
)
from tests.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

NAMESPACE = "komando:prabumulih"
INGEST_INTERVAL_S = 0.5
OUTAGE_S = 30.0


# -- the city system posting readings ------------------------------------------------------------
@dataclass
class Post:
    """One request of the device: what it sent and how it was answered."""

    keys: list[tuple[str, int]]  # (sensor_id, ts_ms) of each reading
    body: list[dict]
    status: int = 0  # 0: no answer (connection refused, timed out)
    retry_after: str | None = None
    accepted: int = 0
    refusals: list[dict] = field(default_factory=list)  # the API's reasons, if any
    at: float = 0.0  # time.time() when the answer came


@dataclass
class Device:
    """A city system posting batches of readings all along. Readings are a month old, one
    second apart (whole seconds: their key in SQL is exact), rotating over the sensors: each
    (sensor, time) is its own row, and none competes with the simulator's live values."""

    base: str
    api_key: str
    sensor_ids: list[str]
    batch_size: int = 20
    pause_s: float = 0.05
    posts: list[Post] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.first_ts = int(time.time()) - 30 * 86_400
        self.next_ts = self.first_ts
        self._thread = threading.Thread(target=self._run, name="device", daemon=True)

    def start(self) -> Device:
        self._thread.start()
        return self

    def finish(self) -> None:
        self.stop.set()
        self._thread.join(timeout=30)
        assert not self._thread.is_alive()

    def _batch(self) -> Post:
        body, keys = [], []
        for _ in range(self.batch_size):
            ts = self.next_ts
            self.next_ts += 1
            sensor = self.sensor_ids[ts % len(self.sensor_ids)]
            body.append({"sensor_id": sensor, "ts": ts, "value": 20.0 + ts % 37})
            keys.append((sensor, ts * 1000))
        return Post(keys, body)

    def send(self, client: httpx.Client, post: Post) -> Post:
        try:
            answer = client.post(
                f"{self.base}/api/v1/readings",
                json=post.body,
                headers={"Authorization": f"Bearer {self.api_key}"},
            )
        except httpx.HTTPError:
            post.status, post.at = 0, time.time()
            return post
        post.status, post.at = answer.status_code, time.time()
        post.retry_after = answer.headers.get("retry-after")
        if answer.status_code == 200:
            body = answer.json()
            post.accepted = body["accepted"]
            post.refusals = [r for r in body["results"] if r["status"] != "accepted"][:3]
        return post

    def _run(self) -> None:
        with httpx.Client(timeout=15) as client:
            while not self.stop.is_set():
                self.posts.append(self.send(client, self._batch()))
                self.stop.wait(self.pause_s)

    def answered(self, status: int) -> list[Post]:
        return [p for p in self.posts if p.status == status]

    def accepted_keys(self) -> set[tuple[str, int]]:
        """Every reading the API said it accepted (each record of a batch has its answer)."""
        for post in self.answered(200):
            assert post.accepted == len(post.keys), post.refusals  # every reading is valid
        return {k for p in self.answered(200) for k in p.keys}

    def statuses(self) -> Counter:
        return Counter(p.status for p in self.posts)

    def resend_refused(self, timeout_s: float = 30) -> list[Post]:
        """Send every batch not answered 200 again until it is, as the device honouring
        Retry-After would (sooner: the test knows the database is back). The retries."""
        deadline = time.monotonic() + timeout_s
        pending = [Post(p.keys, p.body) for p in self.posts if p.status != 200]
        retries: list[Post] = []
        with httpx.Client(timeout=15) as client:
            while pending and time.monotonic() < deadline:
                answered = [self.send(client, Post(p.keys, p.body)) for p in pending]
                retries += answered
                pending = [p for p in answered if p.status != 200]
                if pending:
                    time.sleep(0.5)
        assert not pending, f"{len(pending)} batches still refused after {timeout_s} s"
        return retries

    def stored(self, engine: Engine) -> set[tuple[str, int]]:
        """The device's readings that are in SQL."""
        with engine.connect() as conn:
            rows = conn.execute(
                select(readings.c.sensor_id, readings.c.ts_ms).where(
                    readings.c.ts_ms >= self.first_ts * 1000,
                    readings.c.ts_ms < self.next_ts * 1000,
                )
            ).all()
        return {(r.sensor_id, r.ts_ms) for r in rows}


# -- the wall ------------------------------------------------------------------------------------
@dataclass
class Sample:
    at: float  # time.time()
    status: int  # 0: no answer
    newest_ts: float  # the newest sensor reading the wall has been told about
    freshness: str  # the header's "Data per HH.MM.SS" line as the wall shows it


class Wall:
    """A wall screen, signed in, refreshing its live feed as the page does (keeping the versions
    the server sent, so an unchanged feed is a 204)."""

    WANT = ("sensors", "freshness", "cameras")

    def __init__(self, viewer: Viewer, base: str, every_s: float = 0.5) -> None:
        self.viewer = viewer
        self.base = base
        self.every_s = every_s
        self.known: dict = {"want": list(self.WANT)}
        self.freshness = ""
        self.sensors: dict[str, list] = {}
        self.samples: list[Sample] = []
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wall", daemon=True)

    def refresh(self) -> int:
        try:
            answer = self.viewer.feed(self.base, self.known, timeout_s=15)
        except httpx.HTTPError:
            status = 0
        else:
            status = answer.status_code
            if status == 200:
                response = answer.json()["response"]
                versions = response.get(ids.FEED_VERSIONS, {}).get("data")
                if versions:
                    self.known = versions
                feed = response.get(ids.FEED, {}).get("data") or {}
                self.sensors.update(feed.get("sensors") or {})
                if feed.get("freshness"):
                    self.freshness = feed["freshness"][0]
        self.samples.append(
            Sample(time.time(), status, float(self.known.get("newest_ts") or 0), self.freshness)
        )
        return status

    def _run(self) -> None:
        while not self.stop.wait(self.every_s):
            self.refresh()

    def start(self) -> Wall:
        self._thread.start()
        return self

    def finish(self) -> None:
        self.stop.set()
        self._thread.join(timeout=30)

    def between(self, start: float, end: float) -> list[Sample]:
        return [s for s in self.samples if start <= s.at <= end]


# -- the simulated sensors of the ingest role ------------------------------------------------------
def simulator_ticks(engine: Engine, city: City, start: float, end: float) -> dict[int, int]:
    """{tick time (ms): sensors recorded at it} for the simulator's ticks in [start, end]."""
    sensor_ids = [s.id for s in city.config.sensors]
    with engine.connect() as conn:
        rows = conn.execute(
            select(readings.c.ts_ms, func.count())
            .where(
                readings.c.sensor_id.in_(sensor_ids),
                readings.c.quantity == "",
                readings.c.ts_ms >= int(start * 1000),
                readings.c.ts_ms <= int(end * 1000),
            )
            .group_by(readings.c.ts_ms)
        ).all()
    return {int(ts_ms): int(count) for ts_ms, count in rows}


def check_every_tick_recorded(
    engine: Engine, city: City, start: float, end: float, through: float
) -> tuple[int, float]:
    """Every simulator tick in [start, end] is in SQL with every sensor, and ticks went on all
    through (none of the loop's rounds was skipped for long). `through`: a moment after `end`
    whose tick must be in SQL first, so that the writer has caught up. (ticks, longest gap s)"""
    wait_for(
        lambda: any(ts >= through * 1000 for ts in simulator_ticks(engine, city, through, 2e10)),
        60,
        "the ingest role's history writer catching up",
    )
    ticks = simulator_ticks(engine, city, start, end)
    sensors = len(city.config.sensors)
    incomplete = {ts: n for ts, n in ticks.items() if n != sensors}
    assert not incomplete, f"ticks missing sensors in SQL: {incomplete}"
    times = sorted(ticks)
    assert times, "no simulator tick in SQL"
    edges = [int(start * 1000), *times, int(end * 1000)]
    gaps = [(b - a) / 1000 for a, b in pairwise(edges)]
    return len(times), max(gaps)


# -- the roles -------------------------------------------------------------------------------------
def roles_env(redis_url: str, database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "KOMANDO_DATA_DIR": str(tmp_path),
        "KOMANDO_CITY": "prabumulih",
        "KOMANDO_INGEST_INTERVAL_S": str(INGEST_INTERVAL_S),
        "KOMANDO_HISTORY_FLUSH_S": "0.5",
        "KOMANDO_LOG_LEVEL": "INFO",
    }
    for name in ("KOMANDO_CAMERA_SHARD", "KOMANDO_CITIES_DIR", "KOMANDO_MQTT_URL"):
        env.pop(name, None)
    return env


def start_roles(
    env: dict[str, str], tmp_path: Path, with_grab: bool
) -> tuple[dict[str, Role], str]:
    port = free_port()
    commands = {"ingest": ingest_command(), "web": web_command(port)}
    if with_grab:
        commands["grab"] = grab_command()
    roles = {
        name: Role(name, command, tmp_path / f"{name}.log", env)
        for name, command in commands.items()
    }
    for role in roles.values():
        role.start()
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: answers(base + "/healthz"), 60, "web answering")
    return roles, base


def check_clean_stop(roles: dict[str, Role]) -> None:
    codes = stop_all(roles)
    logs = {name: role.text() for name, role in roles.items()}
    # uvicorn re-raises the SIGTERM it handled gracefully, so its exit status is -SIGTERM.
    expected = {name: -signal.SIGTERM if name == "web" else 0 for name in roles}
    assert codes == expected, {name: logs[name][-3000:] for name in codes}
    for name, log in logs.items():
        assert "Traceback" not in log, (name, log[-4000:])
        assert "REFUSED" not in log and "lost at shutdown" not in log, (name, log[-4000:])


def report(request: pytest.FixtureRequest, **figures: object) -> None:
    """Figures for the test report (`--junitxml … -o junit_family=xunit1`) and for -s runs."""
    for name, value in figures.items():
        request.node.user_properties.append((name, value))
    print(f"\n{request.node.name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


# -- Redis killed ----------------------------------------------------------------------------------
def test_redis_killed_mid_ingest_loses_no_reading_and_the_wall_recovers_by_itself(
    postgres_url: str, city: City, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Redis SIGKILLed under ingest, restarted empty 5 s later on the same address: ingestion,
    the wall's feed, the cameras and readiness come back without restarting any role; every
    reading the API accepted before, during and after the outage is in PostgreSQL."""
    with EmbeddedRedis() as redis_server:  # our own: this test kills it
        env = roles_env(redis_server.url, postgres_url, tmp_path)
        migrate(env)
        engine = make_engine(postgres_url)
        api_key = create_key(engine, "uji gangguan redis", "all", [])
        viewer = Viewer(session_for(engine, "operator").cookies)
        roles, base = start_roles(env, tmp_path, with_grab=True)
        store = LiveStore(connect(redis_server.url), NAMESPACE)
        sensor_ids = [s.id for s in city.config.sensors]
        camera_ids = [c.id for c in city.config.cameras]
        try:
            wait_for(lambda: len(store.sensors()[1] or {}) == len(sensor_ids), 30, "sensors")
            for camera_id in camera_ids:
                wait_for(
                    lambda c=camera_id: viewer.camera_state(base, c)[0] == "live", 60, camera_id
                )
            wait_for(lambda: answers(base + "/readyz"), 30, "ready before the fault")
            began = time.time()
            device = Device(base, api_key, sensor_ids).start()
            wall = Wall(viewer, base).start()
            time.sleep(3)

            redis_server.process.kill()  # SIGKILL: no goodbye, the live state is gone
            redis_server.process.wait(timeout=10)
            killed = time.time()
            time.sleep(5)
            outage = wall.between(killed + 1, time.time())
            ready_during = httpx.get(base + "/readyz", timeout=10).status_code
            redis_server.start()  # empty, on the same socket, as a supervisor restarts it
            back = time.time()

            # The wall said so during the outage, and answered throughout.
            assert any(s.freshness == UNREACHABLE("id") for s in outage), outage
            assert ready_during == 503
            # Ingestion notices the empty Redis and rebuilds it from SQL, then carries on.
            wait_for(
                lambda: (
                    (points := store.sensors()[1])
                    and len(points) == len(sensor_ids)
                    and min(ts for _, ts in points.values()) > back
                ),
                30,
                "every sensor live again with a reading from after the restart",
            )
            rebuilt_after_s = time.time() - back
            # The wall: fresh data again ("Data per …", no longer "unreachable").
            wait_for(
                lambda: (
                    wall.samples[-1].newest_ts > back
                    and wall.samples[-1].freshness.startswith("Data per")
                ),
                15,
                f"the wall's feed live again (last: {wall.samples[-1]})",
            )
            wall_back_after_s = time.time() - back
            # A reading pushed now shows on the wall (a minute ahead: newest wins).
            sensor_id, expected = push_ahead(base, api_key, city)
            wait_for(
                lambda: wall.sensors.get(sensor_id, [None] * 4)[3] == expected,
                15,
                f"{sensor_id} = {expected} on the wall",
            )
            # The cameras: new frames through the web process, and the grab role's beat.
            seqs = {c: viewer.camera_state(base, c)[1] for c in camera_ids}
            for camera_id in camera_ids:
                wait_for(
                    lambda c=camera_id: (
                        (state := viewer.camera_state(base, c))[0] == "live" and state[1] > seqs[c]
                    ),
                    20,
                    f"{camera_id} live again",
                )
            wait_for(lambda: answers(base + "/readyz"), 30, "ready again")
            time.sleep(2)
            device.finish()
            wall.finish()
            ended = time.time()

            # Counting: every reading the API accepted is in SQL.
            accepted = device.accepted_keys()
            stored = device.stored(engine)
            lost = accepted - stored
            statuses = device.statuses()
            ticks, longest_gap_s = check_every_tick_recorded(
                engine, city, began, ended, time.time()
            )
            report(
                request,
                posts=len(device.posts),
                readings_accepted=len(accepted),
                readings_lost=len(lost),
                answers=dict(statuses),
                before_outage=dict(Counter(p.status for p in device.posts if p.at < killed)),
                during_outage=dict(
                    Counter(p.status for p in device.posts if killed <= p.at < back)
                ),
                after_outage=dict(Counter(p.status for p in device.posts if p.at >= back)),
                simulator_ticks=ticks,
                longest_tick_gap_s=round(longest_gap_s, 2),
                live_again_after_s=round(rebuilt_after_s, 2),
                wall_live_again_after_s=round(wall_back_after_s, 2),
                wall_answers=dict(Counter(s.status for s in wall.samples)),
            )
            assert not lost, f"{len(lost)} accepted readings not in SQL: {sorted(lost)[:10]}"
            # SQL stayed up, so the API accepted throughout: nothing refused, nothing unanswered.
            assert set(statuses) == {200}, statuses
            assert any(p.at > killed for p in device.posts if p.at < back), "none during it"
            assert len(accepted) == len(device.posts) * device.batch_size
            # The wall's requests were all answered, during the outage too.
            assert {s.status for s in wall.samples} <= {200, 204}, Counter(
                s.status for s in wall.samples
            )
            assert longest_gap_s < 5 * INGEST_INTERVAL_S + 3, longest_gap_s
            # The ingest role met the outage and rebuilt the live state from SQL by itself.
            assert "Redis is back; live state rebuilt" in roles["ingest"].text()
            check_clean_stop(roles)
        finally:
            kill_leftovers(roles)
            store.client.close()
            engine.dispose()


# -- PostgreSQL stopped ----------------------------------------------------------------------------
def test_postgres_stopped_30s_under_load_loses_no_reading_and_the_wall_stays_live(
    postgres_server: TemporaryPostgres,
    postgres_url: str,
    redis_url: str,
    city: City,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """PostgreSQL stopped for 30 s while the device posts and the simulator ticks: the API
    answers 503 with Retry-After (a request is kept whole or not at all), the ingest role keeps
    its readings and writes them once the database is back, and the wall's feed keeps showing
    live data from Redis throughout — also after its session's cached copy ran out mid-outage."""
    env = roles_env(redis_url, postgres_url, tmp_path)
    migrate(env)
    engine = make_engine(postgres_url)
    api_key = create_key(engine, "uji gangguan postgres", "all", [])
    viewer = Viewer(session_for(engine, "operator").cookies)
    roles, base = start_roles(env, tmp_path, with_grab=False)
    store = LiveStore(connect(redis_url), NAMESPACE)
    sensor_ids = [s.id for s in city.config.sensors]
    try:
        wall = Wall(viewer, base)
        assert wall.refresh() == 200  # the session's first look-up: cached from now on
        first_lookup = time.time()
        wall.start()
        wait_for(lambda: len(store.sensors()[1] or {}) == len(sensor_ids), 30, "sensors")
        began = time.time()
        device = Device(base, api_key, sensor_ids).start()
        # Stop the database so that the session's cached copy runs out 20 s into the outage.
        time.sleep(max(0.0, first_lookup + SESSION_CACHE_S - 20 - time.time()))

        stopped = time.time()
        postgres_server.stop()  # fast shutdown, as `pg_ctl stop -m fast` or a failover
        down = time.time()
        time.sleep(OUTAGE_S)
        postgres_server.start()
        restarted = time.time()
        wait_for(
            lambda: any(p.status == 200 and p.at > restarted for p in device.posts),
            20,
            "the API accepting again",
        )
        accepting_after_s = min(p.at for p in device.posts if p.status == 200 and p.at > restarted)
        time.sleep(2)
        device.finish()
        wall.finish()
        ended = time.time()

        statuses = device.statuses()
        refused = device.answered(503)
        during = [p for p in device.posts if down + 1 < p.at < restarted]
        # Counting. Accepted readings are all in SQL; a refused request left nothing or all.
        accepted = device.accepted_keys()
        stored = device.stored(engine)
        lost = accepted - stored
        half_stored = [p for p in refused if 0 < len(set(p.keys) & stored) < len(p.keys)]
        refused_but_stored = [p for p in refused if set(p.keys) <= stored]
        # The device sends the refused batches again; then every reading it made is in SQL.
        retries = device.resend_refused()
        everything = {k for p in device.posts for k in p.keys}
        missing_after_retry = everything - device.stored(engine)
        ticks, longest_gap_s = check_every_tick_recorded(engine, city, began, ended, time.time())
        outage = wall.between(stopped, restarted)
        newest = [s.newest_ts for s in outage]
        report(
            request,
            posts=len(device.posts),
            readings_accepted=len(accepted),
            readings_refused_503=sum(len(p.keys) for p in refused),
            readings_lost=len(lost),
            requests_half_stored=len(half_stored),
            refused_but_stored=len(refused_but_stored),
            requests_resent=len(retries),
            readings_missing_after_retry=len(missing_after_retry),
            answers=dict(statuses),
            accepting_again_after_s=round(accepting_after_s - restarted, 2),
            simulator_ticks=ticks,
            longest_tick_gap_s=round(longest_gap_s, 2),
            wall_answers=dict(Counter(s.status for s in wall.samples)),
            wall_updates_during_outage=len(set(newest)),
        )
        assert not lost, f"{len(lost)} accepted readings not in SQL: {sorted(lost)[:10]}"
        # While the database was away every answer was a 503 with Retry-After; nothing else.
        assert during and {p.status for p in during} == {503}, Counter(p.status for p in during)
        assert set(statuses) <= {200, 503}, statuses
        assert all(p.retry_after and p.retry_after.isdigit() for p in refused), refused[:1]
        assert not half_stored, half_stored[:3]
        assert not missing_after_retry, sorted(missing_after_retry)[:10]
        assert refused, "no request met the outage"
        # The ingest role lost no tick: each is in SQL whole, and the loop never stalled.
        assert longest_gap_s < 5 * INGEST_INTERVAL_S + 3, longest_gap_s
        # The wall: every refresh answered, and the sensors kept moving all through the outage.
        assert {s.status for s in wall.samples} <= {200, 204}, Counter(
            s.status for s in wall.samples
        )
        assert len(outage) >= OUTAGE_S, len(outage)
        assert max(newest) - min(newest) >= OUTAGE_S - 5, (min(newest), max(newest))
        assert all(s.freshness.startswith("Data per") for s in outage), outage[-3:]
        assert not [s for s in outage if "TERLAMBAT" in s.freshness], outage[-3:]
        # The ingest role met the outage: it kept its rows and wrote them when SQL was back.
        ingest_log = roles["ingest"].text()
        assert "database write failed, rows kept for retry" in ingest_log
        assert "database reachable again, catching up" in ingest_log
        check_clean_stop(roles)
    finally:
        kill_leftovers(roles)
        store.client.close()
        engine.dispose()
