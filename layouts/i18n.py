"""Two languages: Bahasa Indonesia first, English second.

A text is a `Text(id, en)` pair written where it is used, so a page reads in both languages at
once and nothing hides behind a key. `lang` travels from the URL (`?lang=en`) or the visitor's
saved choice through the router into each page's layout function; callbacks that write text
read it from the page's `LANG` store. Numbers and dates stay in the id-ID format in both
languages (1.234,5; 25 Nov 2026), as the city's own documents write them.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

LANGS = ("id", "en")
DEFAULT_LANG = "id"
LANG_NAMES = {"id": "Bahasa Indonesia", "en": "English"}

MONTHS_ID = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHS_LONG_ID = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)  # fmt: skip
MONTHS_LONG_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
WEEKDAYS_ID = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Text(NamedTuple):
    id: str
    en: str

    def __call__(self, lang: str) -> str:
        return self.en if lang == "en" else self.id


def normal_lang(value: object) -> str:
    """A supported language code from whatever the URL or the browser's storage held."""
    return value if isinstance(value, str) and value in LANGS else DEFAULT_LANG


def lang_from_search(search: str | None) -> str | None:
    """`?lang=en` in a URL's query string, or None when the URL does not say."""
    for pair in (search or "").lstrip("?").split("&"):
        key, _, value = pair.partition("=")
        if key == "lang" and value in LANGS:
            return value
    return None


def format_date(ts: float, zone: ZoneInfo, lang: str = DEFAULT_LANG) -> str:
    """'25 Nov 2026' (id) or '25 Nov 2026' with English month names."""
    moment = datetime.fromtimestamp(ts, zone)
    months = MONTHS_EN if lang == "en" else MONTHS_ID
    return f"{moment.day} {months[moment.month - 1]} {moment.year}"


def format_long_date(ts: float, zone: ZoneInfo, lang: str = DEFAULT_LANG) -> str:
    """'Rabu, 25 November 2026' / 'Wednesday, 25 November 2026'."""
    moment = datetime.fromtimestamp(ts, zone)
    days, months = (WEEKDAYS_EN, MONTHS_LONG_EN) if lang == "en" else (WEEKDAYS_ID, MONTHS_LONG_ID)
    return f"{days[moment.weekday()]}, {moment.day} {months[moment.month - 1]} {moment.year}"


def format_datetime(ts: float, zone: ZoneInfo, zone_label: str, lang: str = DEFAULT_LANG) -> str:
    """'25 Nov 2026 08.45 WIB'."""
    return f"{format_date(ts, zone, lang)} {datetime.fromtimestamp(ts, zone):%H.%M} {zone_label}"


# Labels the data layer writes in Bahasa Indonesia (categories, states), in English.
EN_LABELS = {
    "Baik": "Good",
    "Sedang": "Moderate",
    "Tidak sehat": "Unhealthy",
    "Sangat tidak sehat": "Very unhealthy",
    "Berbahaya": "Hazardous",
    "Normal": "Normal",
    "Siaga 3": "Alert 3 (Siaga 3)",
    "Siaga 2": "Alert 2 (Siaga 2)",
    "Siaga 1": "Alert 1 (Siaga 1)",
    "Lancar": "Free-flowing",
    "Padat": "Heavy",
    "Macet": "Jammed",
    "Tersedia": "Available",
    "Hampir penuh": "Nearly full",
    "Penuh": "Full",
    "Tidak ada data": "No data",
    "Sesuai target": "On target",
    "Perlu perhatian": "Needs attention",
    "Di luar batas": "Out of bounds",
    "LANGSUNG": "LIVE",
    "TERSENDAT": "STALLED",
    "OFFLINE": "OFFLINE",
    "MENYAMBUNG": "CONNECTING",
    "DI LUAR JAM": "OUTSIDE HOURS",
}


def label(text: str, lang: str) -> str:
    """A data-layer label in the page's language (itself when no translation is known)."""
    return EN_LABELS.get(text, text) if lang == "en" else text
