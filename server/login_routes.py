"""Signing in and out, and pairing a wall display by its token.

- GET/POST /login: the form; a pre-sign-in CSRF cookie must match the form's hidden field.
- GET/POST /logout: a confirmation form (signing out changes state, so it is a POST with the
  session's CSRF token).
- GET /d/<token>: a wall display's link. It starts a display session bound to the token's view
  and redirects there, so the screen's URL never needs a password typed on it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from data.access import Principal, may_open_page
from data.accounts import (
    LoginThrottle,
    SessionStore,
    audit,
    count_admins,
    sign_in,
    verify_display_token,
)
from server.access_gate import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    AccessGate,
    csrf_token_for,
    same_secret,
)
from server.login_pages import display_link_invalid_html, login_html, logout_html

log = logging.getLogger(__name__)

PRELOGIN_COOKIE = "komando_prelogin"
PRELOGIN_VALUE = re.compile(r"[A-Za-z0-9_-]{32}")  # secrets.token_urlsafe(24)
MAX_FORM_BYTES = 8192


def safe_next(candidate: str, principal: Principal) -> str:
    """Where to go after signing in: a local path the principal may open, else its home.
    Never another host (`//evil`, `/\\evil`, `https://…`)."""
    path = (candidate or "").strip()
    if not path.startswith("/") or path.startswith(("//", "/\\")) or "\n" in path:
        return principal.home
    return path if may_open_page(principal, path.split("?", 1)[0]) else principal.home


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def add_login_routes(
    server: FastAPI,
    engine: Engine,
    sessions: SessionStore,
    throttle: LoginThrottle,
    gate: AccessGate,
    city_name: str,
) -> None:
    def session_cookie(response: Response, request: Request, token: str, max_age: int) -> None:
        secure = gate.secure_cookies(request.scope)
        response.set_cookie(
            SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax",
            secure=secure, path="/",
        )  # fmt: skip
        response.set_cookie(
            CSRF_COOKIE, csrf_token_for(token), max_age=max_age, httponly=False,
            samesite="strict", secure=secure, path="/",
        )  # fmt: skip

    def form_page(request: Request, status: int = 200, **kwargs: object) -> HTMLResponse:
        # The browser's own value when it has one: a second GET /login (another tab, or a
        # browser's /favicon.ico sent here by the gate) must not void the form already shown.
        kept = request.cookies.get(PRELOGIN_COOKIE, "")
        csrf = kept if PRELOGIN_VALUE.fullmatch(kept) else secrets.token_urlsafe(24)
        first_run = kwargs.pop("first_run", False)
        page = login_html(city_name, csrf, first_run_hint=bool(first_run), **kwargs)  # type: ignore[arg-type]
        response = HTMLResponse(page, status_code=status, headers={"cache-control": "no-store"})
        response.set_cookie(
            PRELOGIN_COOKIE, csrf, max_age=3600, httponly=True, samesite="strict",
            secure=gate.secure_cookies(request.scope), path="/login",
        )  # fmt: skip
        return response

    async def login_form(request: Request) -> Response:
        principal: Principal | None = request.state.principal
        next_path = request.query_params.get("next", "")
        if principal is not None:
            return RedirectResponse(safe_next(next_path, principal), status_code=303)
        first_run = await asyncio.to_thread(count_admins, engine) == 0
        return form_page(request, next_path=next_path[:500], first_run=first_run)

    async def login_submit(request: Request) -> Response:
        form = await _form(request)
        expected = request.cookies.get(PRELOGIN_COOKIE, "")
        next_path = form.get("next", "")[:500]
        if not expected or not same_secret(expected, form.get("csrf", "")):
            return form_page(
                request,
                403,
                next_path=next_path,
                message="Formulir kedaluwarsa. Silakan coba lagi.",
            )
        username = form.get("username", "")[:64]
        client = _client(request)
        result = await asyncio.to_thread(
            sign_in, engine, throttle, username, form.get("password", ""), client
        )
        if result.user is None:
            await asyncio.to_thread(
                audit, engine, f"anon:{client}", "login.failed", username.lower()[:64],
                locked=result.locked, client=client,
            )  # fmt: skip
            return form_page(
                request,
                429 if result.locked else 401,
                next_path=next_path,
                message=result.message,
                username=username,
            )
        user = result.user
        token = await asyncio.to_thread(sessions.create, user_id=user["id"], role=user["role"])
        principal = await asyncio.to_thread(sessions.principal, token)
        await asyncio.to_thread(
            audit, engine, user["username"], "login", user["username"], client=client
        )
        assert principal is not None
        response = RedirectResponse(safe_next(next_path, principal), status_code=303)
        session_cookie(response, request, token, max_age=14 * 24 * 3600)
        response.delete_cookie(PRELOGIN_COOKIE, path="/login")
        return response

    async def logout_form(request: Request) -> Response:
        principal: Principal | None = request.state.principal
        if principal is None:
            return RedirectResponse("/login", status_code=303)
        token = request.cookies.get(SESSION_COOKIE, "")
        return HTMLResponse(logout_html(principal, csrf_token_for(token)))

    async def logout_submit(request: Request) -> Response:
        principal: Principal | None = request.state.principal
        token = request.cookies.get(SESSION_COOKIE, "")
        form = await _form(request)
        if principal is None or not same_secret(form.get("csrf", ""), csrf_token_for(token)):
            return RedirectResponse("/login", status_code=303)
        await asyncio.to_thread(sessions.revoke, token)
        await asyncio.to_thread(audit, engine, principal.actor, "logout", principal.name)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(CSRF_COOKIE, path="/")
        return response

    async def pair_display(request: Request, token: str) -> Response:
        display = await asyncio.to_thread(verify_display_token, engine, token)
        if display is None:
            log.warning("display link refused from %s", _client(request))
            return HTMLResponse(display_link_invalid_html(), status_code=404)
        session = await asyncio.to_thread(sessions.create, display_id=display["id"], role="display")
        await asyncio.to_thread(
            audit, engine, f"display:{display['name']}", "display.paired", display["prefix"],
            client=_client(request),
        )  # fmt: skip
        response = RedirectResponse(display["view"], status_code=303)
        session_cookie(response, request, session, max_age=365 * 24 * 3600)
        return response

    server.add_api_route("/login", login_form, methods=["GET"], include_in_schema=False)
    server.add_api_route("/login", login_submit, methods=["POST"], include_in_schema=False)
    server.add_api_route("/logout", logout_form, methods=["GET"], include_in_schema=False)
    server.add_api_route("/logout", logout_submit, methods=["POST"], include_in_schema=False)
    server.add_api_route("/d/{token}", pair_display, methods=["GET"], include_in_schema=False)
