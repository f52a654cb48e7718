"""Load generator of bench/load (issue 7): signed-in wall displays, executives on /kpi and parents
on /parent, in one process of their own, with raw asyncio HTTP/1.1 (no HTTP library: on a 2-core
machine the client must cost less than the server it measures).

Each user sends what its page sends (recorded in headless Chromium with bench/load/record.py),
with its own session cookie, Dash's X-CSRFToken and Chromium's request headers:

- **wall** (a display bound to "/"): the page (HTML, `_dash-layout`, `_dash-dependencies`, the
  router's callback), the camera grid as the page opens it (one `/video/wall.stream` held open,
  parts counted, and the tile's first picture), the alert list's first callback; then the live
  feed every `data-refresh-ms` as assets/komando_feed.js sends it (no `endId`; the versions each
  answer brings are kept; the map's view from the page), and when an answer brings the alerts'
  version, the two callbacks that follow it (the alert list and the map's alert layer).
- **executive** on /kpi: the page, the router's callback, the review body; then every 3-8 s
  (think time) one thing a person does: another period or a kecamatan (or back to the city),
  each a link of the page just received (the router's callback, then the review body), or a KPI
  of another dimension in the comparison of areas (its callback). After 8 steps the page is
  opened again (a new visit).
- **parent** on /parent: the page; then each camera tile of the page as
  assets/komando_parent.js fetches it: `/video/<id>.jpg`, then `?after=<seq>`, one at a time,
  waiting max(1 s, 2 x the last fetch) before the next; `/parent/status.json` after
  `data-next-check-s`. A parent watches 20-60 s and leaves; another opens the page (the same
  number of parents stays on).
- **baseline**: the cheapest signed-in request there is, once a second per user: the feed's
  callback asking for no section (uvicorn, the gate, Dash's dispatch, an answer 204).

Users start spread over `--ramp` seconds; the window of `--seconds` follows. Requests are
counted by the time they end, inside the window only. Each loop stops by itself at the end of
the window (a request still out may finish within its timeout).

Talks to the driver over stdin/stdout: `READY`, waits for `GO`, prints `WINDOW_START` when the
ramp is over and `WINDOW_END` at its end, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import random
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.video.loadgen import MjpegViewer, Timeline
from bench.wall.loadgen import BROWSER_HEADERS
from layouts import ids

HOST = "127.0.0.1"
UPDATE = "/_dash-update-component"
TIMEOUT_S = {"dash": 30.0, "page": 30.0, "video": 20.0}  # komando_parent.js aborts at 20 s
THINK_S = (3.0, 8.0)
EXEC_STEPS = 8
PARENT_VISIT_S = (20.0, 60.0)
STATUS_EVERY_S = 60
# A document request, as Chromium sends it when a page is opened.
DOCUMENT_HEADERS = (
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8\r\n"
    "Sec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Dest: document\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7\r\n"
)
# dash-renderer's GETs of the layout and dependencies, and a page script's fetch of a picture.
FETCH_HEADERS = (
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36\r\n"
    "Accept: */*\r\nSec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: cors\r\n"
    "Sec-Fetch-Dest: empty\r\nCache-Control: no-cache\r\nPragma: no-cache\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7\r\n"
)
CONFIG = re.compile(r'<script id="_dash-config" type="application/json">(.*?)</script>', re.S)


class HttpError(Exception):
    """An answer with a status the page does not expect."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


# -- results --------------------------------------------------------------------------------
class Stats:
    """Latencies and errors per (audience, kind), counted inside the window only."""

    def __init__(self) -> None:
        self.window = (float("inf"), float("inf"))
        self.latencies: dict[str, list[float]] = {}
        self.errors: dict[str, dict[str, int]] = {}
        self.extra: dict[str, float] = {}
        # A wall opens its page once, in the ramp: its page load is counted from GO.
        self.whole_run = {
            f"wall|{kind}"
            for kind in ("page html", "_dash-layout", "_dash-dependencies", "router callback",
                         "tile picture", "alert list callback", "map alerts callback")
        }  # fmt: skip

    def inside(self, t: float) -> bool:
        return self.window[0] <= t < self.window[1]

    def counts(self, key: str) -> bool:
        now = time.monotonic()
        return self.inside(now) or (key in self.whole_run and now < self.window[1])

    def ok(self, key: str, ms: float) -> None:
        if self.counts(key):
            self.latencies.setdefault(key, []).append(round(ms, 2))

    def error(self, key: str, kind: str) -> None:
        if self.counts(key):
            bucket = self.errors.setdefault(key, {})
            bucket[kind] = bucket.get(kind, 0) + 1

    def add(self, name: str, value: float) -> None:
        self.extra[name] = self.extra.get(name, 0.0) + value


def error_kind(exc: BaseException) -> str:
    if isinstance(exc, HttpError):
        return f"http {exc.status}"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, asyncio.IncompleteReadError | ConnectionResetError | BrokenPipeError):
        return "closed"
    if isinstance(exc, OSError):
        return f"connect {type(exc).__name__}"
    return type(exc).__name__


# -- HTTP/1.1 -------------------------------------------------------------------------------
class Connection:
    """One keep-alive connection; one request at a time."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def send(self, wire: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        self.writer.write(wire)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        headers: dict[bytes, bytes] = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if b"content-length" in headers:
            body = await self.reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                parts.append((await self.reader.readexactly(size + 2))[:-2])
                if size == 0:
                    break
            body = b"".join(parts)
        else:
            body = b""
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return status, headers, body


class Browser:
    """A user's browser: its session, its connections to the server (as many as it has
    requests out at once, like Chromium's six per host) and its counters."""

    def __init__(self, port: int, user: dict[str, str], stats: Stats, audience: str) -> None:
        self.port = port
        self.host = f"{HOST}:{port}"
        self.cookie = user["cookie"]
        self.csrf = user["csrf"]
        self.stats = stats
        self.audience = audience
        self.idle: list[Connection] = []

    async def request(
        self,
        kind: str,
        method: str,
        path: str,
        headers: str,
        body: bytes = b"",
        expect: tuple[int, ...] = (200,),
        timeout: str = "dash",
    ) -> tuple[int, dict[bytes, bytes], bytes] | None:
        """One request, timed and counted under `kind`; None when it failed."""
        conn = self.idle.pop() if self.idle else Connection(self.port)
        reused = conn.writer is not None
        length = f"Content-Length: {len(body)}\r\n" if method == "POST" else ""
        wire = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nConnection: keep-alive\r\n"
            f"{length}{headers}Cookie: {self.cookie}\r\n\r\n"
        ).encode() + body
        key = f"{self.audience}|{kind}"
        t0 = time.perf_counter()
        try:
            try:
                answer = await asyncio.wait_for(conn.send(wire), TIMEOUT_S[timeout])
            except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError) as exc:
                # A kept-alive connection the server closed while idle (uvicorn: after 5 s):
                # Chromium sends the request again on a new one, once.
                partial = getattr(exc, "partial", b"")
                if not reused or partial:
                    raise
                conn.close()
                answer = await asyncio.wait_for(conn.send(wire), TIMEOUT_S[timeout])
            if answer[0] not in expect:
                raise HttpError(answer[0])
        except (OSError, TimeoutError, asyncio.IncompleteReadError, HttpError, ValueError) as exc:
            conn.close()
            self.stats.error(key, error_kind(exc))
            return None
        self.stats.ok(key, 1000 * (time.perf_counter() - t0))
        self.idle.append(conn)
        return answer

    async def page(self, kind: str, path: str) -> str | None:
        answer = await self.request(kind, "GET", path, DOCUMENT_HEADERS, timeout="page")
        return None if answer is None else answer[2].decode()

    async def dash_page(self, path: str) -> tuple[str, Any] | None:
        """A Dash page opened: the HTML (its signed `endId`), then the renderer's two GETs at
        once, then the router's callback. Returns (the callbacks' query, the page's content)."""
        text = await self.page("page html", path)
        if text is None:
            return None
        config = CONFIG.search(text)
        end_id = json.loads(html.unescape(config.group(1))).get("end_id") if config else None
        fetch = FETCH_HEADERS + f"Referer: http://{self.host}{path}\r\n"
        got = await asyncio.gather(
            self.request("_dash-layout", "GET", "/_dash-layout", fetch),
            self.request("_dash-dependencies", "GET", "/_dash-dependencies", fetch),
        )
        if None in got:
            return None
        query = f"?endId={end_id}" if end_id else ""
        url = urlsplit(path)
        answer = await self.callback(
            "router callback",
            query,
            [(ids_page_content(), "children"), ("lang", "data")],
            [
                ("url", "pathname", url.path),
                ("url", "search", f"?{url.query}" if url.query else ""),
            ],
            [("lang", "data", None)],
            ["url.pathname", "url.search"],
            referer=path,
        )
        if answer is None:
            return None
        return query, answer

    async def callback(
        self,
        kind: str,
        query: str,
        outputs: list[tuple[Any, str]],
        inputs: list[tuple[Any, str, Any]],
        state: list[Any],
        changed: list[str],
        referer: str = "/",
        expect: tuple[int, ...] = (200, 204),
    ) -> dict | None:
        """A Dash callback as dash-renderer posts it; the answer's `response` ({} for a 204)."""
        body = dash_body(outputs, inputs, state, changed)
        headers = (
            BROWSER_HEADERS.format(host=self.host).replace(
                f"Referer: http://{self.host}/\r\n", f"Referer: http://{self.host}{referer}\r\n"
            )
            + f"X-CSRFToken: {self.csrf}\r\n"
        )
        answer = await self.request(kind, "POST", UPDATE + query, headers, body, expect)
        if answer is None:
            return None
        if answer[0] == 204:
            return {}
        try:
            return json.loads(answer[2])["response"]
        except (ValueError, KeyError):
            self.stats.error(f"{self.audience}|{kind}", "bad body")
            return None

    def close(self) -> None:
        for conn in self.idle:
            conn.close()
        self.idle = []


def ids_page_content() -> str:
    from layouts.pages import PAGE_CONTENT

    return PAGE_CONTENT


def dash_body(
    outputs: list[tuple[Any, str]],
    inputs: list[tuple[Any, str, Any]],
    state: list[Any],
    changed: list[str],
) -> bytes:
    """dash-renderer's request body: one output as an object, several as a list and a
    `..a.b...c.d..` string; an input without a value has no `value` key (undefined in JS)."""

    def spec(item: tuple) -> Any:
        if isinstance(item, list):  # a pattern-matched (ALL) state: a list of specs
            return [spec(i) for i in item]
        if isinstance(item, dict):  # already a spec
            return item
        out = {"id": item[0], "property": item[1]}
        if len(item) > 2 and item[2] is not Ellipsis:
            out["value"] = item[2]
        return out

    def name(component: Any) -> str:
        if isinstance(component, dict):
            return json.dumps(component, separators=(",", ":"), sort_keys=True)
        return str(component)

    outs = [spec(o) for o in outputs]
    body = {
        "output": (
            f"{name(outputs[0][0])}.{outputs[0][1]}"
            if len(outputs) == 1
            else ".." + "...".join(f"{name(c)}.{p}" for c, p in outputs) + ".."
        ),
        "outputs": outs[0] if len(outs) == 1 else outs,
        "inputs": [spec(i) for i in inputs],
        "changedPropIds": changed,
    }
    if state:
        body["state"] = [spec(s) for s in state]
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def find(tree: Any, test: Any) -> list[dict]:
    """Every component's props in a Dash layout tree (JSON) that `test(props)` accepts."""
    found: list[dict] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict):
                if test(props):
                    found.append(props)
                stack.extend(v for v in props.values() if isinstance(v, list | dict))
            else:
                stack.extend(v for v in node.values() if isinstance(v, list | dict))
    return found


# -- the audiences --------------------------------------------------------------------------
class Run:
    def __init__(self, args: argparse.Namespace, stats: Stats) -> None:
        self.port = args.port
        self.stats = stats
        self.start = 0.0
        self.end = 0.0
        self.timeline = Timeline(1.0)
        self.streams: list[MjpegViewer] = []

    def running(self) -> bool:
        return time.monotonic() < self.end

    async def sleep(self, seconds: float) -> bool:
        """Sleep, or less at the end of the run; False when the run is over."""
        left = self.end - time.monotonic()
        await asyncio.sleep(max(0.0, min(seconds, left)))
        return self.running()

    # -- the wall ---------------------------------------------------------------------------
    async def wall(self, user: dict[str, str]) -> None:
        b = Browser(self.port, user, self.stats, "wall")
        try:
            while self.running():
                opened = await b.dash_page("/")
                if opened is None:
                    await self.sleep(5.0)  # komando_feed.js reloads at most once a minute; the
                    continue  # browser shows an error page and a person reloads it
                await self.wall_page(b, *opened)
                return
        finally:
            b.close()

    async def wall_page(self, b: Browser, query: str, answer: dict) -> None:
        content = answer.get(ids_page_content(), {}).get("children")
        feed = find(content, lambda p: p.get("id") == ids.LIVE_FEED)
        views = find(content, lambda p: p.get("id") == ids.MAP_VIEW)
        grid = find(content, lambda p: "data-stream-cameras" in p)
        alert_state = find(content, lambda p: p.get("id") == "alert-state")
        if not feed:
            b.stats.error("wall|router callback", "no live feed in the page")
            return
        known = json.loads(feed[0]["data-versions"])
        every = int(feed[0].get("data-refresh-ms", "1000")) / 1000
        view = [{"id": ids.MAP_VIEW, "property": "data", "value": v["data"]} for v in views]
        state = {"alerts": alert_state[0].get("data") if alert_state else {"version": ""}}
        lang = "id"
        if grid:
            cameras = grid[0]["data-stream-cameras"]
            fps = float(grid[0].get("data-fps", "5"))
            self.open_stream(b, f"/video/wall.stream?cameras={cameras}&fps={fps:.1f}")
            for camera in cameras.split(","):
                await b.request(
                    "tile picture", "GET", f"/video/{camera}.jpg", FETCH_HEADERS, timeout="video"
                )
        await self.alert_callbacks(b, query, None, state, lang, first=True)
        tick = 0
        while self.running():
            started = time.monotonic()
            tick += 1
            answer = await b.callback(
                "live feed",
                "",
                [(ids.FEED, "data"), (ids.FEED_VERSIONS, "data")],
                [(ids.WALL_TICK, "n_intervals", tick)],
                [(ids.FEED_VERSIONS, "data", known), view],
                [f"{ids.WALL_TICK}.n_intervals"],
            )
            if answer:
                known = answer.get(ids.FEED_VERSIONS, {}).get("data", known)
                data = answer.get(ids.FEED, {}).get("data") or {}
                if data.get("alerts"):
                    await self.alert_callbacks(b, query, data["alerts"], state, lang, first=False)
            await self.sleep(max(0.0, every - (time.monotonic() - started)))

    async def alert_callbacks(
        self, b: Browser, query: str, signal: Any, state: dict, lang: str, first: bool
    ) -> None:
        """The alert list (and, when the feed set the alerts' version, the map's alert layer:
        both follow the same store, and the renderer sends them at once)."""
        signal_input = ("alert-signal", "data", ... if first else signal)
        changed = [] if first else ["alert-signal.data"]
        calls = [
            b.callback(
                "alert list callback",
                query,
                [("alert-list", "children"), ("alert-state", "data"),
                 ("alert-critical", "data"), ("alert-ticker", "children")],
                [signal_input],
                [("alert-state", "data", state["alerts"]), ("lang", "data", lang)],
                changed,
            )
        ]  # fmt: skip
        if not first:
            calls.append(
                b.callback(
                    "map alerts callback",
                    query,
                    [(ids.ALERTS_LAYER, "data")],
                    [signal_input],
                    [("lang", "data", lang)],
                    changed,
                )
            )
        answers = await asyncio.gather(*calls)
        if answers[0]:
            state["alerts"] = answers[0].get("alert-state", {}).get("data", state["alerts"])

    def open_stream(self, b: Browser, path: str) -> None:
        viewer = StreamViewer(path, self.timeline, b.cookie)
        self.streams.append(viewer)
        viewer.opened_at = time.monotonic()
        loop = asyncio.get_running_loop()
        viewer.task = asyncio.ensure_future(loop.create_connection(lambda: viewer, HOST, self.port))

    # -- the executive ----------------------------------------------------------------------
    async def executive(self, user: dict[str, str], rng: random.Random) -> None:
        b = Browser(self.port, user, self.stats, "executive")
        try:
            while self.running():
                await self.review_visit(b, rng)
        finally:
            b.close()

    async def review_visit(self, b: Browser, rng: random.Random) -> None:
        opened = await b.dash_page("/kpi")
        if opened is None:
            await self.sleep(5.0)
            return
        query, _answer = opened
        search, lang = "", "id"
        body = await self.review_body(b, query, search, lang)
        for _ in range(EXEC_STEPS):
            if not await self.sleep(rng.uniform(*THINK_S)):
                return
            if body is None:  # the last step failed: the person clicks the same link again
                body = await self.navigate(b, query, search, lang)
                continue
            links = [
                p["href"] for p in find(body, lambda p: str(p.get("href", "")).startswith("/kpi?"))
            ]
            periods = [h for h in links if "periode=" in h and "wilayah=" not in h[5:]] or links
            areas = [h for h in links if "wilayah=" in h] or links
            choice = rng.random()
            compare = find(body, lambda p: p.get("id") == "review-compare-kpi")
            if choice < 1 / 3 and compare and compare[0].get("options"):
                options = [o["value"] for o in compare[0]["options"]]
                current = compare[0].get("value")
                kpi = rng.choice([o for o in options if o != current] or options)
                await b.callback(
                    "compare callback",
                    query,
                    [("review-compare-graph", "figure")],
                    [("review-compare-kpi", "value", kpi)],
                    [("url", "search", search), ("review-lang", "data", lang)],
                    ["review-compare-kpi.value"],
                    referer=f"/kpi{search}",
                )
                compare[0]["value"] = kpi
                continue
            pool = periods if choice < 2 / 3 else areas
            if not pool:
                continue
            search = "?" + urlsplit(rng.choice(pool)).query
            body = await self.navigate(b, query, search, lang)

    async def navigate(self, b: Browser, query: str, search: str, lang: str) -> Any:
        """A link of the review clicked (dcc.Link): the router's callback, then the body."""
        answer = await b.callback(
            "router callback",
            query,
            [(ids_page_content(), "children"), ("lang", "data")],
            [("url", "pathname", "/kpi"), ("url", "search", search)],
            [("lang", "data", lang)],
            ["url.search"],
            referer=f"/kpi{search}",
        )
        if answer is None:
            return None
        return await self.review_body(b, query, search, lang)

    async def review_body(self, b: Browser, query: str, search: str, lang: str) -> Any:
        answer = await b.callback(
            "review body callback",
            query,
            [("review-body", "children")],
            [("review-lang", "data", lang)],
            [("url", "search", search)],
            [],
            referer=f"/kpi{search}",
        )
        return None if answer is None else answer.get("review-body", {}).get("children")

    # -- the parent -------------------------------------------------------------------------
    async def parent(self, user: dict[str, str], rng: random.Random) -> None:
        b = Browser(self.port, user, self.stats, "parent")
        try:
            while self.running():
                text = await b.page("page html", "/parent")
                if text is None:
                    await self.sleep(5.0)
                    continue
                cameras = re.findall(r'class="pp-tile" data-camera="([^"]+)"\s+data-open="1"', text)
                check = re.search(r'data-next-check-s="(\d+)"', text)
                leave = time.monotonic() + rng.uniform(*PARENT_VISIT_S)
                tiles = [self.tile(b, c, leave) for c in cameras]
                tiles.append(self.status(b, int(check.group(1)) if check else 60, leave))
                await asyncio.gather(*tiles)
        finally:
            b.close()

    async def tile(self, b: Browser, camera: str, leave: float) -> None:
        seq = None
        errors = 0
        while self.running() and time.monotonic() < leave:
            path = f"/video/{camera}.jpg" + (f"?after={seq}" if seq is not None else "")
            kind = "picture ?after=" if seq is not None else "first picture"
            started = time.perf_counter()
            answer = await b.request(kind, "GET", path, FETCH_HEADERS, timeout="video")
            elapsed = time.perf_counter() - started
            if answer is None:
                errors += 1
                delay = min(30.0, 2.0 * 2 ** min(errors, 4))
            else:
                errors = 0
                seq = answer[1].get(b"x-frame-seq", b"").decode() or seq
                delay = max(1.0, 2 * elapsed)
                if answer[1].get(b"x-camera-state", b"live") != b"live":
                    delay = max(delay, 5.0)
            await self.sleep(min(delay, max(0.0, leave - time.monotonic())))

    async def status(self, b: Browser, first_s: int, leave: float) -> None:
        wait = first_s
        while time.monotonic() + wait < leave and await self.sleep(wait):
            answer = await b.request("status.json", "GET", "/parent/status.json", FETCH_HEADERS)
            wait = STATUS_EVERY_S
            if answer is not None:
                with contextlib.suppress(ValueError):
                    wait = int(json.loads(answer[2]).get("next_check_s") or STATUS_EVERY_S)

    # -- the baseline -----------------------------------------------------------------------
    async def baseline(self, user: dict[str, str]) -> None:
        b = Browser(self.port, user, self.stats, "baseline")
        known = {"want": [], "lang": "id"}
        tick = 0
        try:
            while self.running():
                started = time.monotonic()
                tick += 1
                answer = await b.callback(
                    "feed, no section (204)",
                    "",
                    [(ids.FEED, "data"), (ids.FEED_VERSIONS, "data")],
                    [(ids.WALL_TICK, "n_intervals", tick)],
                    [(ids.FEED_VERSIONS, "data", known), []],
                    [f"{ids.WALL_TICK}.n_intervals"],
                )
                if answer:  # the first answer brings the versions; from then on, 204
                    known = answer.get(ids.FEED_VERSIONS, {}).get("data", known)
                await self.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
        finally:
            b.close()


class StreamViewer(MjpegViewer):
    """The wall's camera grid: bench/video's multipart parser, with this user's session and
    the request the page's fetch sends; the time to the first picture is kept."""

    def __init__(self, path: str, timeline: Timeline, cookie: str) -> None:
        super().__init__("", path, timeline)
        self.cookie = cookie
        self.opened_at = 0.0
        self.first_ms: float | None = None
        self.task: asyncio.Future | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.connected = True
        transport.write(  # type: ignore[attr-defined]
            f"GET {self.path} HTTP/1.1\r\nHost: {HOST}\r\n{FETCH_HEADERS}"
            f"Cookie: {self.cookie}\r\n\r\n".encode()
        )

    def frame(self, seq: int, state: str, soi: bool) -> None:
        if self.first_ms is None and soi:
            self.first_ms = 1000 * (time.monotonic() - self.opened_at)
        super().frame(seq, state, soi)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--users", required=True, help="a JSON file: [{audience, cookie, csrf}]")
    parser.add_argument("--ramp", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    users = json.loads(Path(args.users).read_text())
    stats = Stats()
    run = Run(args, stats)
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, sys.stdin.readline)
    if line.strip() != "GO":
        return
    run.start = time.monotonic()
    stats.window = (run.start + args.ramp, run.start + args.ramp + args.seconds)
    run.end = stats.window[1]
    rng = random.Random(args.seed)
    rng.shuffle(users)  # audiences arrive mixed, not one after the other

    async def later(delay: float, user: dict[str, str], seed: int) -> None:
        await asyncio.sleep(delay)
        audience = user["audience"]
        if audience == "wall":
            await run.wall(user)
        elif audience == "executive":
            await run.executive(user, random.Random(seed))
        elif audience == "parent":
            await run.parent(user, random.Random(seed))
        else:
            await run.baseline(user)

    tasks = [
        asyncio.create_task(later(args.ramp * i / len(users), user, args.seed * 100_000 + i))
        for i, user in enumerate(users)
    ]
    await asyncio.sleep(max(0.0, stats.window[0] - time.monotonic()))
    frames0 = sum(v.frames for v in run.streams)
    print("WINDOW_START", flush=True)
    await asyncio.sleep(max(0.0, stats.window[1] - time.monotonic()))
    frames1 = sum(v.frames for v in run.streams)
    print("WINDOW_END", flush=True)
    # Loops end by themselves; a request still out ends within its timeout.
    done, pending = await asyncio.wait(tasks, timeout=max(TIMEOUT_S.values()) + 5)
    for task in pending:
        task.cancel()
    crashed = [t.exception() for t in done if not t.cancelled() and t.exception() is not None]
    for viewer in run.streams:
        if viewer.transport is not None:
            viewer.transport.abort()
    streams = [v for v in run.streams if v.first_ms is not None]
    result = {
        "latencies": stats.latencies,
        "errors": stats.errors,
        "stream": {
            "walls": len(run.streams),
            "with_picture": len(streams),
            "first_picture_ms": sorted(v.first_ms for v in streams if v.first_ms is not None),
            "frames_in_window": frames1 - frames0,
            "stream_errors": sorted({v.error for v in run.streams if v.error}),
        },
        "unfinished_tasks": len(pending),
        "crashed": ["".join(traceback.format_exception(e))[-1500:] for e in crashed[:3]],
    }
    print(json.dumps(result), flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # STOP (or EOF)


if __name__ == "__main__":
    asyncio.run(main())
