"""Health, readiness and metrics routes (issue 7).

- `GET /healthz`: liveness. 200 while this process answers; touches nothing else.
- `GET /readyz`: readiness of the system behind this process: Redis answers PING, SQL answers
  `SELECT 1`, and the ingest and grab roles' heartbeats in Redis are fresh. 200, or 503 when a
  check fails, with `{"status": …, "checks": {"redis": "ok", "sql": "down", …}}`: a dependency
  is named, never its address. Each check has a short timeout, so the probe never hangs.
- `GET /metrics`: Prometheus text (server/metrics.py), for a scraper that sends
  `Authorization: Bearer <KOMANDO_METRICS_TOKEN>`; 404 while no token is set.

/healthz and /readyz are public (a load balancer has no account); the gate lets all three
through (server/access_gate.PUBLIC_PREFIXES) and /metrics checks its own token. A token rather
than "loopback only": behind a reverse proxy on the same host every request comes from
loopback, so the address would let the whole internet in.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time

import redis
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, text

from data.city import City
from data.live_reader import LiveReader
from server import metrics
from settings import Settings

log = logging.getLogger(__name__)

NO_STORE = {"cache-control": "no-store"}
CHECK_TIMEOUT_S = 2.0
SCRAPE_TIMEOUT_S = 5.0
OK, DOWN, UNKNOWN = "ok", "down", "unknown"


class SqlProbe:
    """`SELECT 1` in a thread, at most one at a time: against a database that hangs, probes
    every few seconds must not pile up threads; while one is still out, the answer is "down"."""

    def __init__(self, engine: Engine, timeout_s: float = CHECK_TIMEOUT_S) -> None:
        self.engine = engine
        self.timeout_s = timeout_s
        self._pending: asyncio.Future | None = None

    def _select_one(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    async def ok(self) -> bool:
        pending = self._pending
        loop = asyncio.get_running_loop()
        if pending is None or pending.done() or pending.get_loop() is not loop:
            pending = self._pending = asyncio.ensure_future(asyncio.to_thread(self._select_one))
            # A probe that outlived its wait still ends: take its error so none goes unretrieved.
            pending.add_done_callback(lambda done: done.cancelled() or done.exception())
        try:
            await asyncio.wait_for(asyncio.shield(pending), self.timeout_s)
        except Exception:  # any failure means "not ready"; its text may hold a URL, so unlogged
            return False
        return True


class Readiness:
    def __init__(self, reader: LiveReader, engine: Engine, roles: tuple[str, ...]) -> None:
        self.reader = reader
        self.sql = SqlProbe(engine)
        self.roles = roles
        self._last: dict[str, str] = {}

    async def _redis_ok(self) -> bool:
        try:
            return await asyncio.wait_for(self.reader.ping(), CHECK_TIMEOUT_S)
        except (redis.RedisError, OSError, TimeoutError):
            return False

    async def checks(self) -> dict[str, str]:
        redis_ok, sql_ok = await asyncio.gather(self._redis_ok(), self.sql.ok())
        checks = {"redis": OK if redis_ok else DOWN, "sql": OK if sql_ok else DOWN}
        beats: dict[str, float | None] | None = None
        if redis_ok:
            try:
                beats = await asyncio.wait_for(self.reader.heartbeats(self.roles), CHECK_TIMEOUT_S)
            except (redis.RedisError, OSError, TimeoutError):
                beats = None
        for role in self.roles:
            # A heartbeat key expires HEARTBEAT_TTL_S after the role's last beat; judged by
            # Redis's clock, so clocks that differ between machines cannot fool it.
            checks[role] = UNKNOWN if beats is None else (OK if beats.get(role) else DOWN)
        self._log_changes(checks)
        return checks

    def _log_changes(self, checks: dict[str, str]) -> None:
        """One line when a check changes, not one per probe (a load balancer asks every few s)."""
        for name, state in checks.items():
            if self._last.get(name, OK) == state:
                continue
            if state == OK:
                log.info("readiness: %s is ok again", name)
            else:
                log.warning("readiness: %s is %s", name, state)
        self._last = checks


def metrics_token_ok(authorization: str, token: str) -> bool:
    """Constant-time comparison of a presented bearer token (hashed first, so neither the
    token's length nor its content shows in the timing)."""
    scheme, _, presented = authorization.partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return False
    digest = hashlib.sha256(presented.strip().encode()).digest()
    return hmac.compare_digest(digest, hashlib.sha256(token.encode()).digest())


async def read_snapshot(reader: LiveReader, camera_ids: list[str]) -> metrics.SystemSnapshot:
    async def read() -> metrics.SystemSnapshot:
        counters = await reader.counters()
        _version, points = await reader.sensors()
        beats = await reader.heartbeats(("ingest", "grab"))
        cameras = await reader.camera_healths(camera_ids) if camera_ids else {}
        newest = max((ts for _value, ts in (points or {}).values()), default=None)
        return metrics.SystemSnapshot(True, counters, newest, beats, cameras)

    try:
        return await asyncio.wait_for(read(), SCRAPE_TIMEOUT_S)
    except (redis.RedisError, OSError, TimeoutError, ValueError) as exc:
        log.warning("metrics: live state not readable (%s)", type(exc).__name__)
        return metrics.SystemSnapshot(False)


def add_observability_routes(
    server: FastAPI, reader: LiveReader, engine: Engine, city: City, settings: Settings
) -> None:
    roles = ("ingest", "grab") if city.config.cameras else ("ingest",)
    readiness = Readiness(reader, engine, roles)
    token = settings.metrics_token.get_secret_value()

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"}, headers=NO_STORE)

    async def readyz(_request: Request) -> Response:
        checks = await readiness.checks()
        ready = all(state == OK for state in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
            headers=NO_STORE,
        )

    async def scrape(request: Request) -> Response:
        if not token:
            return Response(status_code=404)
        if not metrics_token_ok(request.headers.get("authorization", ""), token):
            return Response(status_code=401, headers={"www-authenticate": "Bearer", **NO_STORE})
        # The cameras now: an admin may have added one (data/city_edits.py).
        snapshot = await read_snapshot(reader, [c.id for c in city.config.cameras])
        families = metrics.system_metrics(
            snapshot, time.time(), settings.camera_stalled_after_s, settings.camera_offline_after_s
        )
        body = await asyncio.to_thread(
            metrics.exposition, families, settings.prometheus_multiproc_dir
        )
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers=NO_STORE)

    for path, endpoint in (("/healthz", healthz), ("/readyz", readyz), ("/metrics", scrape)):
        server.add_api_route(path, endpoint, methods=["GET", "HEAD"], include_in_schema=False)
