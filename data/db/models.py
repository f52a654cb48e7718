"""SQLAlchemy 2 typed models: the record of a city (history, configuration, audit).

Times are integer epoch milliseconds (`*_ms`): portable between SQLite and PostgreSQL, cheap to
bind in bulk on the ingest hot path, and bucketed by hour or day with integer division. The hot
path writes through `Reading.__table__` with Core `executemany`, never ORM objects per row.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Region(Base):
    """A kota/kabupaten, kecamatan or desa/kelurahan, keyed by its Kemendagri kode wilayah."""

    __tablename__ = "regions"

    kode: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    level: Mapped[str] = mapped_column(String(16))  # kabkota | kecamatan | desa_kelurahan
    parent_kode: Mapped[str | None] = mapped_column(String(16), index=True)
    city: Mapped[str] = mapped_column(String(40), index=True)


class Opd(Base):
    """Organisasi Perangkat Daerah: a department that owns KPIs and enters their values."""

    __tablename__ = "opds"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    city: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(160))
    short_name: Mapped[str] = mapped_column(String(40))


class School(Base):
    __tablename__ = "schools"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    city: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(160))
    region_kode: Mapped[str] = mapped_column(String(16))
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)


class Sensor(Base):
    __tablename__ = "sensors"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    city: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(160))
    region_kode: Mapped[str] = mapped_column(String(16), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(20))


class Camera(Base):
    """A camera's identity and place. Its source URL is deliberately absent: it may carry
    credentials and lives only in the environment or a secrets file."""

    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    city: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(16))  # school | street
    region_kode: Mapped[str] = mapped_column(String(16))
    school_id: Mapped[str | None] = mapped_column(ForeignKey("schools.id"))
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)


class Reading(Base):
    """One value of one quantity from one sensor at one time; (sensor, quantity, time) is unique,
    so a re-sent reading is a no-op."""

    __tablename__ = "readings"

    sensor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantity: Mapped[str] = mapped_column(String(32), primary_key=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class KpiValue(Base):
    """A KPI's value for the city (region_kode '') or a region, at a time or for a period."""

    __tablename__ = "kpi_values"

    kpi_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region_kode: Mapped[str] = mapped_column(String(16), primary_key=True, default="")
    ts_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    period: Mapped[str | None] = mapped_column(String(16))  # e.g. 2026-11, 2026-W48, 2026-11-25
    source: Mapped[str] = mapped_column(String(32), default="computed")
    entered_by: Mapped[str | None] = mapped_column(String(64))


class Alert(Base):
    """One alert: a rule's condition on one subject, from opening to resolution (data/alerts.py).

    `uid` is made by the evaluator, so an alert is shown on the wall (and keeps its identity)
    even while the database is away; `id` orders the history. `severity` is the worst level
    reached; `cleared_ms` is set while the condition is back to normal."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(32))
    city: Mapped[str] = mapped_column(String(40))
    rule: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(32))  # the rule's kind, e.g. air_quality
    subject: Mapped[str] = mapped_column(String(64))  # sensor, camera, OPD or KPI id
    subject_name: Mapped[str | None] = mapped_column(String(160))
    region_kode: Mapped[str | None] = mapped_column(String(16))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(16))  # info | warning | critical
    level_label: Mapped[str | None] = mapped_column(String(60))  # e.g. "Siaga 1"
    value: Mapped[float | None] = mapped_column(Float)  # the latest value behind the alert
    status: Mapped[str] = mapped_column(
        String(16), default="open"
    )  # open | acknowledged | resolved
    message: Mapped[str] = mapped_column(Text)  # Bahasa Indonesia
    message_en: Mapped[str | None] = mapped_column(Text)
    opened_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    escalated_ms: Mapped[int | None] = mapped_column(BigInteger)
    cleared_ms: Mapped[int | None] = mapped_column(BigInteger)
    acknowledged_ms: Mapped[int | None] = mapped_column(BigInteger)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    assignee: Mapped[str | None] = mapped_column(String(64))
    assigned_by: Mapped[str | None] = mapped_column(String(64))
    resolved_ms: Mapped[int | None] = mapped_column(BigInteger)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_alerts_city_status_opened", "city", "status", "opened_ms"),
        Index("ix_alerts_city_rule_subject", "city", "rule", "subject"),
        UniqueConstraint("uid", name="uq_alerts_uid"),
    )


class DeadLetter(Base):
    """A record that was refused, kept with its payload and the reason so it can be inspected
    and, once fixed at the source, re-sent."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    source: Mapped[str] = mapped_column(String(32), index=True)  # http, mqtt, csv, operator, …
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)


class AuditEntry(Base):
    """Who did what, when: operator entries now; logins and camera views with accounts."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128))
    detail: Mapped[str] = mapped_column(Text, default="")


class ApiKey(Base):
    """A device's or city system's key: only a hash is stored, the key is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # identifies the key in logs
    key_hash: Mapped[str] = mapped_column(String(200))
    scope_kind: Mapped[str] = mapped_column(String(16))  # sensors | opd | all
    scope: Mapped[str] = mapped_column(Text, default="")  # comma-separated ids
    created_ms: Mapped[int] = mapped_column(BigInteger)
    revoked_ms: Mapped[int | None] = mapped_column(BigInteger)


class User(Base):
    """A person who signs in. `role` is one of data.access.ROLES; an OPD data operator is bound to
    `opds`, a parent to schools through `ParentSchool`. Only an argon2id hash of the password is
    kept; failed sign-ins lock the account for a while (`locked_until_ms`)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)  # lower case
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    opds: Mapped[str] = mapped_column(Text, default="")  # comma-separated OPD ids
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until_ms: Mapped[int | None] = mapped_column(BigInteger)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    password_changed_ms: Mapped[int] = mapped_column(BigInteger)


class ParentSchool(Base):
    """Which schools' cameras a parent may watch."""

    __tablename__ = "parent_schools"

    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    school_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class DisplayToken(Base):
    """A wall screen's credential: a long random URL bound to one view (a path, or a playlist
    of paths), stored as a hash and revocable."""

    __tablename__ = "display_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(200))
    view: Mapped[str] = mapped_column(Text)  # e.g. "/" or "/?putar=/,/cctv&detik=45"
    created_ms: Mapped[int] = mapped_column(BigInteger)
    revoked_ms: Mapped[int | None] = mapped_column(BigInteger)


class UserSession(Base):
    """A signed-in browser (a user's or a display's). The cookie carries a random token; only
    its SHA-256 is stored, so a copy of the database signs no one in."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    user_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    display_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("display_tokens.id", ondelete="CASCADE"), index=True
    )
    created_ms: Mapped[int] = mapped_column(BigInteger)
    expires_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    revoked_ms: Mapped[int | None] = mapped_column(BigInteger)


class CityEdit(Base):
    """A school or camera an admin added or changed in the admin page (issue 6), laid over the
    city's `city.yaml` by every process (data/city_edits.py). `body` is the item's whole
    configuration as JSON, validated with the rest of the city before it is stored."""

    __tablename__ = "city_edits"

    city: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # "school" | "camera"
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    updated_by: Mapped[str] = mapped_column(String(64))
