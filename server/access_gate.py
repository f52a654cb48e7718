"""The web gate: every request passes here first, before the video routes, Dash and the API.

It finds the principal from the session cookie, then:
- pages and routes: anonymous visitors are sent to /login; a signed-in principal opens only
  what its role allows (data.access.PAGE_ROLES), else 403;
- Dash callbacks (`/_dash-update-component`): the CSRF header Dash 4's renderer sends from the
  `_csrf_token` cookie must match this session, and the callback must be one the principal's
  role may call (server.callback_policy); anything unlisted is refused;
- the callbacks and routes behind the gate read the principal from data.access's context
  variable, so a callback or a camera route can check an id against it;
- every answer carries the security headers (a CSP fit for Dash, no framing, nosniff).

Static files (Dash's bundles, assets/), sign-in pages and the device API (API keys, no cookies)
pass without a session.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from data.access import (
    PAGE_ROLES,
    Principal,
    may_open_page,
    normal_path,
    reset_current_principal,
    set_current_principal,
)
from data.accounts import SessionStore, session_id_of
from server.callback_policy import CallbackPolicy
from server.metrics import observe_callback

log = logging.getLogger(__name__)

SESSION_COOKIE = "komando_session"
CSRF_COOKIE = "_csrf_token"  # the name Dash 4's renderer reads (Dash(csrf_token_name=...))
CSRF_HEADER = b"x-csrftoken"
PUBLIC_PREFIXES = (
    "/assets/",
    "/_dash-component-suites/",
    "/_favicon.ico",
    "/login",
    "/logout",
    "/d/",
    "/api/v1/",  # API keys, checked by server/ingest_api.py; /api/v1/openapi.json needs none
    "/ngsi-ld/v1/",
    "/healthz",
    "/readyz",
    "/metrics",  # checks its own bearer token (server/observability.py)
)
SIGNED_IN_PREFIXES = ("/_dash-layout", "/_dash-dependencies", "/_reload-hash")
CALLBACK_PATH = "/_dash-update-component"
MAX_CALLBACK_BODY = 16 * 2**20  # operator CSV uploads travel in a callback
RECENT_S = 2.0


def csrf_token_for(session_token: str) -> str:
    """The CSRF token of a session: derived from the session's own secret, so it needs no
    storage and changes with every sign-in. A page on another site can read neither cookie."""
    return hmac.new(session_token.encode(), b"komando-csrf", hashlib.sha256).hexdigest()


def same_secret(presented: str, expected: str) -> bool:
    """Constant-time comparison of a token someone sent with the expected one.
    hmac.compare_digest raises TypeError on str with non-ASCII characters, which a header or a
    form field may carry: that was a 500 (issue 7)."""
    return hmac.compare_digest(
        presented.encode("utf-8", "backslashreplace"), expected.encode("utf-8", "backslashreplace")
    )


def cookies_of(scope: Scope) -> dict[str, str]:
    """The request's cookies. A plain split, not http.cookies: this runs on every request,
    every camera frame of a long-polling viewer included, and SimpleCookie costs ~10 µs."""
    found: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, sep, val = part.strip().partition("=")
                if sep and key not in found:
                    found[key] = val.strip().strip('"')
    return found


def header(scope: Scope, wanted: bytes) -> str:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return value.decode("latin-1")
    return ""


class SecurityHeaders:
    """The headers every answer carries. Dash's index page runs two inline scripts, allowed by
    their hashes (app.csp_hashes()), never by 'unsafe-inline'. Styles stay 'unsafe-inline':
    Dash and Leaflet set style attributes on elements."""

    def __init__(self, script_hashes: list[str], img_sources: list[str], display_frames: str):
        script = " ".join(["'self'", *script_hashes])  # already quoted by Dash
        img = " ".join(["'self'", "data:", "blob:", *img_sources])
        self.base = (
            f"default-src 'self'; script-src {script}; style-src 'self' 'unsafe-inline'; "
            f"img-src {img}; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
            "base-uri 'self'; form-action 'self'"
        )
        self.display_frames = display_frames.strip()
        # Two fixed sets, built once: every request picks one (it ran on each request before).
        self._document = self._headers("'none'", framed=False)
        self._framed = self._headers(self.display_frames, framed=True)

    ALWAYS = ((b"x-content-type-options", b"nosniff"),)

    def _headers(self, ancestors: str, framed: bool) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"content-security-policy", f"{self.base}; frame-ancestors {ancestors}".encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]
        if not framed:
            headers.append((b"x-frame-options", b"DENY"))
        return headers

    def for_principal(self, principal: Principal | None) -> list[tuple[bytes, bytes]]:
        """The headers of an HTML document. (Other answers — a wall's JSON refresh each second,
        a camera frame — get only ALWAYS: a policy for documents means nothing on them, and
        it would double the bytes of a refresh that changed nothing.)"""
        framed = principal is not None and principal.role == "display" and self.display_frames
        return self._framed if framed else self._document


class AccessGate:
    """An ASGI wrapper around the whole web app (see module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        sessions: SessionStore,
        policy: CallbackPolicy,
        headers: SecurityHeaders,
        cookie_secure: str = "auto",
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.policy = policy
        self.headers = headers
        self.cookie_secure = cookie_secure
        self._recent: dict[str, tuple[float, Principal | None]] = {}
        self._csrf: dict[str, str] = {}
        self._looking_up: dict[str, asyncio.Future] = {}
        sessions.on_revoke.append(self.forget)

    async def _principal(self, token: str) -> Principal | None:
        """The session's principal. A wall asks once a second and a long-polling viewer once a
        frame, so answers are kept for RECENT_S in this process: a revocation takes effect
        here within that time (data.accounts keeps the shared copy in Redis)."""
        now = time.monotonic()
        session_id = session_id_of(token)
        recent = self._recent.get(session_id)
        if recent is not None and now - recent[0] < RECENT_S:
            return recent[1]
        # One lookup per session at a time: a wall reconnecting with sixteen tiles, or forty
        # viewers of one account, wait for the same answer instead of each asking SQL.
        pending = self._looking_up.get(session_id)
        if pending is not None:
            return await asyncio.shield(pending)
        pending = asyncio.ensure_future(_in_thread(self.sessions.principal, token))
        self._looking_up[session_id] = pending
        try:
            principal = await asyncio.shield(pending)
        finally:
            self._looking_up.pop(session_id, None)
        if len(self._recent) > 10_000:
            self._recent.clear()
        self._recent[session_id] = (time.monotonic(), principal)
        return principal

    def csrf_of(self, token: str) -> str:
        csrf = self._csrf.get(token)
        if csrf is None:
            if len(self._csrf) > 10_000:
                self._csrf.clear()
            csrf = self._csrf[token] = csrf_token_for(token)
        return csrf

    def forget(self, session_ids: list[str]) -> None:
        """Drop this process's copies at once (sessions revoked through this process)."""
        for session_id in session_ids:
            self._recent.pop(session_id, None)

    def secure_cookies(self, scope: Scope) -> bool:
        if self.cookie_secure == "always":
            return True
        if self.cookie_secure == "never":
            return False
        return scope.get("scheme") in ("https", "wss")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # Komando uses no websocket callbacks; Dash 4 still offers the endpoint, and a
            # callback over it would pass by this gate's callback checks.
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookies = cookies_of(scope)
        token = cookies.get(SESSION_COOKIE, "")
        try:
            principal = await self._principal(token) if token else None
        except SQLAlchemyError as exc:
            log.warning("sessions unavailable: %s", exc)
            await _plain(send, 503, "Basis data tidak terjangkau; coba lagi sebentar.")
            return
        scope.setdefault("state", {})["principal"] = principal
        reset = set_current_principal(principal)
        send = self._with_headers(send, principal, token, cookies, self.secure_cookies(scope))
        try:
            await self._route(scope, receive, send, principal, token)
        finally:
            reset_current_principal(reset)

    def _with_headers(
        self,
        send: Send,
        principal: Principal | None,
        token: str,
        cookies: dict[str, str],
        secure: bool,
    ) -> Send:
        extra = self.headers.for_principal(principal)
        csrf = self.csrf_of(token) if principal is not None else ""
        refresh_csrf = principal is not None and cookies.get(CSRF_COOKIE) != csrf

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name for name, _ in headers}
                kind = next((v for n, v in headers if n == b"content-type"), b"")
                wanted = extra if kind.startswith(b"text/html") else SecurityHeaders.ALWAYS
                headers.extend(h for h in wanted if h[0] not in names)
                if refresh_csrf:
                    headers.append((b"set-cookie", self.csrf_cookie(csrf, secure)))
                message = {**message, "headers": headers}
            await send(message)

        return send_with_headers

    def csrf_cookie(self, value: str, secure: bool) -> bytes:
        # Readable by the page's script (Dash copies it into the X-CSRFToken header), so not
        # HttpOnly; Strict, so no other site's request carries it.
        flags = "; Secure" if secure else ""
        return f"{CSRF_COOKIE}={value}; Path=/; SameSite=Strict{flags}".encode()

    async def _route(
        self, scope: Scope, receive: Receive, send: Send, principal: Principal | None, token: str
    ) -> None:
        path = scope["path"]
        method = scope["method"]
        if path.startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        if path == CALLBACK_PATH:
            await self._callback(scope, receive, send, principal, token)
            return
        if principal is None:
            if method in ("GET", "HEAD") and not path.startswith(("/_dash", "/video/")):
                query = scope.get("query_string", b"").decode("latin-1")
                target = path + ("?" + query if query else "")
                await _redirect(send, "/login?next=" + quote(target, safe=""))
            else:
                await _plain(send, 401, "Silakan masuk terlebih dahulu.")
            return
        if path.startswith(SIGNED_IN_PREFIXES) or path.startswith("/video/"):
            # /video/ checks each camera against the principal itself.
            await self.app(scope, receive, send)
            return
        if method not in ("GET", "HEAD"):
            await _plain(send, 405, "Metode tidak diizinkan.")
            return
        if not may_open_page(principal, page_of(path)):
            if normal_path(path) == "/":  # e.g. a parent following the site's bare address
                await _redirect(send, principal.home)
            else:
                await _forbidden_page(send, principal)
            return
        await self.app(scope, receive, send)

    async def _callback(
        self, scope: Scope, receive: Receive, send: Send, principal: Principal | None, token: str
    ) -> None:
        if principal is None:
            await _json(send, 401, {"detail": "Sesi berakhir. Silakan masuk kembali."})
            return
        if scope["method"] != "POST":
            await _json(send, 405, {"detail": "Metode tidak diizinkan."})
            return
        presented = header(scope, CSRF_HEADER)
        if not presented or not same_secret(presented, self.csrf_of(token)):
            log.warning("callback refused: CSRF token missing or wrong (%s)", principal.actor)
            await _json(send, 403, {"detail": "Token CSRF tidak cocok. Muat ulang halaman."})
            return
        body = await _read_body(receive, MAX_CALLBACK_BODY)
        if body is None:
            await _json(send, 413, {"detail": "Permintaan terlalu besar."})
            return
        try:
            output = json.loads(body).get("output", "")
        except (ValueError, AttributeError):
            await _json(send, 400, {"detail": "Permintaan callback tidak sah."})
            return
        if not self.policy.allows(output, principal):
            log.warning("callback refused: %s may not call %s", principal.actor, str(output)[:80])
            await _json(send, 403, {"detail": "Tidak berhak."})
            return
        started = time.perf_counter()
        try:
            await self.app(scope, _replay(body), send)
        finally:
            # Only callbacks the policy knows get here: the label set is the app's callbacks.
            observe_callback(self.policy.name_of(output), time.perf_counter() - started)


def page_of(path: str) -> str:
    """The page whose rule covers `path`: the longest PAGE_ROLES path it equals or lies under
    (/kpi/laporan is /kpi's); other paths are their own page."""
    path = normal_path(path)
    if path in PAGE_ROLES:
        return path
    covering = [p for p in PAGE_ROLES if p != "/" and path.startswith(p + "/")]
    return max(covering, key=len) if covering else path


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


async def _respond(send: Send, status: int, body: bytes, media_type: str,
                   headers: list[tuple[bytes, bytes]] | None = None) -> None:  # fmt: skip
    raw = [
        (b"content-type", media_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *(headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Send, status: int, payload: dict[str, Any]) -> None:
    await _respond(send, status, json.dumps(payload).encode(), "application/json")


async def _plain(send: Send, status: int, text: str) -> None:
    await _respond(send, status, text.encode(), "text/plain; charset=utf-8")


async def _redirect(send: Send, location: str) -> None:
    await _respond(send, 303, b"", "text/plain", [(b"location", location.encode("latin-1"))])


async def _forbidden_page(send: Send, principal: Principal) -> None:
    from server.login_pages import forbidden_html

    await _respond(send, 403, forbidden_html(principal).encode(), "text/html; charset=utf-8")
