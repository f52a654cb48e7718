"""The load bench's pure pieces (bench/load): how users are split by the mix, percentiles,
the table's rows, and the Dash callback body the load generator sends."""

from __future__ import annotations

import json
import math

from bench.load.loadgen import dash_body, find
from bench.load.run import percentile, rows_of, split_mix


def test_split_mix_sums_to_n_and_follows_the_shares() -> None:
    assert split_mix(50, (10, 30, 60)) == [5, 15, 30]
    assert split_mix(500, (10, 30, 60)) == [50, 150, 300]
    for n in (1, 7, 199, 201):
        counts = split_mix(n, (10, 30, 60))
        assert sum(counts) == n
        assert all(abs(c - n * s / 100) < 1 for c, s in zip(counts, (10, 30, 60), strict=True))


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.95) == 95
    assert percentile(list(reversed(values)), 1.0) == 100
    assert percentile([7.0], 0.95) == 7
    assert math.isnan(percentile([], 0.5))


def test_rows_count_latencies_and_errors_per_audience_and_kind() -> None:
    rows = rows_of(
        {"parent|picture": [1.0, 2.0, 3.0], "wall|live feed": [5.0]},
        {"parent|picture": {"timeout": 2, "http 503": 1}, "executive|router callback": {"x": 1}},
    )
    assert [(r.audience, r.kind) for r in rows] == [
        ("wall", "live feed"),
        ("executive", "router callback"),
        ("parent", "picture"),
    ]
    parent = rows[2]
    assert (parent.count, parent.p50, parent.max, parent.error_count) == (3, 2.0, 3.0, 3)
    assert rows[1].count == 0 and math.isnan(rows[1].p50)


def test_dash_body_is_what_the_renderer_posts() -> None:
    one = json.loads(dash_body([("g", "figure")], [("k", "value", "pm25")], [], ["k.value"]))
    assert one == {
        "output": "g.figure",
        "outputs": {"id": "g", "property": "figure"},
        "inputs": [{"id": "k", "property": "value", "value": "pm25"}],
        "changedPropIds": ["k.value"],
    }
    view = {"id": {"type": "map-view", "id": "map"}, "property": "data", "value": {"shade": ""}}
    many = json.loads(
        dash_body([("a", "children"), ("b", "data")], [("s", "data", ...)], [[view]], [])
    )
    assert many["output"] == "..a.children...b.data.."
    assert many["inputs"] == [{"id": "s", "property": "data"}]  # no value: undefined in JS
    assert many["state"] == [[view]]


def test_find_walks_a_layout_tree() -> None:
    tree = {
        "type": "Div",
        "props": {
            "children": [
                {"type": "A", "props": {"href": "/kpi?periode=7d"}},
                {"type": "Div", "props": {"children": {"type": "A", "props": {"href": "/x"}}}},
            ]
        },
    }
    assert {p["href"] for p in find(tree, lambda p: "href" in p)} == {"/kpi?periode=7d", "/x"}
