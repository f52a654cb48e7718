"""The parent portal's model (data/parent_portal.py) and page (server/parent_pages.py) as pure
functions: which schools and cameras a parent gets, the viewing-hours wording, when a closed
camera opens again, and that every value on the page is escaped."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from data.access import Principal
from data.city import City
from data.parent_portal import build_portal, hours_text, next_opening, status_payload
from server.parent_pages import parent_html

WIB = ZoneInfo("Asia/Jakarta")


def parent(*schools: str, name: str = "Ibu Sari") -> Principal:
    return Principal("user", 7, "ibu.sari", "parent", name, schools=frozenset(schools))


def city_with(city: City, **school: object) -> City:
    """The demo city with sdn1-demo's viewing hours/days replaced."""
    config = city.config
    schools = [config.schools[0].model_copy(update=school), *config.schools[1:]]
    return City(city.folder, config.model_copy(update={"schools": schools}))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=WIB)


# 2026-11-23 is a Monday.
SCHOOL_DAYS = {"viewing_hours": "06:30-14:00", "viewing_days": [1, 2, 3, 4, 5]}


def test_hours_are_written_as_indonesian_writes_them(city):
    assert hours_text(city_with(city, **SCHOOL_DAYS).config.schools[0], city) == (
        "Jam tayang 06.30–14.00 WIB, Senin–Jumat"
    )
    assert hours_text(city.config.schools[0], city) == "Jam tayang sepanjang hari, setiap hari"


@pytest.mark.parametrize(
    ("now", "opening", "message"),
    [
        ("2026-11-23T05:00", "2026-11-23T06:30", "Dibuka lagi hari ini pukul 06.30 WIB."),
        ("2026-11-23T15:00", "2026-11-24T06:30", "Dibuka lagi besok pukul 06.30 WIB."),
        ("2026-11-27T15:00", "2026-11-30T06:30", "Dibuka lagi hari Senin pukul 06.30 WIB."),
    ],
)
def test_a_closed_camera_says_when_it_opens(city, now, opening, message):
    school_city = city_with(city, **SCHOOL_DAYS)
    camera = school_city.config.cameras[0]
    assert next_opening(parent("sdn1-demo"), camera, school_city, at(now)) == at(opening)
    portal = build_portal(parent("sdn1-demo"), school_city, at(now))
    (tile,) = portal.cameras
    assert not tile.open and tile.message == message
    assert portal.schools[0].message == f"Sekarang di luar jam tayang. {message}"
    assert status_payload(portal)["cameras"] == {camera.id: {"open": False, "message": message}}


def test_an_overnight_window_and_the_poll_comes_soon_before_opening(city):
    night = city_with(city, viewing_hours="22:00-06:00", viewing_days=[1, 2, 3, 4, 5, 6, 7])
    portal = build_portal(parent("sdn1-demo"), night, at("2026-11-23T21:59:30"))
    assert portal.cameras[0].message == "Dibuka lagi hari ini pukul 22.00 WIB."
    assert portal.next_check_s == 31  # a second after it opens, not a minute later
    assert build_portal(parent("sdn1-demo"), night, at("2026-11-24T02:00")).cameras[0].open
    opened = build_portal(parent("sdn1-demo"), night, at("2026-11-23T12:00"))
    assert opened.next_check_s == 60


def test_only_the_parents_own_schools_and_cameras(city):
    portal = build_portal(parent("sdn1-demo", "not-in-this-city"), city, at("2026-11-23T10:00"))
    assert [s.id for s in portal.schools] == ["sdn1-demo"]
    assert [c.id for c in portal.cameras] == ["sdn1-gerbang"]  # not the street camera
    assert portal.cameras[0].open and portal.schools[0].message == ""
    assert build_portal(parent("elsewhere"), city, at("2026-11-23T10:00")).schools == ()


def test_the_page_escapes_every_value_and_tells_a_parent_without_a_school(city):
    hostile = parent("sdn1-demo", name='<img src=x onerror="alert(1)">')
    html = parent_html(build_portal(hostile, city, at("2026-11-23T10:00")))
    assert "<img src=x" not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert 'data-camera="sdn1-gerbang"' in html and "<script>" not in html
    empty = parent_html(build_portal(parent("elsewhere"), city, at("2026-11-23T10:00")))
    assert "Belum ada sekolah" in empty and "data-camera" not in empty
