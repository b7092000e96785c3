"""Showing times in the wave's own zone: WIB (Asia/Jakarta), WITA (Asia/Makassar), WIT (Asia/Jayapura)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask_babel import get_locale

ZONES = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


def zone_abbreviation(zone: str) -> str:
    return ZONES.get(zone, zone)


def local_datetime(value: datetime | None, zone: str = "Asia/Jakarta", fmt: str = "d MMM y, HH:mm") -> str:
    """Format a UTC datetime in ``zone`` for the current locale, with the Indonesian zone name."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(zone))
    return f"{format_datetime(local, fmt, tzinfo=ZoneInfo(zone), locale=str(get_locale()))} {zone_abbreviation(zone)}"
