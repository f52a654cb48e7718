"""Which page a path shows. Pages are pure layout functions of the language; this is the only
place that picks a page and its language."""

from __future__ import annotations

from collections.abc import Callable

from dash import Dash, Input, Output, State, html

from layouts.i18n import lang_from_search, normal_lang
from layouts.pages import LANG, PAGE_CONTENT, URL, disabled, not_found

Page = Callable[[str], html.Div] | str


def register(app: Dash, pages: dict[str, Page]) -> None:
    """`pages` maps a path to a layout function of `lang`, or to a string naming a disabled
    feature."""

    @app.callback(
        Output(PAGE_CONTENT, "children"),
        Output(LANG, "data"),
        Input(URL, "pathname"),
        Input(URL, "search"),
        State(LANG, "data"),
    )
    async def route(pathname: str | None, search: str | None, saved: str | None):
        # A language in the URL wins and is remembered; otherwise the visitor's last choice.
        lang = lang_from_search(search) or normal_lang(saved)
        page = pages.get((pathname or "/").rstrip("/") or "/")
        if page is None:
            return not_found(pathname or "/", lang), lang
        if isinstance(page, str):
            return disabled(page, lang), lang
        return page(lang), lang
