"""Alerts on the wall (issue 5): a compact list with Akui / Tugaskan / Selesai, a one-line ticker
for the wall header, and `/alerts`, the full list for the command-centre desk.

Pure functions of the alert dicts the live list holds (data/alert_store.py); callbacks in
callbacks/alert_list.py fill them in. Component ids of this panel live here.
"""

from __future__ import annotations

import json
import time
from typing import Any
from zoneinfo import ZoneInfo

from dash import dcc, html

from data.alert_store import DESCRIPTION_MAX, INCIDENT, INCIDENT_CATEGORIES
from data.city import City
from data.regions import region_tree
from layouts.formatting import format_hhmm
from layouts.i18n import Text
from layouts.live_feed import live_feed

ALERT_LIST = "alert-list"
ALERT_STATE = "alert-state"  # Store: {"version": str}
ALERT_CRITICAL = "alert-critical"  # Store: uids of open critical alerts (the chime listens)
ALERT_CHIMED = "alert-chimed"  # Store the clientside chime writes (nothing reads it)
ALERT_SOUND = "alert-sound"  # button: switch the chime on (a user gesture unlocks audio)
ALERT_FEEDBACK = "alert-feedback"
ALERT_TICKER = "alert-ticker"
ALERT_SIGNAL = "alert-signal"  # Store: the live list's version, from the page's live feed
ALERT_ACTION = "alert-action"  # {"type": ALERT_ACTION, "action": "ack" | "resolve", "alert": uid}
ALERT_ASSIGN = "alert-assign"  # {"type": ALERT_ASSIGN, "alert": uid}: dropdown of OPDs
# "Laporkan kejadian": an incident a person reports (on /alerts only; data/alert_store.py)
INCIDENT_CATEGORY = "incident-category"
INCIDENT_SEVERITY = "incident-severity"
INCIDENT_REGION = "incident-region"
INCIDENT_DESCRIPTION = "incident-description"
INCIDENT_SUBMIT = "incident-submit"
INCIDENT_FEEDBACK = "incident-feedback"

TITLE = Text("Peringatan", "Alerts")
NO_ALERTS = Text("Tidak ada peringatan aktif", "No active alerts")
WAITING = Text("Memuat peringatan…", "Loading alerts…")
ACK = Text("Akui", "Acknowledge")
RESOLVE = Text("Selesai", "Resolve")
ASSIGN = Text("Tugaskan…", "Assign…")
# ♪ rather than a bell emoji: walls often have no emoji font (the bell drew as a box).
SOUND_ON = Text("♪ suara aktif", "♪ sound on")
SOUND_OFF = Text("♪ aktifkan suara", "♪ enable sound")
SEVERITY_LABELS = {
    "critical": Text("KRITIS", "CRITICAL"),
    "warning": Text("WASPADA", "WARNING"),
    "info": Text("INFO", "INFO"),
}
STATUS_LABELS = {
    "open": Text("BARU", "NEW"),
    "acknowledged": Text("DIAKUI", "ACKNOWLEDGED"),
    "resolved": Text("SELESAI", "RESOLVED"),
}
CLEARED = Text("KEMBALI NORMAL", "BACK TO NORMAL")
INCIDENT_BADGE = Text("KEJADIAN", "INCIDENT")
INCIDENT_TITLE = Text("Laporkan kejadian", "Report an incident")
INCIDENT_LABELS = {
    "category": Text("Jenis", "Kind"),
    "severity": Text("Tingkat", "Severity"),
    "region": Text("Kecamatan / desa", "Kecamatan / village"),
    "description": Text("Uraian", "Description"),
}
INCIDENT_PLACEHOLDERS = {
    "category": Text("pilih jenis…", "choose a kind…"),
    "region": Text("cari kecamatan atau desa…", "search a kecamatan or village…"),
    "description": Text(
        "apa yang terjadi, di mana persisnya, sumber laporan",
        "what happened, where exactly, who reported it",
    ),
}
INCIDENT_SEND = Text("Laporkan", "Report")
INCIDENT_SEVERITIES = {
    "info": Text("Info", "Info"),
    "warning": Text("Waspada", "Warning"),
    "critical": Text("Kritis", "Critical"),
}
# Units for "3 mnt lalu", which the browser keeps current between list changes.
AGE_UNITS = {
    "s": Text("dtk lalu", "s ago"),
    "m": Text("mnt lalu", "min ago"),
    "h": Text("jam lalu", "h ago"),
    "d": Text("hari lalu", "days ago"),
}


def action_id(action: str, uid: str) -> dict[str, str]:
    return {"type": ALERT_ACTION, "action": action, "alert": uid}


def assign_id(uid: str) -> dict[str, str]:
    return {"type": ALERT_ASSIGN, "alert": uid}


def age_text(seconds: float, lang: str) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} {AGE_UNITS['s'](lang)}"
    if seconds < 3600:
        return f"{seconds // 60:.0f} {AGE_UNITS['m'](lang)}"
    if seconds < 86400:
        return f"{seconds // 3600:.0f} {AGE_UNITS['h'](lang)}"
    return f"{seconds // 86400:.0f} {AGE_UNITS['d'](lang)}"


def _region_name(city: City, kode: str | None) -> str:
    if not kode:
        return ""
    features = city.kecamatan_geojson.get("features", [])
    kecamatan = kode[:8]
    for feature in features:
        props = feature.get("properties", {})
        if props.get("kode") == kecamatan or props.get("kode_wilayah") == kecamatan:
            name = props.get("name") or props.get("nama")
            return f"Kec. {name}" if name else ""
    return ""


def alert_row(
    alert: dict[str, Any], city: City, lang: str, now: float, can_act: bool = True
) -> html.Div:
    """One alert; `can_act`: with the desk's buttons (the signed-in role may act)."""
    uid = alert["id"]
    severity = alert.get("severity") or "info"
    status = alert.get("status") or "open"
    cleared = alert.get("cleared_ms") is not None
    opened_s = (alert.get("opened_ms") or 0) / 1000
    zone = ZoneInfo(city.config.timezone)
    message = (alert.get("message_en") if lang == "en" else None) or alert.get("message") or ""
    incident = alert.get("kind") == INCIDENT
    subject_name = alert.get("subject_name")
    category = INCIDENT_CATEGORIES.get(alert.get("subject") or "") if incident else None
    if category is not None:
        subject_name = category.label_en if lang == "en" else category.label
    where = " · ".join(
        part for part in (subject_name, _region_name(city, alert.get("region_kode"))) if part
    )
    badges = [html.Span(SEVERITY_LABELS[severity](lang), className="alert-severity")]
    if incident:
        badges.append(html.Span(INCIDENT_BADGE(lang), className="alert-kind"))
    badges.append(html.Span(STATUS_LABELS[status](lang), className=f"alert-status st-{status}"))
    if cleared and status != "resolved":
        badges.append(html.Span(CLEARED(lang), className="alert-status st-cleared"))
    people = []
    if alert.get("acknowledged_by"):
        people.append(Text("diakui", "acknowledged by")(lang) + f" {alert['acknowledged_by']}")
    if alert.get("assignee"):
        people.append(Text("ditugaskan ke", "assigned to")(lang) + f" {_opd_name(city, alert)}")
    if alert.get("resolved_by"):
        people.append(Text("diselesaikan", "resolved by")(lang) + f" {alert['resolved_by']}")
    buttons: list[Any] = []
    if can_act and status == "open":
        buttons.append(
            html.Button(ACK(lang), id=action_id("ack", uid), className="alert-btn alert-ack")
        )
    if can_act and status in ("open", "acknowledged"):
        buttons.append(
            dcc.Dropdown(
                id=assign_id(uid),
                options=[{"label": o.short_name, "value": o.id} for o in city.config.opds],
                placeholder=ASSIGN(lang),
                clearable=False,
                searchable=False,
                className="alert-assign",
            )
        )
        buttons.append(
            html.Button(
                RESOLVE(lang), id=action_id("resolve", uid), className="alert-btn alert-resolve"
            )
        )
    classes = f"alert-row sev-{severity} st-{status}"
    if incident:
        classes += " is-incident"
    if cleared:
        classes += " is-cleared"
    if severity == "critical" and status == "open" and not cleared:
        classes += " is-new-critical"  # pulses until someone acknowledges it
    return html.Div(
        [
            html.Div(className="alert-bar"),
            html.Div(
                [
                    html.Div(
                        [*badges, html.Span(message, className="alert-message")],
                        className="alert-line",
                    ),
                    html.Div(
                        [
                            html.Span(where, className="alert-where"),
                            html.Span(
                                f"{format_hhmm(opened_s, zone)} · {age_text(now - opened_s, lang)}",
                                className="alert-age",
                                **{
                                    "data-ts": str(opened_s),
                                    "data-hhmm": format_hhmm(opened_s, zone),
                                },
                            ),
                            html.Span(" · ".join(people), className="alert-people"),
                        ],
                        className="alert-meta",
                    ),
                ],
                className="alert-body",
            ),
            html.Div(buttons, className="alert-actions"),
        ],
        className=classes,
        **{
            "data-alert": uid,
            "data-severity": severity,
            "data-status": status,
            "data-kind": alert.get("kind") or "",
        },
    )


def _opd_name(city: City, alert: dict[str, Any]) -> str:
    assignee = alert.get("assignee") or ""
    opd = next((o for o in city.config.opds if o.id == assignee), None)
    return opd.short_name if opd else assignee


def alert_rows(
    alerts: list[dict[str, Any]],
    city: City,
    lang: str,
    now: float | None = None,
    can_act: bool = True,
) -> list[html.Div]:
    now = time.time() if now is None else now
    if not alerts:
        return [html.Div(NO_ALERTS(lang), className="alert-empty")]
    return [alert_row(alert, city, lang, now, can_act) for alert in alerts]


def critical_open(alerts: list[dict[str, Any]]) -> list[str]:
    """Uids of critical alerts nobody has acknowledged and whose condition still holds."""
    return sorted(
        a["id"]
        for a in alerts
        if a.get("severity") == "critical"
        and a.get("status") == "open"
        and a.get("cleared_ms") is None
    )


def alert_panel(city: City, lang: str = "id") -> html.Div:
    units = json.dumps({k: v(lang) for k, v in AGE_UNITS.items()}, ensure_ascii=False)
    return html.Div(
        [
            html.Div(
                [
                    html.H2(TITLE(lang)),
                    html.Div(
                        [
                            html.Button(
                                SOUND_OFF(lang),
                                id=ALERT_SOUND,
                                className="alert-sound",
                                **{"data-on": SOUND_ON(lang), "data-off": SOUND_OFF(lang)},
                            ),
                        ],
                        className="alert-tools",
                    ),
                ],
                className="panel-head",
            ),
            html.Div("", id=ALERT_FEEDBACK, className="alert-feedback", role="status"),
            html.Div(
                [html.Div(WAITING(lang), className="alert-empty")],
                id=ALERT_LIST,
                className="alert-list",
                **{"data-units": units, "data-lang": lang},
            ),
            dcc.Store(id=ALERT_STATE, data={"version": ""}),
            dcc.Store(id=ALERT_CRITICAL, data=[]),
            dcc.Store(id=ALERT_CHIMED),
        ],
        className="panel alert-panel",
    )


def ticker_content(alerts: list[dict[str, Any]], lang: str) -> list[Any]:
    """'2 KRITIS · 1 WASPADA — the worst unresolved alert's message', or all quiet."""
    active = [a for a in alerts if a.get("status") != "resolved" and a.get("cleared_ms") is None]
    if not active:
        return [html.Span(NO_ALERTS(lang), className="ticker-quiet")]
    parts: list[Any] = []
    for severity in ("critical", "warning", "info"):
        count = sum(1 for a in active if a.get("severity") == severity)
        if count:
            parts.append(
                html.Span(
                    f"{count} {SEVERITY_LABELS[severity](lang)}",
                    className=f"ticker-count sev-{severity}",
                )
            )
    worst = active[0]  # the list comes sorted: worst and newest first
    message = (worst.get("message_en") if lang == "en" else None) or worst.get("message") or ""
    parts.append(html.Span(message, className="ticker-message"))
    return parts


def alert_ticker(city: City, lang: str = "id") -> html.Div:
    """One line for the bottom of the wall header."""
    return html.Div(
        [
            html.Div(
                [html.Span(WAITING(lang), className="ticker-quiet")],
                id=ALERT_TICKER,
                className="alert-ticker-line",
            ),
            dcc.Store(id=ALERT_SIGNAL),
        ],
        className="alert-ticker",
        title=f"{TITLE(lang)} — {city.config.name}",
    )


def region_options(city: City) -> list[dict[str, str]]:
    """Each kecamatan, then its desa/kelurahan, for the incident form's searchable dropdown."""
    tree = region_tree(city)
    options: list[dict[str, str]] = []
    for kecamatan in tree.kecamatan:
        options.append({"label": f"Kec. {kecamatan.name}", "value": kecamatan.kode})
        for desa in tree.children(kecamatan.kode):
            options.append({"label": f"{desa.name} (Kec. {kecamatan.name})", "value": desa.kode})
    return options


def incident_form(city: City, lang: str = "id") -> html.Div:
    """ "Laporkan kejadian": what the desk learns of by phone, a report or a camera. On /alerts
    only (the wall is read-mostly); filed under the name in the panel's "Petugas" field."""

    def field(key: str, control: Any) -> html.Div:
        return html.Div(
            [html.Label(INCIDENT_LABELS[key](lang), htmlFor=control.id), control],
            className=f"incident-field incident-{key}",
        )

    return html.Div(
        [
            html.H2(INCIDENT_TITLE(lang)),
            html.Div(
                [
                    field(
                        "category",
                        dcc.Dropdown(
                            id=INCIDENT_CATEGORY,
                            options=[
                                {"label": c.label_en if lang == "en" else c.label, "value": c.id}
                                for c in INCIDENT_CATEGORIES.values()
                            ],
                            placeholder=INCIDENT_PLACEHOLDERS["category"](lang),
                            searchable=False,
                        ),
                    ),
                    field(
                        "severity",
                        dcc.Dropdown(
                            id=INCIDENT_SEVERITY,
                            options=[
                                {"label": t(lang), "value": k}
                                for k, t in INCIDENT_SEVERITIES.items()
                            ],
                            value="warning",
                            clearable=False,
                            searchable=False,
                        ),
                    ),
                    field(
                        "region",
                        dcc.Dropdown(
                            id=INCIDENT_REGION,
                            options=region_options(city),
                            placeholder=INCIDENT_PLACEHOLDERS["region"](lang),
                        ),
                    ),
                    field(
                        "description",
                        dcc.Textarea(
                            id=INCIDENT_DESCRIPTION,
                            placeholder=INCIDENT_PLACEHOLDERS["description"](lang),
                            maxLength=DESCRIPTION_MAX,
                            rows=2,
                            className="incident-text",
                        ),
                    ),
                    html.Button(
                        INCIDENT_SEND(lang), id=INCIDENT_SUBMIT, className="alert-btn incident-send"
                    ),
                ],
                className="incident-fields",
            ),
            html.Div("", id=INCIDENT_FEEDBACK, className="incident-feedback", role="status"),
        ],
        className="panel incident-form",
    )


def alerts_page(city: City, refresh_ms: int, lang: str = "id", can_act: bool = True) -> html.Div:
    """`/alerts`: the full list for the command-centre desk; `can_act` adds the incident form
    (for the roles that act on alerts)."""
    return html.Div(
        [
            html.Header(
                [
                    html.Div(
                        [
                            html.Div("KOMANDO", className="brand"),
                            html.Div(
                                [
                                    html.Div(
                                        Text("Daftar peringatan", "Alert list")(lang),
                                        className="brand-sub",
                                    ),
                                    html.Div(city.config.name, className="city-name"),
                                ]
                            ),
                        ],
                        className="header-left",
                    ),
                    dcc.Link(
                        Text("Dinding komando", "Command wall")(lang),
                        href="/",
                        className="alert-page-link",
                    ),
                ],
                className="wall-header",
            ),
            alert_ticker(city, lang),
            incident_form(city, lang) if can_act else html.Div(),
            alert_panel(city, lang),
            live_feed(("alerts",), refresh_ms, lang),
        ],
        className="wall alerts-page",
        lang=lang,
    )
