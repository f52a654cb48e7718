"""Every Redis key name, TTL and value encoding Komando uses, in one place.

Layout, all under a namespace prefix (`komando:<city>`), so cities can share one server:

    <ns>:sensors:latest       hash  sensor_id -> {"v": value, "ts": epoch}
    <ns>:sensors:version      int   bumped by every write to sensors:latest
    <ns>:kpis:latest          hash  kpi_id -> {"v": value, "ts": epoch}
    <ns>:kpis:version         int   bumped by every write to kpis:latest
    <ns>:kpis:region:<kode>   hash  kpi_id -> {"v": value, "ts": epoch}: sensor-aggregate KPIs of
                                    one kecamatan or desa (kode wilayah)
    <ns>:kpis:regions:version int   bumped once per write to any kpis:region:* hash
    <ns>:camera:<id>:frame    bytes the latest JPEG; expires, so a dead grabber leaves no frame
    <ns>:camera:<id>:health   hash  CameraHealth fields as strings
    <ns>:camera:<id>:thumb    bytes a small JPEG (map pop-ups), refreshed about once a second
    <ns>:camera:<id>:lease    str   the grabber worker that owns the camera; expires, so a dead
                                    worker's cameras are taken over
    <ns>:heartbeat:<role>     float epoch of the role's last tick; expires
    <ns>:ingest:counters      hash  "<source>:accepted" / "<source>:rejected" -> count
    <ns>:opds:latest          hash  opd_id -> epoch of its last entry (data freshness per OPD)
    <ns>:frames               channel "<camera_id> <seq>" after each published frame, so a web
                                    process learns of new frames without polling
    <ns>:live:epoch           str   set when the live state was (re)built; missing after a
                                    Redis restart, which tells ingestion to rebuild from SQL
    <ns>:history:revision     int   bumped when SQL history changes at once (the back-fill, an
                                    OPD's entries), so the review's cache reads SQL again
    <ns>:review:<rev>:<minute>:<query>
                              str   what the mayor's review read from SQL for one query
                                    (data/review_cache.py, JSON); expires after REVIEW_CACHE_TTL_S

A sensor's primary quantity lives under its id; other quantities under "<id>/<quantity>".
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from data.models import CameraHealth

# A frame older than this is useless on a wall; letting Redis expire it means a grabber that
# died cannot leave a frozen picture behind.
FRAME_TTL_S = 60
HEARTBEAT_TTL_S = 30
# The review's history is bucketed by hours or days, and its live values come from Redis apart:
# a minute-old copy of the SQL reads is as good as new, and shared by every executive and worker.
REVIEW_CACHE_TTL_S = 60


@dataclass(frozen=True)
class KeySpace:
    namespace: str

    @property
    def sensors_latest(self) -> str:
        return f"{self.namespace}:sensors:latest"

    @property
    def sensors_version(self) -> str:
        return f"{self.namespace}:sensors:version"

    @property
    def kpis_latest(self) -> str:
        return f"{self.namespace}:kpis:latest"

    @property
    def kpis_version(self) -> str:
        return f"{self.namespace}:kpis:version"

    @property
    def kpis_previous(self) -> str:
        """Each KPI's value one period ago (data/kpi_baseline.py), for the wall's trends."""
        return f"{self.namespace}:kpis:previous"

    def kpis_region(self, kode: str) -> str:
        return f"{self.namespace}:kpis:region:{kode}"

    @property
    def kpis_regions_version(self) -> str:
        return f"{self.namespace}:kpis:regions:version"

    def camera_frame(self, camera_id: str) -> str:
        return f"{self.namespace}:camera:{camera_id}:frame"

    def camera_health(self, camera_id: str) -> str:
        return f"{self.namespace}:camera:{camera_id}:health"

    def camera_thumb(self, camera_id: str) -> str:
        return f"{self.namespace}:camera:{camera_id}:thumb"

    def camera_lease(self, camera_id: str) -> str:
        return f"{self.namespace}:camera:{camera_id}:lease"

    def heartbeat(self, role: str) -> str:
        return f"{self.namespace}:heartbeat:{role}"

    @property
    def ingest_counters(self) -> str:
        return f"{self.namespace}:ingest:counters"

    @property
    def opds_latest(self) -> str:
        return f"{self.namespace}:opds:latest"

    @property
    def frames_channel(self) -> str:
        return f"{self.namespace}:frames"

    @property
    def live_epoch(self) -> str:
        return f"{self.namespace}:live:epoch"

    @property
    def history_revision(self) -> str:
        return f"{self.namespace}:history:revision"

    def review_cache(self, revision: str, minute: int, query: str) -> str:
        return f"{self.namespace}:review:{revision}:{minute}:{query}"


def encode_point(value: float, ts: float) -> str:
    return json.dumps({"v": value, "ts": round(ts, 3)}, separators=(",", ":"))


def decode_points(raw: dict[bytes | str, bytes | str]) -> dict[str, tuple[float, float]]:
    """Hash of encoded points -> {id: (value, ts)}; a field that does not decode is skipped."""
    points: dict[str, tuple[float, float]] = {}
    for key, blob in raw.items():
        name = key.decode() if isinstance(key, bytes) else key
        try:
            item = json.loads(blob)
            points[name] = (float(item["v"]), float(item["ts"]))
        except (ValueError, KeyError, TypeError):
            continue
    return points


def encode_health(health: CameraHealth) -> dict[str, str]:
    return {name: str(value) for name, value in health.model_dump().items()}


def decode_health(raw: dict[bytes | str, bytes | str]) -> CameraHealth | None:
    if not raw:
        return None
    fields = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in raw.items()
    }
    return CameraHealth.model_validate(fields)


# Returns {version} when the caller already has `version`, else {version, HGETALL}: one round trip
# per refresh either way, and nothing but a counter on the wire when a panel has not changed.
READ_IF_CHANGED_LUA = """
local version = redis.call('GET', KEYS[1]) or '0'
if version == ARGV[1] then
  return {version}
end
return {version, redis.call('HGETALL', KEYS[2])}
"""


# Writes each point only if it is newer than the one stored, so a late or replayed reading can
# never turn the live state back in time; bumps the version once if anything changed.
# ARGV: field, ts, encoded, field, ts, encoded, ...
UPSERT_NEWER_LUA = """
local changed = 0
for i = 1, #ARGV, 3 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  local newer = true
  if current then
    local ok, decoded = pcall(cjson.decode, current)
    if ok and decoded['ts'] and tonumber(decoded['ts']) > tonumber(ARGV[i + 1]) then
      newer = false
    end
  end
  if newer then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
    changed = changed + 1
  end
end
if changed > 0 then
  redis.call('INCR', KEYS[2])
end
return changed
"""


def decode_if_changed(reply: list) -> tuple[str, dict[str, tuple[float, float]] | None]:
    """Decode READ_IF_CHANGED_LUA's reply: (version, points or None when unchanged)."""
    version = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
    if len(reply) == 1:
        return version, None
    flat = reply[1]
    return version, decode_points(dict(zip(flat[::2], flat[1::2], strict=True)))
