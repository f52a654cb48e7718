"""Numbers, times and ages the Indonesian way (1.234,5; 08.45.12; "12 dtk lalu")."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def format_number(value: float | None, decimals: int = 0) -> str:
    """id-ID grouping: '.' for thousands, ',' for decimals; '–' for no value."""
    if value is None:
        return "–"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def format_clock(ts: float, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, zone).strftime("%H.%M.%S")


def format_hhmm(ts: float, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, zone).strftime("%H.%M")


def format_age(seconds: float | None, lang: str = "id") -> str:
    en = lang == "en"
    if seconds is None:
        return "no data yet" if en else "belum ada data"
    if seconds < 60:
        return f"{seconds:.0f} s ago" if en else f"{seconds:.0f} dtk lalu"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min ago" if en else f"{seconds // 60:.0f} mnt lalu"
    if seconds < 86400:
        return f"{seconds // 3600:.0f} h ago" if en else f"{seconds // 3600:.0f} jam lalu"
    return f"{seconds // 86400:.0f} days ago" if en else f"{seconds // 86400:.0f} hari lalu"
