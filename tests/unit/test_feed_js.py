"""The browser side of the live feed writes the page by id (assets/komando_feed.js): its ids
must be those the layouts use."""

from __future__ import annotations

import re
from pathlib import Path

from callbacks.kpi_tiles import scorecard_items
from layouts import alert_list, ids
from layouts.kpi_tiles import scorecard

FEED_JS = Path(__file__).resolve().parents[2] / "assets" / "komando_feed.js"


def js_ids() -> dict[str, str]:
    block = re.search(r"var IDS = \{(.*?)\};", FEED_JS.read_text(), re.S)
    assert block, "komando_feed.js: no IDS block"
    return dict(re.findall(r'(\w+): "([^"]+)"', block.group(1)))


def test_the_feed_applier_uses_the_layouts_ids():
    wanted = {name: getattr(ids, name, None) for name in js_ids()}
    wanted["ALERT_SIGNAL"] = alert_list.ALERT_SIGNAL
    assert js_ids() == wanted


def test_the_feed_finds_every_scorecard_chip_by_its_dimension(city):
    chips = scorecard(city).children
    assert [chip.to_plotly_json()["props"]["data-dimension"] for chip in chips] == [
        row[0] for row in scorecard_items(city, {})
    ]
