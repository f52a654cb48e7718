"""The wall clock runs in the browser: one tick a second must cost the server nothing."""

from __future__ import annotations

from dash import ClientsideFunction, Dash, Input, Output

from layouts import ids


def register(app: Dash) -> None:
    app.clientside_callback(
        ClientsideFunction(namespace="komando", function_name="clock"),
        Output(ids.CLOCK_TIME, "children"),
        Output(ids.CLOCK_DATE, "children"),
        Input(ids.CLOCK_TICK, "n_intervals"),
    )
