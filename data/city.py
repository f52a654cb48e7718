"""A city is a folder: `city.yaml` (validated here) plus its boundary files.

Errors name the file, the field and what is wrong, so whoever edits the YAML can fix it without
reading Python.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

SensorKind = Literal["air_quality", "water_level", "traffic_flow", "parking"]
Dimension = Literal["governance", "branding", "economy", "living", "society", "environment"]

SENSOR_UNITS: dict[str, str] = {
    "air_quality": "µg/m³",
    "water_level": "cm",
    "traffic_flow": "kend/jam",
    "parking": "%",
}

DIMENSION_LABELS: dict[str, tuple[str, str]] = {
    "governance": ("Smart Governance", "Tata kelola"),
    "branding": ("Smart Branding", "Citra kota"),
    "economy": ("Smart Economy", "Ekonomi"),
    "living": ("Smart Living", "Kualitas hidup"),
    "society": ("Smart Society", "Masyarakat"),
    "environment": ("Smart Environment", "Lingkungan"),
}

KODE_PATTERN = r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$"


class _Strict(BaseModel):
    # No NaN or infinity anywhere: YAML's .nan and .inf are floats to pydantic, and a NaN
    # target or coordinate passed every bound check (issue 7).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SensorConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", title="Sensor id")
    kind: SensorKind
    name: str = Field(min_length=1, max_length=120)
    region: str = Field(pattern=KODE_PATTERN, title="Kemendagri kode wilayah of its village")
    lat: float = Field(ge=-11.5, le=6.5, title="Latitude (Indonesia)")
    lng: float = Field(ge=94.0, le=141.5, title="Longitude (Indonesia)")
    offset: float = Field(default=0.0, ge=-100, le=100, title="Simulator: added to the baseline")
    base: float | None = Field(
        default=None, ge=0, le=2000, title="Simulator: water level base (cm)"
    )
    siaga: tuple[float, float, float] | None = Field(
        default=None, title="Water level alert levels Siaga 3, 2, 1 (cm)"
    )
    capacity: int | None = Field(default=None, ge=1, le=100_000, title="Vehicles/h or spaces")
    owner: str | None = Field(default=None, title="OPD id responsible for this sensor")

    @model_validator(mode="after")
    def _kind_fields(self) -> SensorConfig:
        if self.kind in ("traffic_flow", "parking") and self.capacity is None:
            raise ValueError(f"a {self.kind} sensor needs `capacity`")
        if self.kind == "water_level":
            if self.siaga is None:
                raise ValueError("a water_level sensor needs `siaga: [siaga3, siaga2, siaga1]`")
            if not self.siaga[0] < self.siaga[1] < self.siaga[2]:
                raise ValueError("`siaga` must rise: Siaga 3 < Siaga 2 < Siaga 1")
        return self

    @property
    def unit(self) -> str:
        return SENSOR_UNITS[self.kind]


class OpdConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", title="OPD id")
    name: str = Field(min_length=1, max_length=160)
    short_name: str = Field(min_length=1, max_length=40)


class SchoolConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", title="School id")
    name: str = Field(min_length=1, max_length=160)
    npsn: str | None = Field(default=None, pattern=r"^\d{8}$", title="Nomor Pokok Sekolah Nasional")
    region: str = Field(pattern=KODE_PATTERN)
    lat: float = Field(ge=-11.5, le=6.5)
    lng: float = Field(ge=94.0, le=141.5)
    viewing_hours: str | None = Field(
        default=None,
        title="Local hours parents may watch this school's cameras, e.g. '06:30-14:00'; "
        "empty: any time",
    )
    viewing_days: list[int] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5, 6, 7],
        title="ISO weekdays parents may watch (1 = Monday … 7 = Sunday)",
    )

    @field_validator("viewing_hours")
    @classmethod
    def _viewing_hours_parse(cls, value: str | None) -> str | None:
        if value is not None:
            EnabledHours.parse(value)
        return value

    @field_validator("viewing_days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if not value or any(day < 1 or day > 7 for day in value):
            raise ValueError("viewing_days are ISO weekdays 1 (Monday) … 7 (Sunday), at least one")
        return sorted(set(value))

    @property
    def viewing(self) -> EnabledHours | None:
        return EnabledHours.parse(self.viewing_hours) if self.viewing_hours else None


SourceType = Literal["auto", "rtsp", "mjpeg", "snapshot", "file", "device"]
SOURCE_TYPES: tuple[str, ...] = ("rtsp", "mjpeg", "snapshot", "file", "device")
_DEVICE = re.compile(r"^device:(\d{1,3}|/dev/video\d{1,3})$")
_HOURS_WINDOW = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


def source_type_of(source: str, declared: str = "auto") -> str:
    """What kind of camera `source` (a resolved URL, a path or `device:N`) is.

    HTTP cameras come in two kinds that a URL cannot tell apart: a stream (MJPEG, the default)
    and a snapshot URL answering one JPEG per request, which must be declared. Raises ValueError
    when the source does not fit the declared kind; the message never repeats the source.
    """
    scheme = source.split("://", 1)[0].lower() if "://" in source else ""
    if source.startswith("device:"):
        found = "device" if _DEVICE.match(source) else ""
        if not found:
            raise ValueError("a local device is `device:<number>` or `device:/dev/video<number>`")
    elif source.startswith("sample:"):
        found = "file"
    elif scheme in ("rtsp", "rtsps"):
        found = "rtsp"
    elif scheme in ("http", "https"):
        found = "snapshot" if declared == "snapshot" else "mjpeg"
    elif scheme in ("", "file"):
        found = "file"
    else:
        raise ValueError(
            f"unsupported URL scheme {scheme}://; a camera is rtsp://, http(s):// (MJPEG stream "
            "or snapshot), a video file or device:<n>"
        )
    if declared not in ("auto", found):
        raise ValueError(f"source_type is {declared} but the source is a {found} source")
    return found


@dataclass(frozen=True)
class EnabledHours:
    """Local times of day a camera is read, as [start, end) minute windows; a window whose end is
    before its start runs overnight ("22:00-06:00")."""

    windows: tuple[tuple[int, int], ...]

    @classmethod
    def parse(cls, text: str) -> EnabledHours:
        windows = []
        for part in text.split(","):
            match = _HOURS_WINDOW.match(part.strip())
            if not match:
                raise ValueError(
                    f"{part.strip()!r} is not a time window: write HH:MM-HH:MM, e.g. 06:00-18:00 "
                    "(overnight 22:00-06:00; several separated by commas)"
                )
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2 != 0):
                raise ValueError(f"{part.strip()!r}: hours run 00:00..24:00")
            start, end = h1 * 60 + m1, h2 * 60 + m2
            if start == end:
                raise ValueError(
                    f"{part.strip()!r}: start and end are the same time; for a camera that is "
                    "always on, leave enabled_hours out"
                )
            windows.append((start, end))
        return cls(tuple(windows))

    def contains(self, minute_of_day: float) -> bool:
        for start, end in self.windows:
            if start < end and start <= minute_of_day < end:
                return True
            if start > end and (minute_of_day >= start or minute_of_day < end):
                return True
        return False

    def is_on(self, moment: datetime) -> bool:
        """`moment` must already be in the city's time zone."""
        return self.contains(moment.hour * 60 + moment.minute + moment.second / 60)

    @property
    def label(self) -> str:
        """ "06.00–18.00", as Indonesian writes times."""

        def hhmm(minute: int) -> str:
            return f"{minute // 60:02d}.{minute % 60:02d}"

        return ", ".join(f"{hhmm(start)}–{hhmm(end)}" for start, end in self.windows)


class PrivacyMask(_Strict):
    """A polygon blacked out of every published picture, before it is encoded."""

    name: str = Field(
        default="", max_length=80, title="What it hides, e.g. 'jendela rumah tetangga'"
    )
    points: list[tuple[float, float]] = Field(
        min_length=3,
        max_length=64,
        title="Corners [x, y] as fractions of the picture's width and height (0..1, top left 0, 0)",
    )

    @field_validator("points")
    @classmethod
    def _inside_and_not_flat(cls, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        for x, y in points:
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise ValueError(
                    f"corner [{x}, {y}] is outside the picture: x and y are fractions of its "
                    "width and height, from 0 to 1"
                )
        doubled_area = sum(
            x1 * y2 - x2 * y1
            for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True)
        )
        if abs(doubled_area) < 1e-6:
            raise ValueError("the polygon has no area (its corners lie on one line)")
        return points


class CameraConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", title="Camera id")
    name: str = Field(min_length=1, max_length=120)
    kind: Literal["school", "street"]
    school: str | None = Field(default=None, title="School id, for a school camera")
    region: str = Field(pattern=KODE_PATTERN)
    lat: float = Field(ge=-11.5, le=6.5)
    lng: float = Field(ge=94.0, le=141.5)
    source: str = Field(
        min_length=1,
        title="`sample:<file>` for a shipped demo clip, `device:<n>` for a local camera, or "
        "`env:<VARIABLE>` / `secret:<name>` for a real camera URL, which may carry credentials "
        "and is never committed",
    )
    source_type: SourceType = Field(
        default="auto",
        title="rtsp | mjpeg | snapshot | file | device; auto: from the URL (http = MJPEG). "
        "An HTTP URL that answers one JPEG per request must say `snapshot`",
    )
    fps: float | None = Field(
        default=None, gt=0, le=30, title="Frames per second published; empty: KOMANDO_CAMERA_FPS"
    )
    width: int | None = Field(
        default=None, ge=64, le=3840, title="Width of published frames (px); empty: global"
    )
    jpeg_quality: int | None = Field(
        default=None, ge=10, le=100, title="JPEG quality of frames; empty: global"
    )
    privacy_masks: list[PrivacyMask] = Field(
        default_factory=list,
        max_length=32,
        title="Areas blacked out before encoding (classrooms, neighbours' windows)",
    )
    enabled_hours: str | None = Field(
        default=None,
        title="Local hours the camera is read, e.g. '06:00-18:00' or '22:00-06:00'; "
        "outside them it is not opened at all. Empty: always",
    )

    @field_validator("enabled_hours")
    @classmethod
    def _hours_parse(cls, value: str | None) -> str | None:
        if value is not None:
            EnabledHours.parse(value)
        return value

    @model_validator(mode="after")
    def _school_camera_has_school(self) -> CameraConfig:
        if self.kind == "school" and not self.school:
            raise ValueError("a school camera needs `school` (the school's id)")
        if "://" in self.source and "@" in self.source.split("://", 1)[1].split("/", 1)[0]:
            raise ValueError(
                "credentials in a committed camera URL: use env:<VARIABLE> or secret:<name> instead"
            )
        # env:/secret: sources are checked once resolved, when the grabber starts.
        if not self.source.startswith(("env:", "secret:")):
            source_type_of(self.source, self.source_type)
        return self

    @property
    def hours(self) -> EnabledHours | None:
        return EnabledHours.parse(self.enabled_hours) if self.enabled_hours else None


class LocalizedName(_Strict):
    id: str = Field(min_length=1, max_length=80)
    en: str = Field(min_length=1, max_length=80)


class KpiSource(_Strict):
    type: Literal["sensors", "simulated", "operator"]
    kind: SensorKind | None = None
    aggregate: Literal["mean", "max", "min", "sum"] | None = None
    model: Literal["random_walk", "year_progress", "daily_count"] | None = None
    low: float | None = None
    high: float | None = None
    start: float | None = None
    step: float | None = Field(default=None, gt=0)
    noise: float | None = Field(default=None, ge=0)
    per_hour_peak: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _complete(self) -> KpiSource:
        if self.type == "sensors" and (self.kind is None or self.aggregate is None):
            raise ValueError("a sensors source needs `kind` and `aggregate`")
        if self.type == "simulated":
            if self.model is None:
                raise ValueError("a simulated source needs `model`")
            if self.model in ("random_walk", "year_progress") and (
                self.low is None or self.high is None or self.low >= self.high
            ):
                raise ValueError(f"model {self.model} needs `low` < `high`")
            if self.model == "daily_count" and self.per_hour_peak is None:
                raise ValueError("model daily_count needs `per_hour_peak`")
        return self


class KpiConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    dimension: Dimension
    name: LocalizedName
    unit: str = Field(max_length=20)
    direction: Literal["higher", "lower"] = Field(title="Which way is better")
    target: float
    warn: float = Field(title="Past the target but not yet bad, up to this value")
    decimals: int = Field(default=0, ge=0, le=3)
    owner: str = Field(title="OPD id that owns the KPI and, for operator KPIs, enters it")
    cadence: Literal["realtime", "daily", "weekly", "monthly"] = "realtime"
    on_wall: bool = Field(default=True, title="Shown as a tile on the command-centre wall")
    low: float | None = Field(default=None, title="Lowest plausible value (operator entries)")
    high: float | None = Field(default=None, title="Highest plausible value (operator entries)")
    source: KpiSource

    @model_validator(mode="after")
    def _warn_beyond_target(self) -> KpiConfig:
        if self.direction == "lower" and self.warn < self.target:
            raise ValueError("for direction lower, `warn` must be >= `target`")
        if self.direction == "higher" and self.warn > self.target:
            raise ValueError("for direction higher, `warn` must be <= `target`")
        return self


AlertKind = Literal["air_quality", "water_level", "camera_offline", "opd_late", "kpi"]
Severity = Literal["info", "warning", "critical"]
SEVERITY_ORDER: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}


class AlertLevel(_Strict):
    """One step of an alert rule: from `category` (sensors, KPIs), `after_s` (cameras) or
    `after_periods` (OPDs) on, an alert has `severity`."""

    severity: Severity
    category: str | None = Field(
        default=None,
        title="air_quality / water_level / kpi: the category from which this level applies, as "
        "data/categories.py names it ('Tidak sehat', 'Siaga 2', 'Di luar batas')",
    )
    after_s: float | None = Field(
        default=None, ge=1, le=7 * 86_400, title="camera_offline: seconds offline"
    )
    after_periods: float | None = Field(
        default=None,
        gt=0,
        le=100,
        title="opd_late: reporting periods (by the cadence of the OPD's KPIs) without an entry",
    )


_LEVEL_FIELD = {
    "air_quality": "category",
    "water_level": "category",
    "kpi": "category",
    "camera_offline": "after_s",
    "opd_late": "after_periods",
}


class AlertRule(_Strict):
    """A threshold rule evaluated by the ingest role (data/alerts.py). A city's rule with the
    id of a default rule replaces it; `enabled: false` switches a default off."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", title="Rule id")
    kind: AlertKind
    enabled: bool = True
    levels: list[AlertLevel] = Field(
        default_factory=list,
        max_length=5,
        title="Thresholds, mildest first; may be left out only with `enabled: false`",
    )
    subjects: list[str] | None = Field(
        default=None,
        title="Only these sensor / camera / OPD / KPI ids; empty: every one of the kind",
    )
    hold_s: float = Field(
        default=10.0,
        ge=0,
        le=86_400,
        title="A level must hold this long before it opens or escalates an alert (no flapping)",
    )
    clear_s: float = Field(
        default=60.0,
        ge=0,
        le=86_400,
        title="The condition must be gone this long before the alert shows 'kembali normal'",
    )
    auto_resolve_s: float | None = Field(
        default=900.0,
        ge=0,
        le=30 * 86_400,
        title="An unacknowledged alert back to normal this long is resolved by the system; "
        "empty: never (a person resolves every alert)",
    )

    @model_validator(mode="after")
    def _levels_fit_kind(self) -> AlertRule:
        # Lazily: data.categories imports this module.
        from data.categories import KPI_BAD, KPI_WARN, PM25_BANDS, WATER_SIAGA

        if self.enabled and not self.levels:
            raise ValueError("an enabled rule needs `levels`")
        field = _LEVEL_FIELD[self.kind]
        ranks: list[float] = []
        for number, level in enumerate(self.levels):
            given = {
                name
                for name in ("category", "after_s", "after_periods")
                if getattr(level, name) is not None
            }
            if given != {field}:
                raise ValueError(
                    f"levels[{number}]: a {self.kind} rule's level gives `{field}` (and only it)"
                )
            if field == "category":
                names = {
                    "air_quality": [c.label for _, c in PM25_BANDS if c.level > 0],
                    "water_level": [c.label for c in WATER_SIAGA],
                    "kpi": [KPI_WARN.label, KPI_BAD.label],
                }[self.kind]
                if level.category not in names:
                    raise ValueError(
                        f"levels[{number}].category: {level.category!r} is not one of "
                        + ", ".join(repr(n) for n in names)
                    )
                ranks.append(names.index(level.category))
            else:
                ranks.append(float(getattr(level, field)))
        severities = [SEVERITY_ORDER[level.severity] for level in self.levels]
        if ranks != sorted(ranks) or len(set(ranks)) != len(ranks):
            raise ValueError("`levels` must go from the mildest threshold to the worst")
        if severities != sorted(severities):
            raise ValueError("a worse level cannot have a lower severity than a milder one")
        return self


def _rule(rule_id: str, kind: str, levels: list[dict[str, Any]], **extra: Any) -> AlertRule:
    return AlertRule.model_validate({"id": rule_id, "kind": kind, "levels": levels, **extra})


def default_alert_rules() -> list[AlertRule]:
    """Rules every city gets unless its `alerts:` replaces or disables them by id."""
    return [
        _rule(
            "pm25",
            "air_quality",
            [
                {"category": "Tidak sehat", "severity": "warning"},
                {"category": "Sangat tidak sehat", "severity": "critical"},
            ],
            hold_s=30.0,
            clear_s=120.0,
        ),
        _rule(
            "tinggi-muka-air",
            "water_level",
            [
                {"category": "Siaga 3", "severity": "warning"},
                {"category": "Siaga 2", "severity": "warning"},
                {"category": "Siaga 1", "severity": "critical"},
            ],
            hold_s=30.0,
            clear_s=300.0,
        ),
        # The grabber already waits KOMANDO_CAMERA_OFFLINE_AFTER_S before "offline"; this waits
        # a minute of offline on top of no hold, so a reconnecting camera does not ring.
        _rule(
            "kamera-offline",
            "camera_offline",
            [{"after_s": 60, "severity": "warning"}],
            hold_s=0.0,
            clear_s=30.0,
        ),
        _rule(
            "opd-terlambat",
            "opd_late",
            [
                {"after_periods": 1, "severity": "info"},
                {"after_periods": 2, "severity": "warning"},
            ],
            hold_s=0.0,
            clear_s=0.0,
        ),
        _rule(
            "kpi-di-luar-batas",
            "kpi",
            [{"category": "Di luar batas", "severity": "info"}],
            hold_s=60.0,
            clear_s=300.0,
        ),
    ]


class BoundaryFiles(_Strict):
    kecamatan: str
    desa_kelurahan: str | None = None


class CameraGroupConfig(_Strict):
    """A named set of cameras for the CCTV wall, e.g. a road corridor. (Each school's and each
    kecamatan's cameras are grouped automatically.)"""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", title="Group id")
    name: str = Field(min_length=1, max_length=120)
    cameras: list[str] = Field(min_length=1, title="Camera ids, in wall order")


class CityConfig(_Strict):
    kode: str = Field(pattern=r"^\d{2}\.\d{2}$", title="Kemendagri code of the kota/kabupaten")
    name: str = Field(min_length=1, max_length=80)
    timezone: str = "Asia/Jakarta"
    timezone_label: Literal["WIB", "WITA", "WIT"] = "WIB"
    center: tuple[float, float]
    zoom: int = Field(default=12, ge=3, le=18)
    boundaries: BoundaryFiles
    opds: list[OpdConfig] = Field(default_factory=list)
    schools: list[SchoolConfig] = Field(default_factory=list)
    sensors: list[SensorConfig] = Field(default_factory=list)
    cameras: list[CameraConfig] = Field(default_factory=list)
    camera_groups: list[CameraGroupConfig] = Field(default_factory=list)
    kpis: list[KpiConfig] = Field(default_factory=list)
    alerts: list[AlertRule] = Field(
        default_factory=list,
        title="Alert rules; each replaces the default rule of the same id (see "
        "default_alert_rules), or adds one",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        # Checked here, not on the first page that needs it (issue 7).
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"unknown time zone {value[:60]!r}, e.g. Asia/Jakarta") from None
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> CityConfig:
        for label, items in (
            ("opds", self.opds),
            ("schools", self.schools),
            ("sensors", self.sensors),
            ("cameras", self.cameras),
            ("camera_groups", self.camera_groups),
            ("kpis", self.kpis),
            ("alerts", self.alerts),
        ):
            seen: set[str] = set()
            for item in items:
                if item.id in seen:
                    raise ValueError(f"{label}: id {item.id!r} appears twice")
                seen.add(item.id)
        opds = {o.id for o in self.opds}
        schools = {s.id for s in self.schools}
        for item in [*self.sensors, *self.cameras, *self.schools]:
            if not item.region.startswith(self.kode + "."):
                raise ValueError(f"{item.id}: region {item.region} is not in {self.kode}")
        for sensor in self.sensors:
            if sensor.owner is not None and sensor.owner not in opds:
                raise ValueError(f"sensor {sensor.id}: owner {sensor.owner!r} is not in `opds`")
        for kpi in self.kpis:
            if kpi.owner not in opds:
                raise ValueError(f"kpi {kpi.id}: owner {kpi.owner!r} is not in `opds`")
        for camera in self.cameras:
            if camera.school is not None and camera.school not in schools:
                raise ValueError(
                    f"camera {camera.id}: school {camera.school!r} is not in `schools`"
                )
        camera_ids = {c.id for c in self.cameras}
        for group in self.camera_groups:
            unknown = [c for c in group.cameras if c not in camera_ids]
            if unknown:
                raise ValueError(f"camera group {group.id}: unknown camera(s) {', '.join(unknown)}")
        subjects = {
            "air_quality": {s.id for s in self.sensors if s.kind == "air_quality"},
            "water_level": {s.id for s in self.sensors if s.kind == "water_level"},
            "camera_offline": camera_ids,
            "opd_late": opds,
            "kpi": {k.id for k in self.kpis},
        }
        for rule in self.alerts:
            unknown = sorted(set(rule.subjects or ()) - subjects[rule.kind])
            if unknown:
                raise ValueError(
                    f"alert rule {rule.id}: unknown {rule.kind} subject(s) {', '.join(unknown)}"
                )
        return self

    @property
    def alert_rules(self) -> list[AlertRule]:
        """The defaults, with the city's own rules replacing them by id or added; enabled only."""
        own = {rule.id: rule for rule in self.alerts}
        merged = [own.pop(rule.id, rule) for rule in default_alert_rules()]
        return [rule for rule in [*merged, *own.values()] if rule.enabled]


class CityConfigError(ValueError):
    """A city folder that cannot be used; the message names the file and the field."""


class City:
    """A loaded city: its validated configuration and its folder (for boundary files)."""

    def __init__(self, folder: Path, config: CityConfig) -> None:
        self.folder = folder
        # `config` is swapped in place when an admin edits a school or camera
        # (data/city_edits.py); `base_config` stays what city.yaml says.
        self.config = config
        self.base_config = config

    @property
    def slug(self) -> str:
        return self.folder.name

    @cached_property
    def kecamatan_geojson(self) -> dict[str, Any]:
        return _read_geojson(self.folder / self.config.boundaries.kecamatan)

    def sensor(self, sensor_id: str) -> SensorConfig | None:
        return next((s for s in self.config.sensors if s.id == sensor_id), None)

    def camera(self, camera_id: str) -> CameraConfig | None:
        return next((c for c in self.config.cameras if c.id == camera_id), None)


def _read_geojson(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CityConfigError(f"{path}: boundary file not found") from exc
    except json.JSONDecodeError as exc:
        raise CityConfigError(f"{path}: not valid JSON ({exc})") from exc
    except (OSError, ValueError, RecursionError) as exc:
        # A folder, an unreadable file, a NUL in the name, not UTF-8, nested too deeply.
        raise CityConfigError(f"{path!s:.300}: boundary file cannot be read ({exc})") from exc
    if not isinstance(data, dict):
        raise CityConfigError(f"{path}: expected a GeoJSON FeatureCollection with features")
    if data.get("type") != "FeatureCollection" or not data.get("features"):
        raise CityConfigError(f"{path}: expected a GeoJSON FeatureCollection with features")
    return data


def _format_location(loc: tuple[int | str, ...], raw: dict[str, Any]) -> str:
    """('sensors', 3, 'lat') -> 'sensors[3] (id aq-x).lat' so the YAML line is easy to find."""
    parts: list[str] = []
    node: Any = raw
    for step in loc:
        if isinstance(step, int):
            label = f"[{step}]"
            if isinstance(node, list) and step < len(node) and isinstance(node[step], dict):
                item_id = node[step].get("id")
                if item_id:
                    label += f" (id {item_id})"
            parts.append(label)
        else:
            parts.append(("." if parts else "") + step)
        node = node[step] if isinstance(node, (dict, list)) and _has(node, step) else None
    return "".join(parts) or "(top level)"


def _has(node: dict | list, step: int | str) -> bool:
    if isinstance(node, list):
        return isinstance(step, int) and step < len(node)
    return step in node


def load_city(folder: Path) -> City:
    """Read and validate `folder/city.yaml` and its boundary files."""
    path = folder / "city.yaml"
    if not folder.is_dir():
        available = sorted(p.parent.name for p in folder.parent.glob("*/city.yaml"))
        raise CityConfigError(
            f"{folder}: no such city folder (KOMANDO_CITY); available: "
            f"{', '.join(available) or 'none'}"
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CityConfigError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise CityConfigError(f"{path}: not valid YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise CityConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    except RecursionError as exc:
        raise CityConfigError(f"{path}: nested too deeply to be a city file") from exc
    if not isinstance(raw, dict):
        raise CityConfigError(f"{path}: expected a mapping at the top level")
    try:
        config = CityConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{path}: {len(exc.errors())} problem(s):"]
        for err in exc.errors():
            lines.append(f"  {_format_location(err['loc'], raw)}: {err['msg']}")
        raise CityConfigError("\n".join(lines)) from exc
    city = City(folder, config)
    _ = city.kecamatan_geojson  # fail at start, not on the first page view
    return city
