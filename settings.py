"""The one settings object, read from the environment and validated at start.

Every process role (web, ingest, grab) builds a `Settings` once in its `main()` and passes it on;
nothing else reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Role = Literal["web", "ingest", "grab"]
ALL_ROLES: frozenset[Role] = frozenset({"web", "ingest", "grab"})
PROJECT_ROOT = Path(__file__).resolve().parent
# URLs may carry passwords: a validation error must never echo them back.
_SECRET_FIELDS = frozenset(
    {"mqtt_url", "redis_url", "REDIS_URL", "database_url", "DATABASE_URL", "metrics_token"}
)


class Settings(BaseSettings):
    """Komando's configuration. Environment names are `KOMANDO_<FIELD>` unless noted."""

    model_config = SettingsConfigDict(
        env_prefix="KOMANDO_", extra="ignore", frozen=True, populate_by_name=True
    )

    redis_url: str | None = Field(
        default=None,
        title="Redis URL (env REDIS_URL)",
        description="Empty: start an embedded Redis server for this process and stop it on exit.",
        validation_alias=AliasChoices("REDIS_URL", "KOMANDO_REDIS_URL"),
    )
    database_url: str | None = Field(
        default=None,
        title="SQLAlchemy database URL (env DATABASE_URL)",
        description="Empty: a SQLite file in the data folder (WAL mode).",
        validation_alias=AliasChoices("DATABASE_URL", "KOMANDO_DATABASE_URL"),
    )
    host: str = Field(default="127.0.0.1", title="Address the web server listens on")
    port: int = Field(
        default=8050,
        ge=1,
        le=65535,
        title="Web server port (env PORT)",
        validation_alias=AliasChoices("PORT", "KOMANDO_PORT"),
    )
    city: str = Field(
        default="prabumulih",
        pattern=r"^[a-z0-9_-]+$",
        title="City folder name under data/cities/",
    )
    cities_dir: Path = Field(
        default=PROJECT_ROOT / "data" / "cities", title="Folder holding one folder per city"
    )
    roles: Annotated[frozenset[Role], NoDecode] = Field(
        default=ALL_ROLES,
        title="Roles this process runs, comma separated: web, ingest, grab",
    )
    secrets_dir: Path | None = Field(
        default=None,
        title="Folder of secret files (camera URLs with credentials); empty: <data_dir>/secrets",
    )
    data_dir: Path = Field(
        default=PROJECT_ROOT / "var",
        title="Folder for the SQLite file and the embedded Redis socket",
    )
    ingest_interval_s: float = Field(
        default=2.0, gt=0.05, le=3600, title="Seconds between simulator ticks"
    )
    history_flush_s: float = Field(
        default=5.0, gt=0.05, le=600, title="Longest a reading waits before it is written to SQL"
    )
    history_batch_size: int = Field(
        default=5000, ge=1, le=1_000_000, title="Readings written to SQL in one transaction at most"
    )
    camera_fps: float = Field(
        default=5.0, gt=0, le=30, title="Frames per second published per camera"
    )
    camera_width: int = Field(default=640, ge=64, le=3840, title="Width of published frames (px)")
    camera_jpeg_quality: int = Field(default=80, ge=10, le=100, title="JPEG quality of frames")
    camera_stalled_after_s: float = Field(
        default=3.0, gt=0, le=600, title="Frame age after which a camera shows as stalled"
    )
    camera_offline_after_s: float = Field(
        default=10.0, gt=0, le=3600, title="Frame age after which a camera shows as offline"
    )
    wall_refresh_ms: int = Field(
        default=2000, ge=250, le=600_000, title="How often wall panels poll the live state"
    )
    tile_url: str = Field(
        default="",
        title="Basemap tile URL template",
        description="Empty: no basemap; districts are drawn on a plain dark background, which "
        "keeps the map readable when the command centre has no internet link.",
    )
    tile_attribution: str = Field(default="", title="Attribution shown for the basemap tiles")
    cookie_secure: Literal["auto", "always", "never"] = Field(
        default="auto",
        title="Mark session cookies Secure (HTTPS only)",
        description="'auto': when the request came over HTTPS (behind a proxy, run uvicorn with "
        "--proxy-headers so it knows); 'always' for any public deployment; 'never' for a plain "
        "HTTP intranet.",
    )
    display_frame_ancestors: str = Field(
        default="",
        title="Origins that may frame a wall display's page (CSP frame-ancestors)",
        description="Empty: no page may be framed. E.g. 'https://portal.kota.go.id' for a "
        "signage system that shows the wall inside its own page. Signed-in people's pages are "
        "never framed.",
    )
    camera_shard: str = Field(
        default="all",
        title="Cameras this grab process takes: I/N (by crc32 of the camera id) or 'all'",
    )
    mqtt_url: str | None = Field(
        default=None,
        title="MQTT broker for the ingest role: mqtt[s]://[user:password@]host[:port]",
        description="Empty: no MQTT source. Set: the ingest role subscribes to the city's topics.",
    )
    mqtt_topic_prefix: str | None = Field(
        default=None, title="MQTT topic prefix; empty: komando/<city>"
    )
    mqtt_ca_file: Path | None = Field(
        default=None, title="CA certificate(s) for an mqtts:// broker; empty: the system's CAs"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", title="Log level of the process"
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        title="Log line format: 'text' for people, 'json' (one object a line) for a collector",
    )
    metrics_token: SecretStr = Field(
        default=SecretStr(""),
        title="Bearer token a Prometheus scraper must send to read /metrics",
        description="Empty: /metrics is disabled (404). At least 16 characters, e.g. the output "
        "of `openssl rand -hex 24`.",
    )
    prometheus_multiproc_dir: Path | None = Field(
        default=None,
        title="Folder where several web worker processes share their metrics "
        "(env PROMETHEUS_MULTIPROC_DIR, read by prometheus_client itself)",
        description="Set it when the web role runs as several workers on one port "
        "(uvicorn --workers N): any worker then answers /metrics for all of them. Empty it "
        "before the server starts.",
        validation_alias=AliasChoices(
            "PROMETHEUS_MULTIPROC_DIR", "KOMANDO_PROMETHEUS_MULTIPROC_DIR"
        ),
    )

    @field_validator("roles", mode="before")
    @classmethod
    def _split_roles(cls, value: object) -> object:
        if isinstance(value, str):
            names = [part.strip().lower() for part in value.split(",") if part.strip()]
            if not names:
                raise ValueError("name at least one role: web, ingest, grab")
            return frozenset(names)
        return value

    @field_validator("camera_shard")
    @classmethod
    def _check_camera_shard(cls, value: str) -> str:
        from video.shards import parse_shard  # lazily: only grab processes need it

        parse_shard(value)  # ValueError: "shard '5/4': I must be 1..4"
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _check_mqtt_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        from data.sources.mqtt import parse_mqtt_url  # lazily: only processes that use MQTT

        parse_mqtt_url(value)  # its ValueError never repeats the URL, which may hold a password
        return value

    @field_validator("mqtt_topic_prefix")
    @classmethod
    def _check_mqtt_topic_prefix(cls, value: str | None) -> str | None:
        if not value:
            return None
        from data.sources.mqtt import check_topic_prefix

        return check_topic_prefix(value)

    @field_validator("metrics_token")
    @classmethod
    def _check_metrics_token(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value()
        if token and (len(token) < 16 or token != token.strip()):
            raise ValueError(
                "use at least 16 characters without surrounding spaces, or leave empty"
            )
        return value

    @field_validator("prometheus_multiproc_dir", mode="before")
    @classmethod
    def _check_multiproc_dir(cls, value: object) -> object:
        if value is None or value == "":
            return None
        if not Path(str(value)).is_dir():
            raise ValueError("must be an existing folder (create and empty it before the server)")
        return value

    @field_validator("camera_offline_after_s")
    @classmethod
    def _offline_after_stalled(cls, value: float, info: object) -> float:
        stalled = getattr(info, "data", {}).get("camera_stalled_after_s")
        if stalled is not None and value <= stalled:
            raise ValueError("must be longer than KOMANDO_CAMERA_STALLED_AFTER_S")
        return value

    @property
    def effective_secrets_dir(self) -> Path:
        return self.secrets_dir or self.data_dir / "secrets"

    @property
    def city_dir(self) -> Path:
        return self.cities_dir / self.city

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'komando.sqlite3'}"

    @property
    def effective_mqtt_topic_prefix(self) -> str:
        return self.mqtt_topic_prefix or f"komando/{self.city}"

    @property
    def redis_namespace(self) -> str:
        """Key prefix in Redis, so that several cities can share one server."""
        return f"komando:{self.city}"


def describe_errors(error: ValidationError) -> str:
    """Turn pydantic's error into lines a person can act on, naming the environment variable."""
    lines = ["Komando cannot start: the configuration is not valid."]
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "?"
        env_name = field if field.isupper() else f"KOMANDO_{field.upper()}"
        given = item.get("input")
        secret = field in _SECRET_FIELDS
        shown = "" if isinstance(given, dict) or secret else f" (given: {given!r})"
        lines.append(f"  {env_name}: {item['msg']}{shown}")
    return "\n".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; `overrides` win (used by tests and subcommands)."""
    return Settings(**overrides)  # type: ignore[arg-type]
