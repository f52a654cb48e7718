"""The map's drill-down: a kecamatan's villages, where to zoom, and the way back."""

from __future__ import annotations

from callbacks.map_drill import focus_on


def test_a_kecamatan_brings_its_own_villages_and_zooms_to_it(city):
    villages, viewport, crumb, hideout = focus_on(city, "16.74.05")
    names = {f["properties"]["nama"] for f in villages["features"]}
    assert villages["features"] and all(
        f["properties"]["kode"].startswith("16.74.05.") for f in villages["features"]
    )
    assert len(names) == len(villages["features"])
    assert crumb == "› Prabumulih Utara"
    assert hideout["focus"] == "16.74.05"
    (south, west), (north, east) = viewport["bounds"]
    assert south < north and west < east
    whole = focus_on(city, "")
    (c_south, c_west), (c_north, c_east) = whole[1]["bounds"]
    assert c_south <= south and c_north >= north and c_west <= west and c_east >= east
    assert whole[0]["features"] == [] and whole[2] == "" and whole[3]["focus"] == ""


def test_an_unknown_kode_changes_nothing(city):
    assert focus_on(city, "99.99.99") is None
