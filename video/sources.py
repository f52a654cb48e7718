"""Where a camera's frames come from: shipped demo clips, files, or stream URLs."""

from __future__ import annotations

from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"


class CameraSourceError(ValueError):
    """A camera source that cannot be resolved (message names the camera)."""


def resolve_source(camera_id: str, source: str) -> str:
    """`sample:<file>` -> the shipped clip's path; anything else is passed to OpenCV as is."""
    if source.startswith("sample:"):
        path = SAMPLES_DIR / source.removeprefix("sample:")
        if not path.is_file():
            raise CameraSourceError(
                f"camera {camera_id}: sample clip {path.name} not found in {SAMPLES_DIR}"
            )
        return str(path)
    return source


def is_file_source(source: str) -> bool:
    """Files are replayed in real time and looped; streams are read as fast as they arrive."""
    return "://" not in source or source.startswith("file://")
