"""`python -m data users|displays|audit`: accounts from the command line.

python -m data users create-admin NAME [--password-stdin]   the first admin (and later ones)
python -m data users create NAME --role parent --school sdn1-demo [--password-stdin]
python -m data users list | users password NAME | users disable NAME | users enable NAME
python -m data users first-run      `make run`: an admin with a random password, once
python -m data displays create --name "Layar utama" --view /
python -m data displays list | displays revoke ID
python -m data audit [--limit 50] [--csv]

Without --password-stdin a password is asked for on a terminal, or made up and shown once.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import secrets
import sys
from pathlib import Path


def add_parsers(sub: argparse._SubParsersAction) -> None:
    users = sub.add_parser("users", help="people who sign in")
    users.add_argument(
        "action",
        choices=["create-admin", "create", "list", "password", "disable", "enable", "first-run"],
    )
    users.add_argument("username", nargs="?")
    users.add_argument("--role", choices=["admin", "operator", "executive", "opd", "parent"])
    users.add_argument("--name", help="display name")
    users.add_argument("--opd", help="OPD id(s), comma separated (role opd)")
    users.add_argument("--school", help="school id(s), comma separated (role parent)")
    users.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    displays = sub.add_parser("displays", help="wall display links (tokens)")
    displays.add_argument("action", choices=["create", "list", "revoke"])
    displays.add_argument("id", nargs="?", type=int)
    displays.add_argument("--name", default="Layar dinding")
    displays.add_argument("--view", default="/", help="a path, or a playlist: /?putar=/,/cctv")
    trail = sub.add_parser("audit", help="the audit trail, newest first")
    trail.add_argument("--limit", type=int, default=50)
    trail.add_argument("--action", default="", help="only actions starting with this")
    trail.add_argument("--csv", action="store_true")


def _quiet(context):
    """The shared set-up, without the migration's INFO lines: these commands print for a
    person (and `make run` shows the first admin's password among them)."""
    settings, city, engine = context()
    logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    return settings, city, engine


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """(password, made_up)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    if sys.stdin.isatty():
        first = getpass.getpass("Kata sandi baru: ")
        if first != getpass.getpass("Ulangi kata sandi: "):
            raise SystemExit("kata sandi tidak sama")
        return first, False
    return secrets.token_urlsafe(12), True


def _base_url() -> str:
    from settings import load_settings

    settings = load_settings()
    return f"http://{settings.host}:{settings.port}"


def cmd_users(args: argparse.Namespace, context) -> int:
    from data import accounts

    settings, city, engine = _quiet(context)
    from runner import prepare_database

    prepare_database(engine, city)
    if args.action == "list":
        for u in accounts.list_users(engine):
            extra = ",".join(u["schools"]) or u["opds"]
            state = "aktif" if u["active"] else "nonaktif"
            print(f"{u['username']:24} {u['role']:10} {state:9} {extra}")
        return 0
    if args.action == "first-run":
        return _first_run(engine, settings)
    if not args.username:
        print("sebutkan nama pengguna", file=sys.stderr)
        return 2
    try:
        if args.action in ("create-admin", "create"):
            role = "admin" if args.action == "create-admin" else args.role
            if not role:
                print("sebutkan --role", file=sys.stderr)
                return 2
            schools = [s for s in (args.school or "").split(",") if s]
            opds = [o for o in (args.opd or "").split(",") if o]
            unknown = set(schools) - {s.id for s in city.config.schools}
            unknown |= set(opds) - {o.id for o in city.config.opds}
            if unknown:
                print(f"tidak dikenal di kota ini: {', '.join(sorted(unknown))}", file=sys.stderr)
                return 2
            password, made_up = _password(args)
            accounts.create_user(
                engine, args.username, password, role, args.name or "", opds, schools
            )
            accounts.audit(engine, "cli", "user.create", args.username.lower(), role=role)
            print(f"pengguna {args.username.lower()} ({role}) dibuat")
            if made_up:
                print(f"kata sandi (ditampilkan sekali): {password}")
            return 0
        user = accounts.user_by_name(engine, args.username)
        if user is None:
            print("pengguna tidak ditemukan", file=sys.stderr)
            return 1
        if args.action == "password":
            password, made_up = _password(args)
            accounts.set_password(engine, user["id"], password)
            print("kata sandi diganti" + (f": {password}" if made_up else ""))
        else:
            accounts.update_user(engine, user["id"], active=args.action == "enable")
            print(f"{user['username']}: {'aktif' if args.action == 'enable' else 'nonaktif'}")
        if args.action in ("password", "disable"):
            _sessions(engine, settings).revoke_user(user["id"])
        accounts.audit(engine, "cli", f"user.{args.action}", user["username"])
        return 0
    except accounts.AccountError as exc:
        print(str(exc), file=sys.stderr)
        return 2


def _first_run(engine, settings) -> int:
    """`make run` on a fresh machine: one admin with a random password, written to a file only
    its owner can read and printed once, so the newcomer can sign in. Never when any admin
    exists, so it can run on every start."""
    from data import accounts

    if accounts.count_admins(engine):
        return 0
    password = secrets.token_urlsafe(12)
    accounts.create_user(engine, "admin", password, "admin", "Admin")
    accounts.audit(engine, "cli", "user.create", "admin", role="admin", first_run=True)
    note = Path(settings.data_dir) / "admin-pertama.txt"
    note.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(note, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(f"admin\n{password}\n")
    print("=" * 64)
    print(f"Admin pertama dibuat. Masuk di {_base_url()}/login")
    print("  nama pengguna: admin")
    print(f"  kata sandi:    {password}")
    print(f"(juga di {note}; ganti kata sandinya dan hapus berkas itu)")
    print("=" * 64)
    return 0


def cmd_displays(args: argparse.Namespace, context) -> int:
    from data import accounts

    settings, city, engine = _quiet(context)
    from runner import prepare_database

    prepare_database(engine, city)
    if args.action == "create":
        try:
            token = accounts.create_display_token(engine, args.name, args.view)
        except accounts.AccountError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        accounts.audit(engine, "cli", "display.create", token.split(".")[0], view=args.view)
        print("Tautan layar (ditampilkan sekali; buka di layar dinding):")
        print(f"{_base_url()}/d/{token}")
        return 0
    if args.action == "list":
        for d in accounts.list_display_tokens(engine):
            state = "dicabut" if d["revoked_ms"] else "aktif"
            print(f"{d['id']:4} {d['prefix']} {state:8} {d['view']:30} {d['name']}")
        return 0
    if args.id is None:
        print("sebutkan id layar", file=sys.stderr)
        return 2
    if accounts.revoke_display_token(engine, _sessions(engine, settings), args.id):
        accounts.audit(engine, "cli", "display.revoke", str(args.id))
        print(f"layar {args.id} dicabut")
        return 0
    print("tidak ada layar aktif dengan id itu", file=sys.stderr)
    return 1


def _sessions(engine, settings):
    """Sessions to revoke: with the cluster's Redis when REDIS_URL is set (their cached copies
    go at once); without it the SQL record is revoked and cached copies are checked against
    it again within a minute (data.accounts.CACHE_S)."""
    from data import accounts
    from data.live_store import connect

    client = connect(settings.redis_url) if settings.redis_url else None
    return accounts.SessionStore(engine, client, settings.redis_namespace)


def cmd_audit(args: argparse.Namespace, context) -> int:
    from datetime import datetime

    from data import accounts

    _settings, _city, engine = _quiet(context)
    rows = accounts.read_audit(engine, limit=args.limit, action=args.action)
    if args.csv:
        sys.stdout.write(accounts.audit_csv(rows))
        return 0
    for r in rows:
        moment = datetime.fromtimestamp(r["ts_ms"] / 1000).strftime("%Y-%m-%d %H.%M.%S")
        print(f"{moment}  {r['actor']:28} {r['action']:16} {r['subject']:24} {r['detail']}")
    return 0
