"""What the parent portal (/parent, issue 6) shows a parent, as pure functions of the principal,
the city and the time: their schools, each school's viewing hours, and each camera open or
closed with a message in Bahasa Indonesia.

Whether a camera is open is asked of data.access.camera_access, the rule the /video routes
enforce, so the page can never promise a picture the video route then refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from data.access import (
    WEEKDAYS_ID,
    Principal,
    camera_access,
    visible_cameras,
    weekday_names,
)
from data.city import CameraConfig, City, SchoolConfig

STATUS_POLL_S = 60


@dataclass(frozen=True)
class PortalCamera:
    id: str
    name: str
    open: bool
    message: str  # when closed: when it opens again ("Dibuka lagi besok pukul 06.30 WIB.")


@dataclass(frozen=True)
class PortalSchool:
    id: str
    name: str
    hours: str  # "Jam tayang 06.30–14.00 WIB, Senin–Jumat"
    open: bool
    message: str
    cameras: tuple[PortalCamera, ...]


@dataclass(frozen=True)
class Portal:
    city_name: str
    parent_name: str
    schools: tuple[PortalSchool, ...]
    next_check_s: int  # when the page should ask again (sooner when the hours open soon)

    @property
    def cameras(self) -> tuple[PortalCamera, ...]:
        return tuple(c for s in self.schools for c in s.cameras)


def hours_text(school: SchoolConfig, city: City) -> str:
    """ "Jam tayang 06.30–14.00 WIB, Senin–Jumat", as Indonesian writes times."""
    window = school.viewing
    hours = f"{window.label} {city.config.timezone_label}" if window else "sepanjang hari"
    return f"Jam tayang {hours}, {weekday_names(school.viewing_days)}"


def next_opening(
    principal: Principal, camera: CameraConfig, city: City, now: datetime
) -> datetime | None:
    """The first moment after `now` the camera opens to this parent (within a week), else
    None. Candidates are each day's midnight and each window's start: access can begin only
    at one of those."""
    zone = ZoneInfo(city.config.timezone)
    school = _school(city, camera.school)
    if school is None:
        return None
    starts = sorted(
        {0, *(start for start, _ in (school.viewing.windows if school.viewing else ()))}
    )
    today = now.astimezone(zone).date()
    for offset in range(8):
        day = today + timedelta(days=offset)
        for minute in starts:
            moment = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
            if moment > now and camera_access(principal, camera, city, moment).allowed:
                return moment
    return None


def opening_text(opening: datetime, now: datetime, city: City) -> str:
    """ "Dibuka lagi besok pukul 06.30 WIB." """
    zone = ZoneInfo(city.config.timezone)
    local, today = opening.astimezone(zone), now.astimezone(zone).date()
    return f"Dibuka lagi {_day_words(local.date(), today)} pukul {local:%H.%M} " + (
        f"{city.config.timezone_label}."
    )


def _day_words(day: date, today: date) -> str:
    if day == today:
        return "hari ini"
    if day == today + timedelta(days=1):
        return "besok"
    return f"hari {WEEKDAYS_ID[day.isoweekday() - 1]}"


def _school(city: City, school_id: str | None) -> SchoolConfig | None:
    return next((s for s in city.config.schools if s.id == school_id), None)


def build_portal(principal: Principal, city: City, now: datetime) -> Portal:
    """The parent's schools (in the city file's order; ids not in the city are left out) with
    their cameras, each open or closed now."""
    cameras = visible_cameras(principal, city, now)
    schools = []
    soonest: float = STATUS_POLL_S
    for school in city.config.schools:
        if school.id not in principal.schools:
            continue
        tiles = []
        for camera in (c for c in cameras if c.school == school.id):
            answer = camera_access(principal, camera, city, now)
            message = ""
            if not answer.allowed:
                opening = next_opening(principal, camera, city, now)
                if opening is not None:
                    message = opening_text(opening, now, city)
                    soonest = min(soonest, (opening - now).total_seconds())
            tiles.append(PortalCamera(camera.id, camera.name, answer.allowed, message))
        school_open = any(t.open for t in tiles)
        schools.append(
            PortalSchool(
                school.id,
                school.name,
                hours_text(school, city),
                school_open,
                ""
                if school_open or not tiles
                else f"Sekarang di luar jam tayang. {tiles[0].message}".strip(),
                tuple(tiles),
            )
        )
    return Portal(
        city.config.name,
        principal.display_name or principal.name,
        tuple(schools),
        # A second past the opening, so the answer then is "open"; never a busy loop.
        min(STATUS_POLL_S, max(5, int(soonest) + 1)),
    )


def status_payload(portal: Portal) -> dict[str, object]:
    """What /parent/status.json answers: each camera's state, for tiles that open and close
    by the clock without reloading the page."""
    return {
        "next_check_s": portal.next_check_s,
        "cameras": {c.id: {"open": c.open, "message": c.message} for c in portal.cameras},
    }
