"""Does a wall that runs for days grow, and does it stay smooth with hundreds of markers?

The wall page in headless Chromium against the real app (`python app.py`: embedded Redis,
SQLite, simulated sensors every 0.5 s, the demo cameras at their stream rate, the wall refreshing
every second), sampled every `--every` seconds for `--minutes`: the page's JS heap after a
forced garbage collection, DOM nodes, JS event listeners, the server process's RSS, and the
main thread's long tasks (over 50 ms, which a viewer would see as a stutter). `--big` uses
bench/wall's city: 500 sensors, 50 KPI tiles, 16 cameras (all decoded by the grab role).

Growth is judged on the second half of the run (the first minutes fill caches and JIT code), as
a slope per hour; a wall that leaks shows it there.

    .venv/bin/python bench/wall_memory/run.py [--minutes 10] [--every 30] [--big] [--no-grab]
                                              [--harness cdp|playwright]

It ends with the long tasks after the page load (per minute, the longest, the share of the
main thread they took) and the second half's growth per hour. To see what a long task is made
of, bench/wall_memory/trace.py records a trace of the same page.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.wall_memory.cdp_page import CdpPage  # noqa: E402
from tests.browser.conftest import (  # noqa: E402
    base_of,
    chromium_path,
    running_komando,
    session_of,
)

LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver(list => {
  for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
}).observe({entryTypes: ["longtask"]});
"""


def big_city(folder: Path) -> dict[str, str]:
    """bench/wall's city (500 sensors, 50 KPI tiles, 16 cameras) and the settings to run it."""
    spec = importlib.util.spec_from_file_location("wall_bench", ROOT / "bench" / "wall" / "run.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]  (its dataclasses look it up)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    module.write_city(folder)
    return {"KOMANDO_CITIES_DIR": str(folder), "KOMANDO_CITY": module.CITY}


class PlaywrightWall:
    """The same calls as CdpPage, through Playwright (which also enables the Network domain)."""

    def __init__(self, page, cdp) -> None:
        self._page, self._cdp = page, cdp

    def send(self, method: str, **params):
        return self._cdp.send(method, params)

    def evaluate(self, expression: str):
        return self._page.evaluate(expression)


@contextmanager
def open_wall(harness: str, url: str) -> Iterator[CdpPage | PlaywrightWall]:
    """The wall at `url` signed in as a display (issue 6), its long tasks observed."""
    session = session_of(url, "display", view="/")
    if harness == "cdp":
        wall = CdpPage(chromium_path())
        try:
            wall.set_cookies(base_of(url), session.cookies)
            wall.add_init_script(LONG_TASKS)
            wall.send("Performance.enable")
            wall.goto(url)
            wall.wait_for("document.querySelectorAll('.sensor-pin').length > 0", 60)
            yield wall
        finally:
            wall.close()
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path())
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        base = base_of(url)
        page.context.add_cookies(
            [{"name": k, "value": v, "url": base} for k, v in session.cookies.items()]
        )
        page.add_init_script(LONG_TASKS)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        page.goto(url)
        page.wait_for_selector(".sensor-pin", timeout=60_000)
        try:
            yield PlaywrightWall(page, cdp)
        finally:
            browser.close()


def server_rss_mb(port: int) -> float:
    """RSS of the process listening on `port` (app.py: web, workers and their threads)."""
    for conn in psutil.net_connections(kind="tcp"):
        if (
            conn.laddr
            and conn.laddr.port == port
            and conn.status == psutil.CONN_LISTEN
            and conn.pid
        ):
            return psutil.Process(conn.pid).memory_info().rss / 2**20
    return float("nan")


def slope_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value), per hour."""
    n = len(samples)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    num = sum((t - mean_t) * (v - mean_v) for t, v in samples)
    den = sum((t - mean_t) ** 2 for t, _ in samples) or 1.0
    return num / den * 3600


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--big", action="store_true", help="500 sensors, 50 KPIs, 16 cameras")
    parser.add_argument(
        "--no-grab",
        action="store_true",
        help="run without the grab role (tiles show placeholders): the page's own cost alone",
    )
    parser.add_argument(
        "--harness",
        choices=("cdp", "playwright"),
        default="cdp",
        help="cdp: Chromium over the bare DevTools protocol (no Network domain, for long runs)",
    )
    args = parser.parse_args(argv)
    rows: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="komando-wall-memory-") as tmp:
        env = big_city(Path(tmp) / "cities") if args.big else {}
        if args.no_grab:
            env["KOMANDO_ROLES"] = "web,ingest"
        data = Path(tmp) / "data"
        data.mkdir()
        with running_komando(data, **env) as url, open_wall(args.harness, url) as wall:
            port = int(url.rstrip("/").rsplit(":", 1)[1])
            pins = wall.evaluate("document.querySelectorAll('.sensor-pin').length")
            print(f"{pins} sensor pins on the map ({args.harness} harness)", flush=True)
            started = time.monotonic()
            seen_tasks = 0
            print(f"{'min':>6} {'JS heap MB':>11} {'DOM nodes':>10} {'listeners':>10} "
                  f"{'server RSS MB':>14} {'long tasks':>11} {'longest ms':>11} "
                  f"{'busy %':>7}", flush=True)  # fmt: skip
            while True:
                wall.send("HeapProfiler.collectGarbage")
                metrics = {
                    m["name"]: m["value"] for m in wall.send("Performance.getMetrics")["metrics"]
                }
                tasks = wall.evaluate("window.__longTasks.slice()")
                new_tasks = tasks[seen_tasks:]
                seen_tasks = len(tasks)
                t = time.monotonic() - started
                window = max(t - (rows[-1]["t"] if rows else 0.0), 1e-6)
                row = {
                    "t": t,
                    "heap": metrics["JSHeapUsedSize"] / 2**20,
                    "nodes": metrics["Nodes"],
                    "listeners": metrics["JSEventListeners"],
                    "rss": server_rss_mb(port),
                    "tasks": len(new_tasks),
                    "longest": max(new_tasks, default=0.0),
                    "busy": 100 * sum(new_tasks) / 1000 / window,
                    "window": window,
                    "task_ms": sum(new_tasks),
                }
                if row["rss"] != row["rss"]:  # nan: nothing listens on the port any more
                    # The server was stopped (from outside: a signal to every app.py on the
                    # machine ended two runs this way); the page is no longer fed, and a flat
                    # heap from here on would prove nothing.
                    print("the server no longer listens: stopping here", flush=True)
                    break
                rows.append(row)
                print(f"{row['t'] / 60:6.1f} {row['heap']:11.2f} {row['nodes']:10.0f} "
                      f"{row['listeners']:10.0f} {row['rss']:14.1f} {row['tasks']:11.0f} "
                      f"{row['longest']:11.0f} {row['busy']:7.1f}", flush=True)  # fmt: skip
                if row["t"] >= args.minutes * 60:
                    break
                time.sleep(args.every)
    half = [r for r in rows if r["t"] >= rows[-1]["t"] / 2]
    # The first sample holds the page's load; what a wall does for days is in the others.
    steady = rows[1:]
    seconds = sum(r["window"] for r in steady)
    if seconds:
        print()
        print(
            f"after the page load ({seconds / 60:.1f} min): "
            f"{sum(r['tasks'] for r in steady) / seconds * 60:.1f} long tasks a minute, "
            f"longest {max(r['longest'] for r in steady):.0f} ms, "
            f"busy {100 * sum(r['task_ms'] for r in steady) / 1000 / seconds:.1f}% "
            "of the main thread in long tasks"
        )
    print()
    print(f"second half ({len(half)} samples), growth per hour:")
    for key, unit in (
        ("heap", "MB"),
        ("nodes", "nodes"),
        ("listeners", "listeners"),
        ("rss", "MB"),
    ):
        print(f"  {key:10} {slope_per_hour([(r['t'], r[key]) for r in half]):+9.2f} {unit}/h"
              f"   (start {rows[0][key]:.1f}, end {rows[-1][key]:.1f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
