"""The map's alert layer: active alerts with a place, in the page's language."""

from __future__ import annotations

from callbacks.alert_map import alert_features


def alert(uid: str, **extra) -> dict:
    return {
        "id": uid,
        "severity": "critical",
        "status": "open",
        "message": "PM2.5 Sangat tidak sehat",
        "message_en": "PM2.5 very unhealthy",
        "lat": -3.43,
        "lng": 104.24,
        "cleared_ms": None,
        **extra,
    }


def test_only_unresolved_alerts_with_a_place_are_drawn():
    layer = alert_features(
        [
            alert("a"),
            alert("b", status="resolved"),
            alert("c", lat=None, lng=None),  # an OPD late with its data has no place
            alert("d", status="acknowledged", severity="warning", cleared_ms=1),
        ]
    )
    drawn = {f["properties"]["id"]: f for f in layer["features"]}
    assert set(drawn) == {"a", "d"}
    assert drawn["a"]["geometry"]["coordinates"] == [104.24, -3.43]
    assert drawn["a"]["properties"]["label"] == "KRITIS"
    assert drawn["d"]["properties"]["cleared"] is True


def test_the_layer_speaks_english_when_asked():
    props = alert_features([alert("a")], "en")["features"][0]["properties"]
    assert props["label"] == "CRITICAL" and props["message"] == "PM2.5 very unhealthy"
