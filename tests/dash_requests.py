"""Dash callback requests as the renderer posts them, for tests that call the server directly."""

from __future__ import annotations


def router_body(pathname: str, search: str = "", saved_lang: str | None = None) -> dict:
    """The router callback (callbacks/router.py) for a page."""
    return {
        "output": "..page-content.children...lang.data..",
        "outputs": [
            {"id": "page-content", "property": "children"},
            {"id": "lang", "property": "data"},
        ],
        "inputs": [
            {"id": "url", "property": "pathname", "value": pathname},
            {"id": "url", "property": "search", "value": search},
        ],
        "changedPropIds": ["url.pathname"],
        "state": [{"id": "lang", "property": "data", "value": saved_lang}],
    }
