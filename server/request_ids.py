"""A request id for every HTTP request (issue 7), outermost, in front of the access gate.

The id is the caller's `X-Request-ID` when it looks like one (a proxy or load balancer that set
it can then follow the request through our logs), else a new random one. It goes back in the
answer's `X-Request-ID`, into `scope["state"]["request_id"]`, and into logs.REQUEST_ID, so
every log line written while serving the request carries it (logs.RequestIdFilter). The same
wrapper counts answers by kind of route and status class for /metrics.
"""

from __future__ import annotations

import random
import re
from functools import cache

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from logs import REQUEST_ID
from server.metrics import HTTP_REQUESTS

HEADER = b"x-request-id"
# Letters, digits and a few separators, at most 128: what proxies send (UUIDs, AWS's
# "Root=1-…", hex), and nothing that could forge a log line or a header.
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+/-]{0,127}")
# Bounded label values: a few kinds of route, never the path itself.
_KINDS = (
    ("/video/", "video"),
    ("/_dash-update-component", "callback"),
    ("/api/", "api"),
    ("/ngsi-ld/", "api"),
    ("/assets/", "static"),
    ("/_dash-component-suites/", "static"),
    ("/healthz", "probe"),
    ("/readyz", "probe"),
    ("/metrics", "probe"),
)


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == HEADER:
            presented = value.decode("latin-1").strip()
            if _SANE.fullmatch(presented):
                return presented
            break
    # Not a secret, only unique: the Mersenne twister costs a tenth of os.urandom's system call
    # (this runs for every long-polled camera frame), and Python reseeds it in a forked child.
    return f"{random.getrandbits(64):016x}"


def kind_of(path: str) -> str:
    for prefix, kind in _KINDS:
        if path.startswith(prefix):
            return kind
    return "page"


@cache
def _requests_counter(kind: str, status_class: int) -> Counter:
    """The counter child of (kind, status class): `labels()` costs more than the increment."""
    return HTTP_REQUESTS.labels(kind, f"{status_class}xx")


class RequestIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        raw_id = request_id.encode("latin-1")
        kind = kind_of(scope["path"])

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (HEADER, raw_id)]}
                _requests_counter(kind, message["status"] // 100).inc()
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
