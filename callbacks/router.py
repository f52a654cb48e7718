"""Which page a path shows. Pages are pure layout functions; this is the only place that picks."""

from __future__ import annotations

from collections.abc import Callable

from dash import Dash, Input, Output, html

from layouts.pages import PAGE_CONTENT, URL, disabled, not_found


def register(app: Dash, pages: dict[str, Callable[[], html.Div] | str]) -> None:
    """`pages` maps a path to a layout function, or to a string naming a disabled feature."""

    @app.callback(Output(PAGE_CONTENT, "children"), Input(URL, "pathname"))
    async def route(pathname: str | None):
        page = pages.get((pathname or "/").rstrip("/") or "/")
        if page is None:
            return not_found(pathname or "/")
        if isinstance(page, str):
            return disabled(page)
        return page()
