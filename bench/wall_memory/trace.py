"""What is the wall's main thread doing in its long tasks? A Chromium trace, summarised.

Opens the wall in headless Chromium against the real app (as bench/wall_memory/run.py does),
lets it settle, then records a CDP trace (`Tracing`: the DevTools timeline categories plus V8's
sampling profiler) for `--seconds`. For every task on the renderer's main thread longer than
`--long` ms it prints what started it (a timer, an XHR/fetch, an animation frame, a message) and
where its time went: script by the function the V8 sampler saw most, style recalculation,
layout, pre-paint/paint, garbage collection, and so on (self time per trace event). The same
break-down summed over all main-thread tasks says what the page costs in a second.

    .venv/bin/python bench/wall_memory/trace.py [--seconds 10] [--settle 20] [--big] [--no-grab]
        [--long 50] [--save trace.json]

`--save` writes the raw trace, which chrome://tracing or the DevTools performance panel opens.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from playwright.sync_api import sync_playwright  # noqa: E402
from run import big_city  # noqa: E402

from tests.browser.conftest import (  # noqa: E402
    chromium_path,
    running_komando,
    sign_in_context,
)

CATEGORIES = [
    "toplevel",
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "disabled-by-default-devtools.timeline.frame",
    "v8",
    "v8.execute",
    "blink",
    "blink.user_timing",
    "disabled-by-default-v8.cpu_profiler",
    "disabled-by-default-v8.gc",
]
TASK_NAMES = {"RunTask", "ThreadControllerImpl::RunTask", "ThreadPool_RunTask"}
# What set a task going: the first of these found inside it names it.
TRIGGERS = {
    "TimerFire": "timer",
    "FireAnimationFrame": "animation frame",
    "XHRReadyStateChange": "XHR",
    "XHRLoad": "XHR",
    "EventDispatch": "event",
    "FunctionCall": "call",
    "v8.run": "script",
    "ParseHTML": "parse",
    "ResourceReceivedData": "network",
}


def record(page: Any, seconds: float) -> list[dict]:
    cdp = page.context.new_cdp_session(page)
    events: list[dict] = []
    done: list[bool] = []
    cdp.on("Tracing.dataCollected", lambda e: events.extend(e["value"]))
    cdp.on("Tracing.tracingComplete", lambda _e: done.append(True))
    cdp.send(
        "Tracing.start",
        {
            "transferMode": "ReportEvents",
            "traceConfig": {"includedCategories": CATEGORIES, "recordMode": "recordContinuously"},
        },
    )
    page.wait_for_timeout(seconds * 1000)
    cdp.send("Tracing.end")
    deadline = time.monotonic() + 60
    while not done and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    return events


def main_thread(events: list[dict]) -> tuple[int, int]:
    """(pid, tid) of the page's renderer main thread: the CrRendererMain with most events."""
    names = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M"
        and e.get("name") == "thread_name"
        and e["args"]["name"] == "CrRendererMain"
    }
    counts = Counter((e["pid"], e["tid"]) for e in events if (e["pid"], e["tid"]) in names)
    return counts.most_common(1)[0][0]


def complete_events(events: list[dict]) -> list[dict]:
    """B/E pairs turned into X events with a `dur`, sorted by start (then longest first)."""
    out, stack = [], defaultdict(list)
    for e in sorted(events, key=lambda e: e.get("ts", 0)):
        ph = e.get("ph")
        if ph == "X" and "dur" in e:
            out.append(e)
        elif ph == "B":
            stack[e["name"]].append(e)
        elif ph == "E" and stack[e["name"]]:
            begin = stack[e["name"]].pop()
            out.append({**begin, "ph": "X", "dur": e["ts"] - begin["ts"]})
    out.sort(key=lambda e: (e["ts"], -e["dur"]))
    return out


def label(event: dict) -> str:
    name = event["name"]
    data = (event.get("args") or {}).get("data") or {}
    if name == "FunctionCall" and data.get("functionName"):
        url = str(data.get("url", "")).rsplit("/", 1)[-1].split("?")[0]
        return f"FunctionCall {data['functionName']} {url}:{data.get('lineNumber', '')}"
    if name == "EventDispatch":
        return f"EventDispatch {data.get('type', '')}"
    return name


def self_times(task: dict, inside: list[dict]) -> Counter:
    """Self time (ms) of each event name inside `task` (events nest by time on one thread)."""
    result: Counter = Counter()
    stack: list[tuple[dict, float]] = []  # (event, time taken by its children)

    def close_until(ts: float) -> None:
        while stack and stack[-1][0]["ts"] + stack[-1][0]["dur"] <= ts:
            event, children = stack.pop()
            result[event["name"]] += (event["dur"] - children) / 1000
            if stack:
                parent, taken = stack[-1]
                stack[-1] = (parent, taken + event["dur"])

    stack.append((task, 0.0))
    for event in inside:
        close_until(event["ts"])
        stack.append((event, 0.0))
    close_until(float("inf"))
    return result


def profile_samples(events: list[dict], pid: int, tid: int) -> list[tuple[float, list[str]]]:
    """(ts µs, stack of "function file:line", innermost first) of V8's samples on the thread."""
    nodes: dict[int, dict] = {}
    parent: dict[int, int] = {}
    samples: list[tuple[float, int]] = []
    ids: set[str] = set()
    for e in events:
        if e.get("name") == "Profile" and e["pid"] == pid and e["tid"] == tid:
            ids.add(e.get("id"))
    ts = None
    for e in sorted(events, key=lambda e: e.get("ts", 0)):
        if e.get("name") == "Profile" and e.get("id") in ids:
            ts = e["args"]["data"].get("startTime", e["ts"])
        if e.get("name") != "ProfileChunk" or e.get("id") not in ids:
            continue
        data = e["args"]["data"]
        profile = data.get("cpuProfile", {})
        for node in profile.get("nodes", []):
            nodes[node["id"]] = node
            if "parent" in node:
                parent[node["id"]] = node["parent"]
        for node_id, delta in zip(
            profile.get("samples", []), data.get("timeDeltas", []), strict=False
        ):
            ts = (ts or e["ts"]) + delta
            samples.append((ts, node_id))

    def frames(node_id: int) -> list[str]:
        out = []
        while node_id in nodes:
            frame = nodes[node_id]["callFrame"]
            url = str(frame.get("url", "")).rsplit("/", 1)[-1].split("?")[0]
            out.append(
                f"{frame.get('functionName') or '(anon)'} {url}:{frame.get('lineNumber', '')}"
                f":{frame.get('columnNumber', '')}"
            )
            node_id = parent.get(node_id, -1)
        return out

    return [(ts, frames(node_id)) for ts, node_id in samples]


def summarise(events: list[dict], long_ms: float, seconds: float) -> None:
    pid, tid = main_thread(events)
    thread = complete_events([e for e in events if e["pid"] == pid and e["tid"] == tid])
    tasks = [e for e in thread if e["name"] in TASK_NAMES]
    # Tasks nest rarely (a nested run loop); keep the outermost.
    outer, end = [], 0.0
    for task in tasks:
        if task["ts"] >= end:
            outer.append(task)
            end = task["ts"] + task["dur"]
    samples = profile_samples(events, pid, tid)
    busy = sum(t["dur"] for t in outer) / 1000
    print(f"main thread: {len(outer)} tasks, {busy:.0f} ms busy in {seconds:.0f} s "
          f"({busy / seconds / 10:.1f}%), {len(samples)} V8 samples")  # fmt: skip
    total: Counter = Counter()
    by_trigger: Counter = Counter()
    long_tasks = [t for t in outer if t["dur"] / 1000 > long_ms]
    index = 0
    for task in outer:
        start, stop = task["ts"], task["ts"] + task["dur"]
        while index < len(thread) and thread[index]["ts"] < start:
            index += 1
        inside, j = [], index
        while j < len(thread) and thread[j]["ts"] < stop:
            if thread[j] is not task and thread[j]["name"] not in TASK_NAMES:
                inside.append(thread[j])
            j += 1
        times = self_times(task, inside)
        total.update(times)
        trigger = next((TRIGGERS[e["name"]] for e in inside if e["name"] in TRIGGERS), "other")
        first_call = next((label(e) for e in inside if e["name"] in TRIGGERS), "")
        by_trigger[trigger] += task["dur"] / 1000
        if task["dur"] / 1000 <= long_ms:
            continue
        print()
        print(f"long task {task['dur'] / 1000:.0f} ms at {(start - outer[0]['ts']) / 1e6:.2f} s,"
              f" started by {first_call or trigger}")  # fmt: skip
        for name, ms in times.most_common(8):
            if ms >= 1:
                print(f"  {ms:7.1f} ms  {name}")
        in_task = [frames for ts, frames in samples if start <= ts <= stop]
        if in_task:
            self_fn: Counter = Counter(f[0] for f in in_task if f)
            incl: Counter = Counter()
            for f in in_task:
                incl.update(set(f))
            n = len(in_task)
            print(f"  V8 samples {n}; self:")
            for name, c in self_fn.most_common(8):
                print(f"    {100 * c / n:5.1f}%  {name}")
            print("  inclusive:")
            for name, c in incl.most_common(14):
                print(f"    {100 * c / n:5.1f}%  {name}")
    print()
    print(f"{len(long_tasks)} tasks over {long_ms:.0f} ms, longest "
          f"{max((t['dur'] for t in long_tasks), default=0) / 1000:.0f} ms")  # fmt: skip
    print("all main-thread tasks, self time by event (ms per second):")
    for name, ms in total.most_common(16):
        print(f"  {ms / seconds:7.1f}  {name}")
    print("by what started the task (ms per second):")
    for name, ms in by_trigger.most_common():
        print(f"  {ms / seconds:7.1f}  {name}")


def readable(page: Any) -> None:
    """Answer the requests for the minified renderer and React with their readable builds."""
    import dash

    folder = Path(dash.__file__).parent

    def swap(route: Any) -> None:
        name = route.request.url.rsplit("/", 1)[-1].split("?")[0]
        if name.startswith("dash_renderer"):
            path = folder / "dash-renderer" / "build" / "dash_renderer.dev.js"
        else:  # react@18.3.1.v4_4_1m….min.js -> deps/react@18.3.1.js
            base, version = name.split("@", 1)
            path = folder / "deps" / f"{base}@{'.'.join(version.split('.')[:3])}.js"
            if not path.exists():
                return route.continue_()
        route.fulfill(path=path, content_type="application/javascript")

    page.route("**/dash_renderer*.min.js", swap)
    page.route("**/react*@*.min.js", swap)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--settle", type=float, default=20.0, help="seconds before recording")
    parser.add_argument("--long", type=float, default=50.0, help="ms: a task this long is shown")
    parser.add_argument("--big", action="store_true", help="500 sensors, 50 KPIs, 16 cameras")
    parser.add_argument("--no-grab", action="store_true", help="without the grab role")
    parser.add_argument("--save", type=Path, help="write the raw trace here")
    parser.add_argument(
        "--dev-bundles",
        action="store_true",
        help="serve Dash's renderer and React unminified, for readable function names (slower)",
    )
    parser.add_argument("--events", type=Path, help="summarise a saved trace, run nothing")
    args = parser.parse_args(argv)
    if args.events:
        summarise(json.loads(args.events.read_text())["traceEvents"], args.long, args.seconds)
        return 0
    with tempfile.TemporaryDirectory(prefix="komando-wall-trace-") as tmp:
        env = big_city(Path(tmp) / "cities") if args.big else {}
        if args.no_grab:
            env["KOMANDO_ROLES"] = "web,ingest"
        data = Path(tmp) / "data"
        data.mkdir()
        with running_komando(data, **env) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path())
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            # A wall screen signs in with a display link (issue 6); here its session's cookie.
            sign_in_context(page.context, url, "display", view="/")
            if args.dev_bundles:
                readable(page)
            page.goto(url)
            page.wait_for_selector(".sensor-pin", timeout=60_000)
            page.wait_for_timeout(args.settle * 1000)
            events = record(page, args.seconds)
            browser.close()
    if args.save:
        args.save.write_text(json.dumps({"traceEvents": events}))
    summarise(events, args.long, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
