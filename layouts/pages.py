"""The page shell and the router's table: which path shows which page."""

from __future__ import annotations

from dash import dcc, html

PAGE_CONTENT = "page-content"
URL = "url"


def shell() -> html.Div:
    """Always present; the router fills `page-content` for the current path."""
    return html.Div([dcc.Location(id=URL), html.Div(id=PAGE_CONTENT, className="page")])


def not_found(pathname: str) -> html.Div:
    return html.Div(
        [
            html.H1("Halaman tidak ditemukan"),
            html.P(f"Tidak ada halaman {pathname}."),
            dcc.Link("Kembali ke dinding komando", href="/"),
        ],
        className="plain-page",
    )


def disabled(feature: str) -> html.Div:
    return html.Div(
        [
            html.H1("Halaman tidak aktif"),
            html.P(f"{feature} dimatikan pada server ini (lihat README: KOMANDO_OPERATOR_PAGE)."),
            dcc.Link("Kembali ke dinding komando", href="/"),
        ],
        className="plain-page",
    )
