"""`python -m data`: the ingest role, and the data layer's command line.

python -m data                     run the ingest role (needs REDIS_URL)
python -m data migrate             upgrade the database schema, mirror the city config
python -m data keys create --name "AQ stations" --opd dlh
python -m data keys list | keys revoke <prefix>
python -m data import-csv FILE --time-column T --value-column V (--sensor-column S | --sensor ID)
python -m data dead-letters [--limit N]
python -m data users create-admin NAME | users create NAME --role R | users list
python -m data displays create --name N --view / | displays list | displays revoke ID
python -m data audit [--limit N] [--csv]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from data import accounts_cli
from runner import configure_logging, main_for_roles
from settings import describe_errors, load_settings


def _context():
    from data.city import load_city
    from data.history import make_engine

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    city = load_city(settings.city_dir)
    return settings, city, make_engine(settings.effective_database_url)


def cmd_migrate(_args: argparse.Namespace) -> int:
    from runner import prepare_database

    _settings, city, engine = _context()
    prepare_database(engine, city)
    print(f"database ready for {city.config.name}")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from data.api_keys import create_key, list_keys, revoke_key

    _settings, city, engine = _context()
    if args.action == "create":
        if args.all:
            kind, ids = "all", []
        elif args.opd:
            kind, ids = "opd", args.opd.split(",")
            unknown = set(ids) - {o.id for o in city.config.opds}
            if unknown:
                print(f"unknown OPD(s): {', '.join(sorted(unknown))}", file=sys.stderr)
                return 2
        elif args.sensors:
            kind, ids = "sensors", args.sensors.split(",")
            unknown = set(ids) - {s.id for s in city.config.sensors}
            if unknown:
                print(f"unknown sensor(s): {', '.join(sorted(unknown))}", file=sys.stderr)
                return 2
        else:
            print("give --sensors, --opd or --all", file=sys.stderr)
            return 2
        key = create_key(engine, args.name or "unnamed", kind, ids)
        print("API key (shown once; store it in the device now):")
        print(key)
        return 0
    if args.action == "list":
        for row in list_keys(engine):
            state = "revoked" if row["revoked_ms"] else "active"
            print(
                f"{row['prefix']}  {state:8}  {row['scope_kind']}:{row['scope'] or '*'}  "
                f"{row['name']}"
            )
        return 0
    if not args.prefix:
        print("give the key prefix to revoke", file=sys.stderr)
        return 2
    if revoke_key(engine, args.prefix):
        print(f"revoked {args.prefix}")
        return 0
    print(f"no active key with prefix {args.prefix}", file=sys.stderr)
    return 1


def cmd_import_csv(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from data.live_store import LiveStore, connect
    from data.pipeline import IngestPipeline
    from data.sources.csv_import import CsvMapping, import_csv

    settings, city, engine = _context()
    from runner import prepare_database

    prepare_database(engine, city)
    store = (
        LiveStore(connect(settings.redis_url), settings.redis_namespace)
        if settings.redis_url
        else None
    )
    sensor_map = dict(item.split("=", 1) for item in args.map or [])
    mapping = CsvMapping(
        args.sensor_column,
        args.time_column,
        args.value_column,
        args.quantity or "",
        sensor_map or None,
        args.sensor,
        only_mapped=args.only_mapped,
    )
    path = Path(args.file)
    with tqdm(
        total=path.stat().st_size, unit="B", unit_scale=True, desc=path.name, disable=None
    ) as bar:
        report = import_csv(
            path,
            mapping,
            IngestPipeline(city, store, None, engine),
            progress=lambda done: bar.update(done - bar.n),
        )
    print(
        f"{report.rows} rows in {report.seconds:.1f} s ({report.rate:,.0f} rows/s): "
        f"{report.accepted} accepted, {report.rejected} refused (kept as dead letters), "
        f"{report.skipped} skipped (not in --map)"
    )
    for reason in report.first_reasons or []:
        print(f"  {reason}")
    return 0 if report.accepted or not report.rows else 1


def _day(text: str, zone: str) -> float:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


def cmd_history(args: argparse.Namespace) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from data.history_queries import kpi_history, sensor_series
    from layouts.formatting import format_number

    _settings, city, engine = _context()
    zone = city.config.timezone
    start, end = _day(args.start, zone), _day(args.end, zone)
    if args.kpi:
        kpi = next((k for k in city.config.kpis if k.id == args.kpi), None)
        if kpi is None:
            print(f"unknown KPI {args.kpi!r}", file=sys.stderr)
            return 2
        rows = kpi_history(engine, city, kpi.id, start, end, args.bucket)
        title, unit, decimals = kpi.name.id, kpi.unit, kpi.decimals + 1
    else:
        sensor = city.sensor(args.sensor or "")
        if sensor is None:
            print(f"unknown sensor {args.sensor!r}", file=sys.stderr)
            return 2
        rows = [
            (b.start_ms, b.mean)
            for b in sensor_series(engine, sensor.id, start, end, args.bucket, zone)
        ]
        title, unit, decimals = sensor.name, sensor.unit, 1
    print(
        f"{title} ({unit}), {args.bucket}, {args.start} .. {args.end} "
        f"{city.config.timezone_label}: {len(rows)} buckets"
    )
    pattern = "%Y-%m-%d" if args.bucket == "day" else "%Y-%m-%d %H.%M"
    for start_ms, value in rows:
        moment = datetime.fromtimestamp(start_ms / 1000, ZoneInfo(zone)).strftime(pattern)
        print(f"  {moment}  {format_number(value, decimals):>12}")
    return 0


def cmd_dead_letters(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from data.history import dead_letters

    _settings, _city, engine = _context()
    with engine.connect() as conn:
        rows = conn.execute(
            select(dead_letters).order_by(dead_letters.c.id.desc()).limit(args.limit)
        ).all()
    for row in rows:
        print(f"#{row.id} {row.source}: {row.reason}\n    {row.payload[:200]}")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the ingest role (the default)")
    sub.add_parser("migrate", help="upgrade the schema and mirror the city configuration")
    keys = sub.add_parser("keys", help="API keys for devices and city systems")
    keys.add_argument("action", choices=["create", "list", "revoke"])
    keys.add_argument("prefix", nargs="?")
    keys.add_argument("--name")
    keys.add_argument("--sensors", help="comma-separated sensor ids the key may write")
    keys.add_argument("--opd", help="OPD id(s): the key may write the sensors they own")
    keys.add_argument("--all", action="store_true", help="every sensor of the city")
    csv_cmd = sub.add_parser("import-csv", help="import a historical series from CSV")
    csv_cmd.add_argument("file")
    csv_cmd.add_argument("--time-column", required=True)
    csv_cmd.add_argument("--value-column", required=True)
    csv_cmd.add_argument("--sensor-column", default="sensor_id")
    csv_cmd.add_argument("--sensor", help="all rows belong to this city sensor")
    csv_cmd.add_argument(
        "--map",
        action="append",
        metavar="SOURCE=SENSOR",
        help="map a source id in the file to a city sensor (repeatable)",
    )
    csv_cmd.add_argument(
        "--only-mapped", action="store_true", help="skip rows whose source id has no --map entry"
    )
    csv_cmd.add_argument("--quantity", help="quantity name, if not the sensor's primary one")
    history = sub.add_parser("history", help="a KPI's or a sensor's history, bucketed")
    which = history.add_mutually_exclusive_group(required=True)
    which.add_argument("--kpi")
    which.add_argument("--sensor")
    history.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD (local)")
    history.add_argument("--to", dest="end", required=True, help="YYYY-MM-DD (local, exclusive)")
    history.add_argument("--bucket", choices=["hour", "day"], default="day")
    letters = sub.add_parser("dead-letters", help="show the most recent refused records")
    letters.add_argument("--limit", type=int, default=20)
    accounts_cli.add_parsers(sub)
    args = parser.parse_args(argv)
    commands = {
        "migrate": cmd_migrate,
        "keys": cmd_keys,
        "import-csv": cmd_import_csv,
        "dead-letters": cmd_dead_letters,
        "history": cmd_history,
        "users": lambda a: accounts_cli.cmd_users(a, _context),
        "displays": lambda a: accounts_cli.cmd_displays(a, _context),
        "audit": lambda a: accounts_cli.cmd_audit(a, _context),
    }
    if args.command in (None, "run"):
        return main_for_roles(frozenset({"ingest"}))
    try:
        return commands[args.command](args)
    except ValidationError as exc:
        print(describe_errors(exc), file=sys.stderr)
        return 2


sys.exit(main(sys.argv[1:]))
