"""Alert rules, evaluated on the ingestion side (issue 5). No Dash here.

Three layers, so the rules can be tested with a fake clock:

- `evaluate_rules(city, rules, snapshot, now)`: pure; which (rule, subject) pairs are in an alert
  condition now, at which level, and which are known to be normal (a subject without data is
  neither, and changes nothing).
- `AlertEngine.step(conditions, normal, now)`: pure state machine, one alert per (rule, subject):
  * a level opens (or escalates) an alert only after holding `hold_s` without a break: a reading
    that spikes once rings nothing;
  * severity never goes down while an alert is open; it shows the worst reached;
  * the condition gone for `clear_s` marks the alert "kembali normal" (cleared) but keeps it on
    the list; the condition coming back un-clears the same alert (no duplicate);
  * a cleared alert nobody acknowledged is resolved by the system after `auto_resolve_s`
    (default 15 min): it rang, it passed, nobody needs to close it. An acknowledged one stays
    until a person resolves it, since someone has taken it on;
  * an alert a person resolved while its condition still held is not reopened until the
    condition clears, or gets worse than it was;
  * an incident a person reported (data/alert_store.py: `report_incident`) is not the engine's:
    it is never adopted, cleared or resolved here, only kept on the live list.
- `AlertWorker`: every few seconds reads the live state from Redis, steps the engine, writes
  changes to SQL (queued in memory while the database is away, in order, so nothing is lost)
  and to the live list in Redis (rebuilt from SQL when Redis lost it).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

import redis
from sqlalchemy import Engine, update
from sqlalchemy.exc import SQLAlchemyError

from data import alert_store
from data.alert_store import AlertLive, alerts_table, audit_row, audit_table
from data.camera_status import camera_status
from data.categories import kpi_category, sensor_category
from data.city import SEVERITY_ORDER, AlertRule, City
from data.live_keys import decode_health
from data.live_store import LiveStore
from data.models import CameraHealth

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (rule id, subject id)

DAY_S = 86_400.0
# A reporting period per cadence; an OPD is late once its most frequent KPI's period has passed.
CADENCE_PERIOD_S = {"daily": DAY_S, "weekly": 7 * DAY_S, "monthly": 31 * DAY_S}
KIND_LABELS = {  # (Bahasa Indonesia, English)
    "air_quality": ("PM2.5", "PM2.5"),
    "water_level": ("Tinggi muka air", "River level"),
    "camera_offline": ("Kamera offline", "Camera offline"),
    "opd_late": ("Data OPD terlambat", "OPD data late"),
    "kpi": ("Indikator di luar batas", "Indicator out of bounds"),
}
CATEGORY_EN = {
    "Tidak sehat": "Unhealthy",
    "Sangat tidak sehat": "Very unhealthy",
    "Berbahaya": "Hazardous",
    "Perlu perhatian": "Needs attention",
    "Di luar batas": "Out of bounds",
}


@dataclass(frozen=True)
class LiveSnapshot:
    """What the evaluator reads from Redis in one round."""

    sensors: dict[str, tuple[float, float]] = field(default_factory=dict)  # id -> (value, ts)
    kpis: dict[str, tuple[float, float]] = field(default_factory=dict)
    cameras: dict[str, CameraHealth | None] = field(default_factory=dict)
    opds: dict[str, float] = field(default_factory=dict)  # OPD id -> epoch of its last entry


@dataclass(frozen=True)
class Condition:
    rule: str
    kind: str
    subject: str
    level: int  # index into the rule's levels
    severity: str
    label: str  # the category or state, Bahasa Indonesia ("Siaga 1", "OFFLINE")
    value: float | None
    message: str
    message_en: str
    subject_name: str
    region_kode: str | None = None
    lat: float | None = None
    lng: float | None = None

    @property
    def key(self) -> Key:
        return (self.rule, self.subject)


@dataclass(frozen=True)
class Timing:
    camera_stalled_after_s: float = 3.0
    camera_offline_after_s: float = 10.0


def _num(value: float, decimals: int = 1) -> str:
    text = f"{value:,.{decimals}f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return text


def _duration(seconds: float) -> tuple[str, str]:
    if seconds < 3600:
        minutes = max(1, int(seconds // 60))
        return f"{minutes} menit", f"{minutes} min"
    if seconds < 2 * DAY_S:
        hours = int(seconds // 3600)
        return f"{hours} jam", f"{hours} h"
    days = int(seconds // DAY_S)
    return f"{days} hari", f"{days} days"


def _level_for(rule: AlertRule, rank_of: Any) -> int | None:
    """The worst level of `rule` whose threshold is reached; `rank_of(level)` says if it is."""
    found = None
    for index, level in enumerate(rule.levels):
        if rank_of(level):
            found = index
    return found


def evaluate_rules(
    city: City,
    rules: list[AlertRule],
    snapshot: LiveSnapshot,
    now: float,
    started: float,
    timing: Timing = Timing(),
) -> tuple[dict[Key, Condition], set[Key]]:
    """(conditions now, keys known to be normal). `started`: when the evaluator started, the
    longest a camera that never reported can be known to have been offline."""
    conditions: dict[Key, Condition] = {}
    normal: set[Key] = set()
    config = city.config

    def found(rule: AlertRule, subject: str, level: int | None, make: Any) -> None:
        if level is None:
            normal.add((rule.id, subject))
        else:
            condition = make(level)
            conditions[condition.key] = condition

    for rule in rules:
        wanted = set(rule.subjects) if rule.subjects else None
        if rule.kind in ("air_quality", "water_level"):
            for sensor in config.sensors:
                if sensor.kind != rule.kind or (wanted and sensor.id not in wanted):
                    continue
                point = snapshot.sensors.get(sensor.id)
                if point is None:
                    continue  # no data: not normal either
                value = point[0]
                category = sensor_category(sensor, value)
                if rule.kind == "air_quality":
                    label_id, label_en = "PM2.5", "PM2.5"
                    value_text = f"{_num(value)} {sensor.unit}"
                else:
                    label_id, label_en = "Tinggi muka air", "River level"
                    value_text = f"{_num(value, 0)} {sensor.unit}"

                def make(level: int, s=sensor, c=category, v=value, vt=value_text,
                         li=label_id, le=label_en, r=rule) -> Condition:  # fmt: skip
                    return Condition(
                        r.id, r.kind, s.id, level, r.levels[level].severity, c.label, v,
                        f"{li} {vt} di {s.name}: {c.label}",
                        f"{le} {vt} at {s.name}: {CATEGORY_EN.get(c.label, c.label)}",
                        s.name, s.region, s.lat, s.lng,
                    )  # fmt: skip

                names = _category_names(rule)
                level = _level_for(
                    rule, lambda lv, c=category, n=names: n.index(lv.category) <= _rank(c.label, n)
                )
                found(rule, sensor.id, level, make)
        elif rule.kind == "camera_offline":
            for camera in config.cameras:
                if wanted and camera.id not in wanted:
                    continue
                if camera.id not in snapshot.cameras:
                    continue
                health = snapshot.cameras[camera.id]
                status = camera_status(
                    health, now, timing.camera_stalled_after_s, timing.camera_offline_after_s
                )
                if status.state != "offline":
                    normal.add((rule.id, camera.id))
                    continue
                if status.last_frame_ts is not None:
                    offline_for = now - status.last_frame_ts
                else:
                    offline_for = now - started
                level = _level_for(rule, lambda lv, o=offline_for: o >= (lv.after_s or 0))

                def make(level: int, c=camera, o=offline_for, r=rule, e=status.error) -> Condition:
                    did, den = _duration(o)
                    reason = f" ({e})" if e else ""
                    return Condition(
                        r.id, r.kind, c.id, level, r.levels[level].severity, "OFFLINE", o,
                        f"Kamera {c.name} offline sejak {did} lalu{reason}",
                        f"Camera {c.name} offline for {den}{reason}",
                        c.name, c.region, c.lat, c.lng,
                    )  # fmt: skip

                found(rule, camera.id, level, make)
        elif rule.kind == "opd_late":
            for opd in config.opds:
                if wanted and opd.id not in wanted:
                    continue
                cadences = [
                    k.cadence
                    for k in config.kpis
                    if k.owner == opd.id and k.source.type == "operator"
                ]
                periods = [CADENCE_PERIOD_S[c] for c in cadences if c in CADENCE_PERIOD_S]
                if not periods:
                    continue
                period = min(periods)
                last = snapshot.opds.get(opd.id)
                # Never entered: late by one period at least (as the intake page counts it).
                late_periods = (now - last) / period if last is not None else 1.0
                level = _level_for(rule, lambda lv, p=late_periods: p >= (lv.after_periods or 0))

                def make(level: int, o=opd, last=last, r=rule) -> Condition:
                    if last is None:
                        text_id = f"{o.short_name} belum pernah mengirim data operator"
                        text_en = f"{o.short_name} has never sent operator data"
                    else:
                        did, den = _duration(now - last)
                        text_id = f"{o.short_name} terlambat mengirim data: terakhir {did} lalu"
                        text_en = f"{o.short_name} is late with its data: last entry {den} ago"
                    return Condition(
                        r.id, r.kind, o.id, level, r.levels[level].severity, "TERLAMBAT",
                        None if last is None else round((now - last) / 3600, 1),
                        text_id, text_en, o.short_name,
                    )  # fmt: skip

                found(rule, opd.id, level, make)
        elif rule.kind == "kpi":
            names = _category_names(rule)
            for kpi in config.kpis:
                if wanted and kpi.id not in wanted:
                    continue
                point = snapshot.kpis.get(kpi.id)
                if point is None:
                    continue
                category = kpi_category(kpi, point[0])
                level = _level_for(
                    rule, lambda lv, c=category, n=names: n.index(lv.category) <= _rank(c.label, n)
                )

                def make(level: int, k=kpi, v=point[0], c=category, r=rule) -> Condition:
                    vt = f"{_num(v, k.decimals)} {k.unit}"
                    return Condition(
                        r.id, r.kind, k.id, level, r.levels[level].severity, c.label, v,
                        f"{k.name.id} {vt}: {c.label}",
                        f"{k.name.en} {vt}: {CATEGORY_EN.get(c.label, c.label)}",
                        k.name.id,
                    )  # fmt: skip

                found(rule, kpi.id, level, make)
    return conditions, normal


def _category_names(rule: AlertRule) -> list[str]:
    from data.categories import KPI_BAD, KPI_WARN, PM25_BANDS, WATER_SIAGA

    if rule.kind == "air_quality":
        return [c.label for _, c in PM25_BANDS if c.level > 0]
    if rule.kind == "water_level":
        return [c.label for c in WATER_SIAGA]
    return [KPI_WARN.label, KPI_BAD.label]


def _rank(label: str, names: list[str]) -> int:
    """Where a category stands among a rule's category names; -1: below all (normal)."""
    return names.index(label) if label in names else -1


# -- the state machine ---------------------------------------------------------------------------


@dataclass
class ActiveAlert:
    uid: str
    condition: Condition  # as at opening or the last escalation
    status: str  # open | acknowledged (as last seen in SQL)
    opened: float
    updated: float
    escalated: float | None = None
    cleared: float | None = None

    def fields(self) -> dict[str, Any]:
        """The evaluator's fields of the live list entry."""
        c = self.condition
        return {
            "id": self.uid,
            "rule": c.rule,
            "kind": c.kind,
            "subject": c.subject,
            "subject_name": c.subject_name,
            "region_kode": c.region_kode,
            "lat": c.lat,
            "lng": c.lng,
            "severity": c.severity,
            "level_label": c.label,
            "value": c.value,
            "message": c.message,
            "message_en": c.message_en,
            "opened_ms": int(self.opened * 1000),
            "updated_ms": int(self.updated * 1000),
            "escalated_ms": None if self.escalated is None else int(self.escalated * 1000),
            "cleared_ms": None if self.cleared is None else int(self.cleared * 1000),
        }


@dataclass(frozen=True)
class Change:
    action: str  # open | escalate | clear | recur | auto_resolve
    alert: ActiveAlert
    at: float


@dataclass
class _Tracker:
    since: dict[int, float] = field(default_factory=dict)  # level -> held at or above since
    normal_since: float | None = None
    suppressed_level: int | None = None  # resolved by a person while the condition held


class AlertEngine:
    def __init__(self, rules: list[AlertRule]) -> None:
        self.rules = {rule.id: rule for rule in rules}
        self.active: dict[Key, ActiveAlert] = {}
        self._trackers: dict[Key, _Tracker] = {}

    def load(self, alerts: list[dict[str, Any]]) -> None:
        """Adopt unresolved alerts from SQL or the live list, so a restart opens no duplicate.
        Their conditions hold until the next step says otherwise. Only alerts of its own rules:
        an incident a person reported (kind "incident") is never adopted, so never cleared or
        resolved by the evaluator, even should a city name one of its rules "incident"."""
        for item in alerts:
            rule = self.rules.get(item.get("rule") or "")
            if rule is None or item.get("status") == "resolved":
                continue
            if (
                item.get("kind") == alert_store.INCIDENT
                or (item.get("kind") or rule.kind) != rule.kind
            ):
                continue
            severity = item.get("severity") or "info"
            level = max(
                (i for i, lv in enumerate(rule.levels) if lv.severity == severity),
                default=0,
            )
            condition = Condition(
                rule.id,
                rule.kind,
                item["subject"],
                level,
                severity,
                item.get("level_label") or "",
                item.get("value"),
                item.get("message") or "",
                item.get("message_en") or "",
                item.get("subject_name") or item["subject"],
                item.get("region_kode"),
                item.get("lat"),
                item.get("lng"),
            )
            ms = item.get("cleared_ms")
            escalated = item.get("escalated_ms")
            self.active[condition.key] = ActiveAlert(
                uid=item["id"],
                condition=condition,
                status=item.get("status") or "open",
                opened=(item.get("opened_ms") or 0) / 1000,
                updated=(item.get("updated_ms") or 0) / 1000,
                escalated=None if escalated is None else escalated / 1000,
                cleared=None if ms is None else ms / 1000,
            )

    def sync_statuses(self, statuses: dict[str, str]) -> None:
        """Statuses set by people (from SQL): drop resolved alerts, note acknowledged ones."""
        for key, alert in list(self.active.items()):
            status = statuses.get(alert.uid)
            if status == "resolved":
                del self.active[key]
                tracker = self._trackers.setdefault(key, _Tracker())
                if alert.cleared is None:
                    tracker.suppressed_level = alert.condition.level
            elif status in ("open", "acknowledged"):
                alert.status = status

    def reinstate(self, alert: ActiveAlert, status: str) -> None:
        """An auto-resolve the database refused (a person acted first): keep the alert."""
        alert.status = status
        self.active[(alert.condition.rule, alert.condition.subject)] = alert

    def step(self, conditions: dict[Key, Condition], normal: set[Key], now: float) -> list[Change]:
        changes: list[Change] = []
        for key in sorted(set(conditions) | normal | set(self.active)):
            rule = self.rules.get(key[0])
            if rule is None:
                continue
            tracker = self._trackers.setdefault(key, _Tracker())
            condition = conditions.get(key)
            alert = self.active.get(key)
            if condition is not None:
                tracker.normal_since = None
                for level in list(tracker.since):
                    if level > condition.level:
                        del tracker.since[level]
                for level in range(condition.level + 1):
                    tracker.since.setdefault(level, now)
                held = [lv for lv, since in tracker.since.items() if now - since >= rule.hold_s]
                held_level = max(held) if held else None
                if alert is not None and alert.cleared is not None:
                    alert.cleared = None
                    alert.updated = now
                    changes.append(Change("recur", alert, now))
                if held_level is None:
                    continue
                effective = _at_level(condition, rule, held_level)
                if alert is None:
                    if tracker.suppressed_level is not None:
                        if held_level <= tracker.suppressed_level:
                            continue
                        tracker.suppressed_level = None
                    alert = ActiveAlert(
                        uid=uuid.uuid4().hex[:16],
                        condition=effective,
                        status="open",
                        opened=now,
                        updated=now,
                    )
                    self.active[key] = alert
                    changes.append(Change("open", alert, now))
                elif SEVERITY_ORDER[effective.severity] > SEVERITY_ORDER[
                    alert.condition.severity
                ] or (
                    held_level > alert.condition.level
                    and effective.severity == alert.condition.severity
                ):
                    alert.condition = effective
                    alert.escalated = now
                    alert.updated = now
                    changes.append(Change("escalate", alert, now))
            elif key in normal:
                tracker.since.clear()
                tracker.suppressed_level = None
                if alert is not None and alert.cleared is None:
                    if tracker.normal_since is None:
                        tracker.normal_since = now
                    if now - tracker.normal_since >= rule.clear_s:
                        alert.cleared = now
                        alert.updated = now
                        changes.append(Change("clear", alert, now))
            else:  # no data: neither holds nor clears
                tracker.normal_since = None
            if (
                alert is not None
                and condition is None
                and alert.cleared is not None
                and alert.status == "open"
                and rule.auto_resolve_s is not None
                and now - alert.cleared >= rule.auto_resolve_s
            ):
                del self.active[key]
                changes.append(Change("auto_resolve", alert, now))
        return changes


def _at_level(condition: Condition, rule: AlertRule, level: int) -> Condition:
    """The condition as an alert of `level`, which may be milder than right now when the worse
    level has not held long enough yet: then it is named by that level's category."""
    if level == condition.level:
        return condition
    changed = replace(condition, level=level, severity=rule.levels[level].severity)
    category = rule.levels[level].category
    if category and condition.message.endswith(f": {condition.label}"):
        old_en = CATEGORY_EN.get(condition.label, condition.label)
        changed = replace(
            changed,
            label=category,
            message=condition.message.removesuffix(condition.label) + category,
            message_en=condition.message_en.removesuffix(old_en)
            + CATEGORY_EN.get(category, category),
        )
    return changed


# -- the worker: Redis in, SQL and Redis out ------------------------------------------------------


def change_rows(change: Change) -> tuple[Any, dict[str, Any]]:
    """(SQL statement, audit row) for one change."""
    alert = change.alert
    ms = int(change.at * 1000)
    fields = alert.fields()
    c = alert.condition
    detail: dict[str, Any] = {"severity": c.severity, "level": c.label, "value": c.value}
    if change.action == "open":
        row = {k: v for k, v in fields.items() if k != "id"}
        statement = alerts_table.insert().values(
            uid=alert.uid, city="", status="open", **row
        )  # city filled in by the writer
    elif change.action == "auto_resolve":
        statement = (
            update(alerts_table)
            .where(alerts_table.c.uid == alert.uid, alerts_table.c.status == "open")
            .values(status="resolved", resolved_ms=ms, resolved_by="sistem", updated_ms=ms)
        )
    else:
        values = {
            k: v
            for k, v in fields.items()
            if k not in ("id", "opened_ms", "rule", "kind", "subject")
        }
        statement = update(alerts_table).where(alerts_table.c.uid == alert.uid).values(**values)
    return statement, audit_row(
        ms, alert_store.SYSTEM_ACTOR, f"alert.{change.action}", alert.uid, detail
    )


class AlertWorker:
    """Runs the rules every `interval_s` in the ingest role. Redis or SQL away: logged once,
    retried every round; changes wait in memory, in order, until SQL takes them."""

    RECONCILE_S = 60.0  # rebuild the live list from SQL this often (heals any divergence)

    def __init__(
        self,
        city: City,
        store: LiveStore,
        engine: Engine,
        interval_s: float = 5.0,
        timing: Timing = Timing(),
        clock: Any = time.time,
    ) -> None:
        self.city = city
        self.store = store
        self.engine = engine
        self.live = AlertLive(store.client, store.keys.namespace)
        self.interval_s = interval_s
        self.timing = timing
        self.clock = clock
        self.rules = city.config.alert_rules
        self.engine_state = AlertEngine(self.rules)
        self.started = clock()
        self.loaded = False
        self.pending: list[Change] = []
        self._dirty: dict[str, dict[str, Any]] = {}  # uid -> fields for the live list
        self._live_stale = True  # the live list must be rebuilt (first round, Redis restart)
        self._last_reconcile = 0.0
        self._redis_down = False
        self._sql_down = False
        self.rounds = 0

    # -- one round -------------------------------------------------------------------------------
    def tick(self) -> list[Change]:
        now = self.clock()
        if not self.loaded:
            self._load()
            if not self.loaded:
                return []
        snapshot = self._read_snapshot()
        if snapshot is None:
            return []
        self._sync_statuses()
        conditions, normal = evaluate_rules(
            self.city, self.rules, snapshot, now, self.started, self.timing
        )
        changes = self.engine_state.step(conditions, normal, now)
        for change in changes:
            self.pending.append(change)
            fields = change.alert.fields()
            if change.action == "open":
                fields["status"] = "open"
            if change.action == "auto_resolve":
                fields.update(status="resolved", resolved_ms=int(now * 1000), resolved_by="sistem")
            self._dirty.setdefault(change.alert.uid, {}).update(fields)
        self._flush_sql()
        self._publish(now)
        self.rounds += 1
        return changes

    def _load(self) -> None:
        try:
            alerts = alert_store.load_unresolved(self.engine, self.city.slug)
        except SQLAlchemyError as exc:
            self._sql_trouble(exc)
            try:  # the live list knows the open alerts too
                alerts = [a for a in self.live.all() if a.get("status") != "resolved"]
            except redis.RedisError as redis_exc:
                self._redis_trouble(redis_exc)
                return
            if not alerts and self.live.needs_rebuild():
                return  # neither knows: wait rather than open duplicates
        self.engine_state.load(alerts)
        self.loaded = True

    def _read_snapshot(self) -> LiveSnapshot | None:
        config = self.city.config
        try:
            pipe = self.store.client.pipeline(transaction=False)
            for camera in config.cameras:
                pipe.hgetall(self.store.keys.camera_health(camera.id))
            healths = pipe.execute()
            _, sensors = self.store.sensors()
            _, kpis = self.store.kpis()
            opds = self.store.opd_freshness()
            needs_rebuild = self.live.needs_rebuild()
        except redis.RedisError as exc:
            self._redis_trouble(exc)
            return None
        if self._redis_down:
            log.info("alerts: Redis is back")
            self._redis_down = False
        if needs_rebuild:
            self._live_stale = True
        return LiveSnapshot(
            sensors=sensors or {},
            kpis=kpis or {},
            cameras={
                c.id: decode_health(raw) for c, raw in zip(config.cameras, healths, strict=True)
            },
            opds=opds,
        )

    def _sync_statuses(self) -> None:
        uids = [a.uid for a in self.engine_state.active.values()]
        if not uids or (self._sql_down and self.pending):
            return
        try:
            found = alert_store.statuses(self.engine, uids)
        except SQLAlchemyError as exc:
            self._sql_trouble(exc)
            return
        self.engine_state.sync_statuses(found)

    def _flush_sql(self) -> None:
        if not self.pending:
            return
        refused: list[Change] = []
        try:
            with self.engine.begin() as conn:
                for change in self.pending:
                    statement, audit = change_rows(change)
                    if change.action == "open":
                        statement = statement.values(city=self.city.slug)
                    result = conn.execute(statement)
                    if change.action == "auto_resolve" and result.rowcount != 1:
                        refused.append(change)
                        continue
                    conn.execute(audit_table.insert(), audit)
        except SQLAlchemyError as exc:
            self._sql_trouble(exc)
            return
        if self._sql_down:
            log.info("alerts: database is back; %d queued changes written", len(self.pending))
            self._sql_down = False
            self._live_stale = True  # statuses set meanwhile are in SQL only
        self.pending = []
        for change in refused:
            status = alert_store.statuses(self.engine, [change.alert.uid]).get(change.alert.uid)
            if status and status != "resolved":
                self.engine_state.reinstate(change.alert, status)
            self._dirty.pop(change.alert.uid, None)
            self._live_stale = True

    def _publish(self, now: float) -> None:
        try:
            if self._live_stale or now - self._last_reconcile >= self.RECONCILE_S:
                self._rebuild_live(now)
            elif self._dirty:
                self.live.merge(self._dirty, create=True)
            self._dirty = {}
        except redis.RedisError as exc:
            self._redis_trouble(exc)
            self._live_stale = True

    def _rebuild_live(self, now: float) -> None:
        """The live list from SQL plus what SQL has not taken yet; without SQL, from memory."""
        by_uid: dict[str, dict[str, Any]] = {}
        if not self._sql_down:
            try:
                for item in alert_store.load_live_list(self.engine, self.city.slug, now):
                    by_uid[item["id"]] = item
            except SQLAlchemyError as exc:
                self._sql_trouble(exc)
        if self._sql_down:
            for item in self.live.all():  # keep what people did, as far as Redis knows it
                by_uid[item["id"]] = item
        for alert in self.engine_state.active.values():
            entry = by_uid.setdefault(alert.uid, {"status": alert.status})
            entry.update(alert.fields())
        for uid, fields in self._dirty.items():
            by_uid.setdefault(uid, {}).update(fields)
        self.live.replace(alert_store.sort_alerts(by_uid.values()))
        self._live_stale = self._sql_down
        self._last_reconcile = now

    def _redis_trouble(self, exc: Exception) -> None:
        if not self._redis_down:
            log.warning("alerts: Redis unavailable, evaluation paused (retrying): %s", exc)
            self._redis_down = True

    def _sql_trouble(self, exc: Exception) -> None:
        if not self._sql_down:
            log.warning("alerts: database unavailable, changes kept in memory (retrying): %s", exc)
            self._sql_down = True

    def run(self, stop: threading.Event) -> None:
        log.info("alerts: %d rules, every %.1f s", len(self.rules), self.interval_s)
        while True:
            try:
                self.tick()
            except Exception:  # a bug in one round must not stop alerting
                log.exception("alert round failed")
            if stop.wait(self.interval_s):
                break


def start_alerts(
    city: City,
    store: LiveStore,
    engine: Engine,
    stop: threading.Event,
    interval_s: float = 5.0,
    timing: Timing = Timing(),
) -> threading.Thread:
    worker = AlertWorker(city, store, engine, interval_s, timing)
    thread = threading.Thread(target=worker.run, args=(stop,), name="alerts", daemon=True)
    thread.start()
    return thread
