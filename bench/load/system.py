"""Komando as deployed, for the load bench (issue 7): a Redis server, SQL history (SQLite, or a
throwaway PostgreSQL), `migrate`, the ingest role, the grab role and the web role under uvicorn,
each a process of its own started with tests/processes.py's commands; the demo city with its
simulated sensors, its two demo cameras (decoded by the grab role) and the year of KPI history
the ingest role back-fills on a fresh database (data/backfill.py).

Simulated users are real accounts made with the project's account code (data/accounts.py through
tests/accounts.py): one session each, as a sign-in would make it. Only the argon2 parameters of
their password hashes are cheapened, in this process alone: nobody signs in with those passwords
(the sessions are made directly), and 450 hashes at the production cost (~0.23 s each, 64 MiB)
would add minutes to every run on a shared 2-core machine without touching what is measured.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from argon2 import PasswordHasher
from sqlalchemy import Engine

from data import accounts
from data.backfill import history_exists
from data.city import City, load_city
from data.db.engine import make_engine
from data.redis_server import EmbeddedRedis
from settings import PROJECT_ROOT
from tests.accounts import display_session, session_for
from tests.ports import free_port
from tests.processes import Role, answers, grab_command, ingest_command, migrate, web_command

CITY = "prabumulih"
SCHOOL = "sdn1-demo"
START_TIMEOUT_S = 120.0


@dataclass
class User:
    audience: str  # wall | executive | parent
    cookie: str  # the Cookie header a signed-in browser sends
    csrf: str  # Dash's X-CSRFToken header

    def as_json(self) -> dict[str, str]:
        return {"audience": self.audience, "cookie": self.cookie, "csrf": self.csrf}


@dataclass
class System:
    """Start with `with System(...) as system:`; everything started is stopped at the end."""

    workers: int = 2
    postgres: bool = False
    wall_refresh_ms: int = 1000
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="komando-load-")))
    port: int = 0
    roles: dict[str, Role] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    city: City | None = None
    engine: Engine | None = None
    database: str = "SQLite"
    keep: bool = False  # keep the temporary folder (logs) after the run
    _redis: EmbeddedRedis | None = None
    _pg: Any = None
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    # -- start and stop ----------------------------------------------------------------------
    def __enter__(self) -> System:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def start(self) -> None:
        self._redis = self._stack.enter_context(EmbeddedRedis(self.tmp / "redis"))
        if self.postgres:
            from tests.pg_server import TemporaryPostgres

            self._pg = self._stack.enter_context(TemporaryPostgres())
            database_url = self._pg.url
            self.database = "PostgreSQL"
        else:
            database_url = f"sqlite:///{self.tmp / 'var' / 'komando.sqlite3'}"
        (self.tmp / "var").mkdir(exist_ok=True)
        (self.tmp / "metrics").mkdir(exist_ok=True)
        self.port = free_port()
        self.env = {
            **os.environ,
            "REDIS_URL": self._redis.url,
            "DATABASE_URL": database_url,
            "KOMANDO_DATA_DIR": str(self.tmp / "var"),
            "KOMANDO_CITY": CITY,
            "KOMANDO_WALL_REFRESH_MS": str(self.wall_refresh_ms),
            "KOMANDO_LOG_LEVEL": "WARNING",
            # As deploy/Procfile runs several workers on one port: they share their metrics.
            "PROMETHEUS_MULTIPROC_DIR": str(self.tmp / "metrics"),
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("KOMANDO_CITIES_DIR", "KOMANDO_CAMERA_SHARD"):
            self.env.pop(name, None)
        migrate(self.env)
        self.city = load_city(PROJECT_ROOT / "data" / "cities" / CITY)
        self.engine = make_engine(database_url)
        commands = {
            "ingest": ingest_command(),
            "grab": grab_command(),
            "web": web_command(self.port, self.workers),
        }
        for name, command in commands.items():
            self.roles[name] = Role(name, command, self.tmp / f"{name}.log", self.env)
            self.roles[name].start()
        self._wait_ready()

    def close(self) -> None:
        for role in self.roles.values():
            if role.process is not None and role.process.poll() is None:
                role.process.terminate()
        for role in self.roles.values():
            if role.process is None:
                continue
            try:
                role.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                role.process.kill()
                role.process.wait(timeout=10)
        if self.engine is not None:
            self.engine.dispose()
        self._stack.close()
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def check_alive(self) -> None:
        for role in self.roles.values():
            if not role.alive:
                raise RuntimeError(f"the {role.name} role exited:\n{role.text()[-3000:]}")

    def _wait_ready(self) -> None:
        """The web role answers, the KPI history is back-filled, both cameras are live."""
        assert self.city is not None and self.engine is not None
        staff = session_for(self.engine, "operator")
        deadline = time.monotonic() + START_TIMEOUT_S
        waiting_for = "the web role"
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if waiting_for == "the web role" and answers(self.base + "/healthz"):
                    waiting_for = "the KPI back-fill"
                day_before = time.time() - 2 * 86400
                if waiting_for == "the KPI back-fill" and history_exists(
                    self.engine, self.city, day_before
                ):
                    waiting_for = "live cameras"
                if waiting_for == "live cameras":
                    states = [
                        httpx.get(
                            f"{self.base}/video/{c.id}.jpg", cookies=staff.cookies, timeout=5
                        ).headers.get("x-camera-state")
                        for c in self.city.config.cameras
                    ]
                    if all(s == "live" for s in states):
                        return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"not ready after {START_TIMEOUT_S:.0f} s: waiting for {waiting_for}")

    # -- users ---------------------------------------------------------------------------------
    def make_users(self, walls: int, executives: int, parents: int) -> list[User]:
        """Accounts and sessions: each wall a display bound to the wall ("/"), each executive
        and parent a user of their role (parents bound to the demo school)."""
        assert self.engine is not None
        cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        real, accounts.HASHER = accounts.HASHER, cheap
        try:
            sessions = (
                [("wall", display_session(self.engine, "/")) for _ in range(walls)]
                + [("executive", session_for(self.engine, "executive")) for _ in range(executives)]
                + [
                    ("parent", session_for(self.engine, "parent", schools=[SCHOOL]))
                    for _ in range(parents)
                ]
            )
        finally:
            accounts.HASHER = real
        return [
            User(
                audience,
                "; ".join(f"{k}={v}" for k, v in s.cookies.items()),
                s.csrf_headers["X-CSRFToken"],
            )
            for audience, s in sessions
        ]

    # -- CPU -----------------------------------------------------------------------------------
    def pids(self) -> dict[str, list[int]]:
        """The processes of each part: the web role is uvicorn's supervisor and its workers."""
        parts: dict[str, list[int]] = {}
        for name, role in self.roles.items():
            pids = [role.pid]
            with contextlib.suppress(psutil.NoSuchProcess):
                pids += [p.pid for p in psutil.Process(role.pid).children(recursive=True)]
            parts[name] = pids
        assert self._redis is not None and self._redis.process is not None
        parts["redis"] = [self._redis.process.pid]
        if self._pg is not None:
            pids = []
            with contextlib.suppress(psutil.NoSuchProcess, AttributeError):
                main = self._pg.process.pid
                pids = [main] + [p.pid for p in psutil.Process(main).children(recursive=True)]
            parts["postgres"] = pids
        return parts
