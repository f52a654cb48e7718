"""Where alerts live: SQL is the record (table `alerts`, every step audited in `audit_log`), and a
Redis hash is the live list the wall reads. Also the operators' actions on an alert.

Redis keys, under the same namespace as data/live_keys.py (`komando:<city>`):

    <ns>:alerts:live      hash  alert uid -> JSON of the alert (see `alert_dict`): every alert
                                that is not resolved, and resolved ones for RESOLVED_VISIBLE_S
    <ns>:alerts:version   int   bumped by every change to alerts:live; missing after a Redis
                                restart, which tells the evaluator to rebuild the list from SQL

Two processes write the live list: the evaluator (ingest role) and the actions (web role). Each
writes only its own fields of an alert, merged into the stored JSON by a Lua script, so an
acknowledgement is never overwritten by an evaluator that had not seen it yet.

Incidents (`kind="incident"`, rule `incident`) are alerts a person reports (a flood, a fire, a
fallen tree, learned of by phone, a report or a camera): `AlertDesk.report_incident`. They go
through the same list, statuses, actions and audit; the evaluator never adopts, clears or
resolves them (data/alerts.py leaves alone every alert that is not its rules').

Lifecycle: open -> acknowledged -> resolved. Resolving straight from open is allowed (a false
alarm, or a condition handled before anyone pressed "Akui"). Assigning an open alert also
acknowledges it: whoever hands it to an OPD has seen it. A resolved alert takes no further action.
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis
from sqlalchemy import Engine, select, update

from data.db.models import Alert, AuditEntry
from data.live_keys import READ_IF_CHANGED_LUA, KeySpace
from data.regions import region_tree

if TYPE_CHECKING:
    from data.city import City

log = logging.getLogger(__name__)

alerts_table = Alert.__table__
audit_table = AuditEntry.__table__

STATUSES = ("open", "acknowledged", "resolved")
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
RESOLVED_VISIBLE_S = 15 * 60  # a resolved alert stays on the list this long, marked "selesai"
SYSTEM_ACTOR = "sistem"

INCIDENT = "incident"  # the kind and the rule of an alert a person reported


@dataclass(frozen=True)
class IncidentCategory:
    id: str
    label: str  # Bahasa Indonesia
    label_en: str
    glyph: str  # on the map's marker
    lead: str  # how a message starts: "Banjir di …"
    lead_en: str


INCIDENT_CATEGORIES = {
    c.id: c
    for c in (
        IncidentCategory("banjir", "Banjir", "Flood", "B", "Banjir", "Flood"),
        IncidentCategory("kebakaran", "Kebakaran", "Fire", "K", "Kebakaran", "Fire"),
        IncidentCategory(
            "kecelakaan",
            "Kecelakaan lalu lintas",
            "Traffic accident",
            "KL",
            "Kecelakaan lalu lintas",
            "Traffic accident",
        ),
        IncidentCategory(
            "pohon_tumbang", "Pohon tumbang", "Fallen tree", "P", "Pohon tumbang", "Fallen tree"
        ),
        IncidentCategory(
            "jalan_rusak", "Jalan rusak", "Damaged road", "J", "Jalan rusak", "Damaged road"
        ),
        IncidentCategory("lainnya", "Lainnya", "Other", "L", "Kejadian", "Incident"),
    )
}
DESCRIPTION_MIN = 3
DESCRIPTION_MAX = 500

# Fields the evaluator owns; the actions own the others (status, acknowledged_*, assignee, …).
EVALUATOR_FIELDS = (
    "id",
    "rule",
    "kind",
    "subject",
    "subject_name",
    "region_kode",
    "lat",
    "lng",
    "severity",
    "level_label",
    "value",
    "message",
    "message_en",
    "opened_ms",
    "updated_ms",
    "escalated_ms",
    "cleared_ms",
)
ALL_FIELDS = (
    *EVALUATOR_FIELDS,
    "status",
    "acknowledged_ms",
    "acknowledged_by",
    "assignee",
    "assigned_by",
    "resolved_ms",
    "resolved_by",
    "note",
)


class AlertKeys:
    def __init__(self, namespace: str) -> None:
        self.namespace = KeySpace(namespace).namespace

    @property
    def live(self) -> str:
        return f"{self.namespace}:alerts:live"

    @property
    def version(self) -> str:
        return f"{self.namespace}:alerts:version"


# Merge JSON fields into stored alerts and bump the version once. ARGV: create, then pairs of
# uid, JSON object. With create = 0 an alert that is not in the hash is left out (an action on
# an alert the list no longer holds must not leave a half alert behind).
MERGE_LUA = """
local changed = 0
for i = 2, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  local fields = cjson.decode(ARGV[i + 1])
  if current then
    local merged = cjson.decode(current)
    for k, v in pairs(fields) do merged[k] = v end
    redis.call('HSET', KEYS[1], ARGV[i], cjson.encode(merged))
    changed = changed + 1
  elseif ARGV[1] == '1' then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    changed = changed + 1
  end
end
if changed > 0 then
  redis.call('INCR', KEYS[2])
end
return changed
"""

# Replace the whole list (a rebuild) and bump the version, atomically. ARGV: uid, JSON, ...
REPLACE_LUA = """
redis.call('DEL', KEYS[1])
for i = 1, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
return redis.call('INCR', KEYS[2])
"""


def _encode(fields: dict[str, Any]) -> str:
    # JSON null would become cjson.null in Lua and survive the merge as null: what we want.
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


def alert_dict(row: Any) -> dict[str, Any]:
    """A SQL row (or mapping) as the live list holds it; `id` is the uid."""
    mapping = dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
    out = {name: mapping.get(name) for name in ALL_FIELDS if name != "id"}
    out["id"] = mapping["uid"]
    return out


def sort_alerts(alerts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Unresolved first; among them not-yet-normal first, then the worst, then the newest."""

    def key(alert: dict[str, Any]) -> tuple:
        return (
            alert.get("status") == "resolved",
            alert.get("cleared_ms") is not None,
            -SEVERITY_RANK.get(alert.get("severity") or "info", 0),
            -(alert.get("opened_ms") or 0),
        )

    return sorted(alerts, key=key)


def decode_alerts(raw: dict[bytes | str, bytes | str]) -> list[dict[str, Any]]:
    alerts = []
    for blob in raw.values():
        try:
            item = json.loads(blob)
        except ValueError:
            continue
        if isinstance(item, dict) and item.get("id"):
            alerts.append(item)
    return sort_alerts(alerts)


class AlertLive:
    """Synchronous access to the live list, for the evaluator and the actions."""

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.keys = AlertKeys(namespace)
        self._merge = client.register_script(MERGE_LUA)
        self._replace = client.register_script(REPLACE_LUA)

    def merge(self, changes: dict[str, dict[str, Any]], create: bool = False) -> int:
        """Merge `changes` (uid -> fields) into the stored alerts; `create` adds missing ones."""
        if not changes:
            return 0
        args: list[str] = ["1" if create else "0"]
        for uid, fields in changes.items():
            args += [uid, _encode(fields)]
        return int(self._merge(keys=[self.keys.live, self.keys.version], args=args))

    def replace(self, alerts: Iterable[dict[str, Any]]) -> None:
        args: list[str] = []
        for alert in alerts:
            args += [alert["id"], _encode(alert)]
        self._replace(keys=[self.keys.live, self.keys.version], args=args)

    def needs_rebuild(self) -> bool:
        return not self.client.exists(self.keys.version)

    def all(self) -> list[dict[str, Any]]:
        return decode_alerts(self.client.hgetall(self.keys.live))

    def version(self) -> str:
        value = self.client.get(self.keys.version)
        return value.decode() if value is not None else "0"

    def remove(self, uids: Iterable[str]) -> None:
        uids = list(uids)
        if uids:
            pipe = self.client.pipeline(transaction=True)
            pipe.hdel(self.keys.live, *uids)
            pipe.incr(self.keys.version)
            pipe.execute()


class AlertFeed:
    """The web role's view of the live list: one round trip, nothing but the version number on
    the wire when the list has not changed (the wall then answers 204)."""

    def __init__(self, reader: Any) -> None:  # data.live_reader.LiveReader
        self.reader = reader
        self.keys = AlertKeys(reader.keys.namespace)
        self._script = None
        self._script_client = None

    async def active(self, known_version: str = "") -> tuple[str, list[dict[str, Any]] | None]:
        """(version, alerts sorted for display) or (version, None) when `known_version` is
        current."""
        client = self.reader.client
        if self._script is None or self._script_client is not client:
            self._script = client.register_script(READ_IF_CHANGED_LUA)
            self._script_client = client
        reply = await self._script(
            keys=[self.keys.version, self.keys.live], args=[known_version], client=client
        )
        version = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
        if len(reply) == 1:
            return version, None
        flat = reply[1]
        return version, decode_alerts(dict(zip(flat[::2], flat[1::2], strict=True)))


# -- SQL ---------------------------------------------------------------------------------------


def load_unresolved(engine: Engine, city: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(alerts_table).where(
                alerts_table.c.city == city, alerts_table.c.status != "resolved"
            )
        ).all()
    return [alert_dict(r) for r in rows]


def load_live_list(engine: Engine, city: str, now: float) -> list[dict[str, Any]]:
    """What the wall should show: unresolved alerts and recently resolved ones."""
    cutoff = int((now - RESOLVED_VISIBLE_S) * 1000)
    with engine.connect() as conn:
        rows = conn.execute(
            select(alerts_table).where(
                alerts_table.c.city == city,
                (alerts_table.c.status != "resolved") | (alerts_table.c.resolved_ms >= cutoff),
            )
        ).all()
    return [alert_dict(r) for r in rows]


def statuses(engine: Engine, uids: Iterable[str]) -> dict[str, str]:
    uids = list(uids)
    if not uids:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(alerts_table.c.uid, alerts_table.c.status).where(alerts_table.c.uid.in_(uids))
        ).all()
    return {r.uid: r.status for r in rows}


def history(engine: Engine, city: str, limit: int = 100) -> list[dict[str, Any]]:
    """The newest alerts of the city, resolved ones included."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(alerts_table)
            .where(alerts_table.c.city == city)
            .order_by(alerts_table.c.id.desc())
            .limit(limit)
        ).all()
    return [alert_dict(r) for r in rows]


def audit_row(now_ms: int, actor: str, action: str, uid: str, detail: dict[str, Any]) -> dict:
    return {
        "ts_ms": now_ms,
        "actor": actor[:64],
        "action": action,
        "subject": f"alert/{uid}",
        "detail": json.dumps(detail, ensure_ascii=False),
    }


# -- actions -----------------------------------------------------------------------------------


class AlertActionError(ValueError):
    """An action that cannot be done; `str()` is Bahasa Indonesia, `.en` English."""

    def __init__(self, message: str, en: str) -> None:
        super().__init__(message)
        self.en = en


@dataclass(frozen=True)
class IncidentPlace:
    kode: str
    name: str  # "Kec. Cambai", "Kel. Cambai, Kec. Cambai"
    lat: float
    lng: float


@cache
def _centroids(path: Path) -> dict[str, tuple[float, float, str]]:
    """kode -> (centroid lat, centroid lng, jenis) of a boundary file's features."""
    data = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for feature in data.get("features", []):
        props = feature.get("properties", {})
        if props.get("centroid_lat") is not None and props.get("centroid_lng") is not None:
            out[props["kode"]] = (
                float(props["centroid_lat"]),
                float(props["centroid_lng"]),
                str(props.get("jenis") or ""),
            )
    return out


def incident_place(city: City, kode: str) -> IncidentPlace | None:
    """A kecamatan or desa/kelurahan of the city, named and placed at its centroid; None for
    anything else (the city itself included: an incident happens somewhere)."""
    tree = region_tree(city)
    region = tree.regions.get(kode or "")
    if region is None or region.level not in ("kecamatan", "desa"):
        return None
    config = city.config
    if region.level == "kecamatan":
        centroid = next(
            (
                (float(p["centroid_lat"]), float(p["centroid_lng"]), "")
                for p in (f.get("properties", {}) for f in city.kecamatan_geojson["features"])
                if p.get("kode") == kode and p.get("centroid_lat") is not None
            ),
            None,
        )
        name = f"Kec. {region.name}"
    else:
        desa_file = config.boundaries.desa_kelurahan
        centroid = _centroids(city.folder / desa_file).get(kode) if desa_file else None
        kecamatan = tree.regions.get(region.parent or "")
        prefix = "Kel." if centroid and centroid[2] == "kelurahan" else "Desa"
        name = f"{prefix} {region.name}" + (f", Kec. {kecamatan.name}" if kecamatan else "")
    if centroid is None:
        return None
    return IncidentPlace(kode, name, centroid[0], centroid[1])


def incident_message(category: IncidentCategory, place: str, description: str) -> tuple[str, str]:
    """("Banjir di Kec. Cambai: <description>", "Flood in Kec. Cambai: <description>")."""
    return (
        f"{category.lead} di {place}: {description}",
        f"{category.lead_en} in {place}: {description}",
    )


class AlertDesk:
    """The operators' actions. Synchronous (SQL and Redis): a web callback calls them with
    `await asyncio.to_thread(...)`. Each writes the record and an audit row in one transaction,
    then the live list; if Redis is away the record is kept and the evaluator's next rebuild
    brings the list up to date.

    `city`: the city's slug, or the loaded City (needed to report incidents: its regions)."""

    def __init__(self, engine: Engine, live: AlertLive, city: str | City) -> None:
        self.engine = engine
        self.live = live
        self.city_config = None if isinstance(city, str) else city
        self.city = city if isinstance(city, str) else city.slug

    def report_incident(
        self,
        category: str,
        severity: str,
        region_kode: str,
        description: str,
        actor: str,
        lat: float | None = None,
        lng: float | None = None,
        now: float | None = None,
    ) -> str:
        """Record an incident a person reported; its uid. Placed at `lat`/`lng` when given,
        else at the region's centroid. Raises AlertActionError (Bahasa, `.en`) on bad input."""
        actor = (actor or "").strip()[:64]
        if not actor:
            raise AlertActionError("nama petugas wajib diisi", "the operator's name is required")
        found = INCIDENT_CATEGORIES.get(category or "")
        if found is None:
            raise AlertActionError("pilih jenis kejadian", "choose the kind of incident")
        if severity not in SEVERITY_RANK:
            raise AlertActionError("pilih tingkat kejadian", "choose the incident's severity")
        if self.city_config is None:
            raise AlertActionError("kota tidak dikenal", "unknown city")
        place = incident_place(self.city_config, region_kode)
        if place is None:
            raise AlertActionError(
                "pilih kecamatan atau desa/kelurahan tempat kejadian",
                "choose the kecamatan or desa/kelurahan where it happened",
            )
        description = (description or "").strip() if isinstance(description, str) else ""
        if len(description) < DESCRIPTION_MIN:
            raise AlertActionError(
                f"uraian kejadian minimal {DESCRIPTION_MIN} karakter",
                f"the description needs at least {DESCRIPTION_MIN} characters",
            )
        if len(description) > DESCRIPTION_MAX:
            raise AlertActionError(
                f"uraian kejadian maksimal {DESCRIPTION_MAX} karakter",
                f"the description may have at most {DESCRIPTION_MAX} characters",
            )
        if (lat is None) != (lng is None):
            raise AlertActionError("titik kejadian tidak lengkap", "incomplete location")
        if lat is not None and lng is not None:
            try:
                lat, lng = float(lat), float(lng)
            except (TypeError, ValueError):
                raise AlertActionError("titik kejadian tidak valid", "invalid location") from None
            if not (
                math.isfinite(lat)
                and math.isfinite(lng)
                and -90 <= lat <= 90
                and -180 <= lng <= 180
            ):
                raise AlertActionError("titik kejadian tidak valid", "invalid location")
        else:
            lat, lng = place.lat, place.lng
        message, message_en = incident_message(found, place.name, description)
        now_ms = int((time.time() if now is None else now) * 1000)
        uid = uuid.uuid4().hex[:16]
        fields: dict[str, Any] = {
            "rule": INCIDENT,
            "kind": INCIDENT,
            "subject": found.id,
            "subject_name": found.label,
            "region_kode": place.kode,
            "lat": lat,
            "lng": lng,
            "severity": severity,
            "level_label": found.label,
            "value": None,
            "message": message,
            "message_en": message_en,
            "opened_ms": now_ms,
            "updated_ms": now_ms,
            "status": "open",
        }
        with self.engine.begin() as conn:
            conn.execute(alerts_table.insert().values(uid=uid, city=self.city, **fields))
            conn.execute(
                audit_table.insert(),
                audit_row(
                    now_ms,
                    actor,
                    "incident.report",
                    uid,
                    {
                        "category": found.id,
                        "severity": severity,
                        "region_kode": place.kode,
                        "lat": lat,
                        "lng": lng,
                        "description": description,
                    },
                ),
            )
        live = {name: None for name in ALL_FIELDS} | fields | {"id": uid}
        try:
            self.live.merge({uid: live}, create=True)
        except redis.RedisError as exc:
            log.warning("incident %s recorded, live list not updated: %s", uid, exc)
        return uid

    def acknowledge(self, alert_id: str, actor: str, now: float | None = None) -> dict[str, Any]:
        return self._act(
            alert_id,
            actor,
            "alert.acknowledge",
            allowed=("open",),
            fields=lambda ms, who, _current: {
                "status": "acknowledged",
                "acknowledged_ms": ms,
                "acknowledged_by": who,
            },
            now=now,
        )

    def assign(
        self, alert_id: str, assignee: str, actor: str, now: float | None = None
    ) -> dict[str, Any]:
        assignee = (assignee or "").strip()[:64]
        if not assignee:
            raise AlertActionError("pilih kepada siapa peringatan ditugaskan", "choose an assignee")

        def fields(ms: int, who: str, current: Any) -> dict[str, Any]:
            changes: dict[str, Any] = {"assignee": assignee, "assigned_by": who}
            if current.status == "open":  # handing it on means it was seen
                changes.update(status="acknowledged", acknowledged_ms=ms, acknowledged_by=who)
            return changes

        return self._act(
            alert_id,
            actor,
            "alert.assign",
            allowed=("open", "acknowledged"),
            fields=fields,
            now=now,
            detail={"assignee": assignee},
        )

    def resolve(
        self, alert_id: str, actor: str, note: str = "", now: float | None = None
    ) -> dict[str, Any]:
        note = (note or "").strip()[:2000]
        return self._act(
            alert_id,
            actor,
            "alert.resolve",
            allowed=("open", "acknowledged"),
            fields=lambda ms, who, _current: {
                "status": "resolved",
                "resolved_ms": ms,
                "resolved_by": who,
                "note": note or None,
            },
            now=now,
            detail={"note": note} if note else None,
        )

    def _act(
        self,
        alert_id: str,
        actor: str,
        action: str,
        allowed: tuple[str, ...],
        fields: Any,
        now: float | None,
        detail: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        actor = (actor or "").strip()[:64]
        if not actor:
            raise AlertActionError("nama petugas wajib diisi", "the operator's name is required")
        now_ms = int((time.time() if now is None else now) * 1000)
        with self.engine.begin() as conn:
            current = conn.execute(
                select(alerts_table)
                .where(alerts_table.c.uid == alert_id, alerts_table.c.city == self.city)
                .with_for_update()
            ).first()
            if current is None:
                raise AlertActionError("peringatan tidak ditemukan", "alert not found")
            if current.status not in allowed:
                raise AlertActionError(
                    f"peringatan sudah berstatus {STATUS_LABELS_ID[current.status]}",
                    f"the alert is already {current.status}",
                )
            changes = fields(now_ms, actor, current)
            changes["updated_ms"] = now_ms
            done = conn.execute(
                update(alerts_table)
                .where(alerts_table.c.uid == alert_id, alerts_table.c.status == current.status)
                .values(**changes)
            )
            if done.rowcount != 1:  # changed between our read and our write
                raise AlertActionError(
                    "peringatan baru saja diubah orang lain; coba lagi",
                    "the alert was just changed by someone else; try again",
                )
            conn.execute(
                audit_table.insert(),
                audit_row(
                    now_ms,
                    actor,
                    action,
                    alert_id,
                    {"from": current.status, "to": changes.get("status", current.status)}
                    | (detail or {}),
                ),
            )
        try:
            self.live.merge({alert_id: changes})
        except redis.RedisError as exc:
            log.warning("alert %s: %s recorded, live list not updated: %s", alert_id, action, exc)
        return changes


STATUS_LABELS_ID = {"open": "baru", "acknowledged": "diakui", "resolved": "selesai"}
