"""Schools and cameras an admin adds or changes in the admin page, laid over `city.yaml`.

`city.yaml` stays the city's base (kept in git, reviewed); what an admin does in the page is
stored in SQL (`city_edits`, one row per school or camera: its whole configuration) and laid
over it by every process: web workers, the ingest role and the grabber shards, on any machine.

- A change is validated as part of the whole city (the same rules as `city.yaml`: ids, regions
  inside the city, a school camera's school, viewing hours) before anything is stored; a change
  that fails says why and stores nothing.
- After storing, the city's revision in Redis is bumped; each process's `CityEditsWatcher`
  notices within seconds, reads the edits from SQL (in its own thread, never on a request) and
  swaps the `City`'s configuration in place, so every panel, route and worker holding the city
  sees the new one. It also re-reads every minute, in case a bump was lost with Redis.
- A school or camera removed in the page is stored as a tombstone (`{"removed": true}`) that
  hides the item, whether it came from city.yaml or from the page (a camera leaves its camera
  groups too); adding one with the same id later replaces the tombstone. A school is removed
  only once no camera and no active parent's account points at it, so nothing is left bound to
  a school that is gone.
- Camera sources are references only (`env:`/`secret:`/`sample:`/`device:` or a URL without
  credentials: the same rule as `city.yaml`), and never leave the server: the page shows whether
  a camera has a source, not what it is.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import redis
from pydantic import ValidationError
from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from data.accounts import parents_of_school
from data.city import CameraConfig, City, CityConfig, SchoolConfig
from data.db.models import CityEdit
from data.registry import sync_city

log = logging.getLogger(__name__)

Kind = Literal["school", "camera"]
city_edits = CityEdit.__table__
MODELS: dict[str, type[SchoolConfig] | type[CameraConfig]] = {
    "school": SchoolConfig,
    "camera": CameraConfig,
}
LIST_OF: dict[str, str] = {"school": "schools", "camera": "cameras"}
REMOVED: dict[str, Any] = {"removed": True}
CHECK_EVERY_S = 2.0
RELOAD_EVERY_S = 60.0


PAGE_SOURCES = (
    "env:",
    "secret:",
    "sample:",
    "device:",
    "rtsp://",
    "rtsps://",
    "http://",
    "https://",
)


class CityEditError(ValueError):
    """A change an admin asked for that the city's rules refuse; the message says why."""


def check_page_source(source: str) -> None:
    """What a camera's source may be when typed in the page: a reference or a network URL
    without credentials. (A file path on the server is for city.yaml only.) The message never
    repeats the source."""
    if not source.lower().startswith(PAGE_SOURCES):
        raise CityEditError(
            "source: tulis secret:<nama>, env:<VARIABEL>, sample:<berkas>, device:<n> atau "
            "alamat rtsp:// / http(s):// (write secret:<name>, env:<VARIABLE>, sample:<file>, "
            "device:<n> or an rtsp:// / http(s):// address)"
        )
    if "://" in source and "@" in source.split("://", 1)[1].split("/", 1)[0]:
        raise CityEditError(
            "source: alamat dengan kata sandi tidak disimpan di sini; simpan sebagai "
            "secret:<nama> (an address with a password is not stored here; keep it as "
            "secret:<name>)"
        )


def revision_key(namespace: str) -> str:
    return f"{namespace}:city:revision"


def read_edits(engine: Engine, slug: str) -> list[dict[str, Any]]:
    """This city's edits as rows (kind, item_id, body as a dict), oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(city_edits.c.kind, city_edits.c.item_id, city_edits.c.body)
            .where(city_edits.c.city == slug)
            .order_by(city_edits.c.updated_ms, city_edits.c.item_id)
        ).all()
    return [{"kind": r.kind, "item_id": r.item_id, "body": json.loads(r.body)} for r in rows]


def laid_over(base: CityConfig, edits: list[dict[str, Any]]) -> CityConfig:
    """`base` (from city.yaml) with `edits` applied: an edited item replaces the one of the same
    id in place, a new one is appended, a removed one is left out. Validated as a whole (raises
    ValidationError)."""
    raw = base.model_dump(mode="json")
    for edit in edits:
        items = raw[LIST_OF[edit["kind"]]]
        body = {**edit["body"], "id": edit["item_id"]}
        index = next((i for i, item in enumerate(items) if item["id"] == edit["item_id"]), None)
        if edit["body"].get("removed"):
            if index is not None:
                del items[index]
            if edit["kind"] == "camera":
                _leave_groups(raw, edit["item_id"])
        elif index is None:
            items.append(body)
        else:
            items[index] = body
    return CityConfig.model_validate(raw)


def _leave_groups(raw: dict[str, Any], camera_id: str) -> None:
    """A removed camera leaves city.yaml's camera groups too; a group left empty goes (a wall
    bound to it shows the CCTV page's groups instead)."""
    for group in raw["camera_groups"]:
        group["cameras"] = [c for c in group["cameras"] if c != camera_id]
    raw["camera_groups"] = [g for g in raw["camera_groups"] if g["cameras"]]


def _problems(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(step) for step in err["loc"] if not isinstance(step, int))
        message = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


@dataclass
class CityEdits:
    """The city of this process and its base from city.yaml; `apply` lays the edits over it."""

    city: City
    engine: Engine
    base: CityConfig

    @classmethod
    def of(cls, city: City, engine: Engine) -> CityEdits:
        return cls(city, engine, city.base_config)

    def apply(self) -> bool:
        """Read the edits from SQL and swap the city's configuration if it changed. An edit
        that no longer fits city.yaml (say a school removed there that a camera added here
        refers to) is left out and named in the log; the others apply. False if any was."""
        edits = read_edits(self.engine, self.city.slug)
        try:
            config = laid_over(self.base, edits)
            skipped = 0
        except ValidationError:
            config, skipped = self._each_that_fits(edits)
        if config != self.city.config:
            self.city.config = config
            log.info(
                "city %s: %d edit(s) from the admin page applied (%d schools, %d cameras)",
                self.city.slug,
                len(edits) - skipped,
                len(config.schools),
                len(config.cameras),
            )
        return skipped == 0

    def _each_that_fits(self, edits: list[dict[str, Any]]) -> tuple[CityConfig, int]:
        kept: list[dict[str, Any]] = []
        config = self.base
        for edit in edits:
            try:
                config = laid_over(self.base, [*kept, edit])
            except ValidationError as exc:
                log.error(
                    "city %s: the admin page's %s %s no longer fits city.yaml, left out: %s",
                    self.city.slug,
                    edit["kind"],
                    edit["item_id"],
                    _problems(exc),
                )
                continue
            kept.append(edit)
        return config, len(edits) - len(kept)

    def item(self, kind: Kind, item_id: str) -> dict[str, Any] | None:
        """The current configuration of a school or camera, as a dict (None if unknown)."""
        items = self.city.config.schools if kind == "school" else self.city.config.cameras
        found = next((i for i in items if i.id == item_id), None)
        return found.model_dump(mode="json") if found is not None else None

    def save(
        self,
        kind: Kind,
        item_id: str,
        changes: dict[str, Any],
        actor: str,
        *,
        new: bool,
        client: redis.Redis | None = None,
        namespace: str = "",
    ) -> dict[str, Any]:
        """Store an added (`new`) or changed school or camera after checking it with the whole
        city; bump the revision so every process applies it. Returns the stored configuration.

        Raises CityEditError with the reason (nothing stored)."""
        current = self.item(kind, item_id)
        if new and current is not None:
            raise CityEditError(f"id {item_id!r} sudah dipakai")
        if not new and current is None:
            raise CityEditError(f"{item_id!r} tidak dikenal")
        if kind == "camera" and "source" in changes:
            check_page_source(str(changes["source"]))
        body = {**(current or {}), **changes, "id": item_id}
        try:
            MODELS[kind].model_validate(body)
            config = self._config_with(kind, item_id, body)
        except ValidationError as exc:
            raise CityEditError(_problems(exc)) from exc
        self._commit(kind, item_id, body, actor, config, client, namespace)
        return body

    def remove(
        self,
        kind: Kind,
        item_id: str,
        actor: str,
        *,
        client: redis.Redis | None = None,
        namespace: str = "",
    ) -> None:
        """Remove a school or camera (from city.yaml or the page) in every process. A school
        is removed only when no camera and no active parent is bound to it.

        Raises CityEditError with the reason (nothing stored)."""
        if self.item(kind, item_id) is None:
            raise CityEditError(f"{item_id!r} tidak dikenal")
        if kind == "school":
            self._check_unbound(item_id)
        try:
            config = self._config_with(kind, item_id, REMOVED)
        except ValidationError as exc:
            raise CityEditError(_problems(exc)) from exc
        self._commit(kind, item_id, REMOVED, actor, config, client, namespace)

    def _config_with(self, kind: str, item_id: str, body: dict[str, Any]) -> CityConfig:
        """The city as it would be with `body` stored for the item (raises ValidationError)."""
        edits = [
            e
            for e in read_edits(self.engine, self.city.slug)
            if (e["kind"], e["item_id"]) != (kind, item_id)
        ]
        edits.append({"kind": kind, "item_id": item_id, "body": body})
        return laid_over(self.base, edits)

    def _check_unbound(self, school_id: str) -> None:
        cameras = [c.id for c in self.city.config.cameras if c.school == school_id]
        if cameras:
            raise CityEditError(
                f"kamera sekolah ini masih terdaftar ({', '.join(cameras)}): hapus atau "
                f"pindahkan dulu (this school's cameras are still listed: remove or move them "
                "first)"
            )
        parents = parents_of_school(self.engine, school_id)
        if parents:
            shown = ", ".join(parents[:5]) + (f" +{len(parents) - 5}" if len(parents) > 5 else "")
            raise CityEditError(
                f"{len(parents)} akun orang tua masih terikat ke sekolah ini ({shown}): "
                "pindahkan ke sekolah lain atau nonaktifkan dulu (parents' accounts are still "
                "bound to this school: move them to another school or disable them first)"
            )

    def _commit(
        self,
        kind: str,
        item_id: str,
        body: dict[str, Any],
        actor: str,
        config: CityConfig,
        client: redis.Redis | None,
        namespace: str,
    ) -> None:
        self._store(kind, item_id, body, actor)
        self.city.config = config  # this process at once; the others through the revision
        sync_city(self.engine, self.city)  # the SQL mirror (history, parents' schools)
        if client is not None:
            try:
                client.incr(revision_key(namespace))
            except redis.RedisError as exc:
                # Stored in SQL all the same: the other processes find it on their next reload.
                log.warning("city revision not bumped (Redis): %s; others reload within 60 s", exc)

    def _store(self, kind: str, item_id: str, body: dict[str, Any], actor: str) -> None:
        values = {
            "city": self.city.slug,
            "kind": kind,
            "item_id": item_id,
            "body": json.dumps(body, ensure_ascii=False, sort_keys=True),
            "updated_ms": int(time.time() * 1000),
            "updated_by": actor[:64],
        }
        dialect = self.engine.dialect.name
        insert = (postgresql if dialect == "postgresql" else sqlite).insert(city_edits)
        statement = insert.values(**values).on_conflict_do_update(
            index_elements=["city", "kind", "item_id"],
            set_={k: values[k] for k in ("body", "updated_ms", "updated_by")},
        )
        with self.engine.begin() as conn:
            conn.execute(statement)


class CityEditsWatcher:
    """Keeps one process's city current with the admin page's edits; `listeners` are called
    (in the watcher's thread) after the configuration changed, e.g. the grab role's."""

    def __init__(
        self,
        edits: CityEdits,
        client: redis.Redis,
        namespace: str,
        *,
        check_every_s: float = CHECK_EVERY_S,
        reload_every_s: float = RELOAD_EVERY_S,
    ) -> None:
        self.edits = edits
        self.client = client
        self.key = revision_key(namespace)
        self.check_every_s = check_every_s
        self.reload_every_s = reload_every_s
        self.listeners: list[Callable[[City], None]] = []
        self._seen: bytes | None = None
        self._next_reload = 0.0
        self._notified = edits.city.base_config
        self._last_error = ""

    def check(self) -> bool:
        """One look: apply the edits if the revision moved or a reload is due; True if the
        city's configuration changed."""
        try:
            revision = self.client.get(self.key)
        except redis.RedisError:
            revision = self._seen  # Redis away: the minute's reload still runs
        due = time.monotonic() >= self._next_reload
        if revision == self._seen and not due:
            return False
        try:
            self.edits.apply()
        except SQLAlchemyError as exc:
            error = str(exc).split("\n", 1)[0]
            if error != self._last_error:  # once per distinct problem, not every 2 s
                log.warning("city edits not read (SQL): %s; retrying", error)
                self._last_error = error
            return False
        self._last_error = ""
        self._seen = revision
        self._next_reload = time.monotonic() + self.reload_every_s
        # Against what the listeners last saw: a save in this process swaps the city at once.
        changed = self.edits.city.config is not self._notified
        self._notified = self.edits.city.config
        if changed:
            for listener in self.listeners:
                try:
                    listener(self.edits.city)
                except Exception:
                    log.exception("a listener of city edits failed")
        return changed

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.check()
            stop.wait(self.check_every_s)

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), name="city-edits", daemon=True)
        thread.start()
        return thread


def follow_city_edits(
    city: City, engine: Engine, client: redis.Redis, namespace: str, stop: threading.Event
) -> CityEditsWatcher:
    """Apply the stored edits to `city` now, then keep it current in a thread until `stop`."""
    watcher = CityEditsWatcher(CityEdits.of(city, engine), client, namespace)
    watcher.check()
    watcher.start(stop)
    return watcher
