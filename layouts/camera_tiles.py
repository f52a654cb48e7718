"""CCTV tiles. Each image is refreshed by assets/komando_cameras.js, one request at a time per
tile (pull-on-load), so tiles never hold long-lived connections that would starve the page."""

from __future__ import annotations

from dash import html

from data.city import CameraConfig, City
from layouts import ids
from layouts.i18n import Text

KIND_LABELS = {"school": Text("Sekolah", "School"), "street": Text("Jalan", "Street")}


def camera_tile(camera: CameraConfig, fps: float, lang: str = "id") -> html.Div:
    return html.Div(
        [
            html.Div(
                html.Img(
                    src=f"/video/{camera.id}.jpg",
                    alt=f"{Text('Kamera', 'Camera')(lang)} {camera.name}",
                    className="camera-image",
                    **{"data-camera": camera.id},
                ),
                className="camera-frame",
            ),
            html.Div(
                [
                    html.Span(
                        KIND_LABELS[camera.kind](lang), className=f"camera-kind kind-{camera.kind}"
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


def camera_panel(city: City, fps: float, lang: str = "id") -> html.Div:
    cameras = city.config.cameras
    return html.Div(
        [
            html.Div(
                [
                    html.H2("CCTV"),
                    html.Span(
                        f"{len(cameras)} {Text('kamera', 'cameras')(lang)}",
                        className="panel-note",
                    ),
                ],
                className="panel-head",
            ),
            html.Div(
                [camera_tile(c, fps, lang) for c in cameras],
                className=f"camera-grid tiles-{min(len(cameras), 4)}",
                **{"data-stream-cameras": ",".join(c.id for c in cameras), "data-fps": str(fps)},
            ),
        ],
        className="panel camera-panel",
    )
