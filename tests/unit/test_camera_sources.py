from __future__ import annotations

import pytest

from video.sources import CameraSourceError, redact, resolve_source


def test_sample_clip_resolves_to_the_shipped_file():
    assert resolve_source("c", "sample:car-detection.mp4").endswith("samples/car-detection.mp4")
    with pytest.raises(CameraSourceError, match=r"camera c: sample clip nope\.mp4 not found"):
        resolve_source("c", "sample:nope.mp4")


def test_url_with_credentials_comes_from_the_environment_or_a_secret_file(tmp_path):
    url = "rtsp://admin:s3cret@10.0.0.5:554/Streaming/Channels/101"
    assert resolve_source("gate", "env:CAM_GATE_URL", {"CAM_GATE_URL": url}) == url
    (tmp_path / "gate.url").write_text(url + "\n")
    assert resolve_source("gate", "secret:gate.url", {}, tmp_path) == url


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("env:CAM_MISSING", "environment variable CAM_MISSING is not set"),
        ("env:lower-case", "is not an environment variable name"),
        ("secret:absent.url", "cannot read secret file"),
        ("secret:../../etc/passwd", "bad secret name"),
    ],
)
def test_unresolvable_sources_say_why_without_the_url(tmp_path, source, message):
    with pytest.raises(CameraSourceError) as caught:
        resolve_source("gate", source, {}, tmp_path)
    assert message in str(caught.value)
    assert str(caught.value).startswith("camera gate:")


def test_redact_hides_credentials():
    assert redact("rtsp://admin:s3cret@10.0.0.5/x") == "rtsp://***@10.0.0.5/x"
    assert redact("/srv/clip.mp4") == "/srv/clip.mp4"
