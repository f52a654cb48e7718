"""Prometheus metrics of the web role (issue 7): what this process did, and how the system is.

Two kinds, because roles run as separate processes, maybe on separate machines, and web
processes hold no state of their own:
- **System** metrics (readings per source, ingest lag, cameras, worker heartbeats) describe the
  shared live state, so they are read from Redis when /metrics is scraped, by whichever web
  process answers: every process gives the same numbers, and no worker role needs a port.
- **Per-process** metrics (callback latency, open video streams and long-polls, requests) are
  kept by the process that did the work. With several web workers on one port
  (`uvicorn --workers N`) a scrape lands on any one of them, so we use prometheus_client's
  multiprocess mode: when PROMETHEUS_MULTIPROC_DIR is set, every worker writes its values to
  files there and the worker that answers sums them all. (Scraping each worker on a port of its
  own would mean giving up `--workers`, and telling Prometheus about every worker.)
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from data.camera_status import STATE_LABELS, camera_status
from data.models import CameraHealth

# -- per-process ------------------------------------------------------------------------------
# Module-level on purpose: a metric belongs to the process (each worker has its own, and in
# multiprocess mode its own file), whatever number of apps a test builds in it.
PROCESS = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=PROCESS)  # CPU, memory, open files; single-process mode only

CALLBACK_SECONDS = Histogram(
    "komando_callback_duration_seconds",
    "Time the server took to answer a Dash callback, by callback (module.function)",
    ["callback"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=PROCESS,
)
STREAMS_OPEN = Gauge(
    "komando_video_streams_open",
    "MJPEG and wall streams being served now (each is one viewer's connection)",
    multiprocess_mode="livesum",
    registry=PROCESS,
)
LONG_POLLS = Gauge(
    "komando_video_long_polls_waiting",
    "Camera tiles waiting now for their next frame (/video/<id>.jpg?after=<seq>)",
    multiprocess_mode="livesum",
    registry=PROCESS,
)
HTTP_REQUESTS = Counter(
    "komando_http_requests",
    "HTTP requests answered, by kind of route and status class",
    ["kind", "code"],
    registry=PROCESS,
)


def observe_callback(name: str, seconds: float) -> None:
    CALLBACK_SECONDS.labels(name).observe(seconds)


# -- system, from the live state ----------------------------------------------------------------
@dataclass(frozen=True)
class SystemSnapshot:
    """What the live state in Redis says, read at one scrape; `readable` False if it could not
    be read (then only `komando_live_state_up 0` is reported)."""

    readable: bool
    counters: dict[str, int] = field(default_factory=dict)
    newest_reading_ts: float | None = None
    heartbeats: dict[str, float | None] = field(default_factory=dict)
    cameras: dict[str, CameraHealth | None] = field(default_factory=dict)


def system_metrics(
    snapshot: SystemSnapshot, now: float, stalled_after_s: float, offline_after_s: float
) -> list[Metric]:
    """The system's metric families from one snapshot (pure: tests call it directly)."""
    up = GaugeMetricFamily(
        "komando_live_state_up", "1 when this scrape could read the live state in Redis"
    )
    up.add_metric([], 1.0 if snapshot.readable else 0.0)
    if not snapshot.readable:
        return [up]
    readings = CounterMetricFamily(
        "komando_ingest_readings",
        "Readings accepted into / rejected by the ingest pipeline, by source (since the live "
        "state began; the /admin/data counters)",
        labels=["source", "outcome"],
    )
    for name, count in sorted(snapshot.counters.items()):
        source, _, outcome = name.rpartition(":")
        if source and outcome in ("accepted", "rejected"):
            readings.add_metric([source, outcome], float(count))
    lag = GaugeMetricFamily(
        "komando_ingest_lag_seconds",
        "Age of the newest reading in the live state: how far behind now the city's picture is",
    )
    if snapshot.newest_reading_ts is not None:
        lag.add_metric([], max(0.0, now - snapshot.newest_reading_ts))
    worker_up = GaugeMetricFamily(
        "komando_worker_up",
        "1 while the role's heartbeat in Redis is fresh (it expires 30 s after the last beat)",
        labels=["role"],
    )
    beat_age = GaugeMetricFamily(
        "komando_worker_heartbeat_age_seconds",
        "Seconds since the role's last beat",
        labels=["role"],
    )
    for role, beat in sorted(snapshot.heartbeats.items()):
        worker_up.add_metric([role], 0.0 if beat is None else 1.0)
        if beat is not None:
            beat_age.add_metric([role], max(0.0, now - beat))
    cameras = camera_metrics(snapshot.cameras, now, stalled_after_s, offline_after_s)
    return [up, readings, lag, worker_up, beat_age, *cameras]


def camera_metrics(
    cameras: dict[str, CameraHealth | None],
    now: float,
    stalled_after_s: float,
    offline_after_s: float,
) -> list[Metric]:
    state = GaugeMetricFamily(
        "komando_camera_state",
        "1 for the camera's current state (live, stalled, offline, connecting, disabled), judged "
        "by the age of its last frame as the wall judges it",
        labels=["camera", "state"],
    )
    fps = GaugeMetricFamily(
        "komando_camera_fps", "Frames per second the grabber measured", labels=["camera"]
    )
    age = GaugeMetricFamily(
        "komando_camera_frame_age_seconds", "Age of the camera's last frame", labels=["camera"]
    )
    reconnects = CounterMetricFamily(
        "komando_camera_reconnects",
        "Times the grabber reopened the camera (resets when its grab worker restarts)",
        labels=["camera"],
    )
    for camera_id, health in sorted(cameras.items()):
        status = camera_status(health, now, stalled_after_s, offline_after_s)
        for name in STATE_LABELS:
            state.add_metric([camera_id, name], 1.0 if status.state == name else 0.0)
        live = status.state in ("live", "stalled")
        fps.add_metric([camera_id], health.fps if health is not None and live else 0.0)
        if status.frame_age_s is not None:
            age.add_metric([camera_id], status.frame_age_s)
        if health is not None:
            reconnects.add_metric([camera_id], float(health.reconnects))
    return [state, fps, age, reconnects]


class _Fixed:
    """A collector handing out families built beforehand (read from Redis asynchronously)."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


def exposition(system: Iterable[Metric], multiproc_dir: Path | None) -> bytes:
    """The text a scrape gets: the system's families, then the per-process ones (this
    process's, or every worker's summed in multiprocess mode). Reads files: call off the loop."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(system))
    if multiproc_dir is None:
        return generate_latest(registry) + generate_latest(PROCESS)
    reap_dead_workers(multiproc_dir)
    MultiProcessCollector(registry, path=str(multiproc_dir))
    return generate_latest(registry)


_LIVE_GAUGE_FILE = re.compile(r"^gauge_live\w+?_(\d+)\.db$")


def reap_dead_workers(multiproc_dir: Path) -> None:
    """Drop the live gauges of workers that are gone (uvicorn restarts a dead worker and has no
    hook like gunicorn's child_exit to say so): a crashed worker's open streams must not count
    forever. Its counters and histograms stay, as counters should."""
    for path in multiproc_dir.glob("gauge_live*.db"):
        match = _LIVE_GAUGE_FILE.match(path.name)
        if match is None:
            continue
        pid = int(match.group(1))
        if not _alive(pid):
            with contextlib.suppress(OSError):
                mark_process_dead(pid, str(multiproc_dir))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
