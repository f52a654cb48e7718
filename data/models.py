"""Records that cross a boundary (source -> ingestion -> Redis/SQL), validated at the edge."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Reading(BaseModel):
    """One value from one sensor at one moment (epoch seconds, UTC)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sensor_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    ts: float = Field(gt=946_684_800, lt=4_102_444_800, title="Epoch seconds (2000..2100)")
    value: float

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
