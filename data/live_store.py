"""Synchronous access to the live state, for the worker roles (ingest, grab).

One `LiveStore` (one redis-py client, thread-safe) per process; each call builds its own pipeline,
so no pipeline ever crosses threads.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from functools import cached_property

import redis
from redis.commands.core import Script

from data.live_keys import (
    FRAME_TTL_S,
    HEARTBEAT_TTL_S,
    READ_IF_CHANGED_LUA,
    UPSERT_NEWER_LUA,
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
        self._upsert_newer = client.register_script(UPSERT_NEWER_LUA)

    # A script call blocks Redis while it runs; chunks keep each call well under a millisecond.
    UPSERT_CHUNK = 2000

    def write_readings(
        self, readings: Iterable[Reading], counters: dict[str, int] | None = None
    ) -> None:
        """Newer-than-stored values per sensor and quantity, the version bump and the ingest
        counters, all in one round trip."""
        latest: dict[str, Reading] = {}
        for reading in readings:  # within a batch, the newest reading of a field wins
            field = reading.live_field
            if field not in latest or latest[field].ts <= reading.ts:
                latest[field] = reading
        pipe = self.client.pipeline(transaction=False)
        items = list(latest.values())
        for start in range(0, len(items), self.UPSERT_CHUNK):
            args: list[object] = []
            for reading in items[start : start + self.UPSERT_CHUNK]:
                args += [reading.live_field, reading.ts, encode_point(reading.value, reading.ts)]
            self._upsert_newer(
                keys=[self.keys.sensors_latest, self.keys.sensors_version], args=args, client=pipe
            )
        for name, amount in (counters or {}).items():
            if amount:
                pipe.hincrby(self.keys.ingest_counters, name, amount)
        pipe.execute()

    def count(self, counters: dict[str, int]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for name, amount in counters.items():
            if amount:
                pipe.hincrby(self.keys.ingest_counters, name, amount)
        pipe.execute()

    def counters(self) -> dict[str, int]:
        raw = self.client.hgetall(self.keys.ingest_counters)
        return {k.decode(): int(v) for k, v in raw.items()}

    def mark_opd_entry(self, opd_id: str, ts: float) -> None:
        self.client.hset(self.keys.opds_latest, opd_id, ts)

    def opd_freshness(self) -> dict[str, float]:
        return {k.decode(): float(v) for k, v in self.client.hgetall(self.keys.opds_latest).items()}

    def needs_rebuild(self) -> bool:
        """True when the live state is not known to be complete (first start, Redis restart)."""
        return not self.client.exists(self.keys.live_epoch)

    def mark_rebuilt(self, ts: float) -> None:
        self.client.set(self.keys.live_epoch, ts)

    def history_changed(self) -> None:
        """SQL history changed at once (not the ingest role's steady appends): cached review
        reads made before are not used again."""
        self.client.incr(self.keys.history_revision)

    def write_kpis(self, values: Iterable[KpiValue]) -> int:
        mapping = {v.kpi_id: encode_point(v.value, v.ts) for v in values}
        if not mapping:
            return 0
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(self.keys.kpis_latest, mapping=mapping)
        pipe.incr(self.keys.kpis_version)
        pipe.execute()
        return len(mapping)

    def write_kpi_previous(self, values: Mapping[str, float]) -> None:
        """Each KPI's value one period ago, replacing the last set (a KPI without one drops out)."""
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(self.keys.kpis_previous)
        if values:
            pipe.hset(self.keys.kpis_previous, mapping={k: repr(v) for k, v in values.items()})
        pipe.execute()

    def write_region_kpis(self, values: Mapping[str, Iterable[KpiValue]]) -> int:
        """Per-region KPI values ({kode: values}) in one round trip, one version bump."""
        pipe = self.client.pipeline(transaction=False)
        written = 0
        for kode, items in values.items():
            mapping = {v.kpi_id: encode_point(v.value, v.ts) for v in items}
            if mapping:
                pipe.hset(self.keys.kpis_region(kode), mapping=mapping)
                written += len(mapping)
        if not written:
            return 0
        pipe.incr(self.keys.kpis_regions_version)
        pipe.execute()
        return written

    def region_kpis(
        self, kode: str, known_version: str = ""
    ) -> tuple[str, dict[str, tuple[float, float]] | None]:
        """(version, {kpi_id: (value, ts)}) of one kecamatan or desa; None when unchanged."""
        reply = self._read_if_changed(
            keys=[self.keys.kpis_regions_version, self.keys.kpis_region(kode)],
            args=[known_version],
        )
        return decode_if_changed(reply)

    def publish_frame(self, camera_id: str, jpeg: bytes, health: CameraHealth) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.set(self.keys.camera_frame(camera_id), jpeg, ex=FRAME_TTL_S)
        pipe.hset(self.keys.camera_health(camera_id), mapping=encode_health(health))
        pipe.publish(self.keys.frames_channel, f"{camera_id} {health.seq}")
        pipe.execute()

    def set_camera_health(self, camera_id: str, health: CameraHealth) -> None:
        self.client.hset(self.keys.camera_health(camera_id), mapping=encode_health(health))

    # -- thumbnails (map pop-ups) -------------------------------------------------------------
    def publish_thumbnail(self, camera_id: str, jpeg: bytes) -> None:
        """A small JPEG, refreshed about once a second; it expires with the frame, so a dead
        grabber leaves no thumbnail behind either."""
        self.client.set(self.keys.camera_thumb(camera_id), jpeg, ex=FRAME_TTL_S)

    def thumbnail(self, camera_id: str) -> bytes | None:
        return self.client.get(self.keys.camera_thumb(camera_id))

    # -- camera leases: which grab worker owns which camera ------------------------------------
    # A lease is a key holding the owner's id with a TTL. Taking and renewing it is one script:
    # SET if the key is missing (first start, an expired owner, a Redis restart) or already
    # ours, so a camera is never grabbed by two workers at once, and a dead worker's cameras are
    # free again once its leases expire.
    _LEASE_TAKE_LUA = """
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
    _LEASE_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

    @cached_property
    def _lease_take(self) -> Script:
        return self.client.register_script(self._LEASE_TAKE_LUA)

    @cached_property
    def _lease_release(self) -> Script:
        return self.client.register_script(self._LEASE_RELEASE_LUA)

    def acquire_camera_lease(self, camera_id: str, owner: str, ttl_s: float) -> bool:
        """Take (or keep) the lease on `camera_id` for `ttl_s`; False when another owner has it."""
        script = self._lease_take
        ttl_ms = max(1, round(ttl_s * 1000))
        return bool(script(keys=[self.keys.camera_lease(camera_id)], args=[owner, ttl_ms]))

    def renew_camera_leases(
        self, owner: str, camera_ids: Iterable[str], ttl_s: float
    ) -> dict[str, bool]:
        """Extend `owner`'s leases in one round trip: camera id -> still held."""
        ids = list(camera_ids)
        if not ids:
            return {}
        script = self._lease_take
        ttl_ms = max(1, round(ttl_s * 1000))
        pipe = self.client.pipeline(transaction=False)
        for camera_id in ids:
            script(keys=[self.keys.camera_lease(camera_id)], args=[owner, ttl_ms], client=pipe)
        return {camera_id: bool(held) for camera_id, held in zip(ids, pipe.execute(), strict=True)}

    def release_camera_lease(self, camera_id: str, owner: str) -> bool:
        """Give the camera up (a clean stop), only if `owner` still holds it."""
        script = self._lease_release
        return bool(script(keys=[self.keys.camera_lease(camera_id)], args=[owner]))

    def camera_lease_owner(self, camera_id: str) -> str | None:
        owner = self.client.get(self.keys.camera_lease(camera_id))
        return owner.decode() if owner is not None else None

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
