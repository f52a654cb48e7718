"""Accounts: users and their passwords, parents' schools, display tokens, sessions, sign-in
throttling and the audit trail. No Dash here; the web gate and the command line use it.

- Passwords are hashed with argon2id (argon2-cffi's defaults: 64 MiB, 3 passes), never logged.
- A session is a random token in an HttpOnly cookie; SQL keeps only its SHA-256 (the durable
  record, so sessions outlive a Redis restart and any web worker), Redis caches the principal
  for a minute so a request costs one GET, and the cached copy stands in for SQL while SQL is
  unreachable (STALE_S).
- Failed sign-ins are counted in Redis per username (whether or not it exists, so the answer
  never reveals which usernames do) and per client address.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import hmac
import io
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import redis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import SQLAlchemyError

from data.access import DISPLAY, OPD, PARENT, USER_ROLES, Principal
from data.db.models import AuditEntry, DisplayToken, ParentSchool, User, UserSession

log = logging.getLogger(__name__)

users = User.__table__
parent_schools = ParentSchool.__table__
display_tokens = DisplayToken.__table__
sessions = UserSession.__table__
audit_log = AuditEntry.__table__

HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
SESSION_HOURS = {PARENT: 24 * 14, DISPLAY: 24 * 365}
DEFAULT_SESSION_HOURS = 12
# A revocation through the web app (admin page) drops the cache at once; one from the command
# line without the cluster's REDIS_URL takes effect when the cached copy expires.
CACHE_S = 60
# While SQL cannot be reached (a database restart or failover), a session's cached principal
# stands in for SQL for this long after SQL last confirmed it: a wall must not go dark because
# its session cannot be re-read (issue 7: PostgreSQL stopped under load). A revocation deletes
# the copy, and a session past its end is refused all the same.
STALE_S = 15 * 60
# A hash of a random password: unknown usernames are checked against it, so that they take as
# long to refuse as a wrong password for a real one.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message is safe to show an admin."""


def now_ms() -> int:
    return int(time.time() * 1000)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def session_id_of(token: str) -> str:
    """A session's id: the SHA-256 of its cookie's token (the token itself is never stored)."""
    return _sha256(token)


def normal_username(name: str) -> str:
    username = (name or "").strip().lower()
    if not USERNAME.match(username):
        raise AccountError(
            "nama pengguna: 2–64 huruf kecil, angka atau . _ @ - (diawali huruf atau angka)"
        )
    return username


def check_password_strength(password: str, username: str = "") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"kata sandi minimal {MIN_PASSWORD_LENGTH} karakter")
    if username and username.lower() in password.lower():
        raise AccountError("kata sandi tidak boleh memuat nama pengguna")
    if len(set(password)) < 5:
        raise AccountError("kata sandi terlalu mudah ditebak")


# --- users ----------------------------------------------------------------------------------


def create_user(
    engine: Engine,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    opds: Iterable[str] = (),
    schools: Iterable[str] = (),
) -> int:
    username = normal_username(username)
    if role not in USER_ROLES:
        raise AccountError(f"peran harus salah satu dari: {', '.join(USER_ROLES)}")
    check_password_strength(password, username)
    opds, schools = sorted(set(opds)), sorted(set(schools))
    if role == OPD and not opds:
        raise AccountError("operator data OPD perlu minimal satu OPD")
    if role == PARENT and not schools:
        raise AccountError("akun orang tua perlu minimal satu sekolah")
    stamp = now_ms()
    with engine.begin() as conn:
        if conn.execute(select(users.c.id).where(users.c.username == username)).first():
            raise AccountError(f"nama pengguna {username} sudah dipakai")
        user_id = conn.execute(
            users.insert().values(
                username=username,
                display_name=(display_name or username)[:120],
                role=role,
                opds=",".join(opds) if role == OPD else "",
                password_hash=HASHER.hash(password),
                active=True,
                failed_logins=0,
                locked_until_ms=None,
                created_ms=stamp,
                password_changed_ms=stamp,
            )
        ).inserted_primary_key[0]
        if role == PARENT:
            conn.execute(
                parent_schools.insert(), [{"user_id": user_id, "school_id": s} for s in schools]
            )
    return int(user_id)


def set_password(engine: Engine, user_id: int, password: str) -> None:
    with engine.begin() as conn:
        row = conn.execute(select(users.c.username).where(users.c.id == user_id)).first()
        if row is None:
            raise AccountError("pengguna tidak ditemukan")
        check_password_strength(password, row.username)
        conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(
                password_hash=HASHER.hash(password),
                password_changed_ms=now_ms(),
                failed_logins=0,
                locked_until_ms=None,
            )
        )


def update_user(
    engine: Engine,
    user_id: int,
    *,
    role: str | None = None,
    display_name: str | None = None,
    opds: Iterable[str] | None = None,
    schools: Iterable[str] | None = None,
    active: bool | None = None,
) -> None:
    values: dict[str, Any] = {}
    if role is not None:
        if role not in USER_ROLES:
            raise AccountError(f"peran harus salah satu dari: {', '.join(USER_ROLES)}")
        values["role"] = role
    if display_name is not None:
        values["display_name"] = display_name[:120] or "-"
    if opds is not None:
        values["opds"] = ",".join(sorted(set(opds)))
    if active is not None:
        values["active"] = active
        if active:
            values.update(failed_logins=0, locked_until_ms=None)
    with engine.begin() as conn:
        if not conn.execute(select(users.c.id).where(users.c.id == user_id)).first():
            raise AccountError("pengguna tidak ditemukan")
        if values:
            conn.execute(update(users).where(users.c.id == user_id).values(**values))
        if schools is not None:
            conn.execute(delete(parent_schools).where(parent_schools.c.user_id == user_id))
            rows = [{"user_id": user_id, "school_id": s} for s in sorted(set(schools))]
            if rows:
                conn.execute(parent_schools.insert(), rows)


def list_users(engine: Engine) -> list[dict[str, Any]]:
    """Users without their password hashes, with their schools."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                users.c.id,
                users.c.username,
                users.c.display_name,
                users.c.role,
                users.c.opds,
                users.c.active,
                users.c.locked_until_ms,
                users.c.created_ms,
            ).order_by(users.c.username)
        ).all()
        bindings = conn.execute(select(parent_schools)).all()
    schools: dict[int, list[str]] = {}
    for b in bindings:
        schools.setdefault(b.user_id, []).append(b.school_id)
    return [{**row._mapping, "schools": sorted(schools.get(row.id, []))} for row in rows]


def parents_of_school(engine: Engine, school_id: str) -> list[str]:
    """Usernames of the active accounts bound to `school_id` (parents), sorted."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(users.c.username)
            .join(parent_schools, parent_schools.c.user_id == users.c.id)
            .where(parent_schools.c.school_id == school_id, users.c.active.is_(True))
            .order_by(users.c.username)
        ).all()
    return [row.username for row in rows]


def count_admins(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(
            conn.execute(
                select(users.c.id).where(users.c.role == "admin", users.c.active.is_(True))
            ).all()
        )


def user_by_name(engine: Engine, username: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == username.lower())).first()
    return dict(row._mapping) if row else None


# --- sign-in throttling ---------------------------------------------------------------------


@dataclass(frozen=True)
class Throttle:
    """Limits: `per_user` failures for one username within `window_s` lock it for `lock_s`;
    `per_client` failures from one address within the window block that address."""

    per_user: int = 5
    per_client: int = 30
    window_s: int = 900
    lock_s: int = 900


class LoginThrottle:
    def __init__(self, client: redis.Redis, namespace: str, limits: Throttle | None = None):
        self.redis = client
        self.ns = namespace
        self.limits = limits or Throttle()

    def _key(self, what: str, who: str) -> str:
        return f"{self.ns}:login:{what}:{_sha256(who)[:32]}"

    def wait_s(self, username: str, client: str) -> int:
        """Seconds until this username may try again from this client (0: now)."""
        try:
            lock = self.redis.ttl(self._key("lock", username))
            fails = int(self.redis.get(self._key("client", client)) or 0)
            client_ttl = self.redis.ttl(self._key("client", client))
        except redis.RedisError:
            return 0  # the SQL lock on real accounts still holds
        waits = [max(lock, 0)]
        if fails >= self.limits.per_client:
            waits.append(max(client_ttl, 1))
        return max(waits)

    def failed(self, username: str, client: str) -> bool:
        """Count a failure; True when this one locked the username."""
        try:
            pipe = self.redis.pipeline()
            for what, who in (("user", username), ("client", client)):
                # The window starts with the first failure (SET NX keeps its expiry after).
                pipe.set(self._key(what, who), 0, ex=self.limits.window_s, nx=True)
                pipe.incr(self._key(what, who))
            _, user_fails, _, _ = pipe.execute()
            if int(user_fails) >= self.limits.per_user:
                self.redis.set(self._key("lock", username), 1, ex=self.limits.lock_s)
                self.redis.delete(self._key("user", username))
                return True
        except redis.RedisError as exc:
            log.warning("sign-in throttle: Redis unavailable (%s), counting in SQL only", exc)
        return False

    def succeeded(self, username: str) -> None:
        with contextlib.suppress(redis.RedisError):
            self.redis.delete(self._key("user", username))


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt. `message` is what the person sees: it never says
    whether the username exists."""

    user: dict[str, Any] | None
    message: str = ""
    locked: bool = False


WRONG = "Nama pengguna atau kata sandi salah."
LOCKED = "Terlalu banyak percobaan masuk. Coba lagi dalam {minutes} menit."


def sign_in(
    engine: Engine, throttle: LoginThrottle, username: str, password: str, client: str
) -> SignIn:
    name = (username or "").strip().lower()[:64]
    wait = throttle.wait_s(name, client)
    if wait:
        return SignIn(None, LOCKED.format(minutes=max(1, -(-wait // 60))), locked=True)
    user = user_by_name(engine, name) if USERNAME.match(name) else None
    stamp = now_ms()
    valid = False
    try:
        valid = HASHER.verify(user["password_hash"] if user else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        valid = False
    usable = (
        user is not None
        and user["active"]
        and not (user["locked_until_ms"] and user["locked_until_ms"] > stamp)
    )
    if valid and usable:
        throttle.succeeded(name)
        with engine.begin() as conn:
            values: dict[str, Any] = {"failed_logins": 0, "locked_until_ms": None}
            if HASHER.check_needs_rehash(user["password_hash"]):  # type: ignore[index]
                values["password_hash"] = HASHER.hash(password)
            conn.execute(update(users).where(users.c.id == user["id"]).values(**values))  # type: ignore[index]
        return SignIn(user)
    locked = throttle.failed(name, client)
    if user is not None:
        with engine.begin() as conn:
            fails = user["failed_logins"] + 1
            lock_until = (
                stamp + throttle.limits.lock_s * 1000
                if fails >= throttle.limits.per_user
                else user["locked_until_ms"]
            )
            conn.execute(
                update(users)
                .where(users.c.id == user["id"])
                .values(
                    failed_logins=0 if fails >= throttle.limits.per_user else fails,
                    locked_until_ms=lock_until,
                )
            )
        locked = locked or (lock_until is not None and lock_until > stamp)
    if locked:
        return SignIn(None, LOCKED.format(minutes=throttle.limits.lock_s // 60), locked=True)
    return SignIn(None, WRONG)


# --- display tokens -------------------------------------------------------------------------


def create_display_token(engine: Engine, name: str, view: str) -> str:
    """A new wall-display token, returned in full this once: `<prefix>.<secret>`."""
    view = view.strip() or "/"
    if not view.startswith("/"):
        raise AccountError("tampilan layar harus berupa alamat halaman, mis. / atau /cctv")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(
            display_tokens.insert().values(
                name=(name.strip() or "Layar")[:120],
                prefix=prefix,
                token_hash="sha256$" + _sha256(secret),
                view=view[:500],
                created_ms=now_ms(),
                revoked_ms=None,
            )
        )
    return f"{prefix}.{secret}"


def verify_display_token(engine: Engine, token: str) -> dict[str, Any] | None:
    prefix, _, secret = (token or "").partition(".")
    if len(prefix) != 8 or not secret:
        return None
    with engine.connect() as conn:
        row = conn.execute(select(display_tokens).where(display_tokens.c.prefix == prefix)).first()
    if row is None or row.revoked_ms is not None:
        return None
    if not hmac.compare_digest(row.token_hash, "sha256$" + _sha256(secret)):
        return None
    return dict(row._mapping)


def list_display_tokens(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                display_tokens.c.id,
                display_tokens.c.name,
                display_tokens.c.prefix,
                display_tokens.c.view,
                display_tokens.c.created_ms,
                display_tokens.c.revoked_ms,
            ).order_by(display_tokens.c.id)
        ).all()
    return [dict(r._mapping) for r in rows]


# --- sessions -------------------------------------------------------------------------------


class SessionStore:
    """Sessions: the durable record in SQL, the principal cached in Redis."""

    def __init__(self, engine: Engine, client: redis.Redis | None, namespace: str) -> None:
        self.engine = engine
        self.redis = client
        self.ns = namespace
        # Called with the ids of revoked sessions (the web gate drops its short-lived copies).
        self.on_revoke: list[Callable[[list[str]], None]] = []

    def _cache_key(self, session_id: str) -> str:
        return f"{self.ns}:session:{session_id}"

    def create(self, *, user_id: int | None = None, display_id: int | None = None,
               role: str = "") -> str:  # fmt: skip
        token = secrets.token_urlsafe(32)
        stamp = now_ms()
        hours = SESSION_HOURS.get(role, DEFAULT_SESSION_HOURS)
        with self.engine.begin() as conn:
            conn.execute(
                sessions.insert().values(
                    id=session_id_of(token),
                    user_id=user_id,
                    display_id=display_id,
                    created_ms=stamp,
                    expires_ms=stamp + hours * 3_600_000,
                    revoked_ms=None,
                )
            )
        return token

    def principal(self, token: str | None) -> Principal | None:
        """The session's principal, None if it is unknown, revoked or over. Raises
        SQLAlchemyError only when SQL is unreachable and no copy of the session is cached."""
        if not token or len(token) > 100:
            return None
        session_id = session_id_of(token)
        try:
            raw = self.redis.get(self._cache_key(session_id)) if self.redis else None
        except redis.RedisError:
            raw = None
        cached = json.loads(raw) if raw is not None else None
        now = now_ms()
        # A copy without "checked_ms" (a miss, or written before it was kept) counts as fresh.
        if cached is not None and now - cached.get("checked_ms", now) < CACHE_S * 1000:
            return _live_principal(cached, session_id, now)
        try:
            data = self._load(session_id)
        except SQLAlchemyError:
            if cached:  # confirmed by SQL within STALE_S: the key lives no longer
                log.debug("session principal from its cached copy: SQL unreachable")
                return _live_principal(cached, session_id, now)
            raise
        if self.redis is None:
            return _principal_from(data, session_id) if data else None
        try:
            if data:
                copy = json.dumps({**data, "checked_ms": now})
                self.redis.set(self._cache_key(session_id), copy, ex=CACHE_S + STALE_S)
            else:  # a miss is cached briefly: a flood of bad cookies must not reach SQL
                self.redis.set(self._cache_key(session_id), "{}", ex=30)
        except redis.RedisError:
            pass
        return _principal_from(data, session_id) if data else None

    def _load(self, session_id: str) -> dict[str, Any] | None:
        stamp = now_ms()
        with self.engine.connect() as conn:
            row = conn.execute(select(sessions).where(sessions.c.id == session_id)).first()
            if row is None or row.revoked_ms is not None or row.expires_ms <= stamp:
                return None
            if row.user_id is not None:
                user = conn.execute(select(users).where(users.c.id == row.user_id)).first()
                if user is None or not user.active:
                    return None
                schools = [
                    r.school_id
                    for r in conn.execute(
                        select(parent_schools.c.school_id).where(
                            parent_schools.c.user_id == user.id
                        )
                    )
                ]
                return {
                    "kind": "user",
                    "id": user.id,
                    "name": user.username,
                    "display_name": user.display_name,
                    "role": user.role,
                    "opds": [o for o in user.opds.split(",") if o],
                    "schools": schools,
                    "view": "",
                    "expires_ms": row.expires_ms,
                }
            display = conn.execute(
                select(display_tokens).where(display_tokens.c.id == row.display_id)
            ).first()
            if display is None or display.revoked_ms is not None:
                return None
            return {
                "kind": "display",
                "id": display.id,
                "name": display.name,
                "display_name": display.name,
                "role": DISPLAY,
                "opds": [],
                "schools": [],
                "view": display.view,
                "expires_ms": row.expires_ms,
            }

    def revoke(self, token: str) -> None:
        self._revoke_ids([session_id_of(token)])

    def revoke_user(self, user_id: int, keep: str = "") -> int:
        """End the user's sessions; `keep`, a session id, stays (an admin changing their own
        password ends their other sessions, not the one they are using)."""
        condition = sessions.c.user_id == user_id
        if keep:
            condition = condition & (sessions.c.id != keep)
        return self._revoke_where(condition)

    def revoke_display(self, display_id: int) -> int:
        return self._revoke_where(sessions.c.display_id == display_id)

    def _revoke_where(self, condition: Any) -> int:
        with self.engine.connect() as conn:
            ids = [
                r.id
                for r in conn.execute(
                    select(sessions.c.id).where(condition, sessions.c.revoked_ms.is_(None))
                )
            ]
        self._revoke_ids(ids)
        return len(ids)

    def _revoke_ids(self, ids: list[str]) -> None:
        if not ids:
            return
        with self.engine.begin() as conn:
            conn.execute(update(sessions).where(sessions.c.id.in_(ids)).values(revoked_ms=now_ms()))
        for listener in self.on_revoke:
            listener(ids)
        try:
            if self.redis is not None:
                self.redis.delete(*(self._cache_key(i) for i in ids))
        except redis.RedisError:
            log.warning("sessions revoked in SQL; Redis unavailable to drop their cache")


def _live_principal(data: dict[str, Any], session_id: str, now: int) -> Principal | None:
    if not data or data["expires_ms"] <= now:
        return None
    return _principal_from(data, session_id)


def _principal_from(data: dict[str, Any], session_id: str) -> Principal:
    return Principal(
        kind=data["kind"],
        id=int(data["id"]),
        name=data["name"],
        role=data["role"],
        display_name=data.get("display_name", ""),
        opds=frozenset(data.get("opds", [])),
        schools=frozenset(data.get("schools", [])),
        view=data.get("view", ""),
        session=session_id,
    )


def revoke_display_token(engine: Engine, store: SessionStore, display_id: int) -> bool:
    with engine.begin() as conn:
        result = conn.execute(
            update(display_tokens)
            .where(display_tokens.c.id == display_id, display_tokens.c.revoked_ms.is_(None))
            .values(revoked_ms=now_ms())
        )
    store.revoke_display(display_id)
    return result.rowcount == 1


# --- audit trail ----------------------------------------------------------------------------


def audit(engine: Engine, actor: str, action: str, subject: str, **detail: Any) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                audit_log.insert().values(
                    ts_ms=now_ms(),
                    actor=actor[:64],
                    action=action[:64],
                    subject=subject[:128],
                    detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
                )
            ).inserted_primary_key[0]
        )


def read_audit(
    engine: Engine, limit: int = 500, action: str = "", actor: str = ""
) -> list[dict[str, Any]]:
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if action:
        # autoescape: "_" and "%" in a typed prefix are letters, not LIKE wildcards
        query = query.where(audit_log.c.action.startswith(action, autoescape=True))
    if actor:
        query = query.where(audit_log.c.actor == actor)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


# A cell a spreadsheet would read as a formula (CSV injection, OWASP): a username or a failed
# sign-in's typed name is chosen by whoever types it, and "=HYPERLINK(…)" must stay text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def audit_csv(rows: list[dict[str, Any]], zone: ZoneInfo | None = None) -> str:
    """The rows as ';'-separated CSV; with `zone`, a last column `waktu` in local time, which
    spreadsheets read as a date (waktu_ms stays first, as scripts expect)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(
        ["waktu_ms", "pelaku", "tindakan", "subjek", "rincian"] + (["waktu"] if zone else [])
    )
    for r in rows:
        cells = [csv_cell(r[k]) for k in ("ts_ms", "actor", "action", "subject", "detail")]
        if zone is not None:
            cells.append(
                datetime.fromtimestamp(r["ts_ms"] / 1000, zone).strftime("%Y-%m-%d %H:%M:%S")
            )
        writer.writerow(cells)
    return out.getvalue()
