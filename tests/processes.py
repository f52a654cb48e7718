"""Komando's roles as separate processes for the tests, started as deploy/ starts them: the
command of each role, a signed-in wall's requests to a web process, and stopping them as a
supervisor would. Used by test_multi_process.py and the fault tests."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from callbacks.sensor_map import sensor_items
from data.city import City
from layouts import ids
from server.access_gate import SESSION_COOKIE, csrf_token_for
from settings import PROJECT_ROOT


@dataclass
class Role:
    """One process of one role, logging to a file (a pipe nobody reads would fill and block)."""

    name: str
    command: list[str]
    log: Path
    env: dict[str, str]
    process: subprocess.Popen | None = None
    killed: bool = False
    past: list[subprocess.Popen] = field(default_factory=list)

    def start(self) -> None:
        """Start the command, or start it again after a kill (as a supervisor would)."""
        if self.process is not None:
            self.past.append(self.process)
        self.killed = False
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command, cwd=PROJECT_ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.killed = True

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def ingest_command() -> list[str]:
    return [sys.executable, "-m", "data"]


def grab_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "video", *args]


def web_command(port: int, workers: int = 1) -> list[str]:
    # As deploy/Procfile and deploy/systemd/komando-web.service run it.
    return [
        *(sys.executable, "-m", "uvicorn", "--factory", "app:asgi"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
        *("--proxy-headers", "--timeout-graceful-shutdown", "5"),
    ]


def migrate(env: dict[str, str]) -> None:
    """Once per release, before any web worker (deploy/: komando-migrate.service, `migrate`)."""
    migrated = subprocess.run(
        [sys.executable, "-m", "data", "migrate"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrated.returncode == 0, migrated.stderr


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def stop_all(roles: dict[str, Role]) -> dict[str, int]:
    """SIGTERM every process still running, as systemd and compose stop them; exit codes."""
    running = {n: r for n, r in roles.items() if r.process is not None and not r.killed}
    for role in running.values():
        assert role.process is not None
        role.process.terminate()
    return {name: role.process.wait(timeout=30) for name, role in running.items()}


def kill_leftovers(roles: dict[str, Role]) -> None:
    """After a failed test: SIGKILL what this test started and is still running."""
    for role in roles.values():
        if role.process is not None and role.process.poll() is None:
            role.process.kill()
            role.process.wait(timeout=10)


def feed_body(known: dict) -> dict:
    """The wall's one refresh request (callbacks/live_feed.py), without a map view."""
    outputs = [{"id": ids.FEED, "property": "data"}, {"id": ids.FEED_VERSIONS, "property": "data"}]
    return {
        "output": f"..{ids.FEED}.data...{ids.FEED_VERSIONS}.data..",
        "outputs": outputs,
        "inputs": [{"id": ids.WALL_TICK, "property": "n_intervals", "value": 1}],
        "state": [{"id": ids.FEED_VERSIONS, "property": "data", "value": known}, []],
        "changedPropIds": [f"{ids.WALL_TICK}.n_intervals"],
    }


class Viewer:
    """A signed-in browser's requests, sent to a web process of its choice."""

    def __init__(self, cookies: httpx.Cookies | dict[str, str]) -> None:
        self.cookies = httpx.Cookies(cookies)
        token = self.cookies.get(SESSION_COOKIE)
        assert token, "no session cookie after signing in"
        self.headers = {"X-CSRFToken": csrf_token_for(token)}

    def get(self, base: str, path: str) -> httpx.Response:
        return httpx.get(base + path, cookies=self.cookies, timeout=10)

    def feed(self, base: str, known: dict, timeout_s: float = 10) -> httpx.Response:
        """The wall's refresh as the page sends it: 200 with what changed, 204 if nothing."""
        return httpx.post(
            f"{base}/_dash-update-component",
            json=feed_body(known),
            cookies=self.cookies,
            headers=self.headers,
            timeout=timeout_s,
        )

    def sensors(self, base: str) -> dict[str, list]:
        answer = self.feed(base, {"want": ["sensors", "cameras"]})
        assert answer.status_code == 200, (base, answer.status_code, answer.text[:300])
        return answer.json()["response"][ids.FEED]["data"].get("sensors", {})

    def camera_state(self, base: str, camera_id: str) -> tuple[str, int]:
        answer = self.get(base, f"/video/{camera_id}.jpg")
        assert answer.status_code == 200, (base, camera_id, answer.status_code)
        return answer.headers["x-camera-state"], int(answer.headers["x-frame-seq"])


def city_with_cameras(folder: Path, cameras: str) -> Path:
    """A copy of the demo city (a KOMANDO_CITIES_DIR) with `cameras` (city.yaml items) listed
    before its own two."""
    city_dir = folder / "prabumulih"
    shutil.copytree(PROJECT_ROOT / "data" / "cities" / "prabumulih", city_dir)
    config = city_dir / "city.yaml"
    text = config.read_text(encoding="utf-8")
    assert text.count("\ncameras:\n") == 1
    config.write_text(text.replace("\ncameras:\n", "\ncameras:\n" + cameras, 1), encoding="utf-8")
    return folder


def push_ahead(base: str, api_key: str, city: City, value: float = 42.0) -> tuple[str, str]:
    """Push a reading of the city's first sensor through the API, a minute ahead so that the
    simulator's readings (newest wins) do not hide it: (sensor id, its text on the wall)."""
    sensor = city.config.sensors[0]
    ts = time.time() + 60
    pushed = httpx.post(
        base + "/api/v1/readings",
        json=[{"sensor_id": sensor.id, "ts": ts, "value": value}],
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
    )
    assert pushed.status_code == 200 and pushed.json()["accepted"] == 1, pushed.text
    return sensor.id, sensor_items(city, {sensor.id: (value, ts)}, ts)[sensor.id][3]
