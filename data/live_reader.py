"""Asynchronous, read-only access to the live state for the web role.

The web server is ASGI (uvicorn): callbacks and video routes await Redis instead of blocking the
event loop. One client (one connection pool) per web process, made on first use inside the loop.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis.asyncio as aioredis

from data.live_keys import READ_IF_CHANGED_LUA, KeySpace, decode_health, decode_if_changed
from data.models import CameraHealth


class LiveReader:
    def __init__(self, url: str, namespace: str) -> None:
        self.url = url
        self.keys = KeySpace(namespace)
        self._client: aioredis.Redis | None = None
        self._script = None

    @property
    def client(self) -> aioredis.Redis:
        if self._client is None:
            # redis-py 8 raises once its pool (100) is exhausted; with hundreds of viewers a
            # request should wait its turn instead of failing.
            pool = aioredis.BlockingConnectionPool.from_url(
                self.url,
                max_connections=100,
                timeout=5,
                socket_connect_timeout=2,
                socket_timeout=5,
                retry_on_timeout=True,
            )
            self._client = aioredis.Redis(connection_pool=pool)
            self._script = self._client.register_script(READ_IF_CHANGED_LUA)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose(close_connection_pool=True)
            self._client = None

    async def _read_if_changed(self, version_key: str, hash_key: str, known: str):
        client = self.client
        assert self._script is not None
        reply = await self._script(keys=[version_key, hash_key], args=[known], client=client)
        return decode_if_changed(reply)

    async def sensors(self, known_version: str = "") -> tuple[str, dict | None]:
        """(version, {sensor_id: (value, ts)}), or (version, None) if `known_version` is current."""
        return await self._read_if_changed(
            self.keys.sensors_version, self.keys.sensors_latest, known_version
        )

    async def kpis(self, known_version: str = "") -> tuple[str, dict | None]:
        return await self._read_if_changed(
            self.keys.kpis_version, self.keys.kpis_latest, known_version
        )

    async def region_kpis(self, kode: str, known_version: str = "") -> tuple[str, dict | None]:
        """Sensor-aggregate KPIs of one kecamatan or desa (kode wilayah): (version,
        {kpi_id: (value, ts)}), or (version, None) if `known_version` is current. One version
        counts writes to every region, so a wall panel showing several regions can share it."""
        return await self._read_if_changed(
            self.keys.kpis_regions_version, self.keys.kpis_region(kode), known_version
        )

    async def kpi_previous(self) -> dict[str, float]:
        """{kpi id: value one period ago} (data/kpi_baseline.py); empty until it is computed."""
        raw = await self.client.hgetall(self.keys.kpis_previous)
        previous = {}
        for key, value in raw.items():
            try:
                previous[key.decode() if isinstance(key, bytes) else key] = float(value)
            except ValueError:
                continue
        return previous

    async def camera_healths(self, camera_ids: Iterable[str]) -> dict[str, CameraHealth | None]:
        ids = list(camera_ids)
        async with self.client.pipeline(transaction=False) as pipe:
            for camera_id in ids:
                pipe.hgetall(self.keys.camera_health(camera_id))
            replies = await pipe.execute()
        return {camera_id: decode_health(raw) for camera_id, raw in zip(ids, replies, strict=True)}

    # -- for health checks and metrics (issue 7) -----------------------------------------------
    async def ping(self) -> bool:
        return bool(await self.client.ping())

    async def counters(self) -> dict[str, int]:
        """The ingest counters, {"<source>:accepted" / "<source>:rejected": count}."""
        raw = await self.client.hgetall(self.keys.ingest_counters)
        return {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in raw.items()}

    async def heartbeats(self, roles: Iterable[str]) -> dict[str, float | None]:
        """Each role's last beat (epoch), None when it has none (never, or expired)."""
        names = list(roles)
        async with self.client.pipeline(transaction=False) as pipe:
            for role in names:
                pipe.get(self.keys.heartbeat(role))
            replies = await pipe.execute()
        beats: dict[str, float | None] = {}
        for role, raw in zip(names, replies, strict=True):
            try:
                beats[role] = float(raw) if raw is not None else None
            except ValueError:
                beats[role] = None
        return beats

    async def thumbnail(self, camera_id: str) -> bytes | None:
        return await self.client.get(self.keys.camera_thumb(camera_id))

    async def camera(self, camera_id: str) -> tuple[bytes | None, CameraHealth | None]:
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.get(self.keys.camera_frame(camera_id))
            pipe.hgetall(self.keys.camera_health(camera_id))
            frame, health = await pipe.execute()
        return frame, decode_health(health)
