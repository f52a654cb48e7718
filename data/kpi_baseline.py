"""What each KPI was one period ago, for the trend arrows on the wall.

The ingest role works it out from the SQL history every few minutes and keeps it in Redis, so
the wall compares against it without ever querying SQL. "One period" follows the KPI's cadence:
a day for real-time and daily KPIs, a week for weekly ones, 30 days for monthly ones; the value
is the city's newest at or before that moment (one index seek per KPI on
kpi_values (kpi_id, region_kode, ts_ms)).
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from data.city import City

PERIOD_S = {"realtime": 86_400, "daily": 86_400, "weekly": 7 * 86_400, "monthly": 30 * 86_400}
EVERY_S = 300.0

PREVIOUS_SQL = text(
    "SELECT value FROM kpi_values WHERE kpi_id = :kpi AND region_kode = '' AND ts_ms <= :before "
    "ORDER BY ts_ms DESC LIMIT 1"
)


def previous_values(engine: Engine, city: City, now: float) -> dict[str, float]:
    """{kpi id: the city's value one period before `now`} for the KPIs that have one."""
    previous: dict[str, float] = {}
    with engine.connect() as conn:
        for kpi in city.config.kpis:
            before_ms = int((now - PERIOD_S[kpi.cadence]) * 1000)
            row = conn.execute(PREVIOUS_SQL, {"kpi": kpi.id, "before": before_ms}).first()
            if row is not None and row[0] is not None:
                previous[kpi.id] = float(row[0])
    return previous
