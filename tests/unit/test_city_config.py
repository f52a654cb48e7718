from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from data.city import CityConfigError, load_city
from settings import PROJECT_ROOT

PRABUMULIH = PROJECT_ROOT / "data" / "cities" / "prabumulih"


def copy_city(tmp_path: Path, edit) -> Path:
    folder = tmp_path / "kota"
    shutil.copytree(PRABUMULIH, folder)
    raw = yaml.safe_load((folder / "city.yaml").read_text())
    edit(raw)
    (folder / "city.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True))
    return folder


def test_demo_city_loads_with_real_boundaries(city):
    assert city.config.kode == "16.74"
    districts = city.kecamatan_geojson["features"]
    assert len(districts) == 6
    assert {f["properties"]["kode"] for f in districts} == {f"16.74.0{i}" for i in range(1, 7)}
    dimensions = {k.dimension for k in city.config.kpis}
    assert dimensions == {"governance", "branding", "economy", "living", "society", "environment"}
    assert {c.kind for c in city.config.cameras} == {"school", "street"}


def test_error_names_file_item_and_field(tmp_path):
    def edit(raw):
        raw["sensors"][2]["lat"] = 45.0

    folder = copy_city(tmp_path, edit)
    with pytest.raises(CityConfigError) as caught:
        load_city(folder)
    message = str(caught.value)
    assert str(folder / "city.yaml") in message
    assert "sensors[2] (id aq-majasari).lat" in message
    assert "less than or equal to 6.5" in message


def test_unknown_field_and_duplicate_id_are_refused(tmp_path):
    def edit(raw):
        raw["cameras"][0]["pasword"] = "x"
        raw["sensors"][1]["id"] = raw["sensors"][0]["id"]

    with pytest.raises(CityConfigError) as caught:
        load_city(copy_city(tmp_path, edit))
    assert "cameras[0] (id sdn1-gerbang).pasword: Extra inputs are not permitted" in str(
        caught.value
    )


def test_water_sensor_needs_rising_siaga_levels(tmp_path):
    def edit(raw):
        raw["sensors"][5]["siaga"] = [300, 250, 350]

    with pytest.raises(CityConfigError, match="Siaga 3 < Siaga 2 < Siaga 1"):
        load_city(copy_city(tmp_path, edit))


def test_missing_boundary_file_and_unknown_city(tmp_path):
    folder = copy_city(tmp_path, lambda raw: None)
    (folder / "boundaries" / "kecamatan.geojson").unlink()
    with pytest.raises(CityConfigError, match="boundary file not found"):
        load_city(folder)
    with pytest.raises(CityConfigError, match="available: kota"):
        load_city(tmp_path / "atlantis")


def test_committed_camera_url_with_credentials_is_refused(tmp_path):
    def edit(raw):
        raw["cameras"][1]["source"] = "rtsp://admin:12345@192.168.1.64:554/Streaming/Channels/101"

    with pytest.raises(CityConfigError) as caught:
        load_city(copy_city(tmp_path, edit))
    message = str(caught.value)
    assert "credentials in a committed camera URL" in message
    assert "12345" not in message  # the error names the field, never the secret


def test_camera_groups_name_known_cameras(tmp_path, city):
    from layouts.cctv import camera_groups

    labels = {g.id: g for g in camera_groups(city)}
    assert labels["grup:koridor-sudirman"].camera_ids == ("simpang-sudirman",)
    assert labels["sekolah:sdn1-demo"].camera_ids == ("sdn1-gerbang",)

    def edit(raw):
        raw["camera_groups"][0]["cameras"].append("ghost-cam")

    with pytest.raises(CityConfigError, match="unknown camera\\(s\\) ghost-cam"):
        load_city(copy_city(tmp_path, edit))
