"""Alerts on the map: the active alerts that have a place (a sensor's, a camera's), as a layer.
Redrawn only when the live feed says the alert list moved."""

from __future__ import annotations

import logging
from typing import Any

import redis
from dash import Dash, Input, Output, State
from dash.exceptions import PreventUpdate

from callbacks.logged import logged
from data.alert_store import INCIDENT, INCIDENT_CATEGORIES, AlertFeed
from data.live_reader import LiveReader
from layouts import ids
from layouts.alert_list import ALERT_SIGNAL, SEVERITY_LABELS
from layouts.i18n import normal_lang
from layouts.pages import LANG

log = logging.getLogger(__name__)


def alert_features(alerts: list[dict[str, Any]], lang: str = "id") -> dict[str, Any]:
    """GeoJSON points of the alerts still open or acknowledged, cleared or not, with a place."""
    features = []
    for alert in alerts:
        if (
            alert.get("status") == "resolved"
            or alert.get("lat") is None
            or alert.get("lng") is None
        ):
            continue
        message = (alert.get("message_en") if lang == "en" else None) or alert.get("message", "")
        incident = alert.get("kind") == INCIDENT
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [alert["lng"], alert["lat"]]},
                "properties": {
                    "id": alert["id"],
                    "severity": alert.get("severity", "info"),
                    "label": SEVERITY_LABELS.get(
                        alert.get("severity", "info"), SEVERITY_LABELS["info"]
                    )(lang),
                    "message": message,
                    "cleared": alert.get("cleared_ms") is not None,
                    # An incident (reported by a person) is drawn with its own look.
                    "kind": alert.get("kind") or "",
                    "category": (alert.get("subject") or "") if incident else "",
                    "glyph": INCIDENT_CATEGORIES[alert["subject"]].glyph
                    if incident and alert.get("subject") in INCIDENT_CATEGORIES
                    else "!",
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def register(app: Dash, reader: LiveReader) -> None:
    feed = AlertFeed(reader)

    @app.callback(
        Output(ids.ALERTS_LAYER, "data"),
        Input(ALERT_SIGNAL, "data"),
        State(LANG, "data"),
        prevent_initial_call=True,
    )
    @logged
    async def refresh_alert_layer(_signal, lang):
        try:
            _, alerts = await feed.active("")
        except redis.RedisError as exc:
            log.warning("alert layer: Redis unavailable: %s", exc)
            raise PreventUpdate from exc
        return alert_features(alerts or [], normal_lang(lang))
