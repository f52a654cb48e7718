"""The soak bench's device: posts batches of readings to `POST /api/v1/readings` at a steady rate
and records how each was answered, so that every reading the API accepted can be looked for in
SQL at the end.

As in tests/integration/test_faults.py's `Device`: readings are a month old and one second apart
(whole seconds, so their key in SQL is exact), rotating over the city's sensors; each (sensor,
time) is its own row, and none competes with the simulator's live values. Reading number i has
time `first_ts + i` and sensor `sensors[(first_ts + i) % len(sensors)]`, so the accepted readings
are kept as ranges of i, not as a list that would grow by 100 entries a second.

The API key comes in the environment (SOAK_API_KEY), never on the command line. The status
(counts, accepted ranges, refusals with their reasons) is written as JSON to `--status` every
10 s and at the end; SIGTERM ends it after the request in flight.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

STATUS_EVERY_S = 10.0
BEHIND_RESET_S = 2.0  # further behind than this: start the schedule again from now, no burst


class Ranges:
    """Accepted reading numbers as sorted, merged [start, end) ranges."""

    def __init__(self) -> None:
        self.ranges: list[list[int]] = []

    def add(self, start: int, end: int) -> None:
        if self.ranges and self.ranges[-1][1] == start:
            self.ranges[-1][1] = end
        else:
            self.ranges.append([start, end])

    def count(self) -> int:
        return sum(end - start for start, end in self.ranges)


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--sensors", required=True, help="comma-separated sensor ids")
    parser.add_argument("--rate", type=float, default=100.0, help="readings a second")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--status", type=Path, required=True)
    args = parser.parse_args()
    api_key = os.environ["SOAK_API_KEY"]
    sensors = args.sensors.split(",")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    first_ts = int(time.time()) - 30 * 86_400
    sent = 0  # readings sent; reading i has ts first_ts + i
    accepted = Ranges()
    unanswered = Ranges()  # no answer: the reading may or may not be stored
    statuses: Counter[str] = Counter()  # per request
    refusals: Counter[str] = Counter()  # per reading: the API's reason, or the HTTP status
    latencies: list[float] = []  # seconds, of the last STATUS_EVERY_S
    slowest = 0.0
    started = time.time()
    period = args.batch / args.rate

    def status(final: bool = False) -> None:
        lat = sorted(latencies)
        write_json(
            args.status,
            {
                "at": time.time(),
                "started": started,
                "final": final,
                "first_ts": first_ts,
                "sensors": sensors,
                "sent": sent,
                "accepted": accepted.count(),
                "accepted_ranges": accepted.ranges,
                "unanswered": unanswered.count(),
                "unanswered_ranges": unanswered.ranges,
                "statuses": dict(statuses),
                "refusals": dict(refusals),
                "p50_ms": 1000 * lat[len(lat) // 2] if lat else None,
                "slowest_ms": 1000 * slowest,
            },
        )
        latencies.clear()

    last_status = time.monotonic()
    due = time.monotonic()
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {api_key}"}) as client:
        while not stop.is_set():
            body = []
            for i in range(sent, sent + args.batch):
                ts = first_ts + i
                body.append(
                    {"sensor_id": sensors[ts % len(sensors)], "ts": ts, "value": 20.0 + ts % 37}
                )
            begin = time.monotonic()
            try:
                answer = client.post(f"{args.base}/api/v1/readings", json=body)
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1
                refusals[f"no answer: {type(exc).__name__}"] += len(body)
                unanswered.add(sent, sent + len(body))
            else:
                took = time.monotonic() - begin
                latencies.append(took)
                slowest = max(slowest, took)
                statuses[str(answer.status_code)] += 1
                results = (
                    answer.json().get("results", []) if answer.status_code in (200, 422) else []
                )
                if answer.status_code == 200 and answer.json()["accepted"] == len(body):
                    accepted.add(sent, sent + len(body))
                elif results:
                    for result in results:
                        if result.get("status") == "accepted":
                            accepted.add(sent + result["index"], sent + result["index"] + 1)
                        else:
                            refusals[str(result.get("reason", result))[:120]] += 1
                else:
                    reason = f"HTTP {answer.status_code}: {answer.text[:100]}"
                    refusals[reason] += len(body)
            sent += len(body)
            if time.monotonic() - last_status >= STATUS_EVERY_S:
                status()
                last_status = time.monotonic()
            due += period
            delay = due - time.monotonic()
            if delay < -BEHIND_RESET_S:
                due = time.monotonic()
            stop.wait(max(0.0, delay))
    status(final=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
