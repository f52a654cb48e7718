"""The picture shown instead of a frame when a camera is not live: never a frozen last frame."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from html import escape

import cv2
import numpy as np

_TEMPLATE = """<svg xmlns="http://www.w3.org/2000/svg"
 width="640" height="360" viewBox="0 0 640 360">
<rect width="640" height="360" fill="#10161d"/>
<g fill="none" stroke="#3a4654" stroke-width="6">
<rect x="262" y="118" width="92" height="64" rx="8"/><path d="M354 136l36-20v68l-36-20"/>
<path d="M250 100l140 100" stroke="#d7191c"/></g>
<text x="320" y="248" fill="#e6edf3" font-family="DejaVu Sans, Arial, sans-serif" font-size="30"
 font-weight="700" text-anchor="middle">{title}</text>
<text x="320" y="284" fill="#9fb0c0" font-family="DejaVu Sans, Arial, sans-serif" font-size="20"
 text-anchor="middle">{subtitle}</text>
<text x="320" y="318" fill="#6b7785" font-family="DejaVu Sans, Arial, sans-serif" font-size="16"
 text-anchor="middle">{name}</text>
</svg>"""


def placeholder_svg(title: str, subtitle: str, camera_name: str) -> bytes:
    return _TEMPLATE.format(
        title=escape(title), subtitle=escape(subtitle), name=escape(camera_name[:60])
    ).encode()


def to_ascii(text: str) -> str:
    dashes = text.replace("—", "-").replace("–", "-")
    return unicodedata.normalize("NFKD", dashes).encode("ascii", "ignore").decode()


@lru_cache(maxsize=256)
def placeholder_jpeg(title: str, subtitle: str, camera_name: str) -> bytes:
    """The same picture as a JPEG, for MJPEG streams (where every part must be an image the
    browser's MJPEG decoder accepts). OpenCV's built-in font is ASCII only, so the text is
    reduced to ASCII; cached, as the text changes at most once a minute."""
    image = np.full((360, 640, 3), (29, 22, 16), np.uint8)
    cv2.rectangle(image, (262, 108), (354, 172), (84, 70, 58), 5)
    cv2.line(image, (250, 90), (390, 190), (28, 25, 215), 5)
    for text, y, scale, colour in (
        (title, 238, 1.0, (243, 237, 230)),
        (subtitle, 276, 0.7, (192, 176, 159)),
        (camera_name[:48], 312, 0.55, (133, 119, 107)),
    ):
        ascii_text = to_ascii(text)
        width = cv2.getTextSize(ascii_text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)[0][0]
        cv2.putText(
            image,
            ascii_text,
            ((640 - width) // 2, y),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            colour,
            2,
            cv2.LINE_AA,
        )
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise ValueError("placeholder encoding failed")
    return buffer.tobytes()
