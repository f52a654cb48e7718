"""Synchronous access to the live state, for the worker roles (ingest, grab).

One `LiveStore` (one redis-py client, thread-safe) per process; each call builds its own pipeline,
so no pipeline ever crosses threads.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import redis

from data.live_keys import (
    FRAME_TTL_S,
    HEARTBEAT_TTL_S,
    READ_IF_CHANGED_LUA,
    KeySpace,
    decode_health,
    decode_if_changed,
    encode_health,
    encode_point,
)
from data.models import CameraHealth, KpiValue, Reading


def connect(url: str) -> redis.Redis:
    """A client that survives a Redis restart: it retries a failed command once on a new socket."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=5,
        socket_timeout=10,
        health_check_interval=30,
        retry_on_timeout=True,
    )


class LiveStore:
    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.keys = KeySpace(namespace)
        self._read_if_changed = client.register_script(READ_IF_CHANGED_LUA)

    def write_readings(self, readings: Iterable[Reading]) -> int:
        """Latest value per sensor, and one version bump, in a single round trip."""
        mapping = {r.sensor_id: encode_point(r.value, r.ts) for r in readings}
        if not mapping:
            return 0
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(self.keys.sensors_latest, mapping=mapping)
        pipe.incr(self.keys.sensors_version)
        pipe.execute()
        return len(mapping)

    def write_kpis(self, values: Iterable[KpiValue]) -> int:
        mapping = {v.kpi_id: encode_point(v.value, v.ts) for v in values}
        if not mapping:
            return 0
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(self.keys.kpis_latest, mapping=mapping)
        pipe.incr(self.keys.kpis_version)
        pipe.execute()
        return len(mapping)

    def publish_frame(self, camera_id: str, jpeg: bytes, health: CameraHealth) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.set(self.keys.camera_frame(camera_id), jpeg, ex=FRAME_TTL_S)
        pipe.hset(self.keys.camera_health(camera_id), mapping=encode_health(health))
        pipe.execute()

    def set_camera_health(self, camera_id: str, health: CameraHealth) -> None:
        self.client.hset(self.keys.camera_health(camera_id), mapping=encode_health(health))

    def beat(self, role: str, now: float | None = None) -> None:
        self.client.set(
            self.keys.heartbeat(role), time.time() if now is None else now, ex=HEARTBEAT_TTL_S
        )

    def sensors(self, known_version: str = "") -> tuple[str, dict[str, tuple[float, float]] | None]:
        reply = self._read_if_changed(
            keys=[self.keys.sensors_version, self.keys.sensors_latest], args=[known_version]
        )
        return decode_if_changed(reply)

    def kpis(self, known_version: str = "") -> tuple[str, dict[str, tuple[float, float]] | None]:
        reply = self._read_if_changed(
            keys=[self.keys.kpis_version, self.keys.kpis_latest], args=[known_version]
        )
        return decode_if_changed(reply)

    def camera(self, camera_id: str) -> tuple[bytes | None, CameraHealth | None]:
        pipe = self.client.pipeline(transaction=False)
        pipe.get(self.keys.camera_frame(camera_id))
        pipe.hgetall(self.keys.camera_health(camera_id))
        frame, health = pipe.execute()
        return frame, decode_health(health)
