"""Records that cross a boundary (source -> ingestion -> Redis/SQL), validated at the edge."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Reading(BaseModel):
    """One value of one quantity from one sensor at one moment (epoch seconds, UTC).

    `quantity` '' is the sensor's primary quantity (PM2.5 for an air-quality sensor, …); other
    quantities a device reports (PM10, NO2, speed, …) carry their name.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    sensor_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    ts: float = Field(ge=946_684_800, lt=4_102_444_800, title="Epoch seconds (2000..2100)")
    value: float
    quantity: str = Field(default="", max_length=32, pattern=r"^[a-z0-9_]*$")

    @property
    def live_field(self) -> str:
        """The field of this reading in the live-state hash."""
        return self.sensor_id if not self.quantity else f"{self.sensor_id}/{self.quantity}"

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("value must be a finite number")
        return value


class KpiValue(BaseModel):
    """The live value of one KPI."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kpi_id: str = Field(min_length=1, max_length=64)
    ts: float
    value: float


class CameraHealth(BaseModel):
    """What the grabber last said about a camera; the age of the last frame decides its state."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    state: str = "connecting"
    seq: int = 0
    frame_ts: float = 0.0
    updated_ts: float = 0.0
    fps: float = 0.0
    width: int = 0
    height: int = 0
    reconnects: int = 0
    error: str = ""
    worker: str = ""  # the grab worker holding the camera's lease (host:pid:tag), for operators
