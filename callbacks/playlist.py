"""Wall screens: kiosk mode and a playlist of views, both from the screen's URL.

`/?kiosk=1` hides every control (zoom buttons, the layer switch, the pointer) for a screen no one
touches. `/?putar=/,/cctv,/alerts&detik=45` shows each view in turn, 45 s each (at least 10,
default 60), in kiosk mode. All in the browser: a playlist costs the server only the pages it
shows, and the URL is the whole configuration, so a display token (issue 6) can carry it.
"""

from __future__ import annotations

from dash import ClientsideFunction, Dash, Input, Output, State

from layouts.pages import PLAYLIST_TICK, SHELL, URL


def register(app: Dash) -> None:
    app.clientside_callback(
        ClientsideFunction(namespace="komando_playlist", function_name="setup"),
        Output(SHELL, "className"),
        Output(PLAYLIST_TICK, "interval"),
        Output(PLAYLIST_TICK, "disabled"),
        Input(URL, "search"),
    )
    app.clientside_callback(
        ClientsideFunction(namespace="komando_playlist", function_name="next"),
        Output(URL, "pathname"),
        Input(PLAYLIST_TICK, "n_intervals"),
        State(URL, "search"),
        State(URL, "pathname"),
        prevent_initial_call=True,
    )
