"""CCTV tiles. Each image is refreshed by assets/komando_cameras.js, one request at a time per
tile (pull-on-load), so tiles never hold long-lived connections that would starve the page."""

from __future__ import annotations

from dash import html

from data.city import CameraConfig, City
from layouts import ids

KIND_LABELS = {"school": "Sekolah", "street": "Jalan"}


def camera_tile(camera: CameraConfig, fps: float) -> html.Div:
    return html.Div(
        [
            html.Div(
                html.Img(
                    src=f"/video/{camera.id}.jpg",
                    alt=f"Kamera {camera.name}",
                    className="camera-image",
                    **{"data-camera": camera.id},
                ),
                className="camera-frame",
            ),
            html.Div(
                [
                    html.Span(
                        KIND_LABELS[camera.kind], className=f"camera-kind kind-{camera.kind}"
                    ),
                    html.Span(camera.name, className="camera-name"),
                    # The frame's age, kept by assets/komando_cameras.js as frames arrive.
                    html.Span("", className="camera-age", **{"data-age-for": camera.id}),
                    html.Span(
                        "…",
                        id=ids.camera(ids.CAMERA_BADGE, camera.id),
                        className="camera-badge state-connecting",
                    ),
                ],
                className="camera-caption",
            ),
            html.Div("", id=ids.camera(ids.CAMERA_INFO, camera.id), className="camera-info"),
        ],
        id=ids.camera(ids.CAMERA_TILE, camera.id),
        className="camera-tile",
    )


def camera_panel(city: City, fps: float) -> html.Div:
    cameras = city.config.cameras
    return html.Div(
        [
            html.Div(
                [html.H2("CCTV"), html.Span(f"{len(cameras)} kamera", className="panel-note")],
                className="panel-head",
            ),
            html.Div(
                [camera_tile(c, fps) for c in cameras],
                className=f"camera-grid tiles-{min(len(cameras), 4)}",
                **{"data-stream-cameras": ",".join(c.id for c in cameras), "data-fps": str(fps)},
            ),
        ],
        className="panel camera-panel",
    )
