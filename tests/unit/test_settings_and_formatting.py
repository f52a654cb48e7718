from __future__ import annotations

import pytest
from pydantic import ValidationError

from layouts.formatting import format_age, format_number
from settings import describe_errors, load_settings


def test_defaults_run_everything_on_embedded_services(monkeypatch):
    for name in ("REDIS_URL", "DATABASE_URL", "PORT", "KOMANDO_ROLES"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.roles == {"web", "ingest", "grab"}
    assert settings.redis_url is None
    assert settings.port == 8050
    assert settings.effective_database_url.startswith("sqlite:///")


def test_environment_is_read_and_roles_split(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("KOMANDO_ROLES", "web, ingest")
    settings = load_settings()
    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.port == 9000
    assert settings.roles == {"web", "ingest"}


def test_invalid_values_are_explained_by_environment_name(monkeypatch):
    monkeypatch.setenv("PORT", "99999")
    monkeypatch.setenv("KOMANDO_ROLES", "web,cooking")
    with pytest.raises(ValidationError) as caught:
        load_settings()
    text = describe_errors(caught.value)
    assert "PORT: Input should be less than or equal to 65535 (given: '99999')" in text
    assert "KOMANDO_ROLES" in text


def test_offline_threshold_must_exceed_stalled():
    with pytest.raises(ValidationError, match="longer than KOMANDO_CAMERA_STALLED_AFTER_S"):
        load_settings(camera_stalled_after_s=10, camera_offline_after_s=5)


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (1234.5, 1, "1.234,5"),
        (13350, 0, "13.350"),
        (0.25, 2, "0,25"),
        (None, 0, "–"),
        (-1500.0, 0, "-1.500"),
    ],
)
def test_numbers_use_indonesian_separators(value, decimals, text):
    assert format_number(value, decimals) == text


def test_ages_read_naturally():
    assert format_age(None) == "belum ada data"
    assert format_age(12) == "12 dtk lalu"
    assert format_age(125) == "2 mnt lalu"
    assert format_age(7300) == "2 jam lalu"
