"""Rebuild the live state from SQL, after a Redis restart or on a first start against an
existing database: Redis is a cache of the live state, SQL is the record."""

from __future__ import annotations

import json
import logging
import time

from sqlalchemy import Engine, select

from data.city import City
from data.db.models import AuditEntry
from data.history import kpi_values, readings
from data.live_store import LiveStore
from data.models import KpiValue, Reading
from data.quantities import QUANTITIES

log = logging.getLogger(__name__)

audit_log = AuditEntry.__table__


def latest_readings(engine: Engine, city: City) -> list[Reading]:
    """The newest reading of every (sensor, quantity) of the city; one indexed lookup each."""
    found: list[Reading] = []
    with engine.connect() as conn:
        for sensor in city.config.sensors:
            for quantity in ("", *sorted(QUANTITIES[sensor.kind])):
                row = conn.execute(
                    select(readings.c.ts_ms, readings.c.value)
                    .where(readings.c.sensor_id == sensor.id, readings.c.quantity == quantity)
                    .order_by(readings.c.ts_ms.desc())
                    .limit(1)
                ).first()
                if row is not None:
                    found.append(
                        Reading(
                            sensor_id=sensor.id,
                            quantity=quantity,
                            ts=row.ts_ms / 1000,
                            value=row.value,
                        )
                    )
    return found


def latest_kpis(engine: Engine, city: City) -> list[KpiValue]:
    found: list[KpiValue] = []
    with engine.connect() as conn:
        for kpi in city.config.kpis:
            row = conn.execute(
                select(kpi_values.c.ts_ms, kpi_values.c.value)
                .where(kpi_values.c.kpi_id == kpi.id, kpi_values.c.region_kode == "")
                .order_by(kpi_values.c.ts_ms.desc())
                .limit(1)
            ).first()
            if row is not None:
                found.append(KpiValue(kpi_id=kpi.id, ts=row.ts_ms / 1000, value=row.value))
    return found


def latest_opd_entries(engine: Engine) -> dict[str, float]:
    """When each OPD last entered data (from the audit trail), for freshness per OPD."""
    latest: dict[str, float] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.ts_ms, audit_log.c.detail)
            .where(audit_log.c.action == "kpi.entry")
            .order_by(audit_log.c.id.desc())
            .limit(5000)
        ).all()
    for row in rows:
        try:
            opd = json.loads(row.detail).get("opd")
        except (ValueError, AttributeError):
            continue
        if opd and opd not in latest:
            latest[opd] = row.ts_ms / 1000
    return latest


def rebuild_live_state(engine: Engine, city: City, store: LiveStore) -> int:
    """Write the newest recorded values into Redis (newer live values are kept) and mark the
    live state complete. Returns the number of values restored."""
    started = time.monotonic()
    points = latest_readings(engine, city)
    kpis = latest_kpis(engine, city)
    store.write_readings(points)
    if kpis:
        store.write_kpis(kpis)
    for opd, ts in latest_opd_entries(engine).items():
        store.mark_opd_entry(opd, ts)
    store.mark_rebuilt(time.time())
    log.info(
        "live state rebuilt from SQL: %d sensor values, %d KPIs in %.2f s",
        len(points),
        len(kpis),
        time.monotonic() - started,
    )
    return len(points) + len(kpis)
