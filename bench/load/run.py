"""Load bench for Komando (issue 7): the wall, the mayor's review and the parent portal under
50, 200 and 500 concurrent signed-in users on loopback, p50/p95/max latency and errors per
audience and per request kind, with the CPU of every part of the system.

What runs (bench/load/system.py; all on loopback, all stopped at the end, even on error):
Redis, SQLite (or `--postgres`), `migrate`, the ingest role (the demo city's simulated sensors
and its year of back-filled KPI history), the grab role (the two demo cameras, decoded) and the
web role as deployed, `uvicorn --factory app:asgi --workers N`; the users (loadgen.py) in a
process of their own.

The mix (`--mix`, default 10/30/60): a city's walls are a few screens in rooms (the command
centre, the mayor's office, OPD offices), so they are the smallest share, but each asks every
second all day; executives (the mayor, the sekda, heads of office and their staff during a
briefing) are a few dozen to a few hundred and ask in bursts with think time; parents are the
crowd, each watching a tile a picture a second. At every level one more window runs the same
number of users sending the cheapest signed-in request (the feed's callback asking for nothing:
204) once a second: what the pages cost beyond the server's floor.

CPU columns are shares of one core over the window (psutil user+sys): `web` is uvicorn's
supervisor and all its workers; `other` is every process on the machine that is not part of
this run (the machine is shared: other people's long runs skew a window, so it is reported).

    .venv/bin/python bench/load/run.py [--quick] [--workers 2] [--postgres] [--levels 50 200 500]
    # full: ramp 20 s + 60 s per level and per baseline (~10 min); --quick: 8 + 15 s (~3 min)

Exits non-zero only when the bench itself failed (a role exited, the load generator broke);
slow answers and errors under load are results, printed in the table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psutil

from bench.load.system import System, User
from bench.wall.run import LineProc, Procs, busy_s, cpu_s

HERE = Path(__file__).resolve().parent
PY = sys.executable
AUDIENCES = ("wall", "executive", "parent")


# -- pure pieces (tests/unit/test_load_bench.py) --------------------------------------------
def split_mix(n: int, mix: tuple[float, ...]) -> list[int]:
    """`n` users split by the shares of `mix` (largest remainder; the counts sum to n)."""
    total = sum(mix)
    exact = [n * m / total for m in mix]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(mix)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..1) of `values`; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Row:
    audience: str
    kind: str
    count: int
    p50: float
    p95: float
    max: float
    errors: dict[str, int]

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def rows_of(latencies: dict[str, list[float]], errors: dict[str, dict[str, int]]) -> list[Row]:
    """One row per `audience|kind` key seen in either, in audience order then kind."""
    order = (*AUDIENCES, "baseline")
    keys = sorted(
        set(latencies) | set(errors),
        key=lambda k: (order.index(k.split("|")[0]) if k.split("|")[0] in order else 9, k),
    )
    rows = []
    for key in keys:
        audience, _, kind = key.partition("|")
        values = latencies.get(key, [])
        rows.append(
            Row(
                audience,
                kind,
                len(values),
                percentile(values, 0.5),
                percentile(values, 0.95),
                max(values, default=float("nan")),
                dict(errors.get(key, {})),
            )
        )
    return rows


# -- one window ------------------------------------------------------------------------------
@dataclass
class Window:
    name: str
    users: int
    seconds: float
    rows: list[Row]
    cpu: dict[str, float]  # part -> share of one core
    stream: dict
    unfinished: int


def measure(
    system: System, procs: Procs, users: list[User], name: str, ramp: float, seconds: float
) -> Window:
    path = system.tmp / f"users-{name}.json"
    as_json = [u.as_json() for u in users]
    if name.startswith("baseline"):
        as_json = [u | {"audience": "baseline"} for u in as_json]
    path.write_text(json.dumps(as_json))
    argv = [PY, str(HERE / "loadgen.py"), "--port", str(system.port), "--users", str(path),
            "--ramp", str(ramp), "--seconds", str(seconds)]  # fmt: skip
    load = LineProc(procs, argv, system.tmp / f"loadgen-{name}.log")
    try:
        load.expect("READY", 60)
        load.send("GO")
        load.expect("WINDOW_START", ramp + 60)
        parts = system.pids() | {"loadgen": [load.proc.pid], "bench": [os.getpid()]}
        cpu0 = {k: sum(cpu_s(p) for p in pids) for k, pids in parts.items()}
        busy0, t0 = busy_s(), time.monotonic()
        load.expect("WINDOW_END", seconds + 60)
        elapsed = time.monotonic() - t0
        busy1 = busy_s()
        # Processes started inside the window (a worker uvicorn replaced, a PostgreSQL backend)
        # count as well, from zero.
        for part, pids in system.pids().items():
            parts[part] = sorted(set(parts.get(part, [])) | set(pids))
        cpu1 = {k: sum(cpu_s(p) for p in pids) for k, pids in parts.items()}
        result = json.loads(load.expect("{", 90))
    finally:
        load.stop()
    used = {k: max(0.0, cpu1[k] - cpu0.get(k, 0.0)) for k in cpu1}
    cpu = {k: v / elapsed for k, v in used.items()}
    cpu["other"] = max(0.0, busy1 - busy0 - sum(used.values())) / elapsed
    cpu["idle"] = max(0.0, (psutil.cpu_count() or 1) - (busy1 - busy0) / elapsed)
    if result["crashed"]:
        raise RuntimeError(f"load generator tasks crashed: {result['crashed']}")
    return Window(
        name,
        len(users),
        elapsed,
        rows_of(result["latencies"], result["errors"]),
        cpu,
        result["stream"],
        result["unfinished_tasks"],
    )


# -- the profile -----------------------------------------------------------------------------
GENERIC = (
    "click/",
    "<frozen",
    "uvicorn/",
    "starlette/",
    "fastapi/",
    "asyncio/",
    "threading",
    "multiprocessing/",
    "concurrent/",
    "<string>",
)


def profile(
    system: System, procs: Procs, users: list[User], args: argparse.Namespace, n: int
) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
    """py-spy on every web worker through one more pages window (not a measured one: sampling
    costs CPU): the share of samples under each function, inclusive and own."""
    workers = [p for p in system.pids()["web"] if p != system.roles["web"].pid]
    seconds = args.ramp + args.seconds
    outs = [system.tmp / f"profile-{pid}.txt" for pid in workers]
    spies = []
    for pid, out in zip(workers, outs, strict=True):
        argv = [args.py_spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "100",
                "-f", "raw", "--nonblocking", "-o", str(out)]  # fmt: skip
        spies.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        measure(system, procs, users, f"profile-{n}", 0.0, seconds)
        for spy in spies:
            spy.wait(60)
    finally:
        for spy in spies:
            if spy.poll() is None:
                spy.kill()
                spy.wait()
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    root = str(Path(__file__).resolve().parents[2]) + "/"
    for out in outs:
        if not out.exists():
            continue
        for line in out.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            total += int(count)
            names = []
            for frame in stack.split(";"):
                name, _, where = frame.partition(" (")
                where = where.split(":")[0].rstrip(")")
                names.append(f"{name} ({where.split('site-packages/')[-1].replace(root, '')})")
            for name in set(names):
                inclusive[name] = inclusive.get(name, 0) + int(count)
            if names:
                own[names[-1]] = own.get(names[-1], 0) + int(count)

    def top(counts: dict[str, int], k: int, skip: bool) -> list[tuple[float, str]]:
        items = sorted(counts.items(), key=lambda item: -item[1])
        return [
            (100 * c / max(1, total), name)
            for name, c in items
            if not (skip and name.split(" (", 1)[-1].startswith(GENERIC))
        ][:k]

    return top(inclusive, 40, True), top(own, 25, False)


# -- the table -------------------------------------------------------------------------------
def fmt_ms(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def table(windows: list[Window]) -> str:
    head = (f"{'N':>4} {'window':<9} {'audience':<10} {'request':<24} {'count':>7} {'p50 ms':>8} "
            f"{'p95 ms':>8} {'max ms':>8} {'err':>5}  errors by kind")  # fmt: skip
    lines = [head, "-" * (len(head) + 16)]
    for w in windows:
        for r in w.rows:
            errors = ", ".join(f"{k}: {v}" for k, v in sorted(r.errors.items()))
            lines.append(
                f"{w.users:>4} {w.name.split('-')[0]:<9} {r.audience:<10} {r.kind:<24} "
                f"{r.count:>7} {fmt_ms(r.p50):>8} {fmt_ms(r.p95):>8} {fmt_ms(r.max):>8} "
                f"{r.error_count:>5}  {errors}"
            )
        s = w.stream
        if s.get("walls"):
            first = s["first_picture_ms"]
            lines.append(
                f"{w.users:>4} {w.name.split('-')[0]:<9} {'wall':<10} {'camera grid stream':<24} "
                f"{s['walls']:>7} streams, {s['with_picture']} with a picture; first picture "
                f"p50 {fmt_ms(percentile(first, 0.5))} / p95 {fmt_ms(percentile(first, 0.95))} ms;"
                f" {s['frames_in_window'] / max(1, s['walls']) / w.seconds:.2f} frames/s per wall"
                + (f"; ended: {', '.join(s['stream_errors'])}" if s["stream_errors"] else "")
            )
    lines.append("")
    parts = ["web", "ingest", "grab", "redis", "postgres", "loadgen", "bench", "other", "idle"]
    head = f"{'N':>4} {'window':<9} {'requests/s':>10} " + "".join(f"{p:>9}" for p in parts)
    lines += [head + "   (CPU: share of one core over the window; 2 cores = 200%)", "-" * len(head)]
    for w in windows:
        rate = sum(r.count + r.error_count for r in w.rows) / w.seconds
        lines.append(
            f"{w.users:>4} {w.name.split('-')[0]:<9} {rate:>10.0f} "
            + "".join(f"{w.cpu[p]:>9.0%}" if p in w.cpu else f"{'-':>9}" for p in parts)
            + (f"   {w.unfinished} loops unfinished" if w.unfinished else "")
        )
    return "\n".join(line.rstrip() for line in lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="8 s ramp, 15 s windows (~3 min)")
    parser.add_argument("--levels", type=int, nargs="+", default=[50, 200, 500])
    parser.add_argument("--mix", type=float, nargs=3, default=[10, 30, 60],
                        metavar=("WALLS", "EXECUTIVES", "PARENTS"))  # fmt: skip
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (default 2)")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL for SQL")
    parser.add_argument("--ramp", type=float, help="seconds to start the users (20; quick 8)")
    parser.add_argument("--seconds", type=float, help="window per level (60; quick 15)")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--py-spy", metavar="PATH", help="py-spy binary: profile the web workers")
    parser.add_argument("--profile-level", type=int, default=200, help="users while profiling")
    parser.add_argument("--json", metavar="PATH", help="write the windows as JSON too")
    parser.add_argument("--keep", action="store_true", help="keep the logs (printed at the end)")
    args = parser.parse_args(argv)
    args.ramp = args.ramp if args.ramp is not None else (8.0 if args.quick else 20.0)
    args.seconds = args.seconds if args.seconds is not None else (15.0 if args.quick else 60.0)
    return args


def _raise_exit(*_: object) -> None:
    raise SystemExit(143)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_exit)
    started = time.monotonic()
    procs = Procs()
    windows: list[Window] = []
    profiled: tuple[list[tuple[float, str]], list[tuple[float, str]]] | None = None
    top = max(args.levels)
    try:
        with System(workers=args.workers, postgres=args.postgres, keep=args.keep) as system:
            walls, executives, parents = split_mix(top, tuple(args.mix))
            t0 = time.monotonic()
            people = system.make_users(walls, executives, parents)
            floor = [] if args.no_baseline else system.make_users(0, top, 0)
            by = {a: [u for u in people if u.audience == a] for a in AUDIENCES}
            print(
                f"web :{system.port} (uvicorn --factory app:asgi --workers {args.workers}), "
                f"{system.database}, city {system.city.config.name if system.city else '?'}; "
                f"{len(people) + len(floor)} accounts and sessions made in "
                f"{time.monotonic() - t0:.0f} s; {os.cpu_count()} CPUs; ramp {args.ramp:.0f} s, "
                f"window {args.seconds:.0f} s; mix walls/executives/parents {args.mix}",
                flush=True,
            )
            for n in sorted(args.levels):
                counts = split_mix(n, tuple(args.mix))
                users = [u for a, k in zip(AUDIENCES, counts, strict=True) for u in by[a][:k]]
                if not args.no_baseline:
                    w = measure(system, procs, floor[:n], f"baseline-{n}", args.ramp, args.seconds)
                    windows.append(w)
                    print(f"  N={n} baseline done: web {w.cpu['web']:.0%}, other "
                          f"{w.cpu['other']:.0%}", flush=True)  # fmt: skip
                w = measure(system, procs, users, f"pages-{n}", args.ramp, args.seconds)
                windows.append(w)
                print(f"  N={n} pages done ({'/'.join(map(str, counts))}): web "
                      f"{w.cpu['web']:.0%}, other {w.cpu['other']:.0%}", flush=True)  # fmt: skip
                system.check_alive()
            if args.py_spy:
                n = args.profile_level
                counts = split_mix(n, tuple(args.mix))
                users = [u for a, k in zip(AUDIENCES, counts, strict=True) for u in by[a][:k]]
                print(f"[profile] py-spy on the web workers, pages x {n} (not measured)")
                profiled = profile(system, procs, users, args, n)
            web_log = (system.tmp / "web.log").read_text(errors="replace")
            if args.keep:
                print(f"logs kept in {system.tmp}")
    finally:
        procs.stop_all()
    print()
    print(table(windows))
    tracebacks = web_log.count("Traceback")
    if tracebacks:
        print(f"\nweb log: {tracebacks} tracebacks; the last:\n{web_log[-3000:]}")
    if args.json:
        dump = [w.__dict__ | {"rows": [r.__dict__ for r in w.rows]} for w in windows]
        Path(args.json).write_text(json.dumps(dump, default=str, indent=1))
    if profiled:
        print(f"\nweb workers' profile, pages x {args.profile_level}: share of samples under "
              "each function (inclusive; ASGI layers and the loop left out)")  # fmt: skip
        for share, name in profiled[0]:
            print(f"  {share:5.1f}%  {name}")
        print("own time (the innermost frame):")
        for share, name in profiled[1]:
            print(f"  {share:5.1f}%  {name}")
    print(f"\ntotal bench time {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
