"""The admin page's form parts: labelled fields, inputs, buttons, cards (shared by its sections
in layouts/admin.py and the school and camera forms in layouts/admin_city.py)."""

from __future__ import annotations

from dash import dcc, html

from layouts.i18n import Text

EXAMPLE = Text("mis.", "e.g.")
HIDDEN_FIELD = "op-field adm-field is-hidden"
SHOWN_FIELD = "op-field adm-field"


def field(label: str, control, control_id: str, hint: str = "", className: str = SHOWN_FIELD):
    parts = [html.Label(label, htmlFor=control_id), control]
    if hint:
        parts.append(html.Div(hint, className="op-hint"))
    return html.Div(parts, className=className, id=f"{control_id}-field")


def text_input(component_id: str, placeholder: str = "", kind: str = "text", **extra) -> dcc.Input:
    return dcc.Input(
        id=component_id,
        type=kind,
        placeholder=placeholder,
        className="op-input",
        debounce=False,
        spellCheck=False,
        **extra,
    )


def dropdown(component_id: str, options: list, lang: str, multi: bool = False, **extra):
    return dcc.Dropdown(
        id=component_id,
        options=options,
        multi=multi,
        placeholder=Text("Pilih…", "Choose…")(lang),
        className="adm-dropdown",
        **extra,
    )


def button(text: str, component_id: str, secondary: bool = False) -> html.Button:
    return html.Button(
        text,
        id=component_id,
        n_clicks=0,
        className="op-button adm-button" + (" adm-secondary" if secondary else ""),
    )


def confirmed_button(text: str, button_id: str, dialog_id: str, question: str):
    """A secondary button that asks the browser's own confirm dialog first; a callback follows
    the dialog's `submit_n_clicks`. Disabled until something is picked to act on."""
    return dcc.ConfirmDialogProvider(
        html.Button(
            text,
            id=button_id,
            n_clicks=0,
            disabled=True,
            className="op-button adm-button adm-secondary adm-danger",
        ),
        id=dialog_id,
        message=question,
    )


def card(title: str, children: list, section_id: str = "", className: str = "") -> html.Section:
    extra = {"id": section_id} if section_id else {}
    return html.Section(
        [html.H2(title), *children], className=f"op-card adm-card {className}".strip(), **extra
    )


def result_area(component_id: str) -> html.Div:
    return html.Div(id=component_id, className="op-result", role="status")
