"""The page shell and the pages every path can fall back to."""

from __future__ import annotations

from dash import dcc, html

from layouts.i18n import Text

PAGE_CONTENT = "page-content"
URL = "url"
LANG = "lang"  # Store (localStorage): the visitor's language, "id" or "en"
SHELL = "shell"  # gets the class "kiosk" on a wall screen (see callbacks/playlist.py)
PLAYLIST_TICK = "playlist-tick"


def shell() -> html.Div:
    """Always present; the router fills `page-content` for the current path and language."""
    return html.Div(
        [
            # "callback-nav": a playlist moving to its next view changes the page in place.
            dcc.Location(id=URL, refresh="callback-nav"),
            dcc.Store(id=LANG, storage_type="local"),
            dcc.Interval(id=PLAYLIST_TICK, interval=60_000, disabled=True),
            html.Div(id=PAGE_CONTENT, className="page"),
        ],
        id=SHELL,
        className="shell",
    )


BACK_TO_WALL = Text("Kembali ke dinding komando", "Back to the command wall")


def not_found(pathname: str, lang: str = "id") -> html.Div:
    return html.Div(
        [
            html.H1(Text("Halaman tidak ditemukan", "Page not found")(lang)),
            html.P(Text(f"Tidak ada halaman {pathname}.", f"There is no page {pathname}.")(lang)),
            dcc.Link(BACK_TO_WALL(lang), href="/"),
        ],
        className="plain-page",
    )


def disabled(feature: str, lang: str = "id") -> html.Div:
    return html.Div(
        [
            html.H1(Text("Halaman tidak aktif", "Page switched off")(lang)),
            html.P(
                Text(
                    f"{feature} dimatikan pada server ini (lihat README: KOMANDO_OPERATOR_PAGE).",
                    f"{feature} is switched off on this server (see README: "
                    "KOMANDO_OPERATOR_PAGE).",
                )(lang)
            ),
            dcc.Link(BACK_TO_WALL(lang), href="/"),
        ],
        className="plain-page",
    )
