"""Shared pieces of the servers the tests start on loopback: ports, start/close, logs."""

from __future__ import annotations

import random
import socket
from pathlib import Path
from types import TracebackType
from typing import Self


def free_port() -> int:
    """A port that is free now and that the kernel never hands out as an outgoing source port."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.SystemRandom()
    for _ in range(50):
        port = rng.randrange(max(1024, low - 16384), low)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerContext:
    """`with SomeServer() as server:` starts it, and closes it whatever happens, also when the
    start itself fails half-way. Subclasses provide `start()` (returning self) and `close()`."""

    def start(self) -> Self:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def log_tail(path: Path, lines: int, since: int = 0, what: str = "server") -> str:
    """The end of a server's log file (from byte offset `since`), for error messages."""
    try:
        with path.open("rb") as handle:
            handle.seek(since)
            text = handle.read().decode(errors="replace")
    except OSError:
        return f"(no {what} log at {path})"
    tail = text.splitlines()[-lines:]
    return f"--- last {len(tail)} lines of {path} ---\n" + "\n".join(tail)
