"""A page's live feed (see callbacks/live_feed.py): what it wants, and how often it asks."""

from __future__ import annotations

import json
from collections.abc import Iterable

from dash import html

from layouts import ids


def live_feed(sections: Iterable[str], refresh_ms: int, lang: str = "id") -> html.Div:
    """`sections`: what this page shows ("sensors", "kpis", "cameras", "freshness", "alerts",
    "regions"); the server reads and sends nothing else, in the page's language.

    Not a dcc.Interval and stores: assets/komando_feed.js asks for the feed itself every
    `refresh_ms` and writes the answer into the page, so a refresh touches no Dash store (each
    store update makes every component on the page run its selector: issue 5)."""
    return html.Div(
        id=ids.LIVE_FEED,
        hidden=True,
        **{
            "data-versions": json.dumps({"want": sorted(sections), "lang": lang}),
            "data-refresh-ms": str(refresh_ms),
        },
    )
