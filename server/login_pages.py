"""The sign-in pages as plain HTML: small enough for a parent's phone on a weak link (no Dash
bundle before signing in), and every value escaped."""

from __future__ import annotations

from html import escape

from data.access import ROLE_NAMES, Principal


def _page(title: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="id">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} — Komando</title>
<link rel="icon" href="/_favicon.ico">
<link rel="stylesheet" href="/assets/komando_login.css">
</head>
<body class="login-body">
<main class="login-card">
<div class="login-brand"><span class="login-mark">◆</span> KOMANDO</div>
{body}
</main>
</body>
</html>"""


def login_html(
    city_name: str,
    csrf: str,
    next_path: str = "",
    message: str = "",
    username: str = "",
    first_run_hint: bool = False,
) -> str:
    error = f'<p class="login-error" role="alert">{escape(message)}</p>' if message else ""
    hint = (
        '<p class="login-hint">Belum ada akun admin. Buat dari baris perintah di server:<br>'
        "<code>.venv/bin/python -m data users create-admin &lt;nama&gt;</code></p>"
        if first_run_hint
        else ""
    )
    return _page(
        "Masuk",
        f"""<h1>Masuk</h1>
<p class="login-sub">{escape(city_name)} · <span lang="en">Sign in</span></p>
{error}
<form method="post" action="/login" class="login-form" autocomplete="on">
<input type="hidden" name="csrf" value="{escape(csrf)}">
<input type="hidden" name="next" value="{escape(next_path)}">
<label for="username">Nama pengguna <span lang="en">/ Username</span></label>
<input id="username" name="username" autocomplete="username" autocapitalize="none"
 spellcheck="false" required maxlength="64" value="{escape(username)}">
<label for="password">Kata sandi <span lang="en">/ Password</span></label>
<input id="password" name="password" type="password" autocomplete="current-password"
 required maxlength="200">
<button type="submit">Masuk</button>
</form>
{hint}
<p class="login-foot">Layar dinding masuk lewat tautan layar dari admin, tanpa kata sandi.</p>""",
    )


def logout_html(principal: Principal, csrf: str) -> str:
    who = escape(principal.display_name or principal.name)
    return _page(
        "Keluar",
        f"""<h1>Keluar?</h1>
<p class="login-sub">Masuk sebagai <b>{who}</b> ({escape(ROLE_NAMES[principal.role][0])})</p>
<form method="post" action="/logout" class="login-form">
<input type="hidden" name="csrf" value="{escape(csrf)}">
<button type="submit">Keluar <span lang="en">/ Sign out</span></button>
</form>
<p class="login-foot"><a href="{escape(principal.home)}">Kembali</a></p>""",
    )


def forbidden_html(principal: Principal) -> str:
    role = ROLE_NAMES.get(principal.role, (principal.role,))[0]
    return _page(
        "Tidak diizinkan",
        f"""<h1>Tidak diizinkan</h1>
<p class="login-sub"><span lang="en">Forbidden</span></p>
<p>Akun <b>{escape(principal.display_name or principal.name)}</b> ({escape(role)}) tidak
berhak membuka halaman ini.</p>
<p class="login-foot"><a href="{escape(principal.home)}">Ke halaman Anda</a> ·
<a href="/logout">Keluar</a></p>""",
    )


def display_link_invalid_html() -> str:
    return _page(
        "Tautan layar tidak berlaku",
        """<h1>Tautan layar tidak berlaku</h1>
<p class="login-sub"><span lang="en">This display link is not valid</span></p>
<p>Tautan ini salah, sudah dicabut, atau tidak lengkap.
Minta tautan layar baru kepada admin.</p>""",
    )
