"""The real app in a subprocess (`python app.py`, embedded Redis and all) and headless Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from sqlalchemy import Engine

from data.db.engine import make_engine
from settings import PROJECT_ROOT
from tests.accounts import Session, display_session, session_for
from tests.ports import free_port

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # No background traffic: these machines, like many command centres, have no internet link.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str:
    for candidate in (os.environ.get("KOMANDO_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)  # type: ignore[return-value]
    raise RuntimeError("Chromium is missing: `make test` installs it (scripts/ensure-chromium)")


@contextmanager
def running_komando(data_dir: Path, **extra_env: str) -> Iterator[str]:
    """`python app.py` as a newcomer runs it (embedded Redis, SQLite), on a free port."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")},
        "PORT": str(port),
        "KOMANDO_DATA_DIR": str(data_dir),
        "KOMANDO_INGEST_INTERVAL_S": "0.5",
        "KOMANDO_WALL_REFRESH_MS": "1000",
        **extra_env,
    }
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"app.py exited: {log_path.read_text()[-2000:]}")
                try:
                    if httpx.get(url + "login", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"app.py did not answer: {log_path.read_text()[-2000:]}")
                time.sleep(0.2)
            database_url = extra_env.get("DATABASE_URL") or (
                f"sqlite:///{data_dir / 'komando.sqlite3'}"
            )
            _DATABASES[url] = make_engine(database_url)
            yield url
        finally:
            _DATABASES.pop(url, None)
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    # Reached only when the test passed: a clean shutdown and a log without tracebacks.
    server_log = log_path.read_text()
    assert "Traceback" not in server_log, server_log[-3000:]
    assert process.returncode == 0, f"app.py exited with {process.returncode}"


@pytest.fixture(scope="session")
def komando_url(tmp_path_factory) -> Iterator[str]:
    with running_komando(tmp_path_factory.mktemp("komando-data")) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class ConsoleLog:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def record(self, message) -> None:
        if message.type == "error":
            self.errors.append(message.text)


_DATABASES: dict[str, Engine] = {}


def base_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def session_of(url: str, role: str = "admin", **binding) -> Session:
    """A signed-in session of a new `role` user on the app `running_komando` serves at `url`;
    role "display" makes a display token bound to `binding["view"]` (default "/")."""
    engine = _DATABASES[base_of(url)]
    if role == "display":
        return display_session(engine, binding.get("view", "/"))
    return session_for(engine, role, **binding)


def sign_in_context(context: BrowserContext, url: str, role: str = "admin", **binding) -> Session:
    """Give a browser context the cookies of a fresh `role` session (the form itself is tested
    in test_accounts.py; the other tests start signed in)."""
    session = session_of(url, role, **binding)
    base = base_of(url)
    context.add_cookies([{"name": k, "value": v, "url": base} for k, v in session.cookies.items()])
    return session


@contextmanager
def open_page(
    browser: Browser, url: str, role: str = "admin", **binding
) -> Iterator[tuple[Page, ConsoleLog]]:
    context = browser.new_context(
        viewport={"width": 1920, "height": 1080}, locale="id-ID", timezone_id="Asia/Jakarta"
    )
    if role:
        sign_in_context(context, url, role, **binding)
    page = context.new_page()
    console = ConsoleLog()
    page.on("console", console.record)
    page.on("pageerror", lambda error: console.errors.append(f"page error: {error}"))
    page.goto(url)
    try:
        yield page, console
    finally:
        context.close()


@pytest.fixture
def wall_page(browser: Browser, komando_url: str) -> Iterator[tuple[Page, ConsoleLog]]:
    with open_page(browser, komando_url) as opened:
        yield opened
