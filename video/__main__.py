"""`python -m video`: the grab role on its own (needs REDIS_URL shared with the web role)."""

from __future__ import annotations

import argparse
import os
import sys

DESCRIPTION = """\
The grab role on its own: one capture loop per camera of the city (KOMANDO_CITY), publishing
resized, masked, JPEG-encoded frames, thumbnails and health to the Redis server at REDIS_URL,
where the web processes read them. Stop it with Ctrl+C or SIGTERM."""

EPILOG = """\
sharding:
  Without --shard (or with --shard all) this worker takes every camera. With --shard I/N it takes
  the cameras whose id hashes to shard I of N (crc32(camera id) mod N + 1), so N workers started
  with --shard 1/N ... N/N split the cameras between them without talking to each other.
  --list prints the cameras of a shard and exits.

no camera is grabbed twice:
  Before opening a camera a worker takes its lease in Redis (<namespace>:camera:<id>:lease, set
  only if free, with a 10 s expiry) and renews it every few seconds while it runs. A worker that
  finds the lease held by another does not open the camera and looks again later. So two workers
  with the same or overlapping shards share the cameras, each grabbed by exactly one. On a clean
  stop a worker releases its leases at once; if it dies they expire, and another worker whose
  shard includes the camera (or one running --shard all, a hot standby) takes it over within
  about 15 s. Health shows which worker holds each camera (`worker`: host:pid:tag).

examples:
  REDIS_URL=redis://redis:6379/0 python -m video --shard 1/4   # one of four workers
  python -m video --shard 3/4 --list                           # which cameras shard 3 holds
  REDIS_URL=redis://redis:6379/0 python -m video               # all cameras, or standby"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from video.shards import parse_shard

    parser = argparse.ArgumentParser(
        prog="python -m video",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--shard",
        default=os.environ.get("KOMANDO_CAMERA_SHARD", "all"),
        metavar="I/N|all",
        help="grab only the cameras of shard I of N (default: all, or $KOMANDO_CAMERA_SHARD)",
    )
    parser.add_argument(
        "--list", action="store_true", help="print the camera ids of the shard and exit"
    )
    args = parser.parse_args(argv)
    try:
        args.shard_spec = parse_shard(args.shard)
    except ValueError as exc:
        parser.error(f"--shard: {exc}")
    return args


def list_shard(args: argparse.Namespace) -> int:
    from data.city import CityConfigError, load_city
    from settings import load_settings

    settings = load_settings()
    try:
        city = load_city(settings.city_dir)
    except CityConfigError as exc:
        print(f"Komando cannot load the city: {exc}", file=sys.stderr)
        return 2
    for camera in city.config.cameras:
        if args.shard_spec is None or args.shard_spec.includes(camera.id):
            print(camera.id)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        return list_shard(args)
    from runner import main_for_roles

    # The grab section of the runner reads the shard from here (KOMANDO_CAMERA_SHARD).
    os.environ["KOMANDO_CAMERA_SHARD"] = str(args.shard_spec or "all")
    return main_for_roles(frozenset({"grab"}))


if __name__ == "__main__":
    sys.exit(main())
