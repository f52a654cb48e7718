"""The two stores behind a page's live feed (see callbacks/live_feed.py)."""

from __future__ import annotations

from collections.abc import Iterable

from dash import dcc

from layouts import ids


def live_feed_stores(sections: Iterable[str], lang: str = "id") -> list[dcc.Store]:
    """`sections`: what this page shows ("sensors", "kpis", "cameras", "freshness", "alerts");
    the server
    reads and sends nothing else, in the page's language."""
    return [
        dcc.Store(id=ids.FEED),
        dcc.Store(id=ids.FEED_VERSIONS, data={"want": sorted(sections), "lang": lang}),
    ]
