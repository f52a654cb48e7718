"""Camera tile captions: the badge says the camera's health; the pictures and their frame age
are kept by the browser itself."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from data.camera_status import CameraStatus
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
