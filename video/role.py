"""The grab role of a process: the city's cameras of this worker's shard, resolved and started."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

import redis

from data.city import CameraConfig, City, source_type_of
from data.live_store import LiveStore
from data.models import CameraHealth
from video.grabber import CameraSpec, GrabberPool, GrabTiming, make_worker_id, start_grabbers
from video.shards import Shard
from video.sources import CameraSourceError, resolve_source

log = logging.getLogger(__name__)


def camera_spec(
    camera: CameraConfig,
    environ: Mapping[str, str],
    secrets_dir: Path | None,
    fps: float,
    width: int,
    quality: int,
) -> CameraSpec:
    """The camera's resolved source and settings (its own, else the global defaults).

    Raises CameraSourceError, naming the camera but never the URL."""
    source = resolve_source(camera.id, camera.source, environ, secrets_dir)
    try:
        kind = source_type_of(source, camera.source_type)
    except ValueError as exc:
        raise CameraSourceError(f"camera {camera.id}: {exc}") from exc
    return CameraSpec(
        camera_id=camera.id,
        source=source,
        source_type=kind,
        fps=camera.fps or fps,
        width=camera.width or width,
        quality=camera.jpeg_quality or quality,
        masks=tuple(tuple(mask.points) for mask in camera.privacy_masks),
        hours=camera.hours,
    )


def shard_specs(
    city: City,
    store: LiveStore,
    *,
    environ: Mapping[str, str],
    secrets_dir: Path | None,
    fps: float,
    width: int,
    quality: int,
    shard: Shard | None,
    worker_id: str,
) -> list[CameraSpec]:
    """The resolved specs of the city's cameras in `shard`; a camera whose source cannot be
    resolved is left out and shown offline with the reason."""
    specs = []
    cameras = [c for c in city.config.cameras if shard is None or shard.includes(c.id)]
    for camera in cameras:
        try:
            specs.append(camera_spec(camera, environ, secrets_dir, fps, width, quality))
        except CameraSourceError as exc:
            # One misconfigured camera must not keep the others dark: it stays offline, with
            # the reason in its health — unless a worker that can resolve it holds it.
            log.error("%s; the camera stays offline", exc)
            try:
                if store.camera_lease_owner(camera.id) is None:
                    store.set_camera_health(
                        camera.id,
                        CameraHealth(
                            state="offline",
                            updated_ts=time.time(),
                            error=str(exc),
                            worker=worker_id,
                        ),
                    )
            except redis.RedisError as redis_error:
                log.warning("camera %s: cannot report to Redis: %s", camera.id, redis_error)
    return specs


def start_grab_role(
    city: City,
    store: LiveStore,
    stop: threading.Event,
    *,
    environ: Mapping[str, str],
    secrets_dir: Path | None,
    fps: float = 5.0,
    width: int = 640,
    quality: int = 80,
    timing: GrabTiming | None = None,
    shard: Shard | None = None,
    worker_id: str | None = None,
    lease_ttl_s: float = 10.0,
) -> GrabberPool:
    """Start the loops of the city's cameras in `shard` (None: all of them). `follow_edits(pool,
    ...)` keeps them in step with cameras an admin adds or changes."""
    worker_id = worker_id or make_worker_id()
    specs = shard_specs(
        city,
        store,
        environ=environ,
        secrets_dir=secrets_dir,
        fps=fps,
        width=width,
        quality=quality,
        shard=shard,
        worker_id=worker_id,
    )
    log.info(
        "grab worker %s: shard %s, %d of the city's %d cameras",
        worker_id,
        shard or "all",
        len(specs),
        len(city.config.cameras),
    )
    return start_grabbers(
        specs,
        store,
        stop,
        timing=timing,
        zone=ZoneInfo(city.config.timezone),
        zone_label=city.config.timezone_label,
        worker_id=worker_id,
        lease_ttl_s=lease_ttl_s,
    )


def follow_edits(
    pool: GrabberPool,
    store: LiveStore,
    *,
    environ: Mapping[str, str],
    secrets_dir: Path | None,
    fps: float = 5.0,
    width: int = 640,
    quality: int = 80,
    shard: Shard | None = None,
) -> Callable[[City], None]:
    """A listener for CityEditsWatcher: the pool's loops follow the city's cameras."""

    def changed(city: City) -> None:
        specs = shard_specs(
            city,
            store,
            environ=environ,
            secrets_dir=secrets_dir,
            fps=fps,
            width=width,
            quality=quality,
            shard=shard,
            worker_id=pool.worker_id,
        )
        started, retired = pool.reconcile(specs)
        if started or retired:
            log.info(
                "grab worker %s: cameras (re)started %s, retired %s",
                pool.worker_id,
                ", ".join(started) or "none",
                ", ".join(retired) or "none",
            )

    return changed
