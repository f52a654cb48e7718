"""API keys for devices and city systems: shown once, stored as a hash, scoped, revocable.

A key looks like `kmd_<prefix>_<secret>`. The prefix (not secret) finds the row and names the key
in logs; the secret is high-entropy random, so a SHA-256 digest is a safe way to store it (slow
password hashes are for secrets people choose).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Engine, select, update

from data.city import City
from data.db.models import ApiKey

api_keys = ApiKey.__table__
SCOPE_KINDS = ("sensors", "opd", "all")


@dataclass(frozen=True)
class KeyScope:
    prefix: str
    name: str
    kind: str
    ids: frozenset[str]

    def allowed_sensors(self, city: City) -> frozenset[str] | None:
        """Sensors this key may write; None means every sensor of the city."""
        if self.kind == "all":
            return None
        if self.kind == "opd":
            return frozenset(s.id for s in city.config.sensors if s.owner in self.ids)
        return self.ids


def _digest(secret: str) -> str:
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


def create_key(engine: Engine, name: str, scope_kind: str, scope_ids: list[str]) -> str:
    """Store a new key and return it in full: the only time it is ever shown."""
    if scope_kind not in SCOPE_KINDS:
        raise ValueError(f"scope must be one of {', '.join(SCOPE_KINDS)}")
    if scope_kind != "all" and not scope_ids:
        raise ValueError(f"a {scope_kind} key needs at least one id")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(
            api_keys.insert().values(
                name=name[:120],
                prefix=prefix,
                key_hash=_digest(secret),
                scope_kind=scope_kind,
                scope=",".join(scope_ids),
                created_ms=int(time.time() * 1000),
                revoked_ms=None,
            )
        )
    return f"kmd_{prefix}_{secret}"


def verify_key(engine: Engine, presented: str) -> KeyScope | None:
    """The key's scope if `presented` is a valid, unrevoked key; otherwise None."""
    parts = presented.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != "kmd" or len(parts[1]) != 8:
        return None
    with engine.connect() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.prefix == parts[1])).first()
    if row is None or row.revoked_ms is not None:
        return None
    if not hmac.compare_digest(row.key_hash, _digest(parts[2])):
        return None
    ids = frozenset(i for i in row.scope.split(",") if i)
    return KeyScope(prefix=row.prefix, name=row.name, kind=row.scope_kind, ids=ids)


def revoke_key(engine: Engine, prefix: str) -> bool:
    with engine.begin() as conn:
        result = conn.execute(
            update(api_keys)
            .where(api_keys.c.prefix == prefix, api_keys.c.revoked_ms.is_(None))
            .values(revoked_ms=int(time.time() * 1000))
        )
    return result.rowcount == 1


def list_keys(engine: Engine) -> list[dict]:
    """Keys without their hashes, for admins."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                api_keys.c.prefix,
                api_keys.c.name,
                api_keys.c.scope_kind,
                api_keys.c.scope,
                api_keys.c.created_ms,
                api_keys.c.revoked_ms,
            ).order_by(api_keys.c.id)
        ).all()
    return [dict(row._mapping) for row in rows]
