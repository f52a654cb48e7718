"""Komando: the web app factory and the all-in-one entry point.

`python app.py` runs every role in one process on embedded defaults (its own Redis server,
SQLite); `KOMANDO_ROLES` picks fewer. `create_app(settings)` builds the Dash app and does no I/O,
so a server such as uvicorn can import it once per worker.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
from typing import Any
from urllib.parse import urlsplit

from dash import Dash
from fastapi import FastAPI
from sqlalchemy import Engine

from callbacks import admin as admin_page
from callbacks import alert_list as alert_list_page
from callbacks import cctv as cctv_page
from callbacks import intake as intake_page
from callbacks import kpi_review as kpi_review_page
from callbacks import operator as operator_page
from callbacks import register_all, router
from data import access
from data.accounts import LoginThrottle, SessionStore
from data.camera_views import CameraViewLog
from data.city import City, load_city
from data.city_edits import follow_city_edits
from data.db.engine import make_engine
from data.live_reader import LiveReader
from data.live_store import LiveStore, connect
from data.pipeline import IngestPipeline
from layouts.admin import admin_layout
from layouts.alert_list import ALERT_FEEDBACK, INCIDENT_FEEDBACK, alerts_page
from layouts.cctv import cctv_layout
from layouts.intake import intake_layout
from layouts.kpi_review import kpi_review_layout
from layouts.operator import operator_layout
from layouts.pages import shell
from layouts.wall import wall_layout
from runner import main_for_roles
from server.access_gate import AccessGate, SecurityHeaders
from server.audit_export import add_audit_export_routes
from server.callback_policy import CallbackPolicy
from server.frame_hub import FrameHub
from server.ingest_api import add_ingest_routes
from server.kpi_export import add_kpi_export_routes
from server.login_routes import add_login_routes
from server.observability import add_observability_routes
from server.parent_routes import add_parent_routes
from server.request_ids import RequestIds
from server.video_routes import add_video_routes
from server.web_server import KomandoServer
from settings import PROJECT_ROOT, Settings

log = logging.getLogger("komando")


def create_app(settings: Settings, city: City | None = None) -> Dash:
    """Build the web role: Dash pages on FastAPI, callbacks and video routes reading Redis."""
    if not settings.redis_url:
        raise ValueError("create_app needs settings.redis_url (main() starts an embedded Redis)")
    city = city or load_city(settings.city_dir)
    reader = LiveReader(settings.redis_url, settings.redis_namespace)
    # Our own FastAPI instance so that no API docs pages are published with the dashboard.
    server = KomandoServer(title="Komando", docs_url=None, redoc_url=None, openapi_url=None)
    app = Dash(
        __name__,
        server=server,
        backend="fastapi",
        title=f"Komando — {city.config.name}",
        update_title=None,
        assets_folder=str(PROJECT_ROOT / "assets"),
        serve_locally=True,
    )
    # Routes before the server starts: Dash's FastAPI backend then adds a catch-all page route.
    hub = FrameHub(reader)
    app.server.state.frame_hub = hub  # for tests and metrics: how many Redis reads fan-out saved
    engine = make_engine(settings.effective_database_url)  # connects on first use, not here
    store = LiveStore(connect(settings.redis_url), settings.redis_namespace)
    views = CameraViewLog(engine, store.client, settings.redis_namespace)
    sessions = SessionStore(engine, store.client, settings.redis_namespace)
    app.server.state.video = add_video_routes(app.server, hub, city, settings, views)
    add_ingest_routes(app.server, IngestPipeline(city, store, None, engine), engine, city)
    # Pages appear through the router, so callbacks may target components not yet on screen.
    app.config.suppress_callback_exceptions = True
    app.layout = shell()
    pages: dict[str, router.Page] = {
        "/": lambda c, lang: wall_layout(c, settings, lang),
        "/cctv": lambda c, lang: cctv_layout(
            c, settings.camera_fps, settings.wall_refresh_ms, lang
        ),
        "/operator": lambda c, lang: operator_layout(c, lang),
        "/admin/data": lambda c, lang: intake_layout(c, lang),
        "/admin": lambda c, lang: admin_layout(c, lang),
        "/kpi": lambda c, lang: kpi_review_layout(c, lang),
        "/alerts": lambda c, lang: alerts_page(
            c, settings.wall_refresh_ms, lang, access.may_act_on_alerts(access.current_principal())
        ),
    }
    # Each panel's callbacks are callable only by the roles of the pages that show it; the
    # gate refuses any callback registered outside these blocks.
    policy = CallbackPolicy()
    with policy.roles(app, access.LIVE_VIEWERS, frozenset({"/", "/cctv"})):
        register_all(app, reader, city, settings)
        cctv_page.register(app, city, settings)
    with policy.roles(app, frozenset({access.ADMIN, access.OPD})):
        operator_page.register(app, city, engine, store)
    with policy.roles(app, frozenset({access.ADMIN, access.OPERATOR})):
        intake_page.register(app, city, engine, store)
    # The mayor's review (issue 5): the page, its callbacks, CSV export and printable report.
    with policy.roles(app, access.STAFF):
        kpi_review_page.register(app, city, engine, reader)
    add_kpi_export_routes(app.server, city, engine)
    add_parent_routes(app.server, city)  # parents' phones: plain HTML, no Dash bundle
    add_observability_routes(app.server, reader, engine, city, settings)  # issue 7
    # Alerts: every live viewer reads the panel; only the desk's roles act on it.
    with policy.roles(app, access.LIVE_VIEWERS, frozenset({"/", "/alerts"})):
        alert_list_page.register(app, reader, city, settings, engine, store)
    policy.narrow(app, ALERT_FEEDBACK, access.ALERT_ACTORS)
    policy.narrow(app, INCIDENT_FEEDBACK, access.ALERT_ACTORS)
    # The admin page (issue 6): accounts, display links, API keys, the audit trail and its CSV.
    with policy.roles(app, frozenset({access.ADMIN})):
        admin_page.register(app, city, engine, sessions, reader, settings, store.client)
    add_audit_export_routes(app.server, city, engine)
    with policy.roles(app, access.ANY_SIGNED_IN):
        router.register(app, city, pages)
    _guard(app, settings, engine, sessions, store, policy, city)
    # Dash's FastAPI backend runs its one-time setup (finding assets/ CSS and JS) only on a
    # request to "/" or "/_dash-*": a first visitor opening /cctv directly got an unstyled page.
    app._setup_server()
    return app


def _guard(
    app: Dash,
    settings: Settings,
    engine: Engine,
    sessions: SessionStore,
    store: LiveStore,
    policy: CallbackPolicy,
    city: City,
) -> None:
    """Accounts (issue 6): sign-in routes, and the gate in front of every request."""
    throttle = LoginThrottle(store.client, settings.redis_namespace)
    tiles = [_origin(settings.tile_url)] if settings.tile_url else []
    headers = SecurityHeaders(
        app.csp_hashes(), [t for t in tiles if t], settings.display_frame_ancestors
    )
    gate = AccessGate(app.server, sessions, policy, headers, settings.cookie_secure)
    # Request ids outermost, so that the gate's own log lines carry them too.
    app.server.guard_with(lambda dispatch: RequestIds(_gate_over(gate, dispatch)))
    add_login_routes(app.server, engine, sessions, throttle, gate, city.config.name)
    app.server.state.sessions = sessions
    app.server.state.callback_policy = policy


def _gate_over(gate: AccessGate, dispatch: Any) -> AccessGate:
    gate.app = dispatch
    return gate


def _origin(url: str) -> str:
    parts = urlsplit(url.replace("{s}", "a"))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise SystemExit(
                f"Komando cannot listen on {host}:{port}: {exc.strerror}. "
                "Stop the other program or choose another port with PORT=8051."
            ) from exc


def serve_web(settings: Settings, city: City) -> None:
    """The web role: uvicorn serving `create_app` (one worker; more go behind gunicorn/uvicorn)."""
    import uvicorn

    _check_port_free(settings.host, settings.port)
    app = create_app(settings, city)
    config = uvicorn.Config(
        app.server,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        log_config=None,  # uvicorn's lines through our handler: one format (text or JSON)
    )
    log.info("Komando: buka http://%s:%d/ (Ctrl+C untuk berhenti)", settings.host, settings.port)
    # uvicorn re-raises the signal that stopped it once it has shut down; with the default
    # handlers that would kill the process before the workers stop and Redis shuts down.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _ignore_repeated_stop)
    uvicorn.Server(config).run()


def _ignore_repeated_stop(signum: int, _frame: object) -> None:
    log.info("stopping (signal %d)", signum)


def asgi() -> FastAPI:
    """ASGI factory for running the web role alone under several uvicorn workers:
    `uvicorn --factory app:asgi --workers 4` (needs REDIS_URL shared with the worker roles)."""
    from runner import configure_logging
    from settings import load_settings

    settings = load_settings()
    if not settings.redis_url:
        raise SystemExit(
            "the web role on its own needs REDIS_URL (only `python app.py` starts Redis)"
        )
    configure_logging(settings.log_level, settings.log_format)
    city = load_city(settings.city_dir)
    # Schools and cameras edited in the admin page, kept current for this worker's life.
    follow_city_edits(
        city,
        make_engine(settings.effective_database_url),
        connect(settings.redis_url),
        settings.redis_namespace,
        threading.Event(),
    )
    return create_app(settings, city).server


def main() -> int:
    """`python app.py`: every role in `KOMANDO_ROLES` (default all) in this process."""
    return main_for_roles(None, serve_web)


if __name__ == "__main__":
    sys.exit(main())
