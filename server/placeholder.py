"""The picture shown instead of a frame when a camera is not live: never a frozen last frame."""

from __future__ import annotations

from html import escape

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
