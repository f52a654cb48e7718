"""The admin page (`/admin`, issue 6): users and their bindings, schools and their parents,
cameras, wall display links, API keys and the audit trail, stacked as panels on the light office
page `/operator` and `/admin/data` share. Pure: the lists are filled by callbacks/admin_*.py.
Bahasa Indonesia by default, English on request; messages from the account rules
(data/user_admin.py) stay in Bahasa, as the operator page's validator messages do.
"""

from __future__ import annotations

from pathlib import Path

from dash import dcc, html

from data.access import ADMIN, ROLE_NAMES, USER_ROLES
from data.city import City
from layouts.admin_city import camera_form, school_form
from layouts.admin_tables import LOADING, cameras_table, note, schools_table
from layouts.admin_widgets import (
    EXAMPLE,
    HIDDEN_FIELD,
    SHOWN_FIELD,
    button,
    card,
    dropdown,
    field,
    result_area,
    text_input,
)
from layouts.i18n import Text
from settings import PROJECT_ROOT

# Component ids of this page (kept here, like the operator page's, while layouts/ids.py is
# shared with panels being written at the same time).
ADM_VERSION = "adm-version"  # Store: a counter bumped after every change, to re-read the lists
ADM_USERS = "adm-users"
ADM_NEW_USERNAME = "adm-new-username"
ADM_NEW_NAME = "adm-new-name"
ADM_NEW_ROLE = "adm-new-role"
ADM_NEW_OPDS = "adm-new-opds"
ADM_NEW_SCHOOLS = "adm-new-schools"
ADM_NEW_OPDS_FIELD = "adm-new-opds-field"
ADM_NEW_SCHOOLS_FIELD = "adm-new-schools-field"
ADM_NEW_PASSWORD = "adm-new-password"
ADM_NEW_PASSWORD_AGAIN = "adm-new-password-again"
ADM_NEW_RANDOM = "adm-new-random"
ADM_NEW_SAVE = "adm-new-save"
ADM_NEW_RESULT = "adm-new-result"
ADM_EDIT_USER = "adm-edit-user"
ADM_EDIT_NAME = "adm-edit-name"
ADM_EDIT_ROLE = "adm-edit-role"
ADM_EDIT_OPDS = "adm-edit-opds"
ADM_EDIT_SCHOOLS = "adm-edit-schools"
ADM_EDIT_OPDS_FIELD = "adm-edit-opds-field"
ADM_EDIT_SCHOOLS_FIELD = "adm-edit-schools-field"
ADM_EDIT_ACTIVE = "adm-edit-active"
ADM_EDIT_SAVE = "adm-edit-save"
ADM_EDIT_RESULT = "adm-edit-result"
ADM_PW_NEW = "adm-pw-new"
ADM_PW_AGAIN = "adm-pw-again"
ADM_PW_RANDOM = "adm-pw-random"
ADM_PW_SAVE = "adm-pw-save"
ADM_PW_RESULT = "adm-pw-result"
ADM_SCHOOLS = "adm-schools"
ADM_CAMERAS = "adm-cameras"
ADM_CAMERAS_RELOAD = "adm-cameras-reload"
ADM_DISPLAY_NAME = "adm-display-name"
ADM_DISPLAY_VIEW = "adm-display-view"
ADM_DISPLAY_SAVE = "adm-display-save"
ADM_DISPLAY_RESULT = "adm-display-result"
ADM_DISPLAYS = "adm-displays"
ADM_KEY_NAME = "adm-key-name"
ADM_KEY_SCOPE = "adm-key-scope"
ADM_KEY_IDS = "adm-key-ids"
ADM_KEY_SAVE = "adm-key-save"
ADM_KEY_RESULT = "adm-key-result"
ADM_KEYS = "adm-keys"
ADM_AUDIT_ACTION = "adm-audit-action"
ADM_AUDIT_ACTOR = "adm-audit-actor"
ADM_AUDIT_LIMIT = "adm-audit-limit"
ADM_AUDIT_SHOW = "adm-audit-show"
ADM_AUDIT = "adm-audit"
ADM_AUDIT_CSV = "adm-audit-csv"

RANDOM = "acak"  # the Checklist value of "make a random password"
AUDIT_LIMITS = (50, 200, 1000, 5000)
AUDIT_CSV_PATH = "/admin/audit.csv"
DISPLAY_VIEWS = ("/", "/cctv", "/alerts", "/?putar=/,/cctv&detik=45")
SECTIONS = (
    ("adm-pengguna", Text("Pengguna", "Users")),
    ("adm-sekolah", Text("Sekolah & orang tua", "Schools & parents")),
    ("adm-kamera", Text("Kamera", "Cameras")),
    ("adm-layar", Text("Layar dinding", "Wall displays")),
    ("adm-kunci", Text("Kunci API", "API keys")),
    ("adm-audit-trail", Text("Jejak audit", "Audit trail")),
)


def role_options(lang: str = "id") -> list[dict[str, str]]:
    return [{"label": ROLE_NAMES[r][1 if lang == "en" else 0], "value": r} for r in USER_ROLES]


def opd_options(city: City) -> list[dict[str, str]]:
    return [{"label": f"{o.short_name} — {o.name}", "value": o.id} for o in city.config.opds]


def school_options(city: City) -> list[dict[str, str]]:
    return [{"label": s.name, "value": s.id} for s in city.config.schools]


def binding_classes(role: str | None) -> tuple[str, str]:
    """(OPD field, school field) classes: each shown only for the role it binds."""
    return (
        SHOWN_FIELD if role == "opd" else HIDDEN_FIELD,
        SHOWN_FIELD if role == "parent" else HIDDEN_FIELD,
    )


def city_file(city: City) -> str:
    """Where the city's configuration lives, as the admin would find it in the repository."""
    path = Path(city.folder) / "city.yaml"
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def password_fields(first: str, again: str, random_id: str, lang: str) -> list:
    return [
        html.Div(
            [
                field(
                    Text("Kata sandi", "Password")(lang),
                    text_input(first, kind="password", autoComplete="new-password"),
                    first,
                ),
                field(
                    Text("Ulangi kata sandi", "Repeat the password")(lang),
                    text_input(again, kind="password", autoComplete="new-password"),
                    again,
                ),
            ],
            className="adm-pair",
        ),
        dcc.Checklist(
            id=random_id,
            options=[
                {
                    "label": Text(
                        " Buat kata sandi acak (ditampilkan sekali)",
                        " Make a random password (shown once)",
                    )(lang),
                    "value": RANDOM,
                }
            ],
            value=[],
            className="adm-check",
        ),
        html.Div(
            Text(
                "Minimal 10 karakter, tidak memuat nama pengguna.",
                "At least 10 characters, not containing the username.",
            )(lang),
            className="op-hint",
        ),
    ]


def binding_fields(city: City, opds_id: str, schools_id: str, role: str | None, lang: str):
    opd_class, school_class = binding_classes(role)
    return [
        html.Div(
            [
                html.Label(Text("OPD", "OPD")(lang), htmlFor=opds_id),
                dropdown(opds_id, opd_options(city), lang, multi=True),
                html.Div(
                    Text(
                        "OPD yang datanya boleh diisi operator ini.",
                        "The OPDs whose data this operator may enter.",
                    )(lang),
                    className="op-hint",
                ),
            ],
            id=f"{opds_id}-field",
            className=opd_class,
        ),
        html.Div(
            [
                html.Label(Text("Sekolah", "Schools")(lang), htmlFor=schools_id),
                dropdown(schools_id, school_options(city), lang, multi=True),
                html.Div(
                    Text(
                        "Kamera sekolah yang boleh dilihat orang tua ini, pada jam tayangnya.",
                        "The schools whose cameras this parent may watch, in viewing hours.",
                    )(lang),
                    className="op-hint",
                ),
            ],
            id=f"{schools_id}-field",
            className=school_class,
        ),
    ]


# Sections ------------------------------------------------------------------------------------


def users_section(city: City, lang: str) -> html.Section:
    create = html.Div(
        [
            html.H3(Text("Tambah pengguna", "Add a user")(lang)),
            html.Div(
                [
                    field(
                        Text("Nama pengguna", "Username")(lang),
                        text_input(
                            ADM_NEW_USERNAME, EXAMPLE(lang) + " budi.santoso", autoComplete="off"
                        ),
                        ADM_NEW_USERNAME,
                    ),
                    field(
                        Text("Nama lengkap", "Full name")(lang),
                        text_input(ADM_NEW_NAME, autoComplete="off"),
                        ADM_NEW_NAME,
                    ),
                ],
                className="adm-pair",
            ),
            field(
                Text("Peran", "Role")(lang),
                dropdown(ADM_NEW_ROLE, role_options(lang), lang, clearable=False),
                ADM_NEW_ROLE,
            ),
            *binding_fields(city, ADM_NEW_OPDS, ADM_NEW_SCHOOLS, None, lang),
            *password_fields(ADM_NEW_PASSWORD, ADM_NEW_PASSWORD_AGAIN, ADM_NEW_RANDOM, lang),
            html.Div(
                button(Text("Buat pengguna", "Create user")(lang), ADM_NEW_SAVE),
                className="op-actions",
            ),
            result_area(ADM_NEW_RESULT),
        ],
        className="adm-form",
    )
    edit = html.Div(
        [
            html.H3(Text("Ubah pengguna", "Change a user")(lang)),
            field(
                Text("Pengguna", "User")(lang),
                dropdown(ADM_EDIT_USER, [], lang),
                ADM_EDIT_USER,
            ),
            html.Div(
                [
                    field(
                        Text("Nama lengkap", "Full name")(lang),
                        text_input(ADM_EDIT_NAME, autoComplete="off"),
                        ADM_EDIT_NAME,
                    ),
                    field(
                        Text("Peran", "Role")(lang),
                        dropdown(ADM_EDIT_ROLE, role_options(lang), lang, clearable=False),
                        ADM_EDIT_ROLE,
                    ),
                ],
                className="adm-pair",
            ),
            *binding_fields(city, ADM_EDIT_OPDS, ADM_EDIT_SCHOOLS, None, lang),
            dcc.Checklist(
                id=ADM_EDIT_ACTIVE,
                options=[{"label": Text(" Akun aktif", " Account active")(lang), "value": "on"}],
                value=[],
                className="adm-check",
            ),
            html.Div(
                [
                    button(Text("Simpan perubahan", "Save changes")(lang), ADM_EDIT_SAVE),
                    html.Span(
                        Text(
                            "Perubahan peran, OPD, sekolah atau status mengeluarkan pengguna "
                            "dari semua sesinya.",
                            "A change of role, OPDs, schools or status signs the user out of "
                            "every session.",
                        )(lang),
                        className="op-hint",
                    ),
                ],
                className="op-actions",
            ),
            result_area(ADM_EDIT_RESULT),
            html.H3(
                Text("Atur ulang kata sandi", "Reset the password")(lang), className="adm-subhead"
            ),
            *password_fields(ADM_PW_NEW, ADM_PW_AGAIN, ADM_PW_RANDOM, lang),
            html.Div(
                button(Text("Atur ulang kata sandi", "Reset password")(lang), ADM_PW_SAVE, True),
                className="op-actions",
            ),
            result_area(ADM_PW_RESULT),
        ],
        className="adm-form",
    )
    return card(
        Text("Pengguna", "Users")(lang),
        [
            html.P(
                Text(
                    "Setiap orang masuk dengan akunnya sendiri. Admin pertama dibuat dari baris "
                    "perintah (python -m data users create-admin); admin lain dan semua pengguna "
                    "dibuat di sini. Akun tidak dihapus, hanya dinonaktifkan, agar jejak "
                    "auditnya tetap utuh.",
                    "Everyone signs in with their own account. The first admin is created from "
                    "the command line (python -m data users create-admin); other admins and all "
                    "users are created here. Accounts are never deleted, only disabled, so that "
                    "their audit trail stays whole.",
                )(lang),
                className="op-lead",
            ),
            html.Div(note(LOADING(lang)), id=ADM_USERS),
            html.Div([create, edit], className="adm-forms"),
        ],
        SECTIONS[0][0],
    )


def schools_section(city: City, lang: str) -> html.Section:
    return card(
        SECTIONS[1][1](lang),
        [
            html.P(
                [
                    Text(
                        "Sekolah dan jam tayangnya untuk orang tua. Yang ditambah atau diubah di "
                        "sini berlaku dalam beberapa detik di semua server, di atas berkas ",
                        "Schools and their viewing hours for parents. What is added or changed "
                        "here applies within seconds on every server, over the file ",
                    )(lang),
                    html.Code(city_file(city)),
                    Text(
                        ". Orang tua dihubungkan ke sekolah di formulir pengguna di atas.",
                        ". Parents are bound to schools in the user form above.",
                    )(lang),
                ],
                className="op-lead",
            ),
            html.Div(schools_table(city, None, lang), id=ADM_SCHOOLS),
            school_form(city, lang),
        ],
        SECTIONS[1][0],
    )


def cameras_section(city: City, lang: str) -> html.Section:
    return card(
        SECTIONS[2][1](lang),
        [
            html.Div(
                [
                    html.P(
                        Text(
                            "Kamera kota dan keadaannya saat ini. Alamat sumber kamera "
                            "tidak pernah ditampilkan (dapat memuat kata sandi).",
                            "The city's cameras and how they are doing now. A camera's "
                            "source address is never shown (it may hold a password).",
                        )(lang),
                        className="op-lead",
                    ),
                    button(Text("Muat ulang", "Reload")(lang), ADM_CAMERAS_RELOAD, True),
                ],
                className="adm-head-row",
            ),
            html.Div(cameras_table(city, None, lang), id=ADM_CAMERAS),
            camera_form(city, lang),
        ],
        SECTIONS[2][0],
    )


def displays_section(lang: str) -> html.Section:
    return card(
        SECTIONS[3][1](lang),
        [
            html.P(
                Text(
                    "Tautan untuk layar di ruang komando: dibuka sekali di layar itu, lalu "
                    "layar tetap masuk dan hanya dapat melihat tampilannya sendiri (kamera "
                    "sekolah tidak pernah tampil di layar dinding). Tautan hanya ditampilkan "
                    "sekali saat dibuat; bila hilang, cabut dan buat yang baru.",
                    "Links for the screens of the command room: opened once on that screen, "
                    "which then stays signed in and can see only its own view (school cameras "
                    "never appear on a wall display). A link is shown only once, when it is "
                    "made; if it is lost, revoke it and make a new one.",
                )(lang),
                className="op-lead",
            ),
            html.Div(
                [
                    field(
                        Text("Nama layar", "Display name")(lang),
                        text_input(
                            ADM_DISPLAY_NAME,
                            Text("mis. Layar utama", "e.g. Main screen")(lang),
                            autoComplete="off",
                        ),
                        ADM_DISPLAY_NAME,
                    ),
                    field(
                        Text("Tampilan", "View")(lang),
                        text_input(ADM_DISPLAY_VIEW, "/", value="/", list="adm-display-views"),
                        ADM_DISPLAY_VIEW,
                        Text(
                            "/ dinding · /cctv kamera · /alerts peringatan · "
                            "/?putar=/,/cctv&detik=45 bergantian",
                            "/ wall · /cctv cameras · /alerts alerts · "
                            "/?putar=/,/cctv&detik=45 rotating",
                        )(lang),
                    ),
                    html.Datalist(
                        [html.Option(value=v) for v in DISPLAY_VIEWS], id="adm-display-views"
                    ),
                    html.Div(
                        button(
                            Text("Buat tautan layar", "Create display link")(lang), ADM_DISPLAY_SAVE
                        ),
                        className="adm-inline-action",
                    ),
                ],
                className="adm-inline",
            ),
            result_area(ADM_DISPLAY_RESULT),
            html.Div(note(LOADING(lang)), id=ADM_DISPLAYS),
        ],
        SECTIONS[3][0],
    )


def keys_section(lang: str) -> html.Section:
    return card(
        SECTIONS[4][1](lang),
        [
            html.P(
                Text(
                    "Kunci untuk perangkat dan sistem yang mengirim data ke API (header "
                    "Authorization: Bearer …). Kunci hanya ditampilkan sekali saat dibuat; "
                    "Komando menyimpan sidik (hash) kunci, bukan kuncinya.",
                    "Keys for the devices and systems that send data to the API (header "
                    "Authorization: Bearer …). A key is shown only once, when it is made; "
                    "Komando keeps a hash of the key, not the key.",
                )(lang),
                className="op-lead",
            ),
            html.Div(
                [
                    field(
                        Text("Nama", "Name")(lang),
                        text_input(
                            ADM_KEY_NAME,
                            Text("mis. Gateway DLH", "e.g. DLH gateway")(lang),
                            autoComplete="off",
                        ),
                        ADM_KEY_NAME,
                    ),
                    field(
                        Text("Cakupan", "Scope")(lang),
                        dropdown(
                            ADM_KEY_SCOPE,
                            [
                                {
                                    "label": Text("Sensor tertentu", "Chosen sensors")(lang),
                                    "value": "sensors",
                                },
                                {
                                    "label": Text("Sensor milik OPD", "An OPD's sensors")(lang),
                                    "value": "opd",
                                },
                                {
                                    "label": Text("Semua sensor", "All sensors")(lang),
                                    "value": "all",
                                },
                            ],
                            lang,
                            value="sensors",
                            clearable=False,
                        ),
                        ADM_KEY_SCOPE,
                    ),
                    field(
                        Text("Sensor / OPD", "Sensors / OPDs")(lang),
                        dropdown(ADM_KEY_IDS, [], lang, multi=True),
                        ADM_KEY_IDS,
                        className=f"{SHOWN_FIELD} adm-wide",
                    ),
                    html.Div(
                        button(Text("Buat kunci", "Create key")(lang), ADM_KEY_SAVE),
                        className="adm-inline-action",
                    ),
                ],
                className="adm-inline",
            ),
            result_area(ADM_KEY_RESULT),
            html.Div(note(LOADING(lang)), id=ADM_KEYS),
        ],
        SECTIONS[4][0],
    )


def audit_section(lang: str) -> html.Section:
    return card(
        SECTIONS[5][1](lang),
        [
            html.P(
                Text(
                    "Masuk dan gagal masuk, setiap kali orang tua melihat kamera, isian data, "
                    "tindakan atas peringatan dan setiap perubahan di halaman ini; terbaru di "
                    "atas.",
                    "Sign-ins and failed sign-ins, every camera view by a parent, data entries, "
                    "alert actions and every change made on this page; newest first.",
                )(lang),
                className="op-lead",
            ),
            html.Div(
                [
                    field(
                        Text("Tindakan berawalan", "Action starting with")(lang),
                        text_input(ADM_AUDIT_ACTION, EXAMPLE(lang) + " user. / login / camera"),
                        ADM_AUDIT_ACTION,
                    ),
                    field(
                        Text("Pelaku", "Actor")(lang),
                        text_input(ADM_AUDIT_ACTOR, EXAMPLE(lang) + " user:admin"),
                        ADM_AUDIT_ACTOR,
                    ),
                    field(
                        Text("Banyaknya", "How many")(lang),
                        dropdown(
                            ADM_AUDIT_LIMIT,
                            [{"label": str(n), "value": n} for n in AUDIT_LIMITS],
                            lang,
                            value=AUDIT_LIMITS[0],
                            clearable=False,
                        ),
                        ADM_AUDIT_LIMIT,
                        className=f"{SHOWN_FIELD} adm-narrow",
                    ),
                    html.Div(
                        [
                            button(Text("Tampilkan", "Show")(lang), ADM_AUDIT_SHOW),
                            html.A(
                                Text("Unduh CSV", "Download CSV")(lang),
                                id=ADM_AUDIT_CSV,
                                href=AUDIT_CSV_PATH,
                                className="op-link",
                                # A file download, not a page: the router must not take it.
                                target="_blank",
                                rel="noopener",
                            ),
                        ],
                        className="adm-inline-action",
                    ),
                ],
                className="adm-inline",
            ),
            html.Div(note(LOADING(lang)), id=ADM_AUDIT),
        ],
        SECTIONS[5][0],
    )


# The page ------------------------------------------------------------------------------------


def admin_layout(city: City, lang: str = "id") -> html.Div:
    return html.Div(
        [
            html.Header(
                [
                    html.Div("KOMANDO", className="op-brand"),
                    html.Div(city.config.name, className="op-city"),
                    html.Div(ROLE_NAMES[ADMIN][1 if lang == "en" else 0], className="in-role"),
                ],
                className="op-header",
            ),
            html.Main(
                [
                    html.H1(Text("Administrasi", "Administration")(lang)),
                    html.Nav(
                        [html.A(t(lang), href=f"#{anchor}") for anchor, t in SECTIONS],
                        className="adm-nav",
                        **{"aria-label": Text("Bagian halaman", "Page sections")(lang)},
                    ),
                    users_section(city, lang),
                    schools_section(city, lang),
                    cameras_section(city, lang),
                    displays_section(lang),
                    keys_section(lang),
                    audit_section(lang),
                    dcc.Store(id=ADM_VERSION, data=0),
                ],
                className="op-main in-main adm-main",
            ),
        ],
        className="operator-page intake-page admin-page",
        lang=lang,
    )
