"""Every component id of the pages, in one place. Per-item ids are dicts for MATCH/ALL."""

# The live feed's callback (callbacks/live_feed.py) keeps the inputs and outputs it had as a
# dcc.Interval and two stores; the page asks for it from assets/komando_feed.js instead.
WALL_TICK = "wall-tick"
CLOCK_TIME = "clock-time"
CLOCK_DATE = "clock-date"
FRESHNESS = "data-freshness"
LINK_STATUS = "link-status"
# The live feed (callbacks/live_feed.py): what changed since the browser's versions.
FEED = "live-feed"  # Store: the sections that changed at the last refresh
FEED_VERSIONS = "live-feed-versions"  # Store: the browser's versions, and the sections it wants
LIVE_FEED = "live-feed-page"  # the page's sections and refresh period, for komando_feed.js
# Store: the feed's kecamatan section, set by the browser only when one comes (the shading and
# the focus box follow it; the rest of the feed is written to the page without the store).
FEED_REGIONS = "live-feed-regions"

MAP = "city-map"
DISTRICTS = "map-districts"
SENSORS = "map-sensors"
CAMERAS_LAYER = "map-cameras"
VILLAGES = "map-villages"
SCHOOLS_LAYER = "map-schools"
ALERTS_LAYER = "map-alerts"
MAP_HOME = "map-home"  # breadcrumb: back to the whole city
MAP_CRUMB = "map-crumb"  # breadcrumb: the kecamatan shown
MAP_FOCUS_BOX = "map-focus-box"  # the zoomed-in kecamatan's own KPIs
# Store {"shade": KPI id, "focus": kecamatan kode or ""}: what the map shows. Pattern-matched so
# that pages without a map send an empty list to the live feed instead of failing.
MAP_VIEW = {"type": "map-view", "id": "map"}
MAP_VIEW_ANY = "map-view"
MAP_SHADE = "map-shade"  # dropdown: the KPI the kecamatan are shaded by

KPI_TILE = "kpi-tile"
KPI_VALUE = "kpi-value"
KPI_STATUS = "kpi-status"
SCORECARD = "kpi-scorecard"
KPI_TREND = "kpi-trend"

CAMERA_TILE = "camera-tile"
CAMERA_BADGE = "camera-badge"
CAMERA_INFO = "camera-info"


def kpi(kind: str, kpi_id: str) -> dict[str, str]:
    return {"type": kind, "kpi": kpi_id}


def camera(kind: str, camera_id: str) -> dict[str, str]:
    return {"type": kind, "camera": camera_id}
