"""Where a camera's frames come from: shipped demo clips, files, devices or stream URLs.

A real camera's URL usually carries its credentials (rtsp://user:password@nvr/…), so the city's
committed configuration never holds it: `env:<VARIABLE>` reads it from the environment and
`secret:<name>` from a file in the secrets folder (mode 0600, outside the repository).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,100}$")
SECRET_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class CameraSourceError(ValueError):
    """A camera source that cannot be resolved (the message names the camera, never the URL)."""


def resolve_source(
    camera_id: str,
    source: str,
    environ: Mapping[str, str] | None = None,
    secrets_dir: Path | None = None,
) -> str:
    """`sample:<file>` -> the shipped clip; `env:<VAR>` / `secret:<name>` -> the URL kept
    there; anything else (a file path, `device:<n>`, a URL without credentials) is used as is.
    What kind of source the result is, `data.city.source_type_of` says."""
    if source.startswith("sample:"):
        path = SAMPLES_DIR / source.removeprefix("sample:")
        if not path.is_file():
            raise CameraSourceError(
                f"camera {camera_id}: sample clip {path.name} not found in {SAMPLES_DIR}"
            )
        return str(path)
    if source.startswith("env:"):
        name = source.removeprefix("env:")
        if not ENV_NAME.match(name):
            raise CameraSourceError(
                f"camera {camera_id}: {name!r} is not an environment variable name"
            )
        value = (environ or {}).get(name, "").strip()
        if not value:
            raise CameraSourceError(f"camera {camera_id}: environment variable {name} is not set")
        return value
    if source.startswith("secret:"):
        name = source.removeprefix("secret:")
        if not SECRET_NAME.match(name) or secrets_dir is None:
            raise CameraSourceError(f"camera {camera_id}: bad secret name or no secrets folder")
        path = secrets_dir / name
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CameraSourceError(
                f"camera {camera_id}: cannot read secret file {path}: {exc.strerror}"
            ) from exc
        if not value:
            raise CameraSourceError(f"camera {camera_id}: secret file {path} is empty")
        return value
    return source


def redact(source: str) -> str:
    """The source with any credentials replaced, for logs and health messages."""
    return re.sub(r"(://)[^/@]*@", r"\1***@", source)
