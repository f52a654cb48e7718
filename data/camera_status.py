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
    "disabled": "DI LUAR JAM",
}

# A grabber refreshes a non-live camera's report every few seconds; a "disabled" report older
# than this means the grabber itself is gone, and the camera is simply offline.
DISABLED_REPORT_FRESH_S = 30.0


@dataclass(frozen=True)
class CameraStatus:
    state: str  # live | stalled | offline | connecting | disabled (outside its enabled hours)
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
    if health.state == "disabled" and now - health.updated_ts <= max(
        offline_after_s, DISABLED_REPORT_FRESH_S
    ):
        last = health.frame_ts if health.frame_ts > 0 else None
        return CameraStatus("disabled", None, last, health.error)
    if health.frame_ts <= 0:
        # Never had a frame: connecting while the grabber still reports, else offline.
        fresh_report = now - health.updated_ts <= offline_after_s
        state = "connecting" if fresh_report and health.state == "connecting" else "offline"
        return CameraStatus(state, None, None, health.error)
    age = max(0.0, now - health.frame_ts)
    lost = health.state == "offline" and now - health.updated_ts <= offline_after_s
    if age >= offline_after_s or lost:
        # The grabber saw the connection drop (a fresh "offline" report): say so at once
        # rather than wait for the frame to age; a silent grabber is judged by age alone.
        state = "offline"
    elif age >= stalled_after_s or health.state != "live":
        state = "stalled"
    else:
        state = "live"
    return CameraStatus(state, age, health.frame_ts, health.error)
