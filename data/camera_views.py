"""Parents' camera views for the audit trail: who watched which camera, when, for how long.

A view is a run of requests for one camera by one account with gaps under `idle_s`. Its start
writes one audit row; while it lasts the row's duration is brought up to date at most every
`flush_s`. The run's state lives in Redis (any web worker may serve the next request), so the
trail is right however the requests are spread.
"""

from __future__ import annotations

import contextlib
import json
import logging

import redis
from sqlalchemy import Engine, update

from data.access import Principal
from data.accounts import audit, audit_log, now_ms

log = logging.getLogger(__name__)


class CameraViewLog:
    def __init__(
        self,
        engine: Engine,
        client: redis.Redis,
        namespace: str,
        idle_s: int = 60,
        flush_s: int = 30,
    ) -> None:
        self.engine = engine
        self.redis = client
        self.ns = namespace
        self.idle_s = idle_s
        self.flush_s = flush_s

    def seen(self, principal: Principal, camera_id: str, route: str) -> None:
        """Record that `principal` is watching `camera_id` now (call from a thread)."""
        key = f"{self.ns}:view:{principal.kind}:{principal.id}:{camera_id}"
        stamp = now_ms()
        try:
            state = self.redis.hgetall(key)
        except redis.RedisError:
            state = None
        if not state:
            row = audit(
                self.engine,
                principal.actor,
                "camera.view",
                camera_id,
                started_ms=stamp,
                seconds=0,
                route=route,
            )
            try:
                self.redis.hset(
                    key, mapping={"row": row, "start": stamp, "flushed": stamp, "route": route}
                )
                self.redis.expire(key, self.idle_s)
            except redis.RedisError:
                log.warning("camera view of %s logged without its duration (Redis down)", camera_id)
            return
        start, flushed = int(state[b"start"]), int(state[b"flushed"])
        pipe = self.redis.pipeline()
        if stamp - flushed >= self.flush_s * 1000:
            detail = {
                "started_ms": start,
                "seconds": round((stamp - start) / 1000),
                "route": state.get(b"route", b"").decode(),
            }
            with self.engine.begin() as conn:
                conn.execute(
                    update(audit_log)
                    .where(audit_log.c.id == int(state[b"row"]))
                    .values(detail=json.dumps(detail, sort_keys=True))
                )
            pipe.hset(key, "flushed", stamp)
        pipe.expire(key, self.idle_s)
        with contextlib.suppress(redis.RedisError):
            pipe.execute()
