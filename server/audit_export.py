"""`GET /admin/audit.csv`: the audit trail as a spreadsheet file, for admins.

The gate's page rule already keeps /admin/* to admins; the route asks again, as every admin
callback does. Same file conventions as the KPI export (server/kpi_export.py): UTF-8 with a BOM,
';' between fields. Cells a spreadsheet would take for a formula are neutralised by
data.accounts.audit_csv. The export is itself audited: the trail says who took a copy.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from data import accounts
from data.access import ADMIN, current_principal
from data.city import City

MAX_ROWS = 50_000


def _limit(raw: str | None) -> int:
    try:
        return max(1, min(int(raw or 1000), MAX_ROWS))
    except ValueError:
        return 1000


def add_audit_export_routes(server: FastAPI, city: City, engine: Engine) -> None:
    """Register the route; call before the server starts (Dash's FastAPI backend adds a
    catch-all page route later, which would shadow it)."""
    zone = ZoneInfo(city.config.timezone)

    @server.get("/admin/audit.csv", include_in_schema=False)
    async def audit_export(request: Request) -> Response:
        principal = current_principal()
        if principal is None or principal.role != ADMIN:
            return Response("Tidak berhak.\n", status_code=403, media_type="text/plain")
        params = request.query_params
        action = (params.get("tindakan") or "").strip()[:64]
        actor = (params.get("pelaku") or "").strip()[:64]
        limit = _limit(params.get("batas"))

        def export() -> str:
            rows = accounts.read_audit(engine, limit, action, actor)
            accounts.audit(
                engine,
                principal.actor,
                "audit.export",
                "audit_log",
                tindakan=action,
                pelaku=actor,
                rows=len(rows),
            )
            return accounts.audit_csv(rows, zone)

        try:
            text = await asyncio.to_thread(export)
        except SQLAlchemyError:
            return Response("database unavailable, retry later\n", status_code=503)
        stamp = datetime.now(zone).strftime("%Y%m%d-%H%M")
        return Response(
            ("\ufeff" + text).encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="audit-{city.slug}-{stamp}.csv"',
                "Cache-Control": "no-store",
            },
        )
