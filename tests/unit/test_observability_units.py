"""Observability's pure parts (issue 7): metric families from a live-state snapshot, request
ids, the metrics token, JSON log lines and the new settings."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sqlite3
import threading
import time

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError
from sqlalchemy import create_engine

import logs
from data.models import CameraHealth
from server.metrics import SystemSnapshot, _Fixed, system_metrics
from server.observability import SqlProbe, metrics_token_ok
from server.request_ids import kind_of, request_id_of
from settings import describe_errors, load_settings

NOW = 1_800_000_000.0


def render(snapshot: SystemSnapshot) -> dict:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(system_metrics(snapshot, NOW, 3.0, 10.0)))
    found = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_system_metrics_from_a_snapshot():
    snapshot = SystemSnapshot(
        True,
        counters={"http:accepted": 5, "http:rejected": 2, "mqtt:accepted": 9, "odd": 1},
        newest_reading_ts=NOW - 4.0,
        heartbeats={"ingest": NOW - 1.0, "grab": None},
        cameras={
            "a": CameraHealth(state="live", frame_ts=NOW - 0.5, updated_ts=NOW, fps=4.8),
            "b": CameraHealth(state="live", frame_ts=NOW - 5.0, updated_ts=NOW, fps=2.0),
            "c": None,
        },
    )
    found = render(snapshot)
    assert (
        found[("komando_ingest_readings_total", (("outcome", "accepted"), ("source", "http")))] == 5
    )
    assert (
        found[("komando_ingest_readings_total", (("outcome", "rejected"), ("source", "http")))] == 2
    )
    assert (
        found[("komando_ingest_readings_total", (("outcome", "accepted"), ("source", "mqtt")))] == 9
    )
    assert not any(labels and ("source", "") in labels for _, labels in found)  # "odd" skipped
    assert found[("komando_ingest_lag_seconds", ())] == 4.0
    assert found[("komando_worker_up", (("role", "ingest"),))] == 1
    assert found[("komando_worker_up", (("role", "grab"),))] == 0
    assert found[("komando_worker_heartbeat_age_seconds", (("role", "ingest"),))] == 1.0
    assert ("komando_worker_heartbeat_age_seconds", (("role", "grab"),)) not in found
    states = {
        (dict(labels)["camera"], dict(labels)["state"])
        for (name, labels), value in found.items()
        if name == "komando_camera_state" and value == 1
    }
    assert states == {("a", "live"), ("b", "stalled"), ("c", "offline")}
    assert found[("komando_camera_fps", (("camera", "a"),))] == 4.8
    assert found[("komando_camera_fps", (("camera", "c"),))] == 0
    assert ("komando_camera_frame_age_seconds", (("camera", "c"),)) not in found


def test_an_unreadable_live_state_is_one_gauge_at_zero():
    assert render(SystemSnapshot(False)) == {("komando_live_state_up", ()): 0.0}


def test_no_readings_yet_means_no_lag_sample_rather_than_a_made_up_one():
    found = render(SystemSnapshot(True))
    assert ("komando_ingest_lag_seconds", ()) not in found
    assert found[("komando_live_state_up", ())] == 1


@pytest.mark.parametrize(
    ("presented", "kept"),
    [
        ("4f2a9c1e-77b0-4d1a-9a43-0c8d2e5f6a10", True),
        ("Root=1-67891233-abcdef012345678912345678", True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("", False),
        ("dua kata", False),
        ("-starts-with-dash", False),
        ('x"}{', False),
        ("ümlaut", False),
    ],
)
def test_a_presented_request_id_is_kept_only_when_sane(presented, kept):
    scope = {"headers": [(b"x-request-id", presented.encode("utf-8"))]}
    chosen = request_id_of(scope)
    assert (chosen == presented) is kept
    if not kept:
        assert len(chosen) == 16 and int(chosen, 16) >= 0


def test_route_kinds_are_a_small_fixed_set():
    assert kind_of("/video/x.jpg") == "video"
    assert kind_of("/_dash-update-component") == "callback"
    assert kind_of("/api/v1/readings") == kind_of("/ngsi-ld/v1/entities") == "api"
    assert kind_of("/assets/x.css") == kind_of("/_dash-component-suites/dash/x.js") == "static"
    assert kind_of("/readyz") == "probe"
    assert kind_of("/anything/else/42") == "page"


def test_metrics_token_needs_the_bearer_scheme_and_the_exact_token():
    token = "0123456789abcdef-token"
    assert metrics_token_ok(f"Bearer {token}", token)
    assert metrics_token_ok(f"bearer {token}", token)
    assert not metrics_token_ok(token, token)
    assert not metrics_token_ok(f"Bearer {token[:-1]}", token)
    assert not metrics_token_ok(f"Basic {token}", token)
    assert not metrics_token_ok("Bearer ", token)
    assert not metrics_token_ok("", token)


def test_json_log_lines_carry_the_request_id_of_their_request():
    stream = io.StringIO()
    log = logging.getLogger("komando.uji.json")
    log.propagate = False
    log.addHandler(logs.make_handler("json", stream))
    log.setLevel(logging.INFO)
    token = logs.REQUEST_ID.set("req-1")
    try:
        log.warning("ditolak %s", "x")
    finally:
        logs.REQUEST_ID.reset(token)
    try:
        raise ValueError("rusak")
    except ValueError:
        log.exception("gagal")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["request_id"] == "req-1" and first["message"] == "ditolak x"
    assert first["level"] == "WARNING" and first["logger"] == "komando.uji.json"
    assert "request_id" not in second and "ValueError: rusak" in second["exc"]


def test_text_log_lines_show_the_request_id_only_inside_a_request():
    stream = io.StringIO()
    log = logging.getLogger("komando.uji.text")
    log.propagate = False
    log.addHandler(logs.make_handler("text", stream))
    log.setLevel(logging.INFO)
    token = logs.REQUEST_ID.set("req-2")
    log.info("di dalam")
    logs.REQUEST_ID.reset(token)
    log.info("di luar")
    inside, outside = stream.getvalue().splitlines()
    assert "komando.uji.text [req-2]: di dalam" in inside
    assert "komando.uji.text: di luar" in outside


def test_observability_settings_are_checked_and_the_token_never_echoed(tmp_path):
    assert load_settings().log_format == "text"
    assert load_settings().metrics_token.get_secret_value() == ""
    settings = load_settings(metrics_token="0123456789abcdef", log_format="json")
    assert "0123456789abcdef" not in repr(settings)
    with pytest.raises(ValidationError) as short:
        load_settings(metrics_token="pendek-rahasia")
    message = describe_errors(short.value)
    assert "KOMANDO_METRICS_TOKEN" in message and "pendek-rahasia" not in message
    with pytest.raises(ValidationError):
        load_settings(log_format="xml")
    with pytest.raises(ValidationError) as missing:
        load_settings(prometheus_multiproc_dir=tmp_path / "tidak-ada")
    assert "existing folder" in describe_errors(missing.value)
    assert load_settings(prometheus_multiproc_dir=tmp_path).prometheus_multiproc_dir == tmp_path
    assert load_settings(prometheus_multiproc_dir="").prometheus_multiproc_dir is None


def test_a_hanging_database_answers_down_quickly_and_is_probed_once_at_a_time():
    release = threading.Event()
    calls = []

    def hanging_connect():
        calls.append(1)
        release.wait(5)
        raise sqlite3.OperationalError("gave up")

    probe = SqlProbe(create_engine("sqlite://", creator=hanging_connect), timeout_s=0.2)

    async def twice() -> tuple[bool, bool, float]:
        started = time.monotonic()
        first = await probe.ok()
        second = await probe.ok()
        took = time.monotonic() - started
        release.set()  # before asyncio.run waits for its threads
        return first, second, took

    try:
        first, second, took = asyncio.run(twice())
    finally:
        release.set()
    assert (first, second) == (False, False)
    assert took < 1.5
    assert len(calls) == 1  # the second probe waited on the first, not on a new thread
