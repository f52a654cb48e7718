"""A throwaway PostgreSQL server for the tests, started from Debian's packaged binaries.

Why this shape:

* CI has no Docker and no shared database, so the tests run a real server themselves:
  `scripts/ensure-postgres` installs Debian's `postgresql` package and this module runs `initdb`
  into a fresh temporary directory. The cluster the package may create on port 5432 is never used.
* PostgreSQL refuses to run as root and CI runs as root, so as root every server binary runs as
  the `postgres` system user the package creates, and the temporary directory is chowned to it.
* It listens on 127.0.0.1 only, at a free port outside the kernel's ephemeral range (a client's
  outgoing connection can never take it while the server is stopped for a fault test), and on a
  private Unix socket in the temporary directory (used only to create the role and database).
* Durability is left as in production (fsync on, synchronous_commit on): the fault tests kill the
  server and count every committed row. Only `initdb --no-sync` is used, which merely skips
  flushing the fresh cluster to disk; that matters for power loss, not for a killed process.
* The postmaster is our own child process rather than daemonized by `pg_ctl start`. Under
  `pg_ctl` it is re-parented to PID 1; where PID 1 reaps orphans late (as in this sandbox), a
  killed postmaster stays a zombie, `kill(pid, 0)` still succeeds, and the restart refuses with
  "lock file postmaster.pid already exists". As our child it is reaped at once. `stop()` sends
  SIGINT, which is exactly what `pg_ctl stop -m fast` sends.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from tests.ports import ServerContext, free_port, log_tail

log = logging.getLogger(__name__)

DEBIAN_PG_ROOT = Path("/usr/lib/postgresql")
SERVER_USER = "postgres"
SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "postgres"
APP_USER = "komando"
APP_PASSWORD = "komando"
APP_DATABASE = "komando"
# A Unix socket path must fit in sun_path (108 bytes with the terminating NUL).
_MAX_SOCKET_PATH = 107
_PR_SET_PDEATHSIG = 1
_LOG_TAIL_LINES = 40

# Appended to postgresql.conf. Everything that decides what survives a crash stays at the
# production default; the rest makes the server private, deterministic and quiet.
_SETTINGS = """
# --- Komando test server (tests/pg_server.py) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '{socket_dir}'
unix_socket_permissions = 0700
fsync = on
synchronous_commit = on
full_page_writes = on
timezone = 'UTC'
log_timezone = 'UTC'
# JIT only changes speed, and compiling makes the odd small test query slow.
jit = off
logging_collector = off
"""

# Replaces initdb's pg_hba.conf: passwords over TCP from 127.0.0.1 only (as the app connects),
# trust on the private socket (mode 0700 in a 0700 directory) for bootstrapping and admin.
_PG_HBA = """\
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  scram-sha-256
"""


class PostgresServerError(RuntimeError):
    """The test PostgreSQL server could not be found, initialised, started or stopped."""


class _PortInUseError(PostgresServerError):
    pass


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.name)) or (-1,)


def find_server_bin_dir() -> Path:
    """The directory holding `initdb` and `postgres`: $KOMANDO_PG_BINDIR, else the highest
    /usr/lib/postgresql/<version>/bin (Debian keeps the server off PATH), else PATH."""
    override = os.environ.get("KOMANDO_PG_BINDIR")
    candidates: list[Path] = []
    if override:
        candidates.append(Path(override))
    if DEBIAN_PG_ROOT.is_dir():
        versions = sorted(DEBIAN_PG_ROOT.iterdir(), key=_version_key, reverse=True)
        candidates.extend(version / "bin" for version in versions)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for bin_dir in candidates:
        if all(os.access(bin_dir / name, os.X_OK) for name in ("initdb", "postgres")):
            return bin_dir
    raise PostgresServerError(
        "no PostgreSQL server binaries (initdb, postgres) in "
        f"{DEBIAN_PG_ROOT}/*/bin or on PATH: run scripts/ensure-postgres (`make test` does), "
        "or set KOMANDO_PG_BINDIR"
    )


def _die_with_parent() -> None:
    # If pytest is SIGKILLed it cannot stop the server; ask the kernel to (immediate shutdown).
    # Linux sends this when the *thread* that started the server exits, so start it from the
    # main thread (pytest fixtures run there).
    with contextlib.suppress(OSError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT)


def _proc_state_and_parent(pid: int) -> tuple[str, int] | None:
    """(state letter, parent pid) from /proc, or None when the process is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def _children_of(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            info = _proc_state_and_parent(int(entry.name))
            if info is not None and info[1] == pid:
                children.append(int(entry.name))
    return children


def _is_gone(pid: int) -> bool:
    # A zombie has exited and released its memory, including PostgreSQL's shared memory.
    info = _proc_state_and_parent(pid)
    return info is None or info[0] in ("Z", "X")


class TemporaryPostgres(ServerContext):
    """`with TemporaryPostgres() as pg: create_engine(pg.url)` — a private, real PostgreSQL.

    `stop()` shuts down cleanly (fast mode), `kill()` SIGKILLs the server to simulate a crash, and
    `start()` brings it back on the same data directory and port, so URLs stay valid. On exit the
    server is stopped and the temporary directory removed.
    """

    def __init__(self, base_dir: Path | None = None, bin_dir: Path | None = None) -> None:
        self.bin_dir = Path(bin_dir) if bin_dir else find_server_bin_dir()
        self.initdb = self.bin_dir / "initdb"
        self.postgres = self.bin_dir / "postgres"
        self.version = self._read_version()
        self._run_as = self._server_user()
        self.directory = Path(
            tempfile.mkdtemp(prefix="komando-pg-", dir=str(base_dir) if base_dir else None)
        )
        self.data_dir = self.directory / "data"
        self.socket_dir = self.directory / "run"
        self.log_path = self.directory / "postgres.log"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._initialised = False
        self._bootstrapped = False
        self.timings: dict[str, float] = {}
        socket_path = self.socket_dir / ".s.PGSQL.65535"  # the longest name it can have
        if len(str(socket_path)) > _MAX_SOCKET_PATH:
            self._remove_directory()
            raise PostgresServerError(
                f"the Unix socket path {socket_path} is longer than {_MAX_SOCKET_PATH} bytes; "
                "pass a shorter base_dir or set TMPDIR to a short directory"
            )

    # --- addresses -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the `komando` database as the (non-superuser) `komando` role."""
        return (
            f"postgresql+psycopg://{APP_USER}:{APP_PASSWORD}@127.0.0.1:{self.port}/{APP_DATABASE}"
        )

    @property
    def admin_url(self) -> str:
        """SQLAlchemy URL of the `postgres` database as the superuser (to inspect or sabotage)."""
        return (
            f"postgresql+psycopg://{SUPERUSER}:{SUPERUSER_PASSWORD}@127.0.0.1:{self.port}/postgres"
        )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while it runs."""
        return self.process.pid if self.running and self.process is not None else None

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, timeout_s: float = 60.0) -> TemporaryPostgres:
        """Start the server (initialising the cluster the first time); a no-op if it runs.

        After `kill()` this includes crash recovery, which the timeout must cover.
        """
        if self.running:
            return self
        began = time.monotonic()
        if not self._initialised:
            self._initialise()
            self.timings["initdb_s"] = time.monotonic() - began
        launched = time.monotonic()
        for attempt in range(5):
            try:
                self._launch(timeout_s)
                break
            except _PortInUseError as exc:
                if self._bootstrapped:
                    # Clients hold our URL, so the port cannot change any more.
                    raise PostgresServerError(
                        f"cannot start again on 127.0.0.1:{self.port}: another process took "
                        f"the port while the server was down.\n{exc}"
                    ) from exc
                if attempt == 4:
                    raise
                self.port = free_port()
        self.timings["start_s"] = time.monotonic() - launched
        if not self._bootstrapped:
            bootstrap_began = time.monotonic()
            self._bootstrap()
            self._bootstrapped = True
            self.timings["create_database_s"] = time.monotonic() - bootstrap_began
            self.timings["total_first_start_s"] = time.monotonic() - began
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        """Fast shutdown: end sessions, roll back open transactions, checkpoint, exit.

        Same signal as `pg_ctl stop -m fast`. If it hangs, the server is killed and an error
        raised, since a server that cannot shut down is itself a bug worth seeing.
        """
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
                raise PostgresServerError(
                    f"PostgreSQL did not shut down within {timeout_s:.0f} s; killed it.\n"
                    + self.log_tail()
                ) from None
        self.process = None

    def kill(self, whole_server: bool = True, timeout_s: float = 10.0) -> None:
        """SIGKILL the server, as a crash would: no shutdown checkpoint, no goodbye to clients.

        With `whole_server` (the default) the postmaster is frozen first and then it and every
        server process (backends, WAL writer, checkpointer...) get SIGKILL at once, like the OOM
        killer or `systemctl kill`. Otherwise only the postmaster is killed, like `kill -9 <pid>`,
        and its children exit on their own when they notice. Either way this returns only once
        no server process is left, because PostgreSQL will not start while any of them still
        holds the old shared memory.
        """
        process = self.process
        if process is None or process.poll() is not None:
            raise PostgresServerError("kill(): the PostgreSQL server is not running")
        pid = process.pid
        children: list[int] = []
        try:
            if whole_server:
                os.kill(pid, signal.SIGSTOP)  # no new children between listing and killing
            children = _children_of(pid)
            for child in children if whole_server else []:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
        finally:
            process.kill()
            process.wait(timeout=timeout_s)
            self.process = None
        deadline = time.monotonic() + timeout_s
        while not all(_is_gone(child) for child in children):
            if time.monotonic() > deadline:
                left = [child for child in children if not _is_gone(child)]
                raise PostgresServerError(
                    f"PostgreSQL processes {left} outlived their killed postmaster {pid}"
                )
            time.sleep(0.01)

    def restart(self) -> None:
        """Fast shutdown and start again on the same data directory and port."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server (killing it if needed) and remove the temporary directory."""
        try:
            if self.running:
                try:
                    self.stop()
                except PostgresServerError:
                    log.exception("the test PostgreSQL server did not stop cleanly")
        finally:
            self.process = None
            self._remove_directory()

    def reset_database(self) -> None:
        """Drop and recreate the `komando` database (closing its sessions) for a clean slate."""
        with self._admin_connection() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {APP_DATABASE} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {APP_DATABASE} OWNER {APP_USER}")

    def log_tail(self, lines: int = _LOG_TAIL_LINES, since: int = 0) -> str:
        """The end of the server log (from byte offset `since`), for error messages."""
        return log_tail(self.log_path, lines, since, "server")

    # --- internals -------------------------------------------------------------------------

    def _read_version(self) -> str:
        result = subprocess.run(
            [str(self.postgres), "--version"], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise PostgresServerError(
                f"{self.postgres} --version failed: {(result.stderr or result.stdout).strip()}"
            )
        return result.stdout.strip()

    @staticmethod
    def _server_user() -> tuple[int, int] | None:
        """(uid, gid) to run the server as when we are root; None to run it as ourselves."""
        if os.geteuid() != 0:
            return None
        try:
            entry = pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise PostgresServerError(
                "running as root, and PostgreSQL refuses to run as root, but there is no "
                f"'{SERVER_USER}' user to run it as: run scripts/ensure-postgres (the "
                "postgresql package creates it)"
            ) from None
        return entry.pw_uid, entry.pw_gid

    def _subprocess_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "cwd": str(self.directory),
            # A clean environment: no PGDATA/PGPORT/LANG from the caller changes the cluster.
            "env": {"PATH": f"{self.bin_dir}:/usr/bin:/bin", "LC_ALL": "C.UTF-8", "TZ": "UTC"},
        }
        if self._run_as is not None:
            uid, gid = self._run_as
            options.update(user=uid, group=gid, extra_groups=[])
        return options

    def _check_reachable_by_server_user(self) -> None:
        assert self._run_as is not None
        uid, gid = self._run_as
        for folder in [self.directory.parent, *self.directory.parent.parents]:
            st = os.stat(folder)
            mode = st.st_mode
            if mode & stat.S_IXOTH or (st.st_uid == uid and mode & stat.S_IXUSR):
                continue
            if st.st_gid == gid and mode & stat.S_IXGRP:
                continue
            raise PostgresServerError(
                f"the '{SERVER_USER}' user cannot enter {folder}, so it cannot use a data "
                f"directory under {self.directory.parent}: pass a base_dir it can reach "
                "(or leave TMPDIR unset to use /tmp)"
            )

    def _initialise(self) -> None:
        self.socket_dir.mkdir(mode=0o700)
        self.log_path.touch(mode=0o600)
        if self._run_as is not None:
            self._check_reachable_by_server_user()
            uid, gid = self._run_as
            for path in (self.directory, self.socket_dir, self.log_path):
                os.chown(path, uid, gid)
        args = [
            str(self.initdb),
            f"--pgdata={self.data_dir}",
            f"--username={SUPERUSER}",
            "--auth=trust",  # replaced by _PG_HBA before the first start
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "--no-instructions",
        ]
        result = subprocess.run(
            args,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            **self._subprocess_options(),
        )
        if result.returncode != 0:
            raise PostgresServerError(
                f"initdb failed with exit code {result.returncode}:\n"
                f"{result.stdout.strip()}\n{result.stderr.strip()}"
            )
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(_SETTINGS.format(socket_dir=self.socket_dir))
        (self.data_dir / "pg_hba.conf").write_text(_PG_HBA)
        self._initialised = True

    def _launch(self, timeout_s: float) -> None:
        since = self.log_path.stat().st_size
        with self.log_path.open("ab") as server_log:
            self.process = subprocess.Popen(
                [str(self.postgres), "-D", str(self.data_dir), "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=server_log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
                # Own session: a Ctrl+C meant for pytest must not reach the server first.
                start_new_session=True,
                **self._subprocess_options(),
            )
        process = self.process
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                self.process = None
                text = self.log_tail(since=since)
                if "could not bind" in text or "Address already in use" in text:
                    raise _PortInUseError(f"port {self.port} is in use:\n{text}")
                raise PostgresServerError(
                    f"PostgreSQL exited with code {process.returncode} while starting on "
                    f"127.0.0.1:{self.port}:\n{text}"
                )
            if self._postmaster_status(process.pid) == "ready":
                return
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                self.process = None
                raise PostgresServerError(
                    f"PostgreSQL was not ready within {timeout_s:.0f} s:\n"
                    + self.log_tail(since=since)
                )
            time.sleep(0.02)

    def _postmaster_status(self, pid: int) -> str:
        """Line 8 of postmaster.pid ("starting", "ready", ...), as `pg_ctl -w` polls it.

        The pid on line 1 must be this process's: a killed server leaves its file behind.
        """
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return ""
        if len(lines) < 8 or lines[0].strip() != str(pid):
            return ""
        return lines[7].strip()

    def _admin_connection(self) -> psycopg.Connection[Any]:
        # The private socket with trust: works before any password exists.
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user=SUPERUSER,
            dbname="postgres",
            autocommit=True,
            connect_timeout=10,
        )

    def _bootstrap(self) -> None:
        with self._admin_connection() as conn:
            conn.execute(f"ALTER ROLE {SUPERUSER} PASSWORD '{SUPERUSER_PASSWORD}'")
            conn.execute(f"CREATE ROLE {APP_USER} LOGIN PASSWORD '{APP_PASSWORD}'")
            conn.execute(f"CREATE DATABASE {APP_DATABASE} OWNER {APP_USER}")
        # Prove the path the application uses: TCP on 127.0.0.1 with a password.
        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=APP_USER,
            password=APP_PASSWORD,
            dbname=APP_DATABASE,
            connect_timeout=10,
        ) as conn:
            conn.execute("SELECT 1")

    def _remove_directory(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
