"""A throwaway Mosquitto MQTT broker for the tests, started from Debian's packaged binary.

Why this shape:

* CI has no Docker and no shared broker, so the tests run a real one: `scripts/ensure-mosquitto`
  installs Debian's `mosquitto` package (without starting its service) and this module starts
  `mosquitto -c <conf>` with a config in a fresh temporary directory.
* It listens on 127.0.0.1 only, at a free port below the kernel's ephemeral range, so no client's
  outgoing connection can take the port while the broker is stopped for a restart test, and
  `start()` after `stop()` comes back on the same port: clients keep their URL.
* Persistence is off (the tests' sessions live in memory) and anonymous clients are allowed,
  unless `users` asks for a password file.
* Started as root, mosquitto 2 drops to the `mosquitto` user, which could not read a config or
  key in our root-owned temporary directory; `user root` keeps it as it was started. As any other
  user the setting has no effect.
* The broker is our own child process (not daemonised), so `stop()` waits for it and nothing is
  left behind; if pytest itself is killed, PR_SET_PDEATHSIG ends the broker too.
* With `tls=True`, a private CA and a server certificate for 127.0.0.1/localhost are made with the
  `openssl` command (Debian's `ca-certificates` depends on it); clients trust `ca_file`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from tests.ports import ServerContext, free_port, log_tail

_PR_SET_PDEATHSIG = 1
_LOG_TAIL_LINES = 30


class MosquittoError(RuntimeError):
    """The test broker could not be found, configured, started or stopped."""


def find_mosquitto() -> Path:
    """$KOMANDO_MOSQUITTO, else `mosquitto` on PATH, else Debian's /usr/sbin/mosquitto."""
    override = os.environ.get("KOMANDO_MOSQUITTO")
    candidates = [override] if override else []
    candidates += [shutil.which("mosquitto"), "/usr/sbin/mosquitto"]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise MosquittoError(
        "no mosquitto binary on PATH or in /usr/sbin: run scripts/ensure-mosquitto "
        "(`make test` does), or set KOMANDO_MOSQUITTO"
    )


def _die_with_parent() -> None:
    # Linux sends the signal when the *thread* that started the broker exits: start it from the
    # main thread (pytest fixtures run there).
    with contextlib.suppress(OSError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class TemporaryMosquitto(ServerContext):
    """`with TemporaryMosquitto() as broker: ... broker.url` — a private, real MQTT broker.

    `stop()` ends it (SIGTERM, as systemd would), `start()` brings it back on the same port; with
    persistence off it comes back empty, as a broker without persistence does after a restart.
    On exit the broker is stopped and the temporary directory removed.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        users: Mapping[str, str] | None = None,
        tls: bool = False,
        binary: Path | None = None,
    ) -> None:
        self.binary = binary or find_mosquitto()
        self.users = dict(users or {})
        self.tls = tls
        self.directory = Path(tempfile.mkdtemp(prefix="komando-mqtt-"))
        self.config_path = self.directory / "mosquitto.conf"
        self.log_path = self.directory / "mosquitto.log"
        self.ca_file: Path | None = None
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._started_once = False
        try:
            if tls:
                self._make_certificates()
            if self.users:
                self._write_password_file()
        except BaseException:
            self._remove_directory()
            raise

    # --- addresses -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        return f"{scheme}://{self.host}:{self.port}"

    def url_for(self, user: str, password: str) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}:{password}@{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, timeout_s: float = 10.0) -> TemporaryMosquitto:
        """Start the broker and wait until it accepts connections; a no-op if it runs."""
        if self.running:
            return self
        for attempt in range(5):
            self._write_config()
            since = self.log_path.stat().st_size if self.log_path.exists() else 0
            with self.log_path.open("ab") as broker_log:
                self.process = subprocess.Popen(
                    [str(self.binary), "-c", str(self.config_path)],
                    stdin=subprocess.DEVNULL,
                    stdout=broker_log,
                    stderr=subprocess.STDOUT,
                    cwd=str(self.directory),
                    preexec_fn=_die_with_parent,
                    # Own session: a Ctrl+C meant for pytest must not reach the broker first.
                    start_new_session=True,
                )
            try:
                self._wait_until_ready(timeout_s, since)
            except _PortInUseError:
                if self._started_once or attempt == 4:
                    raise  # clients hold our URL once started: the port cannot change any more
                self.port = free_port()
                continue
            self._started_once = True
            return self
        raise AssertionError("unreachable")

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM and wait: mosquitto closes every client connection and exits."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout_s)
                self.process = None
                raise MosquittoError(
                    f"mosquitto did not stop within {timeout_s:.0f} s; killed it.\n"
                    + self.log_tail()
                ) from None
        self.process = None

    def close(self) -> None:
        try:
            self.stop()
        finally:
            self._remove_directory()

    def log_tail(self, lines: int = _LOG_TAIL_LINES, since: int = 0) -> str:
        """The end of the broker log (from byte offset `since`), for error messages."""
        return log_tail(self.log_path, lines, since, "broker")

    # --- internals -------------------------------------------------------------------------

    def _write_config(self) -> None:
        lines = [
            "# Komando test broker (tests/mosquitto_server.py)",
            f"listener {self.port} {self.host}",
            "persistence false",
            # Its own log file is flushed line by line (stdout would be block-buffered); startup
            # errors before it opens reach the same file through stderr.
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "log_timestamp_format %H:%M:%S",
            "connection_messages true",
        ]
        if self.users:
            lines += ["allow_anonymous false", f"password_file {self.directory / 'passwords'}"]
        else:
            lines.append("allow_anonymous true")
        if self.tls:
            lines += [
                f"certfile {self.directory / 'server.crt'}",
                f"keyfile {self.directory / 'server.key'}",
            ]
        if os.geteuid() == 0:
            lines.append("user root")
        self.config_path.write_text("\n".join(lines) + "\n")

    def _wait_until_ready(self, timeout_s: float, since: int) -> None:
        process = self.process
        assert process is not None
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                self.process = None
                text = self.log_tail(since=since)
                if "Address already in use" in text:
                    raise _PortInUseError(f"port {self.port} is in use:\n{text}")
                raise MosquittoError(
                    f"mosquitto exited with code {process.returncode} while starting on "
                    f"{self.host}:{self.port}:\n{text}"
                )
            if _accepts_connections(self.host, self.port):
                return
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                self.process = None
                raise MosquittoError(
                    f"mosquitto did not accept connections on {self.host}:{self.port} within "
                    f"{timeout_s:.0f} s:\n" + self.log_tail(since=since)
                )
            time.sleep(0.02)

    def _write_password_file(self) -> None:
        passwd = self.binary.parent / "mosquitto_passwd"
        if not os.access(passwd, os.X_OK):
            found = shutil.which("mosquitto_passwd")
            if found is None:
                raise MosquittoError("mosquitto_passwd not found (it ships with mosquitto)")
            passwd = Path(found)
        path = self.directory / "passwords"
        for index, (user, password) in enumerate(self.users.items()):
            args = [str(passwd), "-b", str(path), user, password]
            if index == 0:
                args.insert(1, "-c")
            result = subprocess.run(args, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise MosquittoError(f"mosquitto_passwd failed: {result.stderr.strip()}")

    def _make_certificates(self) -> None:
        openssl = shutil.which("openssl")
        if openssl is None:
            raise MosquittoError("the TLS test broker needs the openssl command (apt: openssl)")
        d = self.directory
        (d / "server.ext").write_text(
            "basicConstraints=CA:FALSE\n"
            "keyUsage=digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n"
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        )
        key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        steps = [
            f"req -x509 {key} -keyout ca.key -out ca.crt -days 2",
            f"req {key} -keyout server.key -out server.csr",
            "x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt "
            "-days 2 -extfile server.ext",
        ]
        subjects = {0: "/CN=Komando test CA", 1: "/CN=127.0.0.1"}
        for index, step in enumerate(steps):
            args = [openssl, *step.split()]
            if index in subjects:
                args += ["-subj", subjects[index]]
            result = subprocess.run(args, cwd=d, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise MosquittoError(f"openssl {step} failed: {result.stderr.strip()}")
        self.ca_file = d / "ca.crt"

    def _remove_directory(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class _PortInUseError(MosquittoError):
    pass
