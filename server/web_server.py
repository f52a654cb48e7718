"""The web role's ASGI app: FastAPI (Dash, the ingest API) with a few hot routes served ahead
of its middleware stack."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send


class KomandoServer(FastAPI):
    """FastAPI that hands some path prefixes to bare ASGI apps before anything else runs.

    For routes where each request or each streamed chunk is tiny work done very often (camera
    frames to hundreds of viewers), Starlette's error middleware, FastAPI's body-limit and
    telemetry layers and Dash's middleware cost several times the work itself: each wraps
    every `send`. Everything else takes the normal path. The apps mounted ahead are
    responsible for their own access checks.
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._ahead: list[tuple[str, ASGIApp]] = []
        self._gate: ASGIApp | None = None

    def mount_ahead(self, prefix: str, app: ASGIApp) -> None:
        self._ahead.append((prefix, app))

    def guard_with(self, make_gate: Callable[[ASGIApp], ASGIApp]) -> None:
        """Put a gate (server.access_gate) in front of everything, the apps ahead included."""
        self._gate = make_gate(self._dispatch)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._gate is not None:
            await self._gate(scope, receive, send)
        else:
            await self._dispatch(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            for prefix, app in self._ahead:
                if path.startswith(prefix):
                    await app(scope, receive, send)
                    return
        await super().__call__(scope, receive, send)
