"""Language choice and id-ID dates."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from layouts.i18n import (
    Text,
    format_date,
    format_datetime,
    format_long_date,
    lang_from_search,
    normal_lang,
)

WIB = ZoneInfo("Asia/Jakarta")
# 25 Nov 2026 01.30 UTC is 08.30 WIB, a Wednesday.
TS = datetime(2026, 11, 25, 1, 30, tzinfo=ZoneInfo("UTC")).timestamp()


def test_a_text_speaks_indonesian_unless_asked_for_english():
    text = Text("Peta kota", "City map")
    assert text("id") == "Peta kota" and text("en") == "City map"
    assert text("fr") == "Peta kota"


def test_the_language_comes_from_the_url_or_falls_back_to_indonesian():
    assert lang_from_search("?lang=en") == "en"
    assert lang_from_search("?period=7d&lang=id") == "id"
    assert lang_from_search("?lang=fr") is None and lang_from_search("") is None
    assert normal_lang("en") == "en"
    assert normal_lang(None) == "id" and normal_lang("EN") == "id" and normal_lang(3) == "id"


def test_dates_are_written_the_indonesian_way_in_the_city_zone():
    assert format_date(TS, WIB) == "25 Nov 2026"
    assert format_date(TS - 86400 * 70, WIB) == "16 Sep 2026"
    assert format_date(datetime(2026, 8, 17, tzinfo=WIB).timestamp(), WIB) == "17 Agu 2026"
    assert format_date(datetime(2026, 8, 17, tzinfo=WIB).timestamp(), WIB, "en") == "17 Aug 2026"
    assert format_long_date(TS, WIB) == "Rabu, 25 November 2026"
    assert format_long_date(TS, WIB, "en") == "Wednesday, 25 November 2026"
    assert format_datetime(TS, WIB, "WIB") == "25 Nov 2026 08.30 WIB"
