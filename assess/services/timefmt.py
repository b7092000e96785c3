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


def detail_value(value, zone: str = "Asia/Jakarta") -> str:
    """A value of an event's detail as people read it: a stored UTC timestamp in the wave's zone,
    yes/no for a flag, anything else as it is."""
    from flask_babel import gettext as _

    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None:
            return local_datetime(moment, zone, "d MMM y, HH:mm:ss")
    return "—" if value is None else str(value)
