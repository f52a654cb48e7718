"""The admin page's tables and messages (`/admin`), as pure functions of rows the callbacks read.

Nothing here sees a secret it should not show: users come without password hashes, display
tokens and API keys as their prefixes, cameras without their sources. A camera's health error
is scrubbed of addresses and env:/secret: references before it is shown, because a grabber's
error may quote what it tried to open.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dash import dcc, html

from data.access import ROLE_NAMES, weekday_names
from data.camera_status import CameraStatus
from data.city import CameraConfig, City
from layouts.formatting import format_age
from layouts.i18n import Text, label

ADM_DISPLAY_REVOKE = "adm-display-revoke"  # per token: {"type": …, "id": display id}
ADM_KEY_REVOKE = "adm-key-revoke"  # per key: {"type": …, "prefix": key prefix}

LOADING = Text("Memuat…", "Loading…")
NONE_YET = Text("Belum ada.", "None yet.")
REVOKE = Text("Cabut", "Revoke")
ACTIVE = Text("aktif", "active")
REVOKED = Text("dicabut", "revoked")


def clock_window(hours: str) -> str:
    """'06:30-14:00' as id-ID writes it: 06.30–14.00."""
    return hours.replace(":", ".").replace("-", "–")


def moment(ms: int | None, zone: ZoneInfo) -> str:
    if not ms:
        return "–"
    return datetime.fromtimestamp(ms / 1000, zone).strftime("%d-%m-%Y %H.%M")


def role_name(role: str, lang: str = "id") -> str:
    names = ROLE_NAMES.get(role)
    return names[1 if lang == "en" else 0] if names else role


def note(text: str) -> html.P:
    return html.P(text, className="op-empty")


def table(head: list[str], body: list, className: str = "") -> html.Div:
    return html.Div(
        html.Table(
            [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)],
            className=f"in-table adm-table {className}".strip(),
        ),
        className="in-wrap",
    )


def badge(text: str, tone: str) -> html.Span:
    return html.Span(text, className=f"adm-badge adm-badge-{tone}")


# Results and secrets -------------------------------------------------------------------------


def result(message: str, ok: bool = True) -> html.Div:
    return html.Div(message, className=f"op-result-box op-tone-{'ok' if ok else 'error'}")


def secret_result(message: str, secret: str, warning: str, area: str) -> html.Div:
    """`message`, then `secret` with a copy button and the warning that it is shown only now.
    The secret travels in this one response and lives only in the page's DOM until the next
    change; it is in no Store and no URL."""
    return html.Div(
        [
            html.Div(message, className="op-result-headline"),
            html.Div(
                [
                    # Per result area: two secrets may be on screen at once.
                    html.Code(secret, id=f"{area}-secret", className="adm-secret"),
                    dcc.Clipboard(
                        target_id=f"{area}-secret", title="Salin / Copy", className="adm-copy"
                    ),
                ],
                className="adm-secret-row",
            ),
            html.Div(warning, className="adm-secret-warning"),
        ],
        className="op-result-box op-tone-ok",
        role="status",
    )


# Users -----------------------------------------------------------------------------------------


def user_status(user: dict[str, Any], now_ms: int, zone: ZoneInfo, lang: str) -> html.Span:
    if not user["active"]:
        return badge(Text("nonaktif", "disabled")(lang), "off")
    locked = user.get("locked_until_ms")
    if locked and locked > now_ms:
        until = datetime.fromtimestamp(locked / 1000, zone).strftime("%H.%M")
        return badge(Text(f"terkunci s.d. {until}", f"locked until {until}")(lang), "warn")
    return badge(ACTIVE(lang), "ok")


def bindings_text(user: dict[str, Any], city: City) -> str:
    opds = {o.id: o.short_name for o in city.config.opds}
    schools = {s.id: s.name for s in city.config.schools}
    opd_ids = [o for o in (user.get("opds") or "").split(",") if o]
    return ", ".join(
        [opds.get(o, o) for o in opd_ids] + [schools.get(s, s) for s in user.get("schools", [])]
    )


def users_table(users: list[dict[str, Any]], city: City, now_ms: int, lang: str = "id") -> html.Div:
    if not users:
        return note(NONE_YET(lang))
    zone = ZoneInfo(city.config.timezone)
    rows = [
        html.Tr(
            [
                html.Td(html.Code(u["username"])),
                html.Td(u["display_name"]),
                html.Td(role_name(u["role"], lang)),
                html.Td(bindings_text(u, city) or "–"),
                html.Td(user_status(u, now_ms, zone, lang)),
                html.Td(moment(u.get("created_ms"), zone), className="in-num"),
            ],
            className="" if u["active"] else "adm-off",
        )
        for u in users
    ]
    head = [
        Text("Nama pengguna", "Username")(lang),
        Text("Nama", "Name")(lang),
        Text("Peran", "Role")(lang),
        Text("OPD / sekolah", "OPD / schools")(lang),
        Text("Status", "Status")(lang),
        Text("Dibuat", "Created")(lang),
    ]
    return table(head, rows, "adm-users")


def user_options(users: list[dict[str, Any]], lang: str = "id") -> list[dict[str, Any]]:
    return [
        {
            "label": f"{u['username']} — {u['display_name']} ({role_name(u['role'], lang)})",
            "value": u["id"],
        }
        for u in users
    ]


# Schools and parents -----------------------------------------------------------------------


def schools_table(city: City, users: list[dict[str, Any]] | None, lang: str = "id") -> html.Div:
    """Each school with its viewing hours and cameras (from city.yaml) and the parents bound
    to it (from the accounts); `users` None while they are being read."""
    schools = city.config.schools
    if not schools:
        return note(Text("Kota ini belum punya sekolah.", "This city has no schools.")(lang))
    cameras: dict[str, list[CameraConfig]] = {}
    for camera in city.config.cameras:
        if camera.kind == "school" and camera.school:
            cameras.setdefault(camera.school, []).append(camera)
    rows = []
    for school in schools:
        hours = (
            f"{clock_window(school.viewing_hours)} {city.config.timezone_label}"
            if school.viewing_hours
            else Text("sepanjang hari", "all day")(lang)
        )
        days = weekday_names(school.viewing_days)
        if lang == "en":
            days = days.replace("setiap hari", "every day")
        if users is None:
            parents: Any = LOADING(lang)
        else:
            bound = [u for u in users if school.id in u.get("schools", [])]
            parents = (
                [
                    html.Div(
                        [html.Code(u["username"]), " ", u["display_name"]]
                        + (
                            [" ", badge(Text("nonaktif", "disabled")(lang), "off")]
                            if not u["active"]
                            else []
                        ),
                    )
                    for u in bound
                ]
                if bound
                else Text("belum ada", "none yet")(lang)
            )
        rows.append(
            html.Tr(
                [
                    html.Td(
                        [html.Div(school.name, className="in-name"), html.Code(school.id)]
                        + (
                            [html.Div(f"NPSN {school.npsn}", className="op-hint")]
                            if school.npsn
                            else []
                        )
                    ),
                    html.Td(
                        [
                            html.Div(hours),
                            html.Div(days, className="op-hint"),
                        ]
                    ),
                    html.Td(
                        [html.Div(c.name) for c in cameras.get(school.id, [])]
                        or Text("tidak ada", "none")(lang)
                    ),
                    html.Td(parents),
                ]
            )
        )
    head = [
        Text("Sekolah", "School")(lang),
        Text("Jam tayang untuk orang tua", "Parents' viewing hours")(lang),
        Text("Kamera", "Cameras")(lang),
        Text("Orang tua terhubung", "Bound parents")(lang),
    ]
    return table(head, rows, "adm-schools")


# Cameras -------------------------------------------------------------------------------------

STATE_TONES = {
    "live": "ok",
    "stalled": "warn",
    "connecting": "warn",
    "offline": "bad",
    "disabled": "off",
}
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+")
_REFERENCE = re.compile(r"\b(env|secret|sample|device|file):\S+")
HIDDEN = "[…]"


def scrub(text: str, camera: CameraConfig) -> str:
    """A health message without the camera's source: no URL (it may carry a password), no
    env:/secret: reference (it names where the password is kept), not the configured source
    in any spelling."""
    source = camera.source
    for known in {source, source.partition(":")[2]} - {""}:
        text = text.replace(known, HIDDEN)
    return _REFERENCE.sub(HIDDEN, _URL.sub(HIDDEN, text))


def cameras_table(
    city: City,
    statuses: dict[str, CameraStatus] | None,
    lang: str = "id",
    unavailable: bool = False,
) -> html.Div:
    """The city's cameras: kind, school, and the live state when `statuses` is given.
    The source column is deliberately absent (see module docstring)."""
    if not city.config.cameras:
        return note(Text("Kota ini belum punya kamera.", "This city has no cameras.")(lang))
    schools = {s.id: s.name for s in city.config.schools}
    kinds = {"school": Text("sekolah", "school"), "street": Text("jalan", "street")}
    rows = []
    for camera in city.config.cameras:
        status = (statuses or {}).get(camera.id)
        if status is None:
            state: Any = (
                Text("tidak terbaca", "unavailable")(lang) if unavailable else LOADING(lang)
            )
            detail = ""
        else:
            state = badge(label(status.label, lang), STATE_TONES.get(status.state, "off"))
            detail = format_age(status.frame_age_s, lang) if status.frame_age_s is not None else ""
            if status.error:
                detail = (
                    f"{detail} · {scrub(status.error, camera)}"
                    if detail
                    else scrub(status.error, camera)
                )
        rows.append(
            html.Tr(
                [
                    html.Td([html.Div(camera.name, className="in-name"), html.Code(camera.id)]),
                    html.Td(kinds[camera.kind](lang)),
                    html.Td(schools.get(camera.school or "", camera.school or "–")),
                    html.Td(state),
                    html.Td(detail, className="adm-detail"),
                ]
            )
        )
    head = [
        Text("Kamera", "Camera")(lang),
        Text("Jenis", "Kind")(lang),
        Text("Sekolah", "School")(lang),
        Text("Keadaan", "State")(lang),
        Text("Bingkai terakhir · catatan", "Last frame · note")(lang),
    ]
    return table(head, rows, "adm-cameras")


# Display links and API keys ------------------------------------------------------------------


def revoked_badge(revoked_ms: int | None, lang: str) -> html.Span:
    return badge(REVOKED(lang), "off") if revoked_ms else badge(ACTIVE(lang), "ok")


def displays_table(rows: list[dict[str, Any]], zone: ZoneInfo, lang: str = "id") -> html.Div:
    if not rows:
        return note(NONE_YET(lang))
    body = [
        html.Tr(
            [
                html.Td(d["name"]),
                html.Td(html.Code(d["prefix"] + "…")),
                html.Td(html.Code(d["view"])),
                html.Td(moment(d["created_ms"], zone), className="in-num"),
                html.Td(
                    [revoked_badge(d["revoked_ms"], lang), " ", moment(d["revoked_ms"], zone)]
                    if d["revoked_ms"]
                    else revoked_badge(None, lang)
                ),
                html.Td(
                    None
                    if d["revoked_ms"]
                    else html.Button(
                        REVOKE(lang),
                        id={"type": ADM_DISPLAY_REVOKE, "id": d["id"]},
                        n_clicks=0,
                        className="adm-revoke",
                        title=Text(f"Cabut layar {d['name']}", f"Revoke display {d['name']}")(lang),
                    )
                ),
            ],
            className="adm-off" if d["revoked_ms"] else "",
        )
        for d in reversed(rows)
    ]
    head = [
        Text("Nama", "Name")(lang),
        Text("Awalan", "Prefix")(lang),
        Text("Tampilan", "View")(lang),
        Text("Dibuat", "Created")(lang),
        Text("Status", "Status")(lang),
        "",
    ]
    return table(head, body, "adm-displays")


SCOPE_LABELS = {
    "sensors": Text("sensor tertentu", "chosen sensors"),
    "opd": Text("sensor milik OPD", "an OPD's sensors"),
    "all": Text("semua sensor", "all sensors"),
}


def keys_table(rows: list[dict[str, Any]], zone: ZoneInfo, lang: str = "id") -> html.Div:
    if not rows:
        return note(NONE_YET(lang))
    body = []
    for k in reversed(rows):
        scope = SCOPE_LABELS.get(k["scope_kind"])
        ids = [i for i in (k["scope"] or "").split(",") if i]
        body.append(
            html.Tr(
                [
                    html.Td(html.Code(f"kmd_{k['prefix']}_…")),
                    html.Td(k["name"]),
                    html.Td(
                        [html.Div(scope(lang) if scope else k["scope_kind"])]
                        + ([html.Div(", ".join(ids), className="op-hint")] if ids else [])
                    ),
                    html.Td(moment(k["created_ms"], zone), className="in-num"),
                    html.Td(
                        [revoked_badge(k["revoked_ms"], lang), " ", moment(k["revoked_ms"], zone)]
                        if k["revoked_ms"]
                        else revoked_badge(None, lang)
                    ),
                    html.Td(
                        None
                        if k["revoked_ms"]
                        else html.Button(
                            REVOKE(lang),
                            id={"type": ADM_KEY_REVOKE, "prefix": k["prefix"]},
                            n_clicks=0,
                            className="adm-revoke",
                            title=Text(f"Cabut kunci {k['name']}", f"Revoke key {k['name']}")(lang),
                        )
                    ),
                ],
                className="adm-off" if k["revoked_ms"] else "",
            )
        )
    head = [
        Text("Awalan", "Prefix")(lang),
        Text("Nama", "Name")(lang),
        Text("Cakupan", "Scope")(lang),
        Text("Dibuat", "Created")(lang),
        Text("Status", "Status")(lang),
        "",
    ]
    return table(head, body, "adm-keys")


# Audit trail ---------------------------------------------------------------------------------


def detail_text(raw: str | None) -> str:
    """The detail JSON as `key: value` pairs; the raw text if it is not JSON."""
    try:
        detail = json.loads(raw or "{}")
    except ValueError:
        return raw or ""
    if not isinstance(detail, dict):
        return str(detail)
    parts = []
    for key, value in detail.items():
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value) or "–"
        elif isinstance(value, bool):
            value = "ya" if value else "tidak"
        parts.append(f"{key}: {value}")
    return " · ".join(parts)


def audit_table(rows: list[dict[str, Any]], city: City, lang: str = "id") -> html.Div:
    if not rows:
        return note(Text("Tidak ada catatan yang cocok.", "No matching entries.")(lang))
    zone = ZoneInfo(city.config.timezone)
    body = [
        html.Tr(
            [
                html.Td(
                    datetime.fromtimestamp(r["ts_ms"] / 1000, zone).strftime("%d-%m-%Y %H.%M.%S"),
                    className="in-num",
                ),
                html.Td(r["actor"]),
                html.Td(html.Code(r["action"])),
                html.Td(r["subject"]),
                html.Td(detail_text(r["detail"]), className="adm-detail"),
            ]
        )
        for r in rows
    ]
    head = [
        f"{Text('Waktu', 'Time')(lang)} ({city.config.timezone_label})",
        Text("Pelaku", "Actor")(lang),
        Text("Tindakan", "Action")(lang),
        Text("Subjek", "Subject")(lang),
        Text("Rincian", "Detail")(lang),
    ]
    return table(head, body, "adm-audit")
