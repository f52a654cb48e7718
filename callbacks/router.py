"""Which page a path shows. Pages are pure layout functions of the city (as the signed-in
principal may see it) and the language; this is the only place that picks a page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from dash import Dash, Input, Output, State, html

from data.access import city_view, current_principal, may_open_page, normal_path
from data.city import City
from layouts.i18n import lang_from_search, normal_lang
from layouts.pages import LANG, PAGE_CONTENT, URL, account_chip, forbidden, not_found

Page = Callable[[City, str], html.Div]


def register(app: Dash, city: City, pages: dict[str, Page]) -> None:
    """`pages` maps a path to a layout function of (city, lang)."""

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
        path = normal_path(pathname)
        principal = current_principal()
        # The gate checked the page's first load; this checks every move inside the app too.
        if not may_open_page(principal, path):
            return forbidden(lang), lang
        page = pages.get(path)
        if page is None:
            return not_found(pathname or "/", lang), lang
        content = page(city_view(city, principal, datetime.now(UTC)), lang)
        return [content, account_chip(principal, lang)], lang
