"""Each role started on its own, as production runs them: `python -m data`, `python -m video`
and the web role under uvicorn (`--factory app:asgi`), sharing one real Redis server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
from sqlalchemy.exc import SQLAlchemyError

from data.history import count_rows, make_engine, readings
from settings import PROJECT_ROOT
from tests.accounts import session_for
from tests.ports import free_port


def test_roles_as_separate_processes_share_one_redis(redis_url, tmp_path):
    port = free_port()
    database_url = f"sqlite:///{tmp_path / 'history.sqlite3'}"
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "KOMANDO_DATA_DIR": str(tmp_path),
        "KOMANDO_INGEST_INTERVAL_S": "0.3",
        "KOMANDO_HISTORY_FLUSH_S": "0.5",
    }
    commands = [
        [sys.executable, "-m", "data"],
        [sys.executable, "-m", "video"],
        [sys.executable, "-m", "uvicorn", "--factory", "app:asgi", "--port", str(port)],
    ]
    processes = [
        subprocess.Popen(
            c, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        for c in commands
    ]
    try:
        base = f"http://127.0.0.1:{port}"
        engine = make_engine(database_url)
        deadline = time.monotonic() + 30
        state, cookies = None, None
        while time.monotonic() < deadline and state != "live":
            time.sleep(0.3)
            try:
                if cookies is None:  # once a role has migrated the database
                    cookies = session_for(engine, "operator").cookies
                answer = httpx.get(f"{base}/video/simpang-sudirman.jpg", cookies=cookies)
                state = answer.headers["x-camera-state"]
            except (httpx.HTTPError, KeyError, SQLAlchemyError):
                continue
        assert state == "live", "the web process never saw a frame from the grab process"
        assert httpx.get(base + "/", cookies=cookies).status_code == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and count_rows(engine, readings) == 0:
            time.sleep(0.3)
        assert count_rows(engine, readings) > 0, "the ingest process wrote no history"
    finally:
        for process in processes:
            process.terminate()
        codes = [process.wait(timeout=20) for process in processes]
    errors = [p.stderr.read().decode() for p in processes]
    # uvicorn re-raises the SIGTERM it handled gracefully, so its exit status is -SIGTERM.
    assert codes == [0, 0, -signal.SIGTERM], errors
    assert not any("Traceback" in e for e in errors), errors


def test_a_worker_alone_without_redis_url_says_why(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "video"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "needs REDIS_URL" in result.stderr
