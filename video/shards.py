"""Which grab worker owns which camera: `--shard I/N` takes the cameras whose id hashes to I.

The hash is CRC-32 of the camera id, stable across processes, machines and Python versions
(unlike `hash()`, which is salted per process), so N workers split the cameras between them
without talking. Sharding only spreads the work; the Redis lease per camera is what guarantees
that no camera is grabbed twice when shards are misconfigured or overlap.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

MAX_SHARDS = 1024
_SHARD = re.compile(r"^\s*(\d{1,4})\s*/\s*(\d{1,4})\s*$")


def shard_of(camera_id: str, count: int) -> int:
    """The shard (1..count) that camera `camera_id` belongs to."""
    return zlib.crc32(camera_id.encode("utf-8")) % count + 1


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def includes(self, camera_id: str) -> bool:
        return shard_of(camera_id, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str | None) -> Shard | None:
    """'2/4' -> Shard(2, 4); 'all' or empty -> None (every camera). ValueError says what is
    expected."""
    if text is None or text.strip().lower() in ("", "all"):
        return None
    match = _SHARD.match(text)
    if not match:
        raise ValueError(f"shard {text!r}: expected I/N (e.g. 1/4) or 'all'")
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= count <= MAX_SHARDS:
        raise ValueError(f"shard {text!r}: N must be 1..{MAX_SHARDS}")
    if not 1 <= index <= count:
        raise ValueError(f"shard {text!r}: I must be 1..{count}")
    return Shard(index, count)
