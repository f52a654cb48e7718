"""The parent portal (/parent) as plain HTML: a parent on a weak 3G link downloads this page,
one small stylesheet and one small script, not Dash's ~1 MB bundle. Every value is escaped.

The pictures come later, from assets/komando_parent.js (CSP allows no inline script); this
page carries each tile's camera id and whether it is open now, and the closed message.
"""

from __future__ import annotations

from html import escape

from data.parent_portal import Portal, PortalCamera, PortalSchool

NOTICE = (
    "Setiap tayangan dicatat (akun, kamera, lama menonton) sesuai aturan sekolah. "
    "Mohon jangan merekam atau menyebarkan gambar anak-anak."
)


def parent_html(portal: Portal) -> str:
    schools = "\n".join(_school(s) for s in portal.schools) or _no_school()
    return f"""<!DOCTYPE html>
<html lang="id">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="theme-color" content="#0b1118">
<title>Kamera sekolah — {escape(portal.city_name)}</title>
<link rel="icon" href="/_favicon.ico">
<link rel="stylesheet" href="/assets/komando_parent.css">
<script src="/assets/komando_parent.js" defer></script>
</head>
<body class="parent-body">
<div id="parent-portal" data-status-url="/parent/status.json"
 data-next-check-s="{portal.next_check_s}">
<header class="pp-header">
<div class="pp-brand"><span class="pp-mark">◆</span> KOMANDO
<span class="pp-city">{escape(portal.city_name)}</span></div>
<div class="pp-user"><span class="pp-hello">Halo, <b>{escape(portal.parent_name)}</b></span>
<a class="pp-logout" href="/logout">Keluar</a></div>
</header>
<main class="pp-main">
<h1 class="pp-title">Kamera sekolah</h1>
<noscript><p class="pp-note">Aktifkan JavaScript untuk melihat gambar kamera.</p></noscript>
{schools}
<p class="pp-notice">{escape(NOTICE)}</p>
</main>
<div class="pp-zoom" hidden role="dialog" aria-modal="true" aria-label="Kamera diperbesar">
<div class="pp-zoom-bar"><span class="pp-zoom-name"></span>
<button type="button" class="pp-zoom-close">Tutup ✕</button></div>
<div class="pp-zoom-view"><img class="pp-zoom-img" alt="">
<span class="pp-badge pp-zoom-badge" data-kind="wait">Memuat…</span></div>
<p class="pp-zoom-hint">Putar ponsel untuk gambar yang lebih besar.</p>
</div>
</div>
</body>
</html>"""


def _no_school() -> str:
    return """<section class="pp-school pp-empty">
<h2>Belum ada sekolah</h2>
<p>Akun Anda belum terhubung ke sekolah mana pun, jadi belum ada kamera untuk ditampilkan.
Hubungi admin sekolah atau Diskominfo untuk menghubungkan akun Anda.</p>
</section>"""


def _school(school: PortalSchool) -> str:
    if school.cameras:
        body = '<div class="pp-tiles">\n' + "\n".join(
            _tile(c, school.hours) for c in school.cameras
        )
        body += "\n</div>"
    else:
        body = (
            '<p class="pp-note">Sekolah ini belum memiliki kamera yang dapat dilihat orang tua.</p>'
        )
    closed = (
        f'<p class="pp-school-closed" role="status">{escape(school.message)}</p>'
        if school.message
        else ""
    )
    return f"""<section class="pp-school" data-school="{escape(school.id)}">
<h2>{escape(school.name)}</h2>
<p class="pp-hours">{escape(school.hours)}</p>
{closed}
{body}
</section>"""


def _tile(camera: PortalCamera, hours: str) -> str:
    name = escape(camera.name)
    return f"""<article class="pp-tile" data-camera="{escape(camera.id)}"
 data-open="{1 if camera.open else 0}">
<button type="button" class="pp-view" aria-label="Perbesar: {name}">
<img class="pp-img" alt="Gambar kamera {name}" width="640" height="360">
<span class="pp-badge" data-kind="wait">{"Memuat…" if camera.open else "TUTUP"}</span>
<span class="pp-age"></span>
<span class="pp-closed"><b>Di luar jam tayang</b>
<span class="pp-closed-msg">{escape(camera.message)}</span>
<span class="pp-closed-hours">{escape(hours)}</span></span>
</button>
<h3 class="pp-name">{name}</h3>
</article>"""
