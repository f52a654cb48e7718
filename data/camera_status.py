"""How a camera is doing, judged by the age of its last frame — never by the grabber's word alone.

A grabber that dies cannot say it is offline; the age of its last frame still can.
"""

from __future__ import annotations

from dataclasses import dataclass

from data.models import CameraHealth

STATE_LABELS = {
    "live": "LANGSUNG",
    "stalled": "TERSENDAT",
    "offline": "OFFLINE",
    "connecting": "MENYAMBUNG",
}


@dataclass(frozen=True)
class CameraStatus:
    state: str  # live | stalled | offline | connecting
    frame_age_s: float | None  # None: no frame seen yet
    last_frame_ts: float | None
    error: str = ""

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]


def camera_status(
    health: CameraHealth | None, now: float, stalled_after_s: float, offline_after_s: float
) -> CameraStatus:
    if health is None:
        return CameraStatus("offline", None, None, "belum ada laporan dari grabber")
    if health.frame_ts <= 0:
        # Never had a frame: connecting while the grabber still reports, else offline.
        fresh_report = now - health.updated_ts <= offline_after_s
        state = "connecting" if fresh_report and health.state == "connecting" else "offline"
        return CameraStatus(state, None, None, health.error)
    age = max(0.0, now - health.frame_ts)
    if age >= offline_after_s:
        state = "offline"
    elif age >= stalled_after_s or health.state != "live":
        state = "stalled"
    else:
        state = "live"
    return CameraStatus(state, age, health.frame_ts, health.error)
