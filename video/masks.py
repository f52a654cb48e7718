"""Privacy masks: polygons in picture fractions (0..1), blacked out before a frame is encoded.

A mask is drawn on the frame at its published size, after the resize and before the JPEG
encoder, so no published byte (frame or thumbnail) ever carried the hidden area. Masks err on
the side of hiding: a pixel the polygon's edge passes through is blacked out too.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

Polygon = Sequence[tuple[float, float]]

# fillPoly takes fixed-point corners: 4 fractional bits keep a mask's edge within 1/16 px of
# where the fractions put it, whatever the picture size.
_SHIFT = 4


def polygons_to_pixels(polygons: Sequence[Polygon], width: int, height: int) -> list[np.ndarray]:
    """Fixed-point pixel corners (for `cv2.fillPoly(..., shift=4)`) of each polygon.

    Fractions measure from the picture's outer edge (1.0 is the far edge of the last pixel),
    while OpenCV puts integer coordinates at pixel centres: hence the half-pixel shift.
    """
    size = np.array([width, height], dtype=np.float64)
    pixels = []
    for polygon in polygons:
        corners = (np.asarray(polygon, dtype=np.float64).reshape(-1, 2) * size - 0.5) * (
            1 << _SHIFT
        )
        pixels.append(np.round(corners).astype(np.int32).reshape(-1, 1, 2))
    return pixels


def _draw(image: np.ndarray, pixels: list[np.ndarray], colour: int | tuple[int, ...]) -> None:
    cv2.fillPoly(image, pixels, colour, cv2.LINE_8, _SHIFT)
    # fillPoly leaves out a pixel the edge only partly covers; the outline takes it in.
    cv2.polylines(image, pixels, True, colour, 1, cv2.LINE_8, _SHIFT)


def rasterise(polygons: Sequence[Polygon], width: int, height: int) -> np.ndarray:
    """A `height` x `width` uint8 image: 255 where a mask hides the picture, 0 elsewhere."""
    raster = np.zeros((height, width), np.uint8)
    if polygons:
        _draw(raster, polygons_to_pixels(polygons, width, height), 255)
    return raster


class MaskPainter:
    """Blacks out a camera's masks on frames of any size, rasterising once per size."""

    def __init__(self, polygons: Sequence[Polygon]) -> None:
        self.polygons = [tuple((float(x), float(y)) for x, y in p) for p in polygons]
        self._by_size: dict[tuple[int, int], list[np.ndarray]] = {}

    def __bool__(self) -> bool:
        return bool(self.polygons)

    def paint(self, frame: np.ndarray) -> np.ndarray:
        """Black out the masks on `frame` in place (and return it)."""
        if not self.polygons:
            return frame
        height, width = frame.shape[:2]
        pixels = self._by_size.get((width, height))
        if pixels is None:
            pixels = self._by_size[(width, height)] = polygons_to_pixels(
                self.polygons, width, height
            )
        _draw(frame, pixels, (0, 0, 0))
        return frame
