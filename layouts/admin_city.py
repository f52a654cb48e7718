"""The admin page's forms for schools and cameras (issue 6): add one, or pick one and change it.

Pure layout; callbacks/admin_city.py fills and saves them through data/city_edits.py, which
checks a change with the whole city before storing it. A camera's source is write-only: the
form never shows it, and an empty source field keeps the one stored.
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from data.access import WEEKDAYS_ID
from data.city import SOURCE_TYPES, City
from data.regions import region_tree
from layouts.admin_widgets import (
    EXAMPLE,
    button,
    confirmed_button,
    dropdown,
    field,
    result_area,
    text_input,
)
from layouts.i18n import Text

NEW = "__baru__"  # the picker's value for "a new one"

ADM_SCH_PICK = "adm-sch-pick"
ADM_SCH_ID = "adm-sch-id"
ADM_SCH_NAME = "adm-sch-name"
ADM_SCH_NPSN = "adm-sch-npsn"
ADM_SCH_REGION = "adm-sch-region"
ADM_SCH_LAT = "adm-sch-lat"
ADM_SCH_LNG = "adm-sch-lng"
ADM_SCH_HOURS = "adm-sch-hours"
ADM_SCH_DAYS = "adm-sch-days"
ADM_SCH_SAVE = "adm-sch-save"
ADM_SCH_REMOVE = "adm-sch-remove"  # the confirm dialog around the remove button
ADM_SCH_REMOVE_BUTTON = "adm-sch-remove-button"
ADM_SCH_RESULT = "adm-sch-result"

ADM_CAM_PICK = "adm-cam-pick"
ADM_CAM_ID = "adm-cam-id"
ADM_CAM_NAME = "adm-cam-name"
ADM_CAM_KIND = "adm-cam-kind"
ADM_CAM_SCHOOL = "adm-cam-school"
ADM_CAM_REGION = "adm-cam-region"
ADM_CAM_LAT = "adm-cam-lat"
ADM_CAM_LNG = "adm-cam-lng"
ADM_CAM_SOURCE = "adm-cam-source"
ADM_CAM_SOURCE_STATE = "adm-cam-source-state"
ADM_CAM_TYPE = "adm-cam-type"
ADM_CAM_FPS = "adm-cam-fps"
ADM_CAM_HOURS = "adm-cam-hours"
ADM_CAM_SAVE = "adm-cam-save"
ADM_CAM_REMOVE = "adm-cam-remove"
ADM_CAM_REMOVE_BUTTON = "adm-cam-remove-button"
ADM_CAM_RESULT = "adm-cam-result"

SCHOOL_FIELDS = (ADM_SCH_ID, ADM_SCH_NAME, ADM_SCH_NPSN, ADM_SCH_REGION, ADM_SCH_LAT, ADM_SCH_LNG)
CAMERA_FIELDS = (
    ADM_CAM_ID,
    ADM_CAM_NAME,
    ADM_CAM_KIND,
    ADM_CAM_SCHOOL,
    ADM_CAM_REGION,
    ADM_CAM_LAT,
    ADM_CAM_LNG,
)


def picker_options(items: list[Any], new_label: str) -> list[dict[str, str]]:
    return [{"label": new_label, "value": NEW}] + [
        {"label": f"{item.name} ({item.id})", "value": item.id} for item in items
    ]


def school_picker_options(city: City, lang: str) -> list[dict[str, str]]:
    return picker_options(city.config.schools, Text("+ Sekolah baru", "+ New school")(lang))


def camera_picker_options(city: City, lang: str) -> list[dict[str, str]]:
    return picker_options(city.config.cameras, Text("+ Kamera baru", "+ New camera")(lang))


def region_options(city: City) -> list[dict[str, str]]:
    """Kecamatan and their desa/kelurahan, indented under them, by name."""
    tree = region_tree(city)
    options = []
    for kecamatan in tree.kecamatan:
        options.append({"label": f"Kec. {kecamatan.name}", "value": kecamatan.kode})
        options += [
            {"label": f"   {desa.name} ({kecamatan.name})", "value": desa.kode}
            for desa in tree.children(kecamatan.kode)
        ]
    return options


def number_input(component_id: str, placeholder: str, step: str = "any") -> dcc.Input:
    return text_input(component_id, placeholder, kind="number", step=step)


def pair(*fields: html.Div) -> html.Div:
    return html.Div(list(fields), className="adm-pair")


def _lat_lng(city: City, lat_id: str, lng_id: str, lang: str) -> html.Div:
    lat, lng = city.config.center
    return pair(
        field(Text("Lintang", "Latitude")(lang), number_input(lat_id, f"{lat:.5f}"), lat_id),
        field(Text("Bujur", "Longitude")(lang), number_input(lng_id, f"{lng:.5f}"), lng_id),
    )


def school_form(city: City, lang: str) -> html.Div:
    return html.Div(
        [
            html.H3(Text("Tambah atau ubah sekolah", "Add or change a school")(lang)),
            field(
                Text("Sekolah", "School")(lang),
                dropdown(ADM_SCH_PICK, school_picker_options(city, lang), lang, value=NEW),
                ADM_SCH_PICK,
            ),
            pair(
                field(
                    Text("Kode (id)", "Code (id)")(lang),
                    text_input(ADM_SCH_ID, EXAMPLE(lang) + " sdn-1-kota", autoComplete="off"),
                    ADM_SCH_ID,
                    Text(
                        "Huruf kecil, angka, - dan _; tidak dapat diubah kemudian.",
                        "Lower-case letters, digits, - and _; cannot be changed later.",
                    )(lang),
                ),
                field(
                    Text("Nama sekolah", "School name")(lang),
                    text_input(ADM_SCH_NAME, EXAMPLE(lang) + " SD Negeri 1"),
                    ADM_SCH_NAME,
                ),
            ),
            pair(
                field(
                    "NPSN", text_input(ADM_SCH_NPSN, "8 digit", inputMode="numeric"), ADM_SCH_NPSN
                ),
                field(
                    Text("Wilayah", "Area")(lang),
                    dropdown(ADM_SCH_REGION, region_options(city), lang),
                    ADM_SCH_REGION,
                ),
            ),
            _lat_lng(city, ADM_SCH_LAT, ADM_SCH_LNG, lang),
            pair(
                field(
                    Text("Jam tayang untuk orang tua", "Viewing hours for parents")(lang),
                    text_input(ADM_SCH_HOURS, EXAMPLE(lang) + " 06:30-14:00"),
                    ADM_SCH_HOURS,
                    Text(
                        "Waktu setempat, JJ:MM-JJ:MM; kosong: sepanjang hari.",
                        "Local time, HH:MM-HH:MM; empty: all day.",
                    )(lang),
                ),
                field(
                    Text("Hari tayang", "Viewing days")(lang),
                    dcc.Checklist(
                        id=ADM_SCH_DAYS,
                        options=[
                            {"label": f" {name[:3]}", "value": day}
                            for day, name in enumerate(WEEKDAYS_ID, start=1)
                        ],
                        value=[1, 2, 3, 4, 5],
                        inline=True,
                        className="adm-check adm-days",
                    ),
                    ADM_SCH_DAYS,
                ),
            ),
            html.Div(
                [
                    button(Text("Simpan sekolah", "Save the school")(lang), ADM_SCH_SAVE),
                    confirmed_button(
                        Text("Hapus sekolah…", "Remove the school…")(lang),
                        ADM_SCH_REMOVE_BUTTON,
                        ADM_SCH_REMOVE,
                        Text(
                            "Hapus sekolah yang dipilih? Kamera dan akun orang tua yang masih "
                            "terikat harus dipindahkan dulu. Tindakan ini dicatat.",
                            "Remove the chosen school? Cameras and parents' accounts still "
                            "bound to it must be moved first. This is recorded.",
                        )(lang),
                    ),
                ],
                className="adm-actions",
            ),
            result_area(ADM_SCH_RESULT),
        ],
        className="adm-form adm-city-form",
    )


def camera_form(city: City, lang: str) -> html.Div:
    return html.Div(
        [
            html.H3(Text("Tambah atau ubah kamera", "Add or change a camera")(lang)),
            field(
                Text("Kamera", "Camera")(lang),
                dropdown(ADM_CAM_PICK, camera_picker_options(city, lang), lang, value=NEW),
                ADM_CAM_PICK,
            ),
            pair(
                field(
                    Text("Kode (id)", "Code (id)")(lang),
                    text_input(ADM_CAM_ID, EXAMPLE(lang) + " cam-simpang-5", autoComplete="off"),
                    ADM_CAM_ID,
                ),
                field(
                    Text("Nama kamera", "Camera name")(lang),
                    text_input(ADM_CAM_NAME, EXAMPLE(lang) + " Simpang Lima"),
                    ADM_CAM_NAME,
                ),
            ),
            pair(
                field(
                    Text("Jenis", "Kind")(lang),
                    dcc.RadioItems(
                        id=ADM_CAM_KIND,
                        options=[
                            {"label": Text(" Jalan", " Street")(lang), "value": "street"},
                            {"label": Text(" Sekolah", " School")(lang), "value": "school"},
                        ],
                        value="street",
                        inline=True,
                        className="adm-check",
                    ),
                    ADM_CAM_KIND,
                ),
                field(
                    Text("Sekolah (kamera sekolah)", "School (school camera)")(lang),
                    dropdown(
                        ADM_CAM_SCHOOL,
                        [{"label": s.name, "value": s.id} for s in city.config.schools],
                        lang,
                    ),
                    ADM_CAM_SCHOOL,
                ),
            ),
            field(
                Text("Wilayah", "Area")(lang),
                dropdown(ADM_CAM_REGION, region_options(city), lang),
                ADM_CAM_REGION,
            ),
            _lat_lng(city, ADM_CAM_LAT, ADM_CAM_LNG, lang),
            field(
                Text("Sumber", "Source")(lang),
                text_input(
                    ADM_CAM_SOURCE,
                    "secret:cam-simpang-5 · env:CAM_SIMPANG_5 · rtsp://10.0.0.5/stream1",
                    autoComplete="off",
                ),
                ADM_CAM_SOURCE,
                Text(
                    "Tidak pernah ditampilkan kembali; kosongkan untuk tetap memakai sumber "
                    "yang tersimpan. Alamat dengan kata sandi disimpan sebagai secret:<nama> "
                    "(berkas di KOMANDO_SECRETS_DIR) atau env:<VARIABEL>, bukan di sini.",
                    "Never shown again; leave empty to keep the stored source. An address "
                    "with a password is kept as secret:<name> (a file in KOMANDO_SECRETS_DIR) "
                    "or env:<VARIABLE>, not here.",
                )(lang),
            ),
            html.Div(id=ADM_CAM_SOURCE_STATE, className="op-hint"),
            pair(
                field(
                    Text("Jenis sumber", "Source type")(lang),
                    dropdown(
                        ADM_CAM_TYPE,
                        [{"label": "auto", "value": "auto"}]
                        + [{"label": t, "value": t} for t in SOURCE_TYPES],
                        lang,
                        value="auto",
                        clearable=False,
                    ),
                    ADM_CAM_TYPE,
                ),
                field(
                    Text("Gambar per detik", "Frames per second")(lang),
                    number_input(ADM_CAM_FPS, Text("bawaan", "default")(lang), "0.5"),
                    ADM_CAM_FPS,
                ),
            ),
            field(
                Text("Jam aktif kamera", "Camera's active hours")(lang),
                text_input(ADM_CAM_HOURS, EXAMPLE(lang) + " 06:00-18:00"),
                ADM_CAM_HOURS,
                Text("Kosong: selalu.", "Empty: always.")(lang),
            ),
            html.Div(
                [
                    button(Text("Simpan kamera", "Save the camera")(lang), ADM_CAM_SAVE),
                    confirmed_button(
                        Text("Hapus kamera…", "Remove the camera…")(lang),
                        ADM_CAM_REMOVE_BUTTON,
                        ADM_CAM_REMOVE,
                        Text(
                            "Hapus kamera yang dipilih? Grabber berhenti membacanya dan kamera "
                            "hilang dari dinding dan portal orang tua. Tindakan ini dicatat.",
                            "Remove the chosen camera? The grabber stops reading it and it "
                            "leaves the walls and the parents' portal. This is recorded.",
                        )(lang),
                    ),
                ],
                className="adm-actions",
            ),
            result_area(ADM_CAM_RESULT),
        ],
        className="adm-form adm-city-form",
    )
