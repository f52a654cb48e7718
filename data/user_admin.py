"""What an admin may do to accounts, display links and API keys (issue 6), with the rules that
keep the city from locking itself out, and the audit record of every change. No Dash here: the
admin page's callbacks (callbacks/admin_*.py) call these, and the tests call them directly.

Each function takes the acting principal and refuses anyone but an admin, whatever the caller
checked before (the gate's callback policy, the callback itself): defence in depth.

A change that alters what a person may do (role, OPDs, schools, password, disabling) revokes
their sessions, so it holds from their next click rather than when a session would expire.
Secrets made here (passwords, display tokens, API keys) are returned to be shown once; they
never reach the audit detail or a log.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, select

from data import accounts, api_keys
from data.access import ADMIN, OPD, PARENT, USER_ROLES, Principal
from data.accounts import AccountError, SessionStore
from data.city import City


def require_admin(principal: Principal | None) -> Principal:
    if principal is None or principal.role != ADMIN or principal.kind != "user":
        raise AccountError("hanya admin yang boleh melakukan ini")
    return principal


def random_password(username: str = "") -> str:
    """16 URL-safe characters (96 bits), that pass the strength rules."""
    while True:
        password = secrets.token_urlsafe(12)
        try:
            accounts.check_password_strength(password, username)
        except AccountError:
            continue
        return password


def chosen_password(password: str | None, again: str | None, generate: bool, username: str) -> str:
    """The password to set: a random one when asked, else the typed one, typed twice."""
    if generate:
        return random_password(username)
    if not password:
        raise AccountError("isi kata sandi dua kali, atau pilih kata sandi acak")
    if password != again:
        raise AccountError("kedua kata sandi tidak sama")
    accounts.check_password_strength(password, username)
    return password


@dataclass(frozen=True)
class Bindings:
    opds: list[str]
    schools: list[str]


def bindings_for(
    city: City, role: str, opds: Iterable[str] | None, schools: Iterable[str] | None
) -> Bindings:
    """A role's OPDs or schools, checked against the city; other roles keep none, so that a
    parent made operator does not keep a school's cameras in reserve."""
    if role not in USER_ROLES:
        raise AccountError(f"peran harus salah satu dari: {', '.join(USER_ROLES)}")
    opd_ids = sorted(set(opds or ())) if role == OPD else []
    school_ids = sorted(set(schools or ())) if role == PARENT else []
    unknown = set(opd_ids) - {o.id for o in city.config.opds}
    unknown |= set(school_ids) - {s.id for s in city.config.schools}
    if unknown:
        raise AccountError(f"tidak dikenal di kota ini: {', '.join(sorted(unknown))}")
    if role == OPD and not opd_ids:
        raise AccountError("operator data OPD perlu minimal satu OPD")
    if role == PARENT and not school_ids:
        raise AccountError("akun orang tua perlu minimal satu sekolah")
    return Bindings(opd_ids, school_ids)


# --- users ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    user_id: int
    username: str
    password: str | None  # the generated password, to show once; None when the admin typed it


def create_user(
    engine: Engine,
    actor: Principal | None,
    city: City,
    *,
    username: str,
    display_name: str,
    role: str,
    password: str | None,
    password_again: str | None,
    generate: bool,
    opds: Iterable[str] | None = None,
    schools: Iterable[str] | None = None,
) -> Created:
    admin = require_admin(actor)
    name = accounts.normal_username(username)
    bound = bindings_for(city, role, opds, schools)
    secret = chosen_password(password, password_again, generate, name)
    user_id = accounts.create_user(
        engine, name, secret, role, (display_name or "").strip(), bound.opds, bound.schools
    )
    accounts.audit(
        engine,
        admin.actor,
        "user.create",
        name,
        role=role,
        opds=bound.opds,
        schools=bound.schools,
        generated_password=generate,
    )
    return Created(user_id, name, secret if generate else None)


def _user(engine: Engine, user_id: int) -> dict:
    with engine.connect() as conn:
        row = conn.execute(select(accounts.users).where(accounts.users.c.id == user_id)).first()
        schools = sorted(
            r.school_id
            for r in conn.execute(
                select(accounts.parent_schools.c.school_id).where(
                    accounts.parent_schools.c.user_id == user_id
                )
            )
        )
    if row is None:
        raise AccountError("pengguna tidak ditemukan")
    user = dict(row._mapping)
    user["opd_list"] = sorted(o for o in user["opds"].split(",") if o)
    user["schools"] = schools
    return user


def _keeps_an_admin(engine: Engine, admin: Principal, user: dict, role: str, active: bool) -> None:
    """Refuse a change that would leave the city without a way in: an admin demoting or
    disabling themself, or the last active admin losing the role."""
    losing = user["role"] == ADMIN and user["active"] and (role != ADMIN or not active)
    if not losing:
        return
    if user["id"] == admin.id:
        raise AccountError(
            "Anda tidak dapat menonaktifkan atau menurunkan peran akun Anda sendiri; "
            "minta admin lain melakukannya"
        )
    if accounts.count_admins(engine) <= 1:
        raise AccountError("admin aktif terakhir tidak dapat dinonaktifkan atau diturunkan")


@dataclass(frozen=True)
class Edited:
    username: str
    changed: list[str]  # field names, for the message and the audit
    sessions_revoked: int


def edit_user(
    engine: Engine,
    sessions: SessionStore,
    actor: Principal | None,
    city: City,
    user_id: int,
    *,
    display_name: str,
    role: str,
    opds: Iterable[str] | None,
    schools: Iterable[str] | None,
    active: bool,
) -> Edited:
    admin = require_admin(actor)
    user = _user(engine, user_id)
    bound = bindings_for(city, role, opds, schools)
    _keeps_an_admin(engine, admin, user, role, active)
    name = (display_name or "").strip() or user["username"]
    changes = {
        "display_name": name != user["display_name"],
        "role": role != user["role"],
        "opds": bound.opds != user["opd_list"],
        "schools": bound.schools != user["schools"],
        "active": active != bool(user["active"]),
    }
    changed = [k for k, v in changes.items() if v]
    if not changed:
        return Edited(user["username"], [], 0)
    accounts.update_user(
        engine,
        user_id,
        role=role,
        display_name=name,
        opds=bound.opds,
        schools=bound.schools,
        # Only when it changes: re-enabling also clears a lock, which saving a name should not.
        active=active if changes["active"] else None,
    )
    revoked = 0
    if set(changed) - {"display_name"}:
        revoked = sessions.revoke_user(user_id)
    if "active" in changed:
        action = "user.enable" if active else "user.disable"
        accounts.audit(engine, admin.actor, action, user["username"], sessions_revoked=revoked)
    if set(changed) - {"active"}:
        accounts.audit(
            engine,
            admin.actor,
            "user.update",
            user["username"],
            changed=[c for c in changed if c != "active"],
            role=role,
            opds=bound.opds,
            schools=bound.schools,
            sessions_revoked=revoked,
        )
    return Edited(user["username"], changed, revoked)


@dataclass(frozen=True)
class PasswordReset:
    username: str
    password: str | None  # generated: shown once
    sessions_revoked: int


def reset_password(
    engine: Engine,
    sessions: SessionStore,
    actor: Principal | None,
    user_id: int,
    *,
    password: str | None,
    password_again: str | None,
    generate: bool,
) -> PasswordReset:
    admin = require_admin(actor)
    user = _user(engine, user_id)
    secret = chosen_password(password, password_again, generate, user["username"])
    accounts.set_password(engine, user_id, secret)
    # Their own password: the admin stays signed in here, everywhere else is signed out.
    revoked = sessions.revoke_user(user_id, keep=admin.session if user_id == admin.id else "")
    accounts.audit(
        engine,
        admin.actor,
        "user.password",
        user["username"],
        generated_password=generate,
        sessions_revoked=revoked,
    )
    return PasswordReset(user["username"], secret if generate else None, revoked)


# --- display links and API keys -------------------------------------------------------------


def create_display(engine: Engine, actor: Principal | None, name: str, view: str) -> str:
    """A new wall display's token (`<prefix>.<secret>`), to show once as a link."""
    admin = require_admin(actor)
    view = (view or "").strip() or "/"
    if view.startswith("//") or "\\" in view or any(c in view for c in "\r\n\t "):
        raise AccountError("tampilan layar harus berupa alamat halaman, mis. / atau /cctv")
    token = accounts.create_display_token(engine, (name or "").strip(), view)
    accounts.audit(
        engine, admin.actor, "display.create", token.split(".", 1)[0], name=name.strip(), view=view
    )
    return token


def revoke_display(
    engine: Engine, sessions: SessionStore, actor: Principal | None, display_id: int
) -> bool:
    admin = require_admin(actor)
    done = accounts.revoke_display_token(engine, sessions, display_id)
    if done:
        accounts.audit(engine, admin.actor, "display.revoke", str(display_id))
    return done


def create_api_key(
    engine: Engine, actor: Principal | None, city: City, name: str, scope: str, ids: Iterable[str]
) -> str:
    """A new API key, to show once."""
    admin = require_admin(actor)
    name = (name or "").strip()
    if not name:
        raise AccountError("beri nama kunci, mis. nama perangkat atau sistem pengirimnya")
    chosen = sorted(set(ids or ())) if scope != "all" else []
    known = {
        "sensors": {s.id for s in city.config.sensors},
        "opd": {o.id for o in city.config.opds},
        "all": set(),
    }
    if scope not in known:
        raise AccountError("cakupan harus sensors, opd atau all")
    unknown = set(chosen) - known[scope]
    if unknown:
        raise AccountError(f"tidak dikenal di kota ini: {', '.join(sorted(unknown))}")
    if scope != "all" and not chosen:
        raise AccountError("pilih minimal satu sensor atau OPD untuk cakupan ini")
    key = api_keys.create_key(engine, name, scope, chosen)
    prefix = key.split("_")[1]
    accounts.audit(engine, admin.actor, "apikey.create", prefix, name=name, scope=scope, ids=chosen)
    return key


def revoke_api_key(engine: Engine, actor: Principal | None, prefix: str) -> bool:
    admin = require_admin(actor)
    done = api_keys.revoke_key(engine, prefix)
    if done:
        accounts.audit(engine, admin.actor, "apikey.revoke", prefix)
    return done
