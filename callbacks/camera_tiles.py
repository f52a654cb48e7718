"""Camera tile captions: the badge says the camera's health; the pictures and their frame age
are kept by the browser itself."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from dash import ALL, ClientsideFunction, Dash, Input, Output

from data.camera_status import CameraStatus
from layouts import ids
from layouts.formatting import format_hhmm
from layouts.i18n import Text, label


def badge(status: CameraStatus, zone: ZoneInfo, lang: str = "id") -> tuple[str, str, str]:
    """(badge text, badge class, info line) for one tile. No frame age here: it changes every
    second, and the stream shows it (so the badge changes only when the state does)."""
    css = f"camera-badge state-{status.state}"
    text = label(status.label, lang)
    if status.state in ("live", "stalled"):
        return text, css, status.error if status.state == "stalled" else ""
    if status.state == "offline":
        since = Text("sejak", "since")(lang)
        when = f" {since} {format_hhmm(status.last_frame_ts, zone)}" if status.last_frame_ts else ""
        return f"{text}{when}", css, status.error
    if status.state == "disabled":
        return text, css, status.error
    return text, css, ""


def register(app: Dash) -> None:
    """Badges follow the live feed in the browser; the frame age beside them is kept by the
    stream itself (assets/komando_cameras.js), which knows when each frame arrived."""
    app.clientside_callback(
        ClientsideFunction(namespace="komando_feed", function_name="cameras"),
        Output(ids.camera(ids.CAMERA_BADGE, ALL), "children"),
        Output(ids.camera(ids.CAMERA_BADGE, ALL), "className"),
        Output(ids.camera(ids.CAMERA_INFO, ALL), "children"),
        Input(ids.FEED, "data"),
    )
