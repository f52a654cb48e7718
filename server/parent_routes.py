"""The parent portal's routes (issue 6). The gate (server/access_gate.py) lets only role
parent reach /parent and /parent/*; the pictures themselves come from /video/, which checks
each camera against the parent again and audits the view.

- GET /parent: the page (server/parent_pages.py), with each camera open or closed now.
- GET /parent/status.json: each camera's open/closed state and message, polled by the page
  so that tiles start when the viewing hours begin, without a reload.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from data.access import PARENT, Principal
from data.city import City
from data.parent_portal import build_portal, status_payload
from server.parent_pages import parent_html

NO_STORE = {"cache-control": "no-store"}


def add_parent_routes(server: FastAPI, city: City) -> None:
    def parent_of(request: Request) -> Principal | None:
        principal: Principal | None = request.state.principal
        # The gate already refuses other roles; this keeps the routes safe if mounted alone.
        return principal if principal is not None and principal.role == PARENT else None

    async def page(request: Request) -> Response:
        principal = parent_of(request)
        if principal is None:
            return Response(status_code=403)
        portal = build_portal(principal, city, datetime.now(UTC))
        return HTMLResponse(parent_html(portal), headers=NO_STORE)

    async def status(request: Request) -> Response:
        principal = parent_of(request)
        if principal is None:
            return JSONResponse({"detail": "Tidak berhak."}, status_code=403)
        portal = build_portal(principal, city, datetime.now(UTC))
        return JSONResponse(status_payload(portal), headers=NO_STORE)

    server.add_api_route("/parent", page, methods=["GET"], include_in_schema=False)
    server.add_api_route("/parent/status.json", status, methods=["GET"], include_in_schema=False)
