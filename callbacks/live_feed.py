"""One server round trip per wall refresh for everything live on the page.

The browser sends the versions it has (a few hundred bytes); the server answers with only the
sections that changed, or 204 with no body when none did. The page itself sends the request
and applies the answer (assets/komando_feed.js): the map's sensor layer, the KPI tiles and the
camera badges are updated in place, so a wall costs the server one small request a second
however many panels it shows, nothing on screen is rebuilt, and no Dash store is touched. The
callback keeps the inputs and outputs of the dcc.Interval and stores it was first written for:
that request is the one the page sends.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any
from zoneinfo import ZoneInfo

import redis
from dash import ALL, ClientsideFunction, Dash, Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from callbacks.camera_tiles import badge
from callbacks.kpi_tiles import kpi_items, scorecard_items
from callbacks.logged import logged
from callbacks.sensor_map import freshness, sensor_items
from data import kpi_status
from data.access import current_principal, visible_camera_ids
from data.alert_store import AlertKeys
from data.camera_status import camera_status
from data.city import City
from data.live_keys import decode_points
from data.live_reader import LiveReader
from layouts import ids
from layouts.formatting import format_number
from layouts.i18n import Text, normal_lang
from layouts.map_panel import shade_kpis
from settings import Settings

log = logging.getLogger(__name__)

KPI_RECHECK_S = 30.0
REGION_VALUES_EVERY_S = 30.0
SENSOR_VALUES_EVERY_S = 10.0

UNREACHABLE = Text("Data langsung tidak terjangkau (Redis)", "Live data unreachable (Redis)")


def signature(value: Any) -> str:
    """A short, stable fingerprint of a section, to tell the browser's copy from ours."""
    encoded = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.blake2b(encoded, digest_size=8).hexdigest()


class FeedBuilder:
    """What changed since `known` (the browser's versions), as (feed, versions) — or None."""

    def __init__(self, reader: LiveReader, city: City, settings: Settings) -> None:
        self.reader = reader
        self.city = city
        self.settings = settings
        self.zone = ZoneInfo(city.config.timezone)
        self.late_after_s = max(15.0, 5 * settings.ingest_interval_s)
        self.kpi_ids = [k.id for k in city.config.kpis if k.on_wall]
        self.alert_keys = AlertKeys(reader.keys.namespace)
        self.kecamatan = [f["properties"]["kode"] for f in city.kecamatan_geojson["features"]]
        self.shade_kpis = shade_kpis(city)
        self.default_shade = next(iter(self.shade_kpis.values()), None)
        self._layout: tuple[object, str] = (None, "")

    def layout_signature(self) -> str:
        """A fingerprint of what the wall's layout was built from that an admin can change
        (cameras and schools, never a source): when it moves, the walls reload themselves."""
        config = self.city.config
        if self._layout[0] is not config:
            drawn = [
                [c.model_dump(mode="json", exclude={"source"}) for c in config.cameras],
                [s.model_dump(mode="json") for s in config.schools],
            ]
            self._layout = (config, signature(drawn))
        return self._layout[1]

    @property
    def camera_ids(self) -> list[str]:
        # Read each time: an admin may add a camera while the wall runs (data/city_edits.py).
        return [c.id for c in self.city.config.cameras]

    async def changes(
        self, known: dict[str, Any], view: dict[str, Any] | None = None
    ) -> tuple[dict, dict] | None:
        """`view`: what the page's map shows ({"shade": KPI id, "focus": kecamatan kode})."""
        now = time.time()
        feed: dict[str, Any] = {}
        versions = dict(known)
        want = set(known.get("want") or ())
        lang = normal_lang(known.get("lang"))
        layout = self.layout_signature()
        if known.get("layout") not in (None, layout):
            feed["reload"] = True  # a camera or school was added or changed in the admin page
        versions["layout"] = layout
        try:
            sensors_version, points = (
                await self.reader.sensors(known.get("sensors", ""))
                if want & {"sensors", "freshness"}
                else ("", None)
            )
            if points is not None and "sensors" in want:
                items = sensor_items(self.city, points, now, lang)
                versions["sensors"] = sensors_version
                versions["newest_ts"] = max((ts for _, ts in points.values()), default=0.0)
                # Markers change on the wall when a colour does; their numbers (shown on
                # hover) are brought up to date every SENSOR_VALUES_EVERY_S.
                colours = signature({sensor: item[0] for sensor, item in items.items()})
                if (
                    colours != known.get("sensors_sig")
                    or now - float(known.get("sensors_at", 0)) >= SENSOR_VALUES_EVERY_S
                ):
                    feed["sensors"] = items
                    versions["sensors_sig"] = colours
                    versions["sensors_at"] = round(now)
            # Re-read now and then even when no value changed: a KPI becomes late by itself.
            recheck = now - float(known.get("kpis_at", 0)) > KPI_RECHECK_S
            kpis_version, kpi_points = (
                await self.reader.kpis("" if recheck else known.get("kpis", ""))
                if "kpis" in want
                else ("", None)
            )
            if kpi_points is not None:
                previous = await self.reader.kpi_previous()
                section = {
                    "tiles": kpi_items(self.city, self.kpi_ids, kpi_points, now, lang, previous),
                    "scorecard": scorecard_items(self.city, kpi_points, lang),
                }
                versions["kpis"] = kpis_version
                versions["kpis_at"] = round(now)
                if signature(section) != known.get("kpis_sig"):
                    feed["kpis"] = section
                    versions["kpis_sig"] = signature(section)
            cameras = await self._cameras(now, lang) if "cameras" in want else None
            if cameras:  # only the cameras this viewer may watch (a display: no school ones)
                seen = visible_camera_ids(current_principal(), self.city, now)
                cameras = {k: v for k, v in cameras.items() if k in seen}
            if "regions" in want:
                await self._regions(known, view or {}, versions, feed, lang)
            if "alerts" in want:
                # Only the list's version: the alert panel redraws itself when it moves.
                raw = await self.reader.client.get(self.alert_keys.version)
                alerts_version = raw.decode() if isinstance(raw, bytes) else str(raw or "")
                if alerts_version != known.get("alerts"):
                    feed["alerts"] = alerts_version
                    versions["alerts"] = alerts_version
            reachable = True
        except redis.RedisError as exc:
            log.warning("wall refresh: Redis unavailable: %s", exc)
            cameras, reachable = None, False
        if cameras is not None and signature(cameras) != known.get("cameras"):
            feed["cameras"] = cameras
            versions["cameras"] = signature(cameras)
        if "freshness" not in want:
            return (feed, versions) if feed or versions != known else None
        text, css = (
            freshness(
                versions.get("newest_ts"),
                now,
                self.zone,
                self.city.config.timezone_label,
                self.late_after_s,
                lang,
            )
            if reachable
            else (UNREACHABLE(lang), "freshness stale")
        )
        if signature([text, css]) != known.get("freshness"):
            feed["freshness"] = [text, css]
            versions["freshness"] = signature([text, css])
        return (feed, versions) if feed or versions != known else None

    async def _regions(
        self, known: dict, view: dict, versions: dict, feed: dict, lang: str
    ) -> None:
        """Each kecamatan's value of the KPI the map is shaded by, and its status colour; and
        the KPIs of the kecamatan the map is zoomed into, if any."""
        kpi = self.shade_kpis.get(view.get("shade") or "") or self.default_shade
        if kpi is None:
            return
        focus = view.get("focus") or ""
        stale = known.get("shade_shown") != kpi.id or known.get("focus_shown", "") != focus
        version = await self.reader.client.get(self.reader.keys.kpis_regions_version)
        version = version.decode() if isinstance(version, bytes) else str(version or "")
        if version == known.get("regions") and not stale:
            return
        async with self.reader.client.pipeline(transaction=False) as pipe:
            for kode in self.kecamatan:
                pipe.hgetall(self.reader.keys.kpis_region(kode))
            replies = await pipe.execute()
        fills, values, focused = {}, {}, None
        for kode, raw in zip(self.kecamatan, replies, strict=True):
            points = decode_points(raw)
            if kode == focus:
                focused = self._region_rows(points, lang)
            value = points.get(kpi.id, (None, None))[0]
            fills[kode] = kpi_status.status(kpi, value).color if value is not None else ""
            values[kode] = (
                f"{format_number(value, kpi.decimals)} {kpi.unit}" if value is not None else "–"
            )
        versions["regions"] = version
        versions["shade_shown"] = kpi.id
        versions["focus_shown"] = focus
        # Redrawing the kecamatan costs the browser tens of milliseconds (every polygon and
        # label is re-added), so the map is redrawn when a colour changes, and otherwise its
        # numbers are brought up to date every REGION_VALUES_EVERY_S.
        colours = signature([kpi.id, fills, focus])
        now = time.time()
        if (
            not stale
            and colours == known.get("regions_sig")
            and now - float(known.get("regions_at", 0)) < REGION_VALUES_EVERY_S
        ):
            return
        feed["regions"] = {
            "kpi": kpi.id,
            "name": kpi.name.en if lang == "en" else kpi.name.id,
            "fills": fills,
            "values": values,
            "focus": {"kode": focus, "rows": focused} if focus else None,
        }
        versions["regions_sig"] = colours
        versions["regions_at"] = round(now)

    def _region_rows(self, points: dict, lang: str) -> list[list[str]]:
        """[name, value text, status colour] of every KPI the region has a value of its own."""
        rows = []
        for kpi in self.shade_kpis.values():
            if kpi.id not in points:
                continue
            value = points[kpi.id][0]
            rows.append(
                [
                    kpi.name.en if lang == "en" else kpi.name.id,
                    f"{format_number(value, kpi.decimals)} {kpi.unit}",
                    kpi_status.status(kpi, value).color,
                ]
            )
        return rows

    async def _cameras(self, now: float, lang: str) -> dict[str, list[str]]:
        if not self.camera_ids:
            return {}
        healths = await self.reader.camera_healths(self.camera_ids)
        items = {}
        for camera_id in self.camera_ids:
            status = camera_status(
                healths[camera_id],
                now,
                self.settings.camera_stalled_after_s,
                self.settings.camera_offline_after_s,
            )
            text, css, info = badge(status, self.zone, lang)
            items[camera_id] = [text, css, info]
        return items


def register(app: Dash, reader: LiveReader, city: City, settings: Settings) -> None:
    builder = FeedBuilder(reader, city, settings)

    @app.callback(
        Output(ids.FEED, "data"),
        Output(ids.FEED_VERSIONS, "data"),
        Input(ids.WALL_TICK, "n_intervals"),
        State(ids.FEED_VERSIONS, "data"),
        State({"type": ids.MAP_VIEW_ANY, "id": ALL}, "data"),
    )
    @logged
    async def refresh_feed(_tick, known, views):
        view = (views or [None])[0] or {}
        changes = await builder.changes(known or {}, view)
        if changes is None:
            raise PreventUpdate  # 204: nothing on the wire
        feed, versions = changes
        return feed or no_update, versions if versions != known else no_update

    # The page asks for the feed itself and writes it into the page (assets/komando_feed.js,
    # issue 5): it sends the map's view, which this callback keeps up to date, as the state.
    app.clientside_callback(
        ClientsideFunction(namespace="komando_feed", function_name="view"),
        Input({"type": ids.MAP_VIEW_ANY, "id": ALL}, "data"),
    )
