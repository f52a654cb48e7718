"""Starting and stopping the roles of one process. Imports no Dash: worker-only processes
(`python -m data`, `python -m video`) use it too."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy import Engine

import logs
from data.city import City, CityConfigError, load_city
from logs import LogFormat

if TYPE_CHECKING:
    from data.city_edits import CityEditsWatcher
from settings import Role, Settings, describe_errors, load_settings

log = logging.getLogger("komando")

WebServer = Callable[[Settings, City], None]


def start_workers(
    settings: Settings, city: City, stop: threading.Event, watcher: CityEditsWatcher | None = None
) -> list[threading.Thread]:
    """Start the ingest and grab roles named in `settings.roles` as threads of this process;
    with `watcher`, the grab role follows cameras an admin adds or changes."""
    from data.history import BatchWriter, make_engine
    from data.ingest import start_ingest
    from data.live_store import LiveStore, connect

    assert settings.redis_url
    store = LiveStore(connect(settings.redis_url), settings.redis_namespace)
    threads: list[threading.Thread] = []
    if "ingest" in settings.roles:
        engine = make_engine(settings.effective_database_url)
        prepare_database(engine, city)
        writer = BatchWriter(
            engine,
            settings.history_flush_s,
            settings.history_batch_size,
            spool_dir=Path(settings.data_dir) / "spool",
        )
        threads += start_ingest(city, store, writer, settings.ingest_interval_s, stop)
        from data.alerts import Timing, start_alerts

        # Alert rules (issue 5) run beside ingestion, reading the live state it writes.
        threads.append(
            start_alerts(
                city,
                store,
                engine,
                stop,
                interval_s=min(5.0, max(1.0, settings.ingest_interval_s)),
                timing=Timing(settings.camera_stalled_after_s, settings.camera_offline_after_s),
            )
        )
        if settings.mqtt_url:
            from data.pipeline import IngestPipeline
            from data.sources.mqtt import start_mqtt

            # Its own pipeline (counters "mqtt:*"), the same writer: one history queue.
            threads.append(
                start_mqtt(
                    settings.mqtt_url,
                    settings.effective_mqtt_topic_prefix,
                    IngestPipeline(city, store, writer),
                    stop,
                    ca_file=settings.mqtt_ca_file,
                )
            )
    if "grab" in settings.roles:
        from video.grabber import GrabTiming
        from video.role import follow_edits, start_grab_role
        from video.shards import parse_shard

        shard = parse_shard(settings.camera_shard)
        sources = {
            "environ": os.environ,
            "secrets_dir": settings.effective_secrets_dir,
            "fps": settings.camera_fps,
            "width": settings.camera_width,
            "quality": settings.camera_jpeg_quality,
            "shard": shard,
        }
        pool = start_grab_role(
            city,
            store,
            stop,
            timing=GrabTiming(
                stalled_after_s=settings.camera_stalled_after_s,
                offline_after_s=settings.camera_offline_after_s,
            ),
            **sources,
        )
        if watcher is not None:
            watcher.listeners.append(follow_edits(pool, store, **sources))
        threads += pool.threads
    return threads


def prepare_database(engine: Engine, city: City) -> None:
    """Migrate the schema and mirror the city's configuration into it."""
    from data.db.migrate import upgrade_schema
    from data.registry import sync_city

    upgrade_schema(engine)
    sync_city(engine, city)


def _follow_city_edits(settings: Settings, city: City, stop: threading.Event) -> CityEditsWatcher:
    """Schools and cameras edited in the admin page, laid over city.yaml in this process."""
    from data.city_edits import follow_city_edits
    from data.history import make_engine
    from data.live_store import connect

    assert settings.redis_url
    return follow_city_edits(
        city,
        make_engine(settings.effective_database_url),
        connect(settings.redis_url),
        settings.redis_namespace,
        stop,
    )


def wait_for_signal(stop: threading.Event) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass


def run(settings: Settings, serve_web: WebServer | None = None) -> int:
    """Run the roles in `settings.roles` until interrupted; the web role needs `serve_web`."""
    try:
        city = load_city(settings.city_dir)
    except CityConfigError as exc:
        print(f"Komando cannot start: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    redis_server = None
    with ExitStack() as stack:
        if not settings.redis_url:
            from data.redis_server import EmbeddedRedis

            redis_server = stack.enter_context(EmbeddedRedis())
            settings = settings.model_copy(update={"redis_url": redis_server.url})
        if "web" in settings.roles or "ingest" in settings.roles:
            from data.history import make_engine

            prepare_database(make_engine(settings.effective_database_url), city)
        watcher = _follow_city_edits(settings, city, stop)
        threads = start_workers(settings, city, stop, watcher)
        if redis_server is not None:
            threads.append(redis_server.supervise(stop))
        try:
            if "web" in settings.roles and serve_web is not None:
                serve_web(settings, city)
            else:
                wait_for_signal(stop)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
    log.info("Komando stopped")
    return 0


def configure_logging(level: str, log_format: LogFormat = "text") -> None:
    """Text for people or JSON lines for a collector (KOMANDO_LOG_FORMAT), with request ids."""
    logs.configure_logging(level, log_format)


def main_for_roles(
    roles: frozenset[Role] | None, serve_web: WebServer | None = None, **overrides: object
) -> int:
    """Entry point shared by `app.py`, `python -m data` and `python -m video`."""
    if roles is not None:
        overrides["roles"] = roles
    try:
        settings = load_settings(**overrides)
    except ValidationError as exc:
        print(describe_errors(exc), file=sys.stderr)
        return 2
    if roles is not None and not settings.redis_url:
        print(
            f"Komando: running {', '.join(sorted(roles))} on its own needs REDIS_URL, the "
            "Redis server the other roles use (only `python app.py` starts its own).",
            file=sys.stderr,
        )
        return 2
    configure_logging(settings.log_level, settings.log_format)
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    return run(settings, serve_web)
