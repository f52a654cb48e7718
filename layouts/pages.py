"""The page shell and the pages every path can fall back to."""

from __future__ import annotations

from dash import dcc, html

from data.access import DISPLAY, ROLE_NAMES, Principal
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


def forbidden(lang: str = "id") -> html.Div:
    """A page the signed-in account may not open (the server refuses its data as well)."""
    return html.Div(
        [
            html.H1(Text("Tidak diizinkan", "Forbidden")(lang)),
            html.P(
                Text(
                    "Akun ini tidak berhak membuka halaman tersebut.",
                    "This account may not open that page.",
                )(lang)
            ),
            html.A(Text("Keluar", "Sign out")(lang), href="/logout"),
        ],
        className="plain-page",
    )


def account_chip(principal: Principal | None, lang: str = "id") -> html.Div:
    """Who is signed in, and the way out; small and in a corner, so no page's layout moves.
    A wall display has no account to leave: it shows nothing."""
    if principal is None or principal.role == DISPLAY:
        return html.Div(className="account-chip is-empty")
    role = ROLE_NAMES[principal.role][1 if lang == "en" else 0]
    return html.Div(
        [
            html.Span(principal.display_name or principal.name, className="account-name"),
            html.Span(role, className="account-role"),
            html.A(Text("Keluar", "Sign out")(lang), href="/logout", className="account-out"),
        ],
        className="account-chip",
    )
