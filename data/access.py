"""Who may see and do what: the access model, as pure functions of a principal.

One table answers for pages, callbacks, routes and cameras, so that a page, its callbacks and
its video share one rule. Nothing here does I/O; data.accounts finds the principal, the web
gate (server/access_gate.py) and the callbacks ask this module.

Roles (issue 6):
- admin: everything, and the admin pages.
- operator: the command centre: everything live, acknowledges and resolves alerts.
- executive: the mayor and heads of office: KPIs, map, cameras, exports; changes nothing live.
- opd: an OPD data operator: enters their own OPD's data only.
- parent: their own school's cameras only, within the school's viewing hours.
- display: a wall screen signed in by a display token: read-only, bound to one view.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from data.city import CameraConfig, City

ADMIN, OPERATOR, EXECUTIVE, OPD, PARENT, DISPLAY = (
    "admin",
    "operator",
    "executive",
    "opd",
    "parent",
    "display",
)
USER_ROLES = (ADMIN, OPERATOR, EXECUTIVE, OPD, PARENT)  # people; displays have tokens instead
ROLES = (*USER_ROLES, DISPLAY)
ROLE_NAMES = {
    ADMIN: ("Admin", "Admin"),
    OPERATOR: ("Operator command center", "Command-centre operator"),
    EXECUTIVE: ("Pimpinan", "Executive"),
    OPD: ("Operator data OPD", "OPD data operator"),
    PARENT: ("Orang tua", "Parent"),
    DISPLAY: ("Layar dinding", "Wall display"),
}

STAFF = frozenset({ADMIN, OPERATOR, EXECUTIVE})
LIVE_VIEWERS = STAFF | {DISPLAY}
ALERT_ACTORS = frozenset({ADMIN, OPERATOR})
ANY_SIGNED_IN = frozenset(ROLES)

# Pages by path. A display may open only the paths of its own view (see Principal.view_paths).
PAGE_ROLES: dict[str, frozenset[str]] = {
    "/": LIVE_VIEWERS,
    "/cctv": LIVE_VIEWERS,
    "/alerts": LIVE_VIEWERS,
    "/kpi": STAFF,
    "/operator": frozenset({ADMIN, OPD}),
    "/admin/data": frozenset({ADMIN, OPERATOR}),
    "/admin": frozenset({ADMIN}),
    "/parent": frozenset({PARENT}),
}
HOME = {
    ADMIN: "/",
    OPERATOR: "/",
    EXECUTIVE: "/kpi",
    OPD: "/operator",
    PARENT: "/parent",
}


@dataclass(frozen=True)
class Principal:
    """A signed-in person or wall display, as the server sees it on each request."""

    kind: str  # "user" | "display"
    id: int
    name: str  # username, or the display token's name
    role: str
    display_name: str = ""
    opds: frozenset[str] = field(default_factory=frozenset)
    schools: frozenset[str] = field(default_factory=frozenset)
    view: str = ""  # a display's bound view: "/" or "/?putar=/,/cctv&detik=45"
    session: str = ""  # the session's id (a hash), for revocation; never the cookie itself

    @property
    def actor(self) -> str:
        """How the audit trail names this principal: a person by username (as data entries
        and alert actions always have), a wall display as display:<name>."""
        return self.name if self.kind == "user" else f"{self.kind}:{self.name}"

    @property
    def view_paths(self) -> frozenset[str]:
        """The paths a display may open: its view, and the views its playlist rotates through."""
        if self.role != DISPLAY:
            return frozenset()
        parts = urlsplit(self.view)
        paths = {normal_path(parts.path)}
        for playlist in parse_qs(parts.query).get("putar", []):
            paths.update(normal_path(p) for p in playlist.split(",") if p.strip())
        return frozenset(paths)

    @property
    def home(self) -> str:
        if self.role == DISPLAY:
            return self.view or "/"
        return HOME.get(self.role, "/")


def normal_path(path: str | None) -> str:
    return (path or "/").strip().rstrip("/") or "/"


def may_open_page(principal: Principal | None, path: str) -> bool:
    """Whether `principal` may open page `path` (unknown paths: any signed-in principal sees the
    not-found page)."""
    if principal is None:
        return False
    path = normal_path(path)
    roles = PAGE_ROLES.get(path)
    if roles is None:
        return True
    if principal.role not in roles:
        return False
    return principal.role != DISPLAY or path in principal.view_paths


@dataclass(frozen=True)
class CameraAccess:
    """The answer for one camera: allowed, or why not (said to the viewer, in Bahasa)."""

    allowed: bool
    reason: str = ""
    outside_hours: bool = False


DENIED = CameraAccess(False, "Anda tidak berhak melihat kamera ini.")


def camera_access(
    principal: Principal | None, camera: CameraConfig | None, city: City, now: datetime
) -> CameraAccess:
    """May `principal` watch `camera` now? Unknown cameras and unbound schools get the same
    answer, so guessing ids reveals nothing."""
    if principal is None or camera is None:
        return DENIED
    role = principal.role
    if role in STAFF:
        return CameraAccess(True)
    if role == DISPLAY:
        # A wall screen in a command-centre room: street cameras; school cameras, where children
        # are, stay with signed-in staff and the school's own parents.
        return CameraAccess(True) if camera.kind == "street" else DENIED
    if role == PARENT and camera.kind == "school" and camera.school in principal.schools:
        school = next((s for s in city.config.schools if s.id == camera.school), None)
        if school is None:
            return DENIED
        local = now.astimezone(ZoneInfo(city.config.timezone))
        window = school.viewing
        minute = local.hour * 60 + local.minute + local.second / 60
        if local.isoweekday() not in school.viewing_days or (
            window is not None and not window.contains(minute)
        ):
            # id-ID clock times: 06.30–14.00
            hours = (school.viewing_hours or "sepanjang hari").replace(":", ".").replace("-", "–")
            return CameraAccess(
                False,
                f"Di luar jam tayang {school.name}: {hours} "
                f"{city.config.timezone_label}, {weekday_names(school.viewing_days)}.",
                outside_hours=True,
            )
        return CameraAccess(True)
    return DENIED


WEEKDAYS_ID = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")


def weekday_names(days: list[int]) -> str:
    if days == [1, 2, 3, 4, 5, 6, 7]:
        return "setiap hari"
    if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        return f"{WEEKDAYS_ID[days[0] - 1]}–{WEEKDAYS_ID[days[-1] - 1]}"
    return ", ".join(WEEKDAYS_ID[d - 1] for d in days)


def visible_cameras(principal: Principal | None, city: City, now: datetime) -> list[CameraConfig]:
    """The cameras a principal may see listed (parents: their schools' cameras, even outside
    viewing hours, so the portal can say when they open)."""
    if principal is None:
        return []
    if principal.role == PARENT:
        return [
            c for c in city.config.cameras if c.kind == "school" and c.school in principal.schools
        ]
    return [c for c in city.config.cameras if camera_access(principal, c, city, now).allowed]


def visible_camera_ids(principal: Principal | None, city: City, now_s: float) -> frozenset[str]:
    """Ids of the cameras `principal` may see (cached with the principal's view of the city)."""
    view = city_view(city, principal, datetime.fromtimestamp(now_s, UTC))
    return frozenset(c.id for c in view.config.cameras)


def may_act_on_alerts(principal: Principal | None) -> bool:
    return principal is not None and principal.role in ALERT_ACTORS


def may_enter_for_opd(principal: Principal | None, opd_id: str) -> bool:
    """OPD data operators enter their own OPD's data only; admins any."""
    if principal is None:
        return False
    if principal.role == ADMIN:
        return True
    return principal.role == OPD and opd_id in principal.opds


# The principal of the request being served. The web gate sets it before Dash or a route runs;
# callbacks read it (an async callback runs in the request's own task, so it sees the value).
_CURRENT: ContextVar[Principal | None] = ContextVar("komando_principal", default=None)


def current_principal() -> Principal | None:
    return _CURRENT.get()


def set_current_principal(principal: Principal | None) -> Token[Principal | None]:
    return _CURRENT.set(principal)


def reset_current_principal(token: Token[Principal | None]) -> None:
    _CURRENT.reset(token)


def city_view(city: City, principal: Principal | None, now: datetime) -> City:
    """The city as `principal` may see it in a page's layout: only the cameras it may watch
    (and camera groups cut to them), only its own OPDs for an OPD operator. Staff see it whole.
    """
    if principal is None or principal.role in (ADMIN, OPERATOR, EXECUTIVE):
        return city
    config = city.config
    cameras = visible_cameras(principal, city, now)
    allowed = {c.id for c in cameras}
    groups = [
        g.model_copy(update={"cameras": [c for c in g.cameras if c in allowed]})
        for g in config.camera_groups
        if any(c in allowed for c in g.cameras)
    ]
    key = (id(city), principal.role, principal.opds, principal.schools)
    cached = _VIEWS.get(key)
    if cached is not None and cached[0] is config:  # an admin's edit swaps the config
        return cached[1]
    opds = [o for o in config.opds if principal.role != OPD or o.id in principal.opds]
    view = City(
        city.folder,
        config.model_copy(update={"cameras": cameras, "camera_groups": groups, "opds": opds}),
    )
    # Boundaries and other cached properties are the same files: share them, don't re-read.
    view.__dict__.update({k: v for k, v in city.__dict__.items() if k not in ("folder", "config")})
    if len(_VIEWS) > 256:
        _VIEWS.clear()
    _VIEWS[key] = (config, view)
    return view


_VIEWS: dict[tuple[object, ...], tuple[object, City]] = {}
